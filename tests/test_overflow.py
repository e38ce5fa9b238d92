"""Too much content: 25 services and a long letter still print every service, inside the
page, at the usual type sizes, and `build` says what happened."""

from __future__ import annotations

import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from flyer.build import EXPECTED_PAGES, BuildOptions, BuildResult, build

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
SERVICES = 25
DOCUMENTS = ("leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf")


def _name(i: int) -> str:
    if i == 7:  # one long name, one long unbreakable word
        return "Service communal de prévention et d'accompagnement des familles Antidiscrimination"
    return f"Service d'aide numéro {i:02d} Mouscron"


def _email(i: int) -> str:
    if i == 12:  # longer than a card is wide
        return "secretariat.prevention.accompagnement.familles@mouscron.be"
    return f"service{i:02d}.aide@mouscron.be"


@pytest.fixture(scope="module")
def overflow_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    base = tmp_path_factory.mktemp("overflow")
    data = base / "data"
    shutil.copytree(ROOT / "data", data)
    lines = ["updated: 2016-09-13", "contacts:"]
    for i in range(1, SERVICES + 1):
        lines += [f"  - name: {_name(i)}", f'    phone: "056/39 16 {i:02d}"',
                  f"    email: {_email(i)}",
                  "    description: Ce service peut t'écouter, t'informer sur tes droits et "
                  "t'accompagner dans tes démarches."]
    (data / "contacts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    paragraph = ("Vous pouvez aussi consulter les ressources proposées par l'école, la commune "
                 "et les associations de parents, qui organisent des soirées d'information.")
    letter = data / "letter.fr.md"
    letter.write_text(letter.read_text(encoding="utf-8") + "\n\n## Pour aller plus loin\n\n"
                      + "\n\n".join([paragraph] * 8) + "\n", encoding="utf-8")
    out = base / "out"
    return out, build(BuildOptions(data=data, layouts=ROOT / "layouts", out=out))


def test_build_says_which_document_overflowed(overflow_build: tuple[Path, BuildResult]) -> None:
    out, result = overflow_build
    for name in DOCUMENTS:
        document = name.split("-")[0]
        pages = len(pdfread.page_sizes_mm(out / name))
        assert pages > EXPECTED_PAGES[document], name
        said = [w.message for w in result.warnings if w.path == out / name]
        assert len(said) == 1, (name, said)
        assert f"en fait {pages}" in said[0]
        assert f"{SERVICES} services" in said[0]
        assert "rien n'est coupé" in said[0]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_service_is_printed_and_linked(
    overflow_build: tuple[Path, BuildResult], name: str
) -> None:
    out, _ = overflow_build
    printed = pdfread.squash(pdfread.text(out / name))
    uris = pdfread.link_uris(out / name)
    for i in range(1, SERVICES + 1):
        assert pdfread.squash(_name(i)) in printed, _name(i)
        assert pdfread.squash(f"056/39 16 {i:02d}") in printed
        assert f"tel:+32563916{i:02d}" in uris
        assert f"mailto:{_email(i)}" in uris
    if name != "poster-fr.pdf":
        assert printed.count(pdfread.squash("Pour aller plus loin")) == 1


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_text_lies_outside_the_page(
    overflow_build: tuple[Path, BuildResult], name: str
) -> None:
    out, _ = overflow_build
    document = pdfium.PdfDocument(out / name)
    try:
        for number, page in enumerate(document, start=1):
            left, bottom, right, top = page.get_trimbox()
            textpage = page.get_textpage()
            for index in range(textpage.count_chars()):
                x0, y0, x1, y1 = textpage.get_charbox(index)
                if x0 == x1 == y0 == y1 == 0:
                    continue  # generated characters (line ends) have no box
                assert left - 0.5 <= x0 and x1 <= right + 0.5, (number, index)
                assert bottom - 0.5 <= y0 and y1 <= top + 0.5, (number, index)
    finally:
        document.close()


def test_type_does_not_shrink_below_the_usual_sizes(
    overflow_build: tuple[Path, BuildResult], seed_build: tuple[Path, BuildResult]
) -> None:
    out, _ = overflow_build
    for name in DOCUMENTS:
        assert pdfread.smallest_text_pt(out / name) >= pdfread.smallest_text_pt(
            seed_build[0] / name), name

"""Too much content: a list that cannot fit its pages is not printed on wrong paper, and
the person is told which document, by how much, and what would make it fit; long names,
words and addresses stay on the page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer.build import BuildOptions, BuildResult, build
from flyer.cli import app

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
SERVICES = 25


def _contacts(data: Path, names: list[str], emails: list[str]) -> None:
    lines = ["updated: 2016-09-13", "contacts:"]
    for i, (name, email) in enumerate(zip(names, emails, strict=True), start=1):
        lines += [f"  - name: {name}", f'    phone: "056/39 16 {i:02d}"', f"    email: {email}",
                  "    description: Ce service peut t'écouter, t'informer sur tes droits et "
                  "t'accompagner dans tes démarches."]
    (data / "contacts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def too_many(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    base = tmp_path_factory.mktemp("overflow")
    data = base / "data"
    shutil.copytree(ROOT / "data", data)
    _contacts(data, [f"Service d'aide numéro {i:02d} Mouscron" for i in range(1, SERVICES + 1)],
              [f"service{i:02d}.aide@mouscron.be" for i in range(1, SERVICES + 1)])
    out = base / "out"
    result = CliRunner().invoke(app, ["build", "--data", str(data), "--layouts",
                                      str(ROOT / "layouts"), "--out", str(out), "--lang", "fr"],
                                env={"COLUMNS": "300"})
    return out, result.exit_code, result.output


def test_a_list_too_long_for_every_document_writes_no_wrong_paper(
        too_many: tuple[Path, int, str]) -> None:
    out, code, _ = too_many
    assert code == 1
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf", "leaflet-a5-fr.pdf",
                 "leaflet-a5-2up-fr.pdf", "flyer-fr.pdf"):
        assert not (out / name).exists(), name


@pytest.mark.parametrize(("name", "pages"), [("leaflet-fr.pdf", 2), ("letter-fr.pdf", 2),
                                            ("poster-fr.pdf", 1), ("leaflet-a5-fr.pdf", 2)])
def test_the_message_says_which_document_by_how_much_and_what_to_shorten(
        too_many: tuple[Path, int, str], name: str, pages: int) -> None:
    flat = " ".join(too_many[2].split())
    line = next(part for part in flat.split("Non écrit :") if name in part.split("—")[0])
    assert f"ne tient pas sur {pages} page(s)" in line
    assert "dépasse d'environ" in line and " mm" in line
    assert "raccourcissez des descriptions ou retirez un service" in line
    assert "Traceback" not in too_many[2]


def test_long_names_words_and_addresses_stay_on_the_page(tmp_path: Path) -> None:
    """A 60-character unbreakable name and a 58-character address on a short list."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    _contacts(data, ["Service communal de prévention Antidiscriminationdesfamillesetdesjeunes",
                     "CPMS Libre Mouscron 1", "La Passerelle"],
              ["secretariat.prevention.accompagnement.familles@mouscron.be",
               "cpms.libre.mouscron@skynet.be", "lapasserellemouscron@gmail.com"])
    out = tmp_path / "out"
    result: BuildResult = build(BuildOptions(data=data, layouts=ROOT / "layouts", out=out,
                                             langs=("fr",), check=True))
    assert result.complete
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf", "leaflet-a5-fr.pdf"):
        assert pdfread.chars_outside(out / name, (5, 5, 5, 5)) == [], name
        printed = pdfread.squash(pdfread.text(out / name))
        assert pdfread.squash("secretariat.prevention.accompagnement.familles@mouscron.be") \
            in printed, name

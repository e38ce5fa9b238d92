"""`flyer build --for SERVICE`: that service first, as the reader's own contact."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer.build import BuildOptions, BuildResult, build
from flyer.cli import app
from flyer.load import load_campaign
from flyer.qr import mailto_uri

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "CPMS Libre Mouscron 2"
CONTACT = next(c for c in load_campaign(ROOT / "data", ["fr"]).contacts.contacts
               if c.name == SERVICE)
assert CONTACT.email is not None
MAILTO = mailto_uri(CONTACT.email)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    out = tmp_path_factory.mktemp("for")
    result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                                highlight=SERVICE))
    return out, result


def test_files_go_to_their_own_folder_beside_the_general_set(
    built: tuple[Path, BuildResult],
) -> None:
    out, result = built
    folder = out / "for" / "cpms-libre-mouscron-2"
    assert {w.path for w in result.written} == {
        folder / f"{d}-{lang}.pdf" for d in ("leaflet", "letter", "poster", "flyer",
                                             "leaflet-a5", "leaflet-a5-2up")
        for lang in ("fr", "nl")}
    assert not list(out.glob("*.pdf"))  # the general set is not overwritten


@pytest.mark.parametrize(("lang", "label"), [("fr", "Votre contact"),
                                             ("nl", "Uw contactpersoon")])
def test_leaflet_shows_the_service_first_as_your_contact(
    built: tuple[Path, BuildResult], lang: str, label: str,
) -> None:
    path = built[0] / "for" / "cpms-libre-mouscron-2" / f"leaflet-{lang}.pdf"
    recto, verso = (pdfread.squash(t) for t in _pages_text(path))
    # Recto: the reader's box with name, phone, email and the QR code of that service.
    for value in (label.upper(), SERVICE, CONTACT.phone.text, CONTACT.email):
        assert pdfread.squash(str(value)) in recto, value
    assert pdfread.qr_payloads(path, 150)[0] == [MAILTO]
    # Verso: the same service's card comes first, before every other service.
    first_other = min(verso.index(pdfread.squash(name)) for name in (
        "CPMS Libre Mouscron 1", "CPMS Provincial (ICET)", "La Passerelle"))
    assert verso.index(pdfread.squash(label.upper())) < verso.index(
        pdfread.squash(SERVICE)) < first_other
    assert CONTACT.phone.uri in pdfread.link_uris(path)


def _pages_text(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def test_letter_fills_the_sender_service_line(built: tuple[Path, BuildResult]) -> None:
    path = built[0] / "for" / "cpms-libre-mouscron-2" / "letter-fr.pdf"
    recto = pdfread.squash(_pages_text(path)[0])
    assert pdfread.squash(f"Service {SERVICE}") in recto


def test_unknown_service_exits_2_with_the_closest_names(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--for", "CPMS Libre Mouscron", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "« CPMS Libre Mouscron » inconnu" in result.output
    assert "« CPMS Libre Mouscron 1 »" in result.output
    assert "« CPMS Libre Mouscron 2 »" in result.output
    assert not (tmp_path / "out").exists()

"""The seed's build, read back: sizes, text, QR codes, links, fonts, bookmarks."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer.build import BuildResult
from flyer.load import load_campaign
from flyer.qr import mailto_uri

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = load_campaign(ROOT / "data", ["fr"])
CONTACTS = CAMPAIGN.contacts.contacts
MAILTOS = sorted(mailto_uri(c.email) for c in CONTACTS if c.email)
TELS = sorted({c.phone.uri for c in CONTACTS})

A4, A3 = (210, 297), (297, 420)
DOCUMENTS = {  # name → (page sizes, resolution the QR codes must decode at)
    "leaflet-fr.pdf": ([A4, A4], 150),
    "letter-fr.pdf": ([A4, A4], 150),
    "poster-fr.pdf": ([A3], 72),
}
MIN_QR_MM = {"leaflet-fr.pdf": 20, "letter-fr.pdf": 20, "poster-fr.pdf": 30}


@pytest.fixture(scope="module")
def out(seed_build: tuple[Path, BuildResult]) -> Path:
    return seed_build[0]


def test_build_writes_the_office_files_per_language_and_reports_them(
    seed_build: tuple[Path, BuildResult],
) -> None:
    out, result = seed_build
    assert sorted(w.path.name for w in result.written) == sorted(
        name.replace("-fr", f"-{lang}") for lang in ("fr", "nl")
        for name in [*DOCUMENTS, "flyer-fr.pdf", "leaflet-a5-fr.pdf", "leaflet-a5-2up-fr.pdf"])
    for written in result.written:
        assert written.path.parent == out and written.size == written.path.stat().st_size
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_page_count_and_size(out: Path, name: str) -> None:
    assert pdfread.page_sizes_mm(out / name) == DOCUMENTS[name][0]


def test_merged_bundle_keeps_page_sizes_and_has_one_bookmark_per_document(out: Path) -> None:
    merged = out / "flyer-fr.pdf"
    assert pdfread.page_sizes_mm(merged) == [A4, A4, A4, A4, A3]
    assert pdfread.bookmarks(merged) == [
        ("Dépliant pour les parents", 0), ("Lettre aux parents", 2), ("Affiche", 4)]


def test_merged_bundle_keeps_every_qr_code_and_link(out: Path) -> None:
    pages = pdfread.qr_payloads(out / "flyer-fr.pdf", 150)
    assert [sorted(set(p for page in pages[i:j] for p in page)) for i, j in
            ((0, 2), (2, 4), (4, 5))] == [MAILTOS] * 3
    uris = pdfread.link_uris(out / "flyer-fr.pdf")
    parts = [u for name in DOCUMENTS for u in pdfread.link_uris(out / name)]
    assert sorted(uris) == sorted(parts)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_qr_codes_read_back_as_the_mailto_links(out: Path, name: str) -> None:
    _, dpi = DOCUMENTS[name]
    decoded = sorted(p for page in pdfread.qr_payloads(out / name, dpi) for p in page)
    assert decoded == MAILTOS


@pytest.mark.parametrize("name", DOCUMENTS)
def test_qr_symbols_are_big_enough(out: Path, name: str) -> None:
    sizes = pdfread.qr_symbol_sizes_mm(out / name, 300)
    assert len(sizes) == len(MAILTOS)
    assert min(sizes) >= MIN_QR_MM[name] - 0.5  # 0.5 mm: a pixel at 300 dpi, twice


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_email_and_phone_is_a_link(out: Path, name: str) -> None:
    uris = pdfread.link_uris(out / name)
    assert sorted({u for u in uris if u.startswith("mailto:")}) == MAILTOS
    assert sorted({u for u in uris if u.startswith("tel:")}) == TELS
    assert all(u.startswith(("mailto:", "tel:")) for u in uris)


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf"])
def test_whole_letter_and_every_service_are_in_the_text(out: Path, name: str) -> None:
    text = pdfread.squash(pdfread.text(out / name))
    letter = CAMPAIGN.letters["fr"]
    body = letter.body.replace("*", "").replace("## ", "").replace("- ", "")
    for paragraph in [letter.title, *body.split("\n")]:
        if paragraph.strip():
            assert pdfread.squash(paragraph) in text, paragraph
    for contact in CONTACTS:
        for value in (contact.name, contact.phone.text, contact.email or "",
                      contact.describe("fr")):
            assert pdfread.squash(value) in text, value


def test_poster_has_headline_call_to_act_and_every_service(out: Path) -> None:
    text = pdfread.squash(pdfread.text(out / "poster-fr.pdf"))
    letter = CAMPAIGN.letters["fr"]
    for value in (letter.headline, letter.call_to_action,
                  *(c.name for c in CONTACTS), *(c.phone.text for c in CONTACTS)):
        assert pdfread.squash(value) in text, value


@pytest.mark.parametrize("name", [*DOCUMENTS, "flyer-fr.pdf"])
def test_fonts_are_the_shipped_family_embedded(out: Path, name: str) -> None:
    fonts = pdfread.fonts(out / name)
    assert fonts, "no font found"
    assert all(fonts.values()), fonts
    assert all("Atkinson-Hyperlegible-Next" in base for base in fonts), fonts


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf"])
def test_text_on_a4_is_at_least_11_pt(out: Path, name: str) -> None:
    assert pdfread.smallest_text_pt(out / name) >= 11 - 0.01


def test_poster_headline_reads_from_two_metres(out: Path) -> None:
    # ~7 mm of letter height per metre: 14 mm capitals at 2 m. The font's cap height is
    # 0.668 em, so 14 mm needs 59.4 pt.
    sizes = pdfread.text_sizes_pt(out / "poster-fr.pdf")
    headline = len(pdfread.squash(CAMPAIGN.letters["fr"].headline))
    assert sum(1 for size in sizes if size >= 59.4) >= headline
    assert min(sizes) >= 13 - 0.01


def test_short_numbers_and_accented_addresses_pass_the_builds_own_check(
    data_copy: Path, tmp_path: Path
) -> None:
    # Tried as a new user would: a phone-only helpline, a short number, an IDN domain.
    (data_copy / "letter.nl.md").unlink()
    (data_copy / "contacts.yaml").write_text(
        "updated: 2026-10-01\ncontacts:\n"
        "  - name: Écoute-Enfants\n    phone: \"103\"\n"
        "  - name: Child Focus\n    phone: \"116 000\"\n    email: info@childfocus.be\n"
        "  - name: Test IDN\n    phone: 0470 12 34 56\n    email: contact@éducation.be\n",
        encoding="utf-8")
    from flyer.build import BuildOptions, build

    out = tmp_path / "out"
    build(BuildOptions(data=data_copy, layouts=ROOT / "layouts", out=out))
    uris = set(pdfread.link_uris(out / "leaflet-fr.pdf"))
    assert {"tel:103", "tel:116000", "tel:+32470123456", "mailto:info@childfocus.be",
            "mailto:contact@%C3%A9ducation.be"} <= uris
    decoded = {p for page in pdfread.qr_payloads(out / "leaflet-fr.pdf", 150) for p in page}
    assert decoded == {"mailto:info@childfocus.be", "mailto:contact@%C3%A9ducation.be"}


def test_languages_built_on_several_cores_give_the_same_bytes_as_one_core(
    seed_build: tuple[Path, BuildResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from flyer import pool
    from flyer.build import BuildOptions, build

    monkeypatch.setattr(pool, "workers_available", lambda: 1)
    result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path))
    parallel = seed_build[0]
    assert {w.path.name for w in result.written} == {p.name for p in parallel.glob("*.pdf")}
    for written in result.written:
        assert (hashlib.sha256(written.path.read_bytes()).digest()
                == hashlib.sha256((parallel / written.path.name).read_bytes()).digest()), written

"""HTML → PDF: the shipped fonts only, and a warning when the data needs another one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flyer.build import BuildOptions, build
from flyer.errors import FlyerError
from flyer.worker import build_date

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent


def test_characters_missing_from_the_font_are_reported(data_copy: Path, tmp_path: Path) -> None:
    contacts = data_copy / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_text(text.replace("sur tes droits.", "sur tes droits ☎ Ωμέγα."),
                        encoding="utf-8")
    result = build(BuildOptions(data=data_copy, layouts=ROOT / "layouts", out=tmp_path / "out",
                                langs=("fr",)))
    fallbacks = [w for w in result.warnings if "police de cet ordinateur" in w.message]
    assert {w.path.name for w in fallbacks if w.path} == {
        "leaflet-fr.pdf", "letter-fr.pdf", "leaflet-a5-fr.pdf"}
    # The fallback really happened: a font other than the shipped family is in the file.
    fonts = pdfread.fonts(tmp_path / "out" / "leaflet-fr.pdf")
    assert any("Atkinson" not in name for name in fonts)


def test_pdf_ids_differ_between_documents_and_repeat_between_builds(
    seed_build: tuple[Path, object], tmp_path: Path
) -> None:
    import pikepdf

    out = seed_build[0]

    def ids(folder: Path) -> dict[str, bytes]:
        found = {}
        for path in sorted(folder.glob("*.pdf")):
            with pikepdf.open(path) as pdf:
                found[path.name] = bytes(pdf.trailer.ID[0])
        return found

    first = ids(out)
    assert len(set(first.values())) == len(first)
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path, langs=("fr",)))
    assert ids(tmp_path) == {k: v for k, v in first.items() if k.endswith("-fr.pdf")}


def test_unreadable_source_date_epoch_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "hier")
    with pytest.raises(FlyerError, match="SOURCE_DATE_EPOCH"):
        build_date(dt.date(2016, 9, 13))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1473724800")
    assert build_date(dt.date(2000, 1, 1)) == dt.datetime(2016, 9, 13, tzinfo=dt.UTC)


def _pages_html(count: int, page_box: str = "") -> str:
    pages = "".join(f'<section style="break-before: page">Page {n}</section>'
                    for n in range(1, count + 1))
    return f"<html><head><style>{page_box}</style></head><body>{pages}</body></html>"


def _made(html: str, at_most: int | None, tmp_path: Path) -> tuple[object, list[int]]:
    """The layout, and the pages WeasyPrint began (its progress log)."""
    import logging

    from flyer.render import Renderer

    begun: list[int] = []

    class Pages(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("Step 5 - Creating layout - Page "):
                begun.append(int(message.split()[-1]))

    logger = logging.getLogger("weasyprint.progress")
    handler, level = Pages(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        renderer = Renderer(ROOT / "layouts", tmp_path)
        return renderer.render_document(html, "@page { size: A5 }", None, at_most), begun
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_layout_past_its_pages_stops_at_the_first_page_too_many(tmp_path: Path) -> None:
    document, begun = _made(_pages_html(6), 2, tmp_path)
    assert document is None
    assert begun == [1, 2, 3]  # stopped as page 3 began: pages 4 to 6 never laid out
    whole, begun = _made(_pages_html(6), None, tmp_path)
    assert whole is not None and len(whole.pages) == 6 and begun == [1, 2, 3, 4, 5, 6]
    fits, _ = _made(_pages_html(2), 2, tmp_path)
    assert fits is not None and len(fits.pages) == 2


def test_a_layout_that_counts_its_pages_is_laid_out_whole(tmp_path: Path) -> None:
    # « sur 6 pages » in the text needs the total: WeasyPrint makes a second pass, which
    # may change the pages, so nothing can be concluded from the first ones. (In a page
    # margin it needs none: margins are made once the pages are.)
    counted = _pages_html(6, "section::after { content: ' sur ' counter(pages) ' pages' }")
    document, _ = _made(counted, 2, tmp_path)
    assert document is not None and len(document.pages) == 6

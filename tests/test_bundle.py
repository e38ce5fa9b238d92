"""The A5 leaflet and its two-up imposition, read back: sizes, geometry, text per half,
cut marks, and a midline that cuts through nothing."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest

from flyer.build import BuildResult
from flyer.load import load_campaign
from flyer.qr import mailto_uri

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
MAILTOS = sorted(mailto_uri(c.email) for c in load_campaign(ROOT / "data", ["fr"])
                 .contacts.contacts if c.email)
MM = 72 / 25.4


@pytest.fixture(scope="module")
def out(seed_build: tuple[Path, BuildResult]) -> Path:
    return seed_build[0]


def test_a5_leaflet_is_two_a5_pages_with_10_pt_text_and_20_mm_codes(out: Path) -> None:
    path = out / "leaflet-a5-fr.pdf"
    assert pdfread.page_sizes_mm(path) == [(148, 210), (148, 210)]
    assert pdfread.smallest_text_pt(path) >= 10 - 0.01
    assert sorted(p for page in pdfread.qr_payloads(path, 150) for p in page) == MAILTOS
    sizes = pdfread.qr_symbol_sizes_mm(path, 150)
    assert len(sizes) == len(MAILTOS) and min(sizes) >= 20 - 0.5, sizes


def test_two_up_sheets_are_a4_landscape_one_per_a5_page(out: Path) -> None:
    path = out / "leaflet-a5-2up-fr.pdf"
    assert pdfread.page_sizes_mm(path) == [(297, 210), (297, 210)]
    with pikepdf.open(path) as pdf:
        assert all("/Rotate" not in page.obj for page in pdf.pages)


def test_two_up_draws_the_same_a5_page_on_both_halves_half_a_sheet_apart(out: Path) -> None:
    with pikepdf.open(out / "leaflet-a5-2up-fr.pdf") as pdf:
        for page in pdf.pages:
            ops = pikepdf.parse_content_stream(page)
            placements = []
            current = None
            for operands, operator in ops:
                if str(operator) == "cm":
                    current = [float(v) for v in operands]
                if str(operator) == "Do":
                    placements.append((str(operands[0]), current))
            assert len(placements) == 2 and placements[0][0] == placements[1][0]
            (_, left), (_, right) = placements
            # Pure translations (no rotation or scaling: the back side is not turned).
            assert left[:4] == right[:4] == [1, 0, 0, 1]
            assert right[4] - left[4] == pytest.approx(297 * MM / 2, abs=0.01)
            assert left[5] == right[5] == pytest.approx(0, abs=0.01)
            form = page.obj.Resources.XObject[placements[0][0]]
            x0, y0, x1, y1 = (float(v) for v in form.BBox)
            assert (x1 - x0, y1 - y0) == pytest.approx((148 * MM, 210 * MM), abs=0.01)
            # Each half is centred in its 148.5 mm: 0.25 mm of white either side of the cut.
            assert left[4] == pytest.approx(0.25 * MM, abs=0.01)


def test_each_half_carries_the_whole_text_of_its_a5_page(out: Path) -> None:
    a5 = pdfium.PdfDocument(out / "leaflet-a5-fr.pdf")
    sheets = pdfium.PdfDocument(out / "leaflet-a5-2up-fr.pdf")
    try:
        for index, sheet in enumerate(sheets):
            expected = pdfread.squash(a5[index].get_textpage().get_text_range())
            textpage = sheet.get_textpage()
            width, height = sheet.get_size()
            left = textpage.get_text_bounded(0, 0, width / 2, height)
            right = textpage.get_text_bounded(width / 2, 0, width, height)
            assert pdfread.squash(left) == pdfread.squash(right) == expected
    finally:
        a5.close()
        sheets.close()


def test_cut_marks_sit_on_the_midline_and_the_cut_crosses_no_ink(out: Path) -> None:
    dpi = 150
    sheets = pdfium.PdfDocument(out / "leaflet-a5-2up-fr.pdf")
    try:
        for sheet in sheets:
            image = sheet.render(scale=dpi / 72).to_pil().convert("L")
            width, height = image.size
            px = dpi / 25.4
            mid = width // 2
            column = [min(image.getpixel((x, y)) for x in range(mid - 1, mid + 2))
                      for y in range(height)]
            # A mark at the top (2–6.5 mm) and at the bottom of the midline.
            assert min(column[int(3 * px):int(6 * px)]) < 128
            assert min(column[height - int(6 * px):height - int(3 * px)]) < 128
            # Between them, 4 mm either side of the cut is paper: cutting loses nothing.
            band = image.crop((mid - int(4 * px), int(8 * px), mid + int(4 * px),
                               height - int(8 * px)))
            assert band.getextrema()[0] > 240, band.getextrema()
    finally:
        sheets.close()


def test_two_up_keeps_every_link_once_per_copy(out: Path) -> None:
    uris = pdfread.link_uris(out / "leaflet-a5-2up-fr.pdf")
    mailtos = sorted(u for u in uris if u.startswith("mailto:"))
    assert mailtos == sorted(MAILTOS * 2)

"""Reading built PDFs back with tools other than the one that wrote them.

pypdfium2 renders and extracts text, zxing-cpp decodes QR codes, pikepdf reads the
structure (boxes, annotations, fonts). Shared by every test that checks a PDF.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import zxingcpp

MM_PER_PT = 25.4 / 72


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    """(width, height) of each page's TrimBox (MediaBox when absent), in mm, rounded."""
    with pikepdf.open(path) as pdf:
        sizes = []
        for page in pdf.pages:
            box = page.obj.get("/TrimBox", page.mediabox)
            x0, y0, x1, y1 = (float(v) for v in box)
            sizes.append((round((x1 - x0) * MM_PER_PT), round((y1 - y0) * MM_PER_PT)))
        return sizes


def text(path: Path) -> str:
    """All the text of the PDF, in reading order as pdfium extracts it."""
    document = pdfium.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def squash(value: str) -> str:
    """Text compared without whitespace, hyphens or soft hyphens, NFC.

    Line breaks and hyphenation are layout, not content: "problè-\\nmes" and
    "problèmes" are the same words on paper.
    """
    value = unicodedata.normalize("NFC", value)
    return re.sub(r"[\s\u00ad\u2010\u2011\-\ufffe\x02]+", "", value)


def qr_payloads(path: Path, dpi: float) -> list[list[str]]:
    """QR payloads decoded by zxing-cpp from a pypdfium2 render, per page."""
    document = pdfium.PdfDocument(path)
    try:
        pages = []
        for page in document:
            image = page.render(scale=dpi / 72).to_pil()
            results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            pages.append(sorted(r.text for r in results if r.valid))
        return pages
    finally:
        document.close()


def qr_symbol_sizes_mm(path: Path, dpi: float) -> list[float]:
    """Smallest side of each decoded QR symbol (quiet zone excluded), in mm."""
    document = pdfium.PdfDocument(path)
    sizes = []
    try:
        for page in document:
            image = page.render(scale=dpi / 72).to_pil()
            for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                p = result.position
                width = _distance(p.top_left, p.top_right)
                height = _distance(p.top_left, p.bottom_left)
                sizes.append(min(width, height) * 25.4 / dpi)
        return sizes
    finally:
        document.close()


def _distance(a: zxingcpp.Point, b: zxingcpp.Point) -> float:
    return float(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5)


def link_uris(path: Path) -> list[str]:
    """URIs of every link annotation, all pages."""
    uris = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for annot in page.obj.get("/Annots", []):
                action = annot.get("/A")
                if annot.get("/Subtype") == "/Link" and action is not None and "/URI" in action:
                    uris.append(str(action.URI))
    return uris


def fonts(path: Path) -> dict[str, bool]:
    """Every font used by the pages → whether its program is embedded."""
    found: dict[str, bool] = {}
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            resources = page.obj.get("/Resources", {})
            for font in resources.get("/Font", {}).values():
                descendants = font.get("/DescendantFonts")
                target = descendants[0] if descendants is not None else font
                descriptor = target.get("/FontDescriptor", {})
                embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                found[str(font.get("/BaseFont"))] = embedded
    return found


def text_sizes_pt(path: Path) -> list[float]:
    """The printed size of every (non-space) character, in points.

    pdfium's font size is the `Tf` operand; WeasyPrint writes CSS pixels under a 0.75
    scale (11 pt text is `14.67 Tf`), so the size is scaled by the character's matrix.
    """
    document = pdfium.PdfDocument(path)
    matrix = pdfium.raw.FS_MATRIX()
    sizes = []
    try:
        for page in document:
            textpage = page.get_textpage()
            for index in range(textpage.count_chars()):
                char = pdfium.raw.FPDFText_GetUnicode(textpage, index)
                if chr(char).isspace():
                    continue
                size = pdfium.raw.FPDFText_GetFontSize(textpage, index)
                if pdfium.raw.FPDFText_GetMatrix(textpage, index, matrix):
                    size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
                if size > 0:
                    sizes.append(size)
        return sizes
    finally:
        document.close()


def smallest_text_pt(path: Path) -> float:
    """The smallest font size of any printed character, in points."""
    return min(text_sizes_pt(path))


def bookmarks(path: Path) -> list[tuple[str, int]]:
    """Top-level outline entries: (title, page index)."""
    import pypdf

    reader = pypdf.PdfReader(path)
    return [
        (item.title, reader.get_destination_page_number(item))
        for item in reader.outline
        if not isinstance(item, list)
    ]


def chars_outside(path: Path, margins_mm: tuple[float, float, float, float],
                  tolerance_mm: float = 1.0) -> list[tuple[int, str]]:
    """Printed characters outside the page's margin box (top, right, bottom, left), per page.

    Text that overflows its box or the page ends up there; an empty list means every
    character lies where the layout meant it to.
    """
    top, right, bottom, left = (m - tolerance_mm for m in margins_mm)
    outside = []
    document = pdfium.PdfDocument(path)
    try:
        for number, page in enumerate(document):
            width, height = (v * MM_PER_PT for v in page.get_size())
            textpage = page.get_textpage()
            for index in range(textpage.count_chars()):
                char = chr(pdfium.raw.FPDFText_GetUnicode(textpage, index))
                if char.isspace() or char in "\u00ad\ufffe\x02":
                    continue
                x0, y0, x1, y1 = (v * MM_PER_PT for v in textpage.get_charbox(index))
                if x0 < left or x1 > width - right or y0 < bottom or y1 > height - top:
                    outside.append((number, char))
        return outside
    finally:
        document.close()

"""Putting rendered documents together: the merged bundle, press finishing, imposition.

Merging happens inside WeasyPrint (`Document.copy(pages)`), not by re-reading PDFs:
the pages are already laid out, and a merge done there keeps what a PDF merge would
drop (output intents, XMP metadata, structure tree) for the print and web profiles.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weasyprint import Document

    from flyer.profiles import OutputCondition


def merge_documents(documents: list[Document], title: str) -> Document:
    """One document with every page of `documents`, in order, page sizes kept.

    Each layout marks exactly one element with `bookmark-level: 1`, so the merged
    file has one bookmark per document.
    """
    pages = [page for document in documents for page in document.pages]
    merged = documents[0].copy(pages)
    merged.metadata.title = title
    return merged


def merge_pdfs(parts: list[tuple[str, bytes]], title: str, identifier: bytes) -> bytes:
    """Concatenate finished PDFs, one bookmark per part, without laying anything out again.

    For the office profile this is ~10× cheaper than painting every page a second time;
    it drops document-level conformance entries (output intents, structure tree), so
    profiles that claim PDF/X or PDF/UA merge with `merge_documents` instead.
    """
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for label, content in parts:
        writer.append(PdfReader(io.BytesIO(content)), outline_item=label, import_outline=False)
    writer.add_metadata({"/Title": title, "/Producer": "flyer"})
    first = PdfReader(io.BytesIO(parts[0][1])).metadata
    if first is not None:
        writer.add_metadata({k: first[k] for k in ("/CreationDate", "/ModDate") if k in first})
    # A fixed ID keeps rebuilds byte-identical (pypdf would derive one from the time).
    set_file_id(writer, identifier)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


MM = 72 / 25.4  # PDF points per millimetre
BLEED_MM = 3.0
# Crop marks: they start 1 mm beyond the bleed (so no mark sits in the BleedBox, which
# the print shop may print), run 5 mm outwards, and the MediaBox grows to hold them.
MARK_GAP_MM = BLEED_MM + 1.0
MARK_LENGTH_MM = 5.0
SLUG_MM = MARK_GAP_MM + MARK_LENGTH_MM + 1.0
MARK_WIDTH_PT = 0.25


def _rect(box: Any) -> tuple[float, float, float, float]:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def finish_press(pdf: bytes, condition: OutputCondition) -> bytes:
    """Crop marks in black ink only outside the BleedBox, the output condition that
    matches the embedded profile, and no annotation in the printable area.

    WeasyPrint writes MediaBox = BleedBox = trim + bleed; each page's MediaBox is
    enlarged by the slug and the marks are drawn there in `0 0 0 1 K`. PDF/X does not
    allow annotations (our mailto:/tel: links) inside the BleedBox: a printed sheet
    has no links anyway, so they are removed. The file is cloned whole, so the output
    intent, XMP metadata and PDF/X identification stay as WeasyPrint wrote them.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, RectangleObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        tx0, ty0, tx1, ty1 = _rect(page.trimbox)
        bx0, by0, bx1, by1 = _rect(page.bleedbox)
        slug = SLUG_MM * MM
        page.mediabox = RectangleObject((tx0 - slug, ty0 - slug, tx1 + slug, ty1 + slug))
        page.bleedbox = RectangleObject((bx0, by0, bx1, by1))
        page.trimbox = RectangleObject((tx0, ty0, tx1, ty1))
        if "/CropBox" in page:
            del page[NameObject("/CropBox")]
        if "/Annots" in page:
            del page[NameObject("/Annots")]
        _draw(writer, page, _crop_marks((tx0, ty0, tx1, ty1)))
    intents: Any = writer.root_object["/OutputIntents"]
    intent = intents[0].get_object()
    intent[NameObject("/OutputConditionIdentifier")] = TextStringObject(condition.identifier)
    intent[NameObject("/OutputCondition")] = TextStringObject(condition.condition)
    intent[NameObject("/Info")] = TextStringObject(condition.info)
    if condition.registry:
        intent[NameObject("/RegistryName")] = TextStringObject(condition.registry)
    _keep_reproducible(writer, PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _keep_reproducible(writer: Any, original: Any) -> None:
    """Same input, same bytes: keep WeasyPrint's file ID (derived from the name) instead
    of pypdf's time-based one, and replace the random XMP DocumentID (uuid4) that
    WeasyPrint writes for PDF/X with a UUID derived from that ID."""
    import re
    import uuid


    ids: Any = original.trailer.get("/ID")
    if ids is None:
        return
    first = bytes(ids[0].original_bytes if hasattr(ids[0], "original_bytes") else ids[0])
    set_file_id(writer, first)
    metadata: Any = writer.root_object.get("/Metadata")
    if metadata is not None:
        stream = metadata.get_object()
        derived = uuid.uuid5(uuid.NAMESPACE_OID, first.hex())
        xmp = re.sub(rb"xmp\.did:[0-9a-fA-F-]{36}", b"xmp.did:" + str(derived).encode(),
                     stream.get_data())
        stream.set_data(xmp)


def _crop_marks(trim: tuple[float, float, float, float]) -> bytes:
    """Eight hairlines on the trim lines' extensions, K only (registration black would
    put four inks on a hairline, and PDF/X-4 here allows only what the profile prints)."""
    x0, y0, x1, y1 = trim
    gap, end = MARK_GAP_MM * MM, (MARK_GAP_MM + MARK_LENGTH_MM) * MM
    lines = []
    for x, sign_x in ((x0, -1), (x1, 1)):
        for y, sign_y in ((y0, -1), (y1, 1)):
            lines.append((x + sign_x * gap, y, x + sign_x * end, y))  # horizontal mark
            lines.append((x, y + sign_y * gap, x, y + sign_y * end))  # vertical mark
    ops = [f"q 0 0 0 1 K {MARK_WIDTH_PT} w 0 J"]
    ops += [f"{a:.3f} {b:.3f} m {c:.3f} {d:.3f} l S" for a, b, c, d in lines]
    ops.append("Q")
    return ("\n".join(ops) + "\n").encode("ascii")


A4_LANDSCAPE_PT = (297 * MM, 210 * MM)
CUT_MARK_MM = (2.0, 6.5)  # from each long edge of the sheet: inside the A5 margins (8 mm)


def impose_two_up(pdf: bytes, identifier: bytes) -> bytes:
    """Every A5 page twice side by side on an A4 landscape sheet, same page on both halves.

    Sheet n carries page n on its left and right half, so printing recto-verso and
    cutting the stack once along the midline gives two stacks of recto-verso A5
    leaflets. The back is not rotated: with the sheet turned over its short edge
    (« retourner sur le bord court »), page 2 stands upright behind page 1, as in a
    book. Short cut marks on the midline, top and bottom, on both sides of the sheet.

    Each A5 page becomes one form XObject drawn twice (fonts and images stay shared,
    and pypdf's `merge_transformed_page` re-parses every content stream: 0.3 s a page);
    its links are kept, once per copy. `identifier` is the new file's ID (a clone would
    keep the A5 file's).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        RectangleObject,
        StreamObject,
    )

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    sheet_w, sheet_h = A4_LANDSCAPE_PT
    for page in writer.pages:
        x0, y0, x1, y1 = _rect(page.mediabox)
        width, height = x1 - x0, y1 - y0
        source = page.get_contents()
        form = StreamObject()
        form.set_data(source.get_data() if source is not None else b"")
        form.update({
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): RectangleObject((x0, y0, x1, y1)),
            NameObject("/Resources"): page.get("/Resources", DictionaryObject()),
        })
        form_ref = writer._add_object(form.flate_encode())
        dy = (sheet_h - height) / 2 - y0
        shifts = [half * sheet_w / 2 + (sheet_w / 2 - width) / 2 - x0 for half in (0, 1)]
        ops = b"".join(b"q 1 0 0 1 %.3f %.3f cm /Leaflet Do Q\n" % (dx, dy) for dx in shifts)
        content = StreamObject()
        content.set_data(ops + _cut_marks(sheet_w, sheet_h))
        page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/XObject"): DictionaryObject({NameObject("/Leaflet"): form_ref})})
        for name in ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            if name in page:
                del page[NameObject(name)]
        page.mediabox = RectangleObject((0, 0, sheet_w, sheet_h))
        annots = ArrayObject()
        for annot_ref in page.get("/Annots", ArrayObject()):
            annot = annot_ref.get_object()
            for dx in shifts:
                copy = DictionaryObject({k: v for k, v in annot.items() if k != "/P"})
                rx0, ry0, rx1, ry1 = (float(v) for v in annot["/Rect"])
                copy[NameObject("/Rect")] = ArrayObject(
                    FloatObject(v) for v in (rx0 + dx, ry0 + dy, rx1 + dx, ry1 + dy))
                annots.append(writer._add_object(copy))
        if annots:
            page[NameObject("/Annots")] = annots
    set_file_id(writer, identifier)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _cut_marks(width: float, height: float) -> bytes:
    mid = width / 2
    a, b = (v * MM for v in CUT_MARK_MM)
    return (f"q 0 G 0.5 w {mid:.3f} {a:.3f} m {mid:.3f} {b:.3f} l S "
            f"{mid:.3f} {height - a:.3f} m {mid:.3f} {height - b:.3f} l S Q\n").encode("ascii")


def _draw(writer: Any, page: Any, operators: bytes) -> None:
    """Append content-stream operators to a page, after (over) what it already shows."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject

    stream = DecodedStreamObject()
    stream.set_data(b"q\n")
    closing = DecodedStreamObject()
    closing.set_data(b"\nQ\n" + operators)
    contents = ArrayObject([writer._add_object(stream)])
    old = page.get("/Contents")
    if old is not None:
        resolved = old.get_object()
        if isinstance(resolved, ArrayObject):
            contents.extend(resolved)
        else:
            contents.append(old)
    contents.append(writer._add_object(closing))
    page[NameObject("/Contents")] = contents


def set_file_id(writer: Any, identifier: bytes) -> None:
    """Give a pypdf writer a fixed file ID: pypdf would draw a random one, and rebuilds
    must be byte-identical."""
    from pypdf.generic import ArrayObject, ByteStringObject

    writer._ID = ArrayObject([ByteStringObject(identifier), ByteStringObject(identifier)])

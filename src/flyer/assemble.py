"""PDF assembly after WeasyPrint, on pikepdf's public API.

- `stamp_qr_codes`: the QR codes, laid out by WeasyPrint as small 1-bit images, become
  vector form XObjects drawn in the profile's ink (K only for press), one per payload.
- `overlay`: a school's block, laid out alone, drawn over its service's shared leaflet.
- `merge`: the bundle of several documents, one bookmark each, keeping what the profile's
  conformance needs (output intent and XMP for PDF/X, structure tree and language for
  PDF/UA).
- `impose_two_up`: each page twice side by side on the next paper size up.
- `finish_press`: crop marks in black ink outside the bleed, the output condition that
  matches the embedded ICC profile, no annotation on the page.
- `save`: every file leaves here with a fixed first file ID and a content-derived second,
  so the same input gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf, String

from flyer.qr import dark_rectangles, qr_matrix

if TYPE_CHECKING:
    from flyer.profiles import OutputCondition

MM = 72 / 25.4  # PDF points per millimetre
# Crop marks start 1 mm beyond the bleed (no mark in the BleedBox, which the print shop may
# print), run 5 mm outwards, and the MediaBox grows to hold them.
MARK_GAP_MM = 1.0
MARK_LENGTH_MM = 5.0
MARK_WIDTH_PT = 0.25
CUT_MARK_MM = (2.0, 6.5)  # two-up: from each long edge of the sheet, inside the margins


def open_pdf(data: bytes) -> Pdf:
    return pikepdf.open(io.BytesIO(data))


def save(pdf: Pdf, identifier: bytes, version: str | None = None) -> bytes:
    """The file's bytes: `identifier` as the permanent ID, the second ID derived from the
    content (qpdf's deterministic ID) and the XMP DocumentID derived from `identifier`, so
    rebuilds are byte-identical: intermediates too (a school batch's shared leaflet), whose
    metadata reaches the merged file."""
    _derive_document_id(pdf, identifier)
    pdf.trailer.ID = Array([String(identifier), String(identifier)])
    buffer = io.BytesIO()
    options: dict[str, Any] = {}
    if version:
        options["force_version"] = version
    pdf.save(buffer, deterministic_id=True, **options)
    return buffer.getvalue()


# QR codes ------------------------------------------------------------------------------
def _image_bits(image: Any) -> tuple[tuple[bool, ...], ...] | None:
    """The dark/light pattern of a small image XObject, None when it cannot be a QR."""
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if width != height or not 21 <= width <= 200 or image.get("/ImageMask"):
        return None
    try:
        pil = pikepdf.PdfImage(image).as_pil_image().convert("L")
    except Exception:  # an image pikepdf cannot decode is not one of ours
        return None
    data = pil.tobytes()
    if any(value not in (0, 255) for value in set(data)):
        return None
    return tuple(tuple(data[y * width + x] == 0 for x in range(width)) for y in range(height))


@functools.lru_cache(maxsize=1024)
def _samples(matrix: tuple[tuple[bool, ...], ...]) -> dict[str, bytes]:
    """A code's image as decoded samples, one module a pixel: 8-bit RGB and gray."""
    gray = bytes(0 if dark else 255 for row in matrix for dark in row)
    return {"/DeviceGray": gray, "/DeviceRGB": bytes(v for v in gray for _ in range(3))}


def _known_bits(image: Any, samples: dict[tuple[str, bytes], Any]
                ) -> tuple[tuple[bool, ...], ...] | None:
    """The matrix of an image whose decoded samples are those of one of the codes."""
    if (int(image.get("/BitsPerComponent", 0)) != 8 or "/SMask" in image
            or "/Decode" in image or image.get("/ImageMask")):
        return None
    space = image.get("/ColorSpace")
    if not isinstance(space, Name):
        return None
    # The same bytes in another shape are another picture, not the code.
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    try:
        data = image.read_bytes()
    except Exception:  # not decodable here: the slow path decides
        return None
    found: tuple[tuple[bool, ...], ...] | None = samples.get((str(space), data))
    if found is None or width != height or width != len(found):
        return None
    return found


@functools.lru_cache(maxsize=1024)
def _qr_operators(matrix: tuple[tuple[bool, ...], ...], cmyk: bool) -> bytes:
    """The code's drawing, made once per process (every document shows the same codes)."""
    size = len(matrix)
    dark, light = ("0 0 0 1 k", "0 0 0 0 k") if cmyk else ("0 g", "1 g")
    ops = [f"{light} 0 0 {size} {size} re f {dark}"]
    ops += [f"{x} {size - y - h} {w} {h} re" for x, y, w, h in dark_rectangles(matrix)]
    ops.append("f")
    return " ".join(ops).encode("ascii")


def qr_form(pdf: Pdf, matrix: tuple[tuple[bool, ...], ...], cmyk: bool) -> Any:
    """A form XObject that paints the code in the unit square, like the image it replaces:
    the light quiet zone, then every dark run of modules as a rectangle."""
    size = len(matrix)
    form = pikepdf.Stream(pdf, _qr_operators(matrix, cmyk))
    form.Type = Name.XObject
    form.Subtype = Name.Form
    form.BBox = Array([0, 0, size, size])
    form.Matrix = Array([1 / size, 0, 0, 1 / size, 0, 0])
    form.Resources = Dictionary()
    return pdf.make_indirect(form)


def stamp_qr_codes(pdf: Pdf, payloads: list[str], cmyk: bool) -> int:
    """Replace every QR image of `payloads` by its vector form; returns how many images.

    WeasyPrint draws an image in ~0 ms but an SVG path QR in ~10 ms (its SVG path parser
    is Python). The image keeps its place in the layout and in the structure tree (the
    `Do` stays inside the Figure's marked content), only the XObject changes.
    """
    wanted = {qr_matrix(p): p for p in payloads}
    # The samples WeasyPrint writes for each code's image (8-bit RGB, or gray): an image
    # found among them is known without decoding it through PIL (9 ms a leaflet).
    samples = {(space, raw): matrix for matrix in wanted
               for space, raw in _samples(matrix).items()}
    forms: dict[tuple[tuple[bool, ...], ...], Any] = {}
    replaced: dict[tuple[int, int], Any] = {}
    count = 0
    for resources in _resource_dicts(pdf):
        xobjects = resources.get("/XObject")
        if xobjects is None:
            continue
        for key in list(xobjects.keys()):
            image = xobjects[key]
            if image.get("/Subtype") != "/Image":
                continue
            objgen = image.objgen
            if objgen not in replaced:
                bits = _known_bits(image, samples) or _image_bits(image)
                if bits is None or bits not in wanted:
                    replaced[objgen] = None
                    continue
                if bits not in forms:
                    forms[bits] = qr_form(pdf, bits, cmyk)
                replaced[objgen] = forms[bits]
            if replaced[objgen] is not None:
                xobjects[key] = replaced[objgen]
                count += 1
    return count


def _resource_dicts(pdf: Pdf) -> Iterator[Any]:
    """Every page's resources and those of the form XObjects they use."""
    seen: set[tuple[int, int]] = set()
    stack = [page.obj.get("/Resources") for page in pdf.pages]
    while stack:
        resources = stack.pop()
        if resources is None:
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        yield resources
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                stack.append(xobject.Resources)


# A school's block over its leaflet -------------------------------------------------------
def overlay(pdf: Pdf, block: bytes) -> None:
    """`block`'s first page drawn over the first page of `pdf` (same size), links included.

    The block's data is copied in, so its file need not stay open.
    """
    page = pdf.pages[0]
    with open_pdf(block) as top:
        form = _overlay_page(pdf, page, top.pages[0])
        _own_streams(form)
        for annot in page.obj.get("/Annots") or []:
            _own_streams(annot)


def _overlay_page(pdf: Pdf, page: pikepdf.Page, top: pikepdf.Page) -> Any:
    """Draw `top` (a foreign page of the same size) over `page`, as a form XObject.

    The page's own content streams are kept as they are, only wrapped in q…Q (so their
    graphics state cannot shift the block): a merged file's schools then share their
    service's content stream instead of each holding a copy (pikepdf's `add_overlay`
    coalesces the streams into one).
    """
    form = pdf.copy_foreign(top.as_form_xobject())
    # A fixed name (pikepdf would draw a random one from a prefix): the same school gives
    # the same bytes, and SchoolsFile uses the same name.
    name = page.add_resource(form, Name.XObject, name=Name.FlyerBlock)
    contents = page.obj.get("/Contents")
    own = list(contents) if isinstance(contents, Array) else ([contents] if contents else [])
    page.obj.Contents = Array([pdf.make_stream(b"q\n"), *own,
                               pdf.make_stream(b"\nQ q " + str(name).encode() + b" Do Q\n")])
    annots = top.obj.get("/Annots")
    if annots:
        existing = page.obj.get("/Annots")
        target = Array(list(existing)) if existing is not None else Array()
        for annot in annots:
            copied = pdf.copy_foreign(annot)
            copied.P = page.obj
            target.append(copied)
        page.obj.Annots = target
    return form


class SchoolsFile:
    """The merged file of a school batch, written as it grows, in bounded memory.

    Each school's two pages, in order, one bookmark each. A service's shared leaflet is
    copied into the file once; every school of that service references its content,
    fonts and images and adds only its block, drawn over the recto as a form XObject.
    Objects go to the file as they come; what stays in memory is one number per object
    (its offset) and per page, and one title per school: 5 000 schools take no more
    memory than 400. Identical streams of different blocks (a font subset, a code) are
    written once. Press finishing (crop marks, boxes, no annotations) is applied as the
    pages are written, so the file is never read back whole.
    """

    def __init__(self, path: Path, condition: OutputCondition | None = None,
                 crop_marks: bool = False, links: bool = True, bleed_mm: float = 0.0) -> None:
        self.path = path
        self.handle = path.open("wb")
        self.handle.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.offsets: list[int] = [0]
        self.condition, self.crop_marks, self.links = condition, crop_marks, links
        self.bleed_mm = bleed_mm
        self.pages_root = self._reserve()
        self.page_numbers: list[int] = []
        self._outline: list[tuple[str, int]] = []
        self._bases: dict[str, list[_SharedPage]] = {}
        self._streams: dict[bytes, int] = {}
        self._catalog: dict[str, bytes] = {}
        self._info: dict[str, bytes] = {}
        self._marks: dict[tuple[float, ...], int] = {}
        # Shared by every page: the page's own content is wrapped in q…Q, so its graphics
        # state cannot shift the block drawn after it.
        self._wrap = self._stream(b"q\n")
        self._draw_block = self._stream(b"\nQ q /FlyerBlock Do Q\n")
        self._close = self._stream(b"\nQ\n")

    @property
    def count(self) -> int:
        return len(self._outline)

    @property
    def pages(self) -> int:
        return len(self.page_numbers)

    # Objects --------------------------------------------------------------------------
    def _reserve(self) -> int:
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def _write(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.handle.tell()
        self.handle.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def _object(self, body: bytes) -> int:
        number = self._reserve()
        self._write(number, body)
        return number

    def _stream(self, data: bytes, entries: bytes = b"") -> int:
        return self._object(b"<<" + entries + b"/Length %d>>\nstream\n" % len(data) + data
                            + b"\nendstream")

    # Pages ----------------------------------------------------------------------------
    def add(self, base_key: str, base: bytes, block: bytes, title: str) -> None:
        if base_key not in self._bases:
            self._bases[base_key] = self._share(base)
        shared = self._bases[base_key]
        with open_pdf(block) as source:
            copier = _Copier(self, source, self._streams)
            form = source.make_indirect(source.pages[0].as_form_xobject())
            block_form = copier.ref(form)
            block_annots = [copier.dictionary(a, skip=("/P", "/Parent"))
                            for a in (source.pages[0].obj.get("/Annots") or [])]
            copier.flush()
        first = len(self.page_numbers)
        for index, page in enumerate(shared):
            extra_annots = block_annots if index == 0 else []
            self.page_numbers.append(self._page(page, block_form if index == 0 else None,
                                                extra_annots))
        self._outline.append((title, self.page_numbers[first]))

    def _share(self, base: bytes) -> list[_SharedPage]:
        """A service's leaflet, copied once: what each school's pages will reference."""
        with open_pdf(base) as source:
            copier = _Copier(self, source, self._streams)
            pages = []
            for page in source.pages:
                obj = page.obj
                contents = obj.get("/Contents")
                streams = list(contents) if isinstance(contents, Array) else [contents]
                resources = obj.get("/Resources") or Dictionary()
                xobjects = resources.get("/XObject") or Dictionary()
                pages.append(_SharedPage(
                    entries={k: copier.value(v) for k, v in obj.items()
                             if k not in ("/Parent", "/Annots", "/Contents", "/Resources",
                                          "/Type")},
                    contents=[copier.ref(c) for c in streams if c is not None],
                    resources={k: copier.value(v) for k, v in resources.items()
                               if k != "/XObject"},
                    xobjects={k: copier.value(v) for k, v in xobjects.items()},
                    annots=[copier.dictionary(a, skip=("/P", "/Parent"))
                            for a in (obj.get("/Annots") or [])],
                    trim=[float(v) for v in (obj.get("/TrimBox") or obj.MediaBox)],
                    bleed=[float(v) for v in (obj.get("/BleedBox") or obj.MediaBox)],
                    media=[float(v) for v in obj.MediaBox]))
            if not self._catalog:
                _declare_condition(source, self.condition)
                for key in ("/OutputIntents", "/Lang", "/MarkInfo", "/ViewerPreferences"):
                    if key in source.Root:
                        self._catalog[key] = copier.value(source.Root[key])
                if "/Metadata" in source.Root:
                    self._catalog["/Metadata"] = b"%d 0 R" % copier.ref(source.Root.Metadata)
                self._info = {k: copier.value(v) for k, v in source.docinfo.items()}
            copier.flush()
            return pages

    def _page(self, shared: _SharedPage, block_form: int | None, block_annots: list[bytes]
              ) -> int:
        number = self._reserve()
        entries = dict(shared.entries)
        contents = [self._wrap, *shared.contents]
        xobjects = dict(shared.xobjects)
        if block_form is not None:
            xobjects["/FlyerBlock"] = b"%d 0 R" % block_form
            contents.append(self._draw_block)
        else:
            contents.append(self._close)
        annots = [*shared.annots, *block_annots] if self.links else []
        if self.crop_marks:
            trim = shared.trim
            media, bleed = _press_boxes(trim, shared.media, shared.bleed, self.bleed_mm)
            entries["/MediaBox"] = _box(media)
            entries["/BleedBox"] = _box(bleed)
            entries["/TrimBox"] = _box(trim)
            entries.pop("/CropBox", None)
            key = (*trim, *bleed)
            if key not in self._marks:
                self._marks[key] = self._stream(_crop_marks(trim, bleed))
            contents.append(self._marks[key])
        resources = dict(shared.resources)
        resources["/XObject"] = _dict(xobjects)
        body = (b"<</Type/Page/Parent %d 0 R" % self.pages_root
                + b"".join(k.encode() + b" " + v for k, v in entries.items())
                + b"/Resources" + _dict(resources)
                + b"/Contents[" + b" ".join(b"%d 0 R" % c for c in contents) + b"]")
        if annots:
            refs = [self._object(b"<<" + a + b"/P %d 0 R>>" % number) for a in annots]
            body += b"/Annots[" + b" ".join(b"%d 0 R" % r for r in refs) + b"]"
        self._write(number, body + b">>")
        return number

    # The end --------------------------------------------------------------------------
    def finish(self, title: str, identifier: bytes) -> Path:
        """Pages tree, bookmarks, catalog and cross-reference table; the file is complete."""
        kids = b" ".join(b"%d 0 R" % n for n in self.page_numbers)
        self._write(self.pages_root, b"<</Type/Pages/Count %d/Kids[%s]>>"
                    % (len(self.page_numbers), kids))
        outlines = self._reserve()
        items = [self._reserve() for _ in self._outline]
        for index, ((label, page), number) in enumerate(zip(self._outline, items, strict=True)):
            body = (b"<</Title " + String(label).unparse() + b"/Parent %d 0 R" % outlines
                    + b"/Dest[%d 0 R/XYZ null null null]" % page)
            if index:
                body += b"/Prev %d 0 R" % items[index - 1]
            if index + 1 < len(items):
                body += b"/Next %d 0 R" % items[index + 1]
            self._write(number, body + b">>")
        if items:
            self._write(outlines, b"<</Type/Outlines/First %d 0 R/Last %d 0 R/Count %d>>"
                        % (items[0], items[-1], len(items)))
        else:
            self._write(outlines, b"<</Type/Outlines/Count 0>>")
        catalog = dict(self._catalog)
        if "/Metadata" in catalog:
            catalog["/Metadata"] = b"%d 0 R" % self._metadata(catalog["/Metadata"], title,
                                                              identifier)
        root = self._object(b"<</Type/Catalog/Pages %d 0 R/Outlines %d 0 R/PageMode/UseOutlines"
                            % (self.pages_root, outlines)
                            + b"".join(k.encode() + b" " + v for k, v in catalog.items())
                            + b">>")
        info = dict(self._info)
        info["/Title"] = String(title).unparse()
        info["/Producer"] = String("flyer").unparse()
        info_number = self._object(_dict(info))
        start = self.handle.tell()
        lines = [b"xref\n0 %d\n" % len(self.offsets), b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self.handle.write(b"".join(lines))
        hexid = identifier.hex().encode()
        self.handle.write(b"trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/ID[<%s><%s>]>>\n"
                          b"startxref\n%d\n%%%%EOF\n"
                          % (len(self.offsets), root, info_number, hexid, hexid, start))
        self.handle.close()
        return self.path

    def _metadata(self, reference: bytes, title: str, identifier: bytes) -> int:
        """The first leaflet's XMP, its title and document ID made this file's."""
        number = int(reference.split()[0])
        offset = self.offsets[number]
        self.handle.flush()
        with self.path.open("rb") as reader:
            reader.seek(offset)
            head = reader.read(512)
            length = int(re.search(rb"/Length (\d+)", head).group(1))  # type: ignore[union-attr]
            data_start = offset + head.index(b"stream\n") + len(b"stream\n")
            reader.seek(data_start)
            raw = reader.read(length)
        entries = head[head.index(b"<<"):head.index(b"stream\n")]
        if b"/FlateDecode" in entries:
            import zlib

            raw = zlib.decompress(raw)
        xmp = _xmp_document_id(_xmp_title(raw, title), identifier)
        return self._stream(xmp, b"/Type/Metadata/Subtype/XML")


@dataclass
class _SharedPage:
    """One page of a service's shared leaflet, as written: entries and references."""

    entries: dict[str, bytes]
    contents: list[int]
    resources: dict[str, bytes]
    xobjects: dict[str, bytes]
    annots: list[bytes]
    trim: list[float]
    bleed: list[float]
    media: list[float]


def _dict(entries: dict[str, bytes]) -> bytes:
    return b"<<" + b"".join(k.encode() + b" " + v for k, v in entries.items()) + b">>"


def _box(values: list[float]) -> bytes:
    return b"[" + b" ".join(_number(v) for v in values) + b"]"


def _number(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    text = format(Decimal(str(value)).normalize(), "f") if not isinstance(
        value, Decimal) else format(value, "f")
    return text.encode()


class _Copier:
    """Copies objects of one PDF into a SchoolsFile, numbering them anew as it goes."""

    def __init__(self, target: SchoolsFile, source: Pdf, streams: dict[bytes, int]) -> None:
        self.target = target
        self.source = source
        self.numbers: dict[tuple[int, int], int] = {}
        self.queue: list[tuple[int, Any]] = []
        self.streams = streams

    def ref(self, obj: Any) -> int:
        """The new number of an indirect object of the source (written at `flush`)."""
        objgen = obj.objgen
        if objgen not in self.numbers:
            if isinstance(obj, pikepdf.Stream) and _leaf(obj):
                digest = hashlib.sha256(obj.read_raw_bytes() + self._entries(obj)).digest()
                if digest in self.streams:
                    self.numbers[objgen] = self.streams[digest]
                    return self.numbers[objgen]
                self.numbers[objgen] = self.target._reserve()
                self.streams[digest] = self.numbers[objgen]
            else:
                self.numbers[objgen] = self.target._reserve()
            self.queue.append((self.numbers[objgen], obj))
        return self.numbers[objgen]

    def _entries(self, stream: Any) -> bytes:
        return b"".join(k.encode() + b" " + self.value(v) for k, v in sorted(stream.items())
                        if k != "/Length")

    def value(self, obj: Any) -> bytes:
        """`obj` in PDF syntax, references to indirect objects renumbered."""
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            return b"%d 0 R" % self.ref(obj)
        return self._direct(obj)

    def dictionary(self, obj: Any, skip: tuple[str, ...] = ()) -> bytes:
        """A dictionary's entries (without << >>), to be completed by the caller."""
        return b"".join(k.encode() + b" " + self.value(v) for k, v in obj.items()
                        if k not in skip)

    def _direct(self, obj: Any) -> bytes:
        if isinstance(obj, pikepdf.Dictionary):
            return b"<<" + self.dictionary(obj, skip=("/Parent", "/P")) + b">>"
        if isinstance(obj, pikepdf.Array):
            return b"[" + b" ".join(self.value(v) for v in obj) + b"]"
        if isinstance(obj, pikepdf.Name | pikepdf.String):
            return bytes(obj.unparse())
        if obj is None:
            return b"null"
        if isinstance(obj, bool | int | float | Decimal):
            return _number(obj)
        if isinstance(obj, pikepdf.Object):
            return bytes(obj.unparse())
        raise TypeError(f"unexpected PDF value {obj!r}")

    def flush(self) -> None:
        """Write every object referenced so far (and what they reference in turn)."""
        while self.queue:
            number, obj = self.queue.pop()
            if isinstance(obj, pikepdf.Stream):
                raw = obj.read_raw_bytes()
                entries = b"".join(k.encode() + b" " + self.value(v) for k, v in obj.items()
                                   if k != "/Length")
                if "/Filter" not in obj and len(raw) > 200:
                    import zlib  # a form made from a block's page is not compressed yet

                    raw = zlib.compress(raw, 6)
                    entries += b"/Filter/FlateDecode"
                self.target._write(number, b"<<" + entries + b"/Length %d>>\nstream\n"
                                   % len(raw) + raw + b"\nendstream")
            else:
                self.target._write(number, self._direct(obj))


def _own_streams(obj: Any) -> None:
    """Give every stream reachable from `obj` its own copy of its (still encoded) data.

    qpdf copies a foreign stream's data lazily, from the file it came from; a school's block
    is closed as soon as it is folded in, so its streams must hold their bytes first.
    `/P` and `/Parent` are not followed: they lead back to the page tree.
    """
    seen: set[tuple[int, int]] = set()
    stack = [obj]
    while stack:
        current = stack.pop()
        if current.is_indirect:
            if current.objgen in seen:
                continue
            seen.add(current.objgen)
        if isinstance(current, pikepdf.Stream):
            encoded: Any = {"filter": current.get("/Filter"),
                            "decode_parms": current.get("/DecodeParms")}
            current.write(current.read_raw_bytes(), type_check=False, **encoded)
        items = (list(current.items()) if isinstance(current, pikepdf.Dictionary | pikepdf.Stream)
                 else list(enumerate(current)))
        for key, child in items:
            if key in ("/P", "/Parent") or not isinstance(
                    child, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
                continue
            stack.append(child)


def _leaf(stream: Any) -> bool:
    """A stream whose dictionary points at no other object (a font file, an image without
    a mask): replacing it by an identical one cannot change what it refers to."""
    return not any(isinstance(v, pikepdf.Object) and v.is_indirect for v in stream.values())


# Merging ---------------------------------------------------------------------------------
def merge(parts: list[tuple[str, bytes]], title: str, identifier: bytes) -> bytes:
    """Every page of every part, in order, one bookmark per part, page sizes kept.

    Document-level entries come from the first part: output intent and XMP (PDF/X), the
    language, MarkInfo and viewer preferences (PDF/UA); tagged parts have their structure
    trees joined under one Document element, each part a Part.
    """
    sources = [open_pdf(data) for _, data in parts]
    try:
        pdf = pikepdf.new()
        starts = []
        for source in sources:
            starts.append(len(pdf.pages))
            pdf.pages.extend(source.pages)
        with pdf.open_outline() as outline:
            outline.root.extend(pikepdf.OutlineItem(label, start)
                                for (label, _), start in zip(parts, starts, strict=True))
        if all("/StructTreeRoot" in s.Root for s in sources):
            _merge_structure(pdf, sources, starts)
        _copy_document_entries(pdf, sources[0], title)
        _share_profiles(pdf)
        return save(pdf, identifier, version=sources[0].pdf_version)
    finally:
        for source in sources:
            source.close()


def _share_profiles(pdf: Pdf) -> None:
    """One copy of each ICC profile: every part of a PDF/X file brings the output
    profile its CMYK colours are tied to (2.4 MB for the shipped one), and the merged
    file of a leaflet, a letter and a poster held it three times (7.2 MB). The pages'
    colour spaces are pointed at the first stream with the same bytes; the others,
    no longer referenced, are not written."""
    import hashlib

    first: dict[tuple[str, bytes], Any] = {}

    def shared(stream: Any) -> Any:
        if not isinstance(stream, pikepdf.Stream):
            return stream
        key = (str(stream.get("/N")), hashlib.sha256(stream.read_raw_bytes()).digest())
        return first.setdefault(key, stream)

    for intent in pdf.Root.get("/OutputIntents", []):
        if "/DestOutputProfile" in intent:
            intent.DestOutputProfile = shared(intent.DestOutputProfile)
    for resources in _resource_dicts(pdf):
        for name, space in (resources.get("/ColorSpace") or {}).items():
            if (isinstance(space, Array) and len(space) == 2
                    and space[0] == Name.ICCBased):
                resources.ColorSpace[name] = Array([Name.ICCBased, shared(space[1])])


def _copy_document_entries(pdf: Pdf, first: Pdf, title: str) -> None:
    for key in ("/OutputIntents", "/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata"):
        if key in first.Root:
            pdf.Root[key] = _copy(pdf, first.Root[key])
    for key, value in first.docinfo.items():
        pdf.docinfo[key] = value
    pdf.docinfo[Name.Title] = title
    if "/Metadata" in pdf.Root:
        xmp = _xmp_title(pdf.Root.Metadata.read_bytes(), title)
        pdf.Root.Metadata = pdf.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)


def _copy(pdf: Pdf, obj: Any) -> Any:
    """A foreign object, direct or indirect, as an object of `pdf`."""
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return pdf.copy_foreign(obj)
    if isinstance(obj, pikepdf.Dictionary):
        return Dictionary({key: _copy(pdf, value) for key, value in obj.items()})
    if isinstance(obj, pikepdf.Array):
        return Array([_copy(pdf, value) for value in obj])
    return obj


def _xml_text(text: str) -> bytes:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .encode("utf-8"))


def _merge_structure(pdf: Pdf, sources: list[Pdf], starts: list[int]) -> None:
    """One structure tree for the merged file: a Document with one Part per source.

    Page and annotation keys into the parent tree are shifted by the keys the earlier
    parts used, so marked content still finds its structure element.
    """
    root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root))
    kids = Array()
    nums = Array()
    rolemap = Dictionary()
    offset = 0
    for source, start in zip(sources, starts, strict=True):
        tree = pdf.copy_foreign(source.Root.StructTreeRoot)
        for top in (tree.K if isinstance(tree.K, Array) else [tree.K]):
            top.S = Name.Part if top.get("/S") == "/Document" else top.S
            top.P = document
            kids.append(top)
        keys = []
        flat = _number_tree(tree.get("/ParentTree"))
        for key, value in flat:
            nums.append(key + offset)
            nums.append(value)
            keys.append(key)
        for index in range(start, start + len(source.pages)):
            page = pdf.pages[index].obj
            if "/StructParents" in page:
                page.StructParents = int(page.StructParents) + offset
            for annot in page.get("/Annots") or []:
                if "/StructParent" in annot:
                    annot.StructParent = int(annot.StructParent) + offset
        for role, mapped in (tree.get("/RoleMap") or {}).items():
            rolemap[role] = mapped
        offset += (max(keys) + 1) if keys else 0
    document.K = kids
    root.K = Array([document])
    root.ParentTree = pdf.make_indirect(Dictionary(Nums=nums))
    root.ParentTreeNextKey = offset
    if len(rolemap):
        root.RoleMap = rolemap
    pdf.Root.StructTreeRoot = root


def _number_tree(node: Any) -> list[tuple[int, Any]]:
    if node is None:
        return []
    pairs: list[tuple[int, Any]] = []
    nums = node.get("/Nums")
    if nums is not None:
        pairs += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
    for kid in node.get("/Kids") or []:
        pairs += _number_tree(kid)
    return pairs


# Two-up ----------------------------------------------------------------------------------
def impose_two_up(data: bytes, identifier: bytes, sheet_mm: tuple[float, float]) -> bytes:
    """Every page twice side by side on a landscape sheet, same page on both halves.

    Sheet n carries page n on its left and right half, so printing recto-verso and
    cutting the stack once along the midline gives two stacks of recto-verso leaflets.
    The back is not rotated: with the sheet turned over its short edge (« retourner sur le
    bord court »), page 2 stands upright behind page 1. Short cut marks on the midline,
    top and bottom. Each page is one form XObject drawn twice; its links are kept, once
    per copy.
    """
    sheet_w, sheet_h = max(sheet_mm) * MM, min(sheet_mm) * MM
    with open_pdf(data) as source:
        pdf = pikepdf.new()
        for page in source.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            width, height = x1 - x0, y1 - y0
            form = pdf.copy_foreign(page.as_form_xobject())
            dy = (sheet_h - height) / 2 - y0
            shifts = [half * sheet_w / 2 + (sheet_w / 2 - width) / 2 - x0 for half in (0, 1)]
            ops = b"".join(b"q 1 0 0 1 %.3f %.3f cm /Leaflet Do Q\n" % (dx, dy)
                           for dx in shifts)
            sheet = pikepdf.Page(pdf.make_indirect(Dictionary(
                Type=Name.Page, MediaBox=Array([0, 0, sheet_w, sheet_h]),
                Resources=Dictionary(XObject=Dictionary(Leaflet=form)),
                Contents=pdf.make_stream(ops + _cut_marks(sheet_w, sheet_h)))))
            pdf.pages.append(sheet)
            annots = Array()
            for annot in page.obj.get("/Annots") or []:
                for dx in shifts:
                    copy = pdf.copy_foreign(annot)
                    copy = pdf.make_indirect(Dictionary({k: v for k, v in copy.items()
                                                         if k != "/P"}))
                    rx0, ry0, rx1, ry1 = (float(v) for v in annot.Rect)
                    copy.Rect = Array([rx0 + dx, ry0 + dy, rx1 + dx, ry1 + dy])
                    annots.append(copy)
            if len(annots):
                pdf.pages[-1].obj.Annots = annots
        pdf.docinfo = _copy(pdf, source.docinfo)
        return save(pdf, identifier)


def _cut_marks(width: float, height: float) -> bytes:
    mid = width / 2
    a, b = (v * MM for v in CUT_MARK_MM)
    return (f"q 0 G 0.5 w {mid:.3f} {a:.3f} m {mid:.3f} {b:.3f} l S "
            f"{mid:.3f} {height - a:.3f} m {mid:.3f} {height - b:.3f} l S Q\n").encode("ascii")


# Press finishing --------------------------------------------------------------------------
def finish(pdf: Pdf, condition: OutputCondition | None, crop_marks: bool, links: bool,
           bleed_mm: float = 0.0) -> None:
    """Crop marks in black ink only outside the BleedBox, the output condition that
    matches the embedded profile, and no annotation on the page when the profile allows
    no links (PDF/X forbids them in the printable area; paper has no links anyway).

    The BleedBox is the trim plus the profile's `bleed_mm`: WeasyPrint 70 lays out the
    whole bleed (its MediaBox) but writes a BleedBox of at most 10 pt (3.5 mm).
    """
    for page in pdf.pages:
        if not links and "/Annots" in page.obj:
            del page.obj.Annots
        if crop_marks:
            trim = [float(v) for v in page.trimbox]
            media, bleed = _press_boxes(trim, [float(v) for v in page.mediabox],
                                       [float(v) for v in page.bleedbox], bleed_mm)
            page.mediabox = Array(media)
            page.obj.BleedBox = Array(bleed)
            page.obj.TrimBox = Array(trim)
            if "/CropBox" in page.obj:
                del page.obj.CropBox
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(pdf.make_stream(b"\nQ\n" + _crop_marks(trim, bleed)),
                              prepend=False)
    _declare_condition(pdf, condition)


def _press_boxes(trim: list[float], media: list[float], bleed: list[float], bleed_mm: float
                ) -> tuple[list[float], list[float]]:
    """(MediaBox, BleedBox) of a press page: the bleed is the trim plus `bleed_mm` within
    the laid-out page (or the page's own BleedBox without it), and the MediaBox leaves
    room beyond the bleed for the crop marks."""
    if bleed_mm:
        out = bleed_mm * MM
        bleed = [max(trim[0] - out, media[0]), max(trim[1] - out, media[1]),
                 min(trim[2] + out, media[2]), min(trim[3] + out, media[3])]
    slug = max(trim[0] - bleed[0], 0.0) + (MARK_GAP_MM + MARK_LENGTH_MM + 1.0) * MM
    return [trim[0] - slug, trim[1] - slug, trim[2] + slug, trim[3] + slug], bleed


def _declare_condition(pdf: Pdf, condition: OutputCondition | None) -> None:
    """The output intent names the condition the embedded ICC profile is made for."""
    if condition is None or "/OutputIntents" not in pdf.Root:
        return
    intent = pdf.Root.OutputIntents[0]
    intent.OutputConditionIdentifier = String(condition.identifier)
    intent.OutputCondition = String(condition.condition)
    intent.Info = String(condition.info)
    if condition.registry:
        intent.RegistryName = String(condition.registry)


def _derive_document_id(pdf: Pdf, identifier: bytes) -> None:
    """WeasyPrint writes a random XMP DocumentID (uuid4) for PDF/X: derive it from the
    file ID instead, so the same input gives the same bytes."""
    if "/Metadata" not in pdf.Root or not identifier:
        return
    xmp = pdf.Root.Metadata.read_bytes()
    new = _xmp_document_id(xmp, identifier)
    if new != xmp:
        pdf.Root.Metadata = pdf.make_stream(new, Type=Name.Metadata, Subtype=Name.XML)


_XMP_TITLE = re.compile(rb"(<dc:title>\s*<rdf:Alt>\s*<rdf:li[^>]*>)[^<]*")
_XMP_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-fA-F-]{36}")


def _xmp_title(xmp: bytes, title: str) -> bytes:
    """The XMP packet with `title` as its dc:title (a merged file is not its first part)."""
    return _XMP_TITLE.sub(lambda m: m.group(1) + _xml_text(title), xmp)


def _xmp_document_id(xmp: bytes, identifier: bytes) -> bytes:
    """The XMP packet with its DocumentID derived from the file ID (same input, same bytes)."""
    derived = uuid.uuid5(uuid.NAMESPACE_OID, identifier.hex())
    return _XMP_DOCUMENT_ID.sub(b"xmp.did:" + str(derived).encode(), xmp)


def _crop_marks(trim: list[float], bleed: list[float]) -> bytes:
    """Eight hairlines on the trim lines' extensions, K only (registration black would put
    four inks on a hairline, and PDF/X-4 here allows only what the profile prints)."""
    x0, y0, x1, y1 = trim
    outside = max(x0 - bleed[0], y0 - bleed[1], 0.0)
    gap, end = outside + MARK_GAP_MM * MM, outside + (MARK_GAP_MM + MARK_LENGTH_MM) * MM
    lines = []
    for x, sign_x in ((x0, -1), (x1, 1)):
        for y, sign_y in ((y0, -1), (y1, 1)):
            lines.append((x + sign_x * gap, y, x + sign_x * end, y))  # horizontal mark
            lines.append((x, y + sign_y * gap, x, y + sign_y * end))  # vertical mark
    ops = [f"q 0 0 0 1 K {MARK_WIDTH_PT} w 0 J"]
    ops += [f"{a:.3f} {b:.3f} m {c:.3f} {d:.3f} l S" for a, b, c, d in lines]
    ops.append("Q")
    return ("\n".join(ops) + "\n").encode("ascii")

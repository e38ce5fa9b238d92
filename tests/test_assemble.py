"""flyer.assemble: QR images stamped as vector forms (read back with pdfium and zxing)."""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

import flyer.assemble as assemble
from flyer.qr import mailto_uri, qr_url
from flyer.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = [mailto_uri("cpms.libre.mouscron@skynet.be"), mailto_uri("a@b.be")]


def _logo() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 30), (200, 30, 30)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _page(tmp_path: Path) -> bytes:
    images = "".join(f'<img src="{qr_url(p)}" style="width:30mm;image-rendering:pixelated">'
                     for p in PAYLOADS)
    html = f'<html><body>{images}<img src="{_logo()}" style="width:30mm"></body></html>'
    renderer = Renderer(ROOT / "layouts", tmp_path)
    document = renderer.render_document(html, "@page { size: A4 }")
    return renderer.write_pdf(document, "t.pdf", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize("cmyk", [False, True])
def test_codes_become_vector_forms_and_other_images_stay(tmp_path: Path, cmyk: bool,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    decoded: list[object] = []
    slow = assemble._image_bits
    monkeypatch.setattr(assemble, "_image_bits", lambda image: decoded.append(1) or slow(image))
    with assemble.open_pdf(_page(tmp_path)) as pdf:
        assert assemble.stamp_qr_codes(pdf, PAYLOADS, cmyk=cmyk) == 2
        # The codes are known from their samples; only the logo went through PIL.
        assert len(decoded) == 1
        xobjects = pdf.pages[0].Resources.XObject
        kinds = sorted(str(x.Subtype) for x in xobjects.values())
        assert kinds == ["/Form", "/Form", "/Image"]
        for form in (x for x in xobjects.values() if x.Subtype == "/Form"):
            operators = {op for _, op in pikepdf.parse_content_stream(form)}
            assert {pikepdf.Operator("k")} <= operators if cmyk else {
                pikepdf.Operator("g")} <= operators
        out = io.BytesIO()
        pdf.save(out)
    page = pdfium.PdfDocument(out.getvalue())[0]
    found = zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())
    assert sorted(r.text for r in found) == sorted(PAYLOADS)


def test_same_samples_in_another_shape_are_not_the_code() -> None:
    from flyer.qr import qr_matrix

    matrix = qr_matrix(PAYLOADS[1])
    gray = assemble._samples(matrix)["/DeviceGray"]
    samples = {("/DeviceGray", gray): matrix}
    pdf = pikepdf.new()
    side = len(matrix)

    def image(width: int, height: int) -> pikepdf.Stream:
        return pikepdf.Stream(pdf, gray, Type=pikepdf.Name.XObject,
                              Subtype=pikepdf.Name.Image, Width=width, Height=height,
                              ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)

    assert assemble._known_bits(image(side, side), samples) == matrix
    assert assemble._known_bits(image(side * side, 1), samples) is None

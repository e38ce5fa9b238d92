"""SVG images are measured before WeasyPrint draws them: a few kilobytes of <use>,
entities or markers that would keep it drawing for minutes are refused with a French
warning, and WeasyPrint lays out the page without them.

(The fetcher's other refusals, files and URLs, are in test_hostile.py.)
"""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from flyer.errors import FlyerError
from flyer.fetch import RefusedURL, RestrictedFetcher, measure_svg
from flyer.qr import mailto_uri, qr_data_uri
from flyer.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests/fixtures/hostile"
FAST = 0.5  # seconds


def _data_uris(svg: bytes) -> list[str]:
    return ["data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
            "data:image/svg+xml," + quote(svg)]


def test_use_bomb_is_refused_fast_as_a_file_or_a_data_url(tmp_path: Path) -> None:
    bomb = tmp_path / "logo.svg"
    shutil.copy(HOSTILE / "svg_use_bomb.svg", bomb)
    fetcher = RestrictedFetcher([tmp_path])
    for url in (bomb.as_uri(), *_data_uris(bomb.read_bytes())):
        start = time.perf_counter()
        with pytest.raises(RefusedURL) as caught:
            fetcher.fetch(url)
        assert time.perf_counter() - start < FAST
        # 8 levels of 10 <use>: 322 222 223 elements drawn from 1 636 bytes.
        assert ("image SVG trop complexe (322\u00a0222\u00a0223 éléments à dessiner, <use> "
                "compris ; maximum 5\u00a0000)") in str(caught.value)
    assert len(fetcher.refused) == 3


def test_svg_under_another_name_is_measured_too(tmp_path: Path) -> None:
    """WeasyPrint draws as SVG what Pillow cannot read and parses as XML, whatever the
    name or type: `<img src="notes.txt">` would still draw the bomb."""
    shutil.copy(HOSTILE / "svg_use_bomb.svg", tmp_path / "notes.txt")
    with pytest.raises(RefusedURL, match="image SVG trop complexe"):
        RestrictedFetcher([tmp_path]).fetch((tmp_path / "notes.txt").as_uri())


@pytest.mark.parametrize(("fixture", "why"), [
    ("svg_billion_laughs.svg", "déclarations <!DOCTYPE [ … ]> ou <!ENTITY>"),
    ("svg_use_cycle.svg", "un élément se contient lui-même"),
    ("svg_image_of_itself.svg", "qui affiche une autre image (svg_image_of_itself.svg)"),
    ("svg_marker_bomb.svg", "8\u00a0423 éléments à dessiner"),  # 21 shapes × 401 vertices
])
def test_hostile_svg_is_refused_before_drawing(tmp_path: Path, fixture: str, why: str) -> None:
    shutil.copy(HOSTILE / fixture, tmp_path / fixture)
    start = time.perf_counter()
    with pytest.raises(RefusedURL, match="image SVG") as caught:
        RestrictedFetcher([tmp_path]).fetch((tmp_path / fixture).as_uri())
    assert why in str(caught.value)
    assert time.perf_counter() - start < FAST


def test_unreadable_svg_is_refused_in_french(tmp_path: Path) -> None:
    (tmp_path / "broken.svg").write_text("<svg><g></svg>", encoding="utf-8")
    with pytest.raises(RefusedURL, match=r"image SVG illisible \(ligne 1\)"):
        RestrictedFetcher([tmp_path]).fetch((tmp_path / "broken.svg").as_uri())


def test_qr_codes_and_an_illustrator_logo_pass_unchanged(tmp_path: Path) -> None:
    shutil.copy(HOSTILE / "logo_illustrator_doctype.svg", tmp_path / "logo.svg")
    fetcher = RestrictedFetcher([tmp_path])
    long_address = "secretariat.direction-des-etudes" + "x" * 60 + "@ecole-exemple.be"
    for url in (qr_data_uri(mailto_uri(long_address)), qr_data_uri(mailto_uri("a@b.be"))):
        response = fetcher.fetch(url)
        assert response.content_type == "image/svg+xml"
        assert response.read() == base64.b64decode(url.split(",", 1)[1])
    response = fetcher.fetch((tmp_path / "logo.svg").as_uri())
    assert response.read() == (tmp_path / "logo.svg").read_bytes()
    assert not fetcher.refused


def test_size_counts_each_use_as_a_copy_of_its_target() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg"><defs><g id="b"><rect/><rect/></g>'
           b'</defs><use href="#b"/><use href="#b"/><rect fill="url(#missing)"/></svg>')
    # svg + 2 × (use + g + 2 rects) + rect; <defs> itself is not drawn.
    assert measure_svg(svg).elements == 1 + 2 * 4 + 1


def test_css_and_fonts_are_not_taken_for_svg(layouts_copy: Path) -> None:
    fetcher = RestrictedFetcher([layouts_copy])
    for name in ("base.css", "fonts/AtkinsonHyperlegibleNext-Bold.ttf"):
        assert fetcher.fetch((layouts_copy / name).as_uri()).read() == (
            layouts_copy / name).read_bytes()


@pytest.mark.allow_weasyprint_warnings
def test_page_with_svg_bombs_is_refused_quickly_naming_them(layouts_copy: Path) -> None:
    """Drawn, the bomb runs for minutes; refused, the page cannot be what the layout meant
    (an image missing), so the render is an error naming each refused image."""
    shutil.copy(HOSTILE / "svg_use_bomb.svg", layouts_copy / "bomb.svg")
    shutil.copy(HOSTILE / "svg_use_bomb.svg", layouts_copy / "bomb.txt")
    renderer = Renderer(layouts_copy, ROOT / "data")
    html = ('<html lang="fr"><body><h1>Affiche</h1><img src="bomb.svg" alt="">'
            '<div style="height: 2cm; background: url(bomb.txt)"></div></body></html>')
    start = time.perf_counter()
    with pytest.raises(FlyerError) as caught:
        renderer.render_document(html)
    assert time.perf_counter() - start < 10  # minutes before
    said = "\n".join(p.message for p in caught.value.problems)
    assert "bomb.svg" in said and "bomb.txt" in said and "ressource refusée" in said
    assert sorted(url.rsplit("/", 1)[1] for url, _ in renderer.fetcher.refused) == [
        "bomb.svg", "bomb.txt"]


def test_a_flyer_qr_url_is_served_as_the_code_of_its_payload(tmp_path: Path) -> None:
    import io

    import zxingcpp
    from PIL import Image

    from flyer.qr import qr_matrix, qr_url

    payload = mailto_uri("josé.dupont@exemple.be")
    response = RestrictedFetcher([tmp_path]).fetch(qr_url(payload))
    assert response.content_type == "image/png"
    image = Image.open(io.BytesIO(response.read())).convert("L")
    pixels = image.load()
    assert pixels is not None
    matrix = qr_matrix(payload)
    assert image.size == (len(matrix), len(matrix))
    assert all((pixels[x, y] == 0) == dark for y, row in enumerate(matrix)
               for x, dark in enumerate(row))
    big = image.resize((image.width * 8, image.height * 8), Image.Resampling.NEAREST)
    assert [r.text for r in zxingcpp.read_barcodes(big)] == [payload]


def test_a_payload_too_long_for_a_qr_code_is_refused_in_french(tmp_path: Path) -> None:
    from flyer.qr import qr_url

    fetcher = RestrictedFetcher([tmp_path])
    with pytest.raises(RefusedURL, match="trop long pour un code QR"):
        fetcher.fetch(qr_url("mailto:" + "a" * 4000 + "@exemple.be"))

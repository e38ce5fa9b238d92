"""Press (PDF/X-4, CMYK) and web (PDF/UA-1) files, read back with pikepdf, not trusted
from the options passed to WeasyPrint."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from flyer.build import BuildOptions, BuildResult, build
from flyer.documents import load_registry
from flyer.errors import FlyerError
from flyer.profiles import output_condition

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ICC = Path(str(load_registry(ROOT / "layouts").profiles["press"].icc))
NAMES = ["leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf", "flyer-fr.pdf"]
MM = 72 / 25.4
A4, A3 = (595.2756, 841.8898), (841.8898, 1190.5512)
TRIMS = {"leaflet-fr.pdf": [A4, A4], "letter-fr.pdf": [A4, A4], "poster-fr.pdf": [A3],
         "flyer-fr.pdf": [A4, A4, A4, A4, A3]}


@pytest.fixture(scope="module")
def press(profiles_build: tuple[Path, BuildResult]) -> Path:
    return profiles_build[0] / "press"


@pytest.fixture(scope="module")
def web(profiles_build: tuple[Path, BuildResult]) -> Path:
    return profiles_build[0] / "web"


def _box(page: pikepdf.Page, name: str) -> tuple[float, ...]:
    return tuple(float(v) for v in page.obj[name])


def _streams(page: pikepdf.Page) -> Iterator[tuple[Any, Any]]:
    """(content stream owner, resources): the page, then every form XObject it uses."""
    stack: list[tuple[Any, Any]] = [(page, page.obj.get("/Resources", {}))]
    seen: set[tuple[int, int]] = set()
    while stack:
        owner, resources = stack.pop()
        yield owner, resources
        for xobject in resources.get("/XObject", {}).values():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                stack.append((xobject, xobject.get("/Resources", resources)))


# Press -------------------------------------------------------------------------------
def test_press_build_writes_the_four_files_in_press_folder(
        profiles_build: tuple[Path, BuildResult]) -> None:
    out, result = profiles_build
    assert sorted(str(w.path.relative_to(out)) for w in result.written) == sorted(
        f"{profile}/{n.replace('-fr', f'-{lang}')}" for profile in ("press", "web")
        for lang in ("fr", "nl") for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_press_trim_is_the_paper_size_and_bleed_is_3_mm_inside_a_larger_media_box(
        press: Path, name: str) -> None:
    with pikepdf.open(press / name) as pdf:
        assert len(pdf.pages) == len(TRIMS[name])
        for page, (width, height) in zip(pdf.pages, TRIMS[name], strict=True):
            tx0, ty0, tx1, ty1 = _box(page, "/TrimBox")
            assert (tx1 - tx0, ty1 - ty0) == pytest.approx((width, height), abs=0.01)
            bleed = _box(page, "/BleedBox")
            assert bleed == pytest.approx((tx0 - 3 * MM, ty0 - 3 * MM, tx1 + 3 * MM,
                                           ty1 + 3 * MM), abs=0.01)
            mx0, my0, mx1, my1 = _box(page, "/MediaBox")
            # Room for the crop marks beyond the bleed.
            assert mx0 < bleed[0] - 5 * MM and my0 < bleed[1] - 5 * MM
            assert mx1 > bleed[2] + 5 * MM and my1 > bleed[3] + 5 * MM


@pytest.mark.parametrize("name", NAMES)
def test_press_output_intent_is_the_shipped_fogra39_profile_and_pdfx4_is_declared(
        press: Path, name: str) -> None:
    """Also for the merged flyer-fr.pdf: the merge keeps output intent, PDF/X id, XMP."""
    shipped = (ROOT / "layouts" / DEFAULT_ICC).read_bytes()
    with pikepdf.open(press / name) as pdf:
        intents = list(pdf.Root.OutputIntents)
        assert len(intents) == 1
        intent = intents[0]
        assert intent.S == "/GTS_PDFX"
        assert str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert str(intent.RegistryName) == "http://www.color.org"
        assert "ISO Coated v2" in str(intent.Info)
        profile = intent.DestOutputProfile
        assert int(profile.N) == 4
        assert profile.read_bytes() == shipped
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
            assert xmp.get("dc:title")
        assert "/ID" in pdf.trailer


def test_the_merged_press_file_holds_its_output_profile_once(press: Path) -> None:
    """Each part brings the profile its CMYK colours are tied to; the merged file keeps
    one, which every page's colour space and the output intent point at."""
    shipped = (ROOT / "layouts" / DEFAULT_ICC).read_bytes()
    with pikepdf.open(press / "flyer-fr.pdf") as pdf:
        profiles = [o for o in pdf.objects if isinstance(o, pikepdf.Stream)
                    and o.get("/N") == 4 and o.read_bytes() == shipped]
        assert len(profiles) == 1
        [only] = profiles
        assert pdf.Root.OutputIntents[0].DestOutputProfile.objgen == only.objgen
        for page in pdf.pages:
            space = page.Resources.ColorSpace["/device-cmyk"]
            assert space[0] == "/ICCBased" and space[1].objgen == only.objgen
    # One profile and the pages: far less than the three parts side by side.
    parts = sum((press / n).stat().st_size for n in NAMES[:3])
    assert (press / "flyer-fr.pdf").stat().st_size < parts / 2


def _colour_operations(pdf_path: Path) -> tuple[Counter[str], Counter[tuple[float, ...]]]:
    """Colour operators used, and the fill colour of every text-showing operator."""
    operators: Counter[str] = Counter()
    text: Counter[tuple[float, ...]] = Counter()
    with pikepdf.open(pdf_path) as pdf:
        for page in pdf.pages:
            for owner, resources in _streams(page):
                spaces = resources.get("/ColorSpace", {})
                fill: tuple[float, ...] = ()
                for operands, operator in pikepdf.parse_content_stream(owner):
                    op = str(operator)
                    if op in ("rg", "RG", "k", "K", "g", "G", "sc", "scn", "SC", "SCN"):
                        operators[op] += 1
                    if op in ("cs", "CS"):
                        name = str(operands[0])
                        space = spaces.get(name, operands[0])
                        operators[f"{op} {space if isinstance(space, pikepdf.Name) else name}"] += 1
                    if op in ("k", "scn", "sc", "rg", "g"):
                        fill = tuple(float(v) for v in operands
                                     if isinstance(v, (int, float, pikepdf.Object)) and
                                     not isinstance(v, pikepdf.Name))
                    if op in ("Tj", "TJ", "'", '"'):
                        text[fill] += 1
                for xobject in resources.get("/XObject", {}).values():
                    if xobject.get("/Subtype") == "/Image":
                        operators[f"image {xobject.get('/ColorSpace')}"] += 1
    return operators, text


@pytest.mark.parametrize("name", NAMES)
def test_press_content_streams_use_no_rgb_and_body_text_is_black_ink_only(
        press: Path, name: str) -> None:
    operators, text = _colour_operations(press / name)
    assert not {op for op in operators if op in ("rg", "RG") or "RGB" in op}, operators
    assert "cs /DeviceCMYK" in operators
    # Body text: K only; no text in a rich black (C, M or Y under a full K).
    assert text.most_common(1)[0][0] == (0.0, 0.0, 0.0, 1.0), text
    rich = [c for c in text if len(c) == 4 and c[3] >= 0.9 and max(c[:3]) > 0]
    assert not rich, rich


@pytest.mark.parametrize("name", NAMES)
def test_press_crop_marks_are_k_only_hairlines_outside_the_bleed_box(
        press: Path, name: str) -> None:
    with pikepdf.open(press / name) as pdf:
        for page in pdf.pages:
            bx0, by0, bx1, by1 = _box(page, "/BleedBox")
            tx0, ty0, tx1, ty1 = _box(page, "/TrimBox")
            mx0, my0, mx1, my1 = _box(page, "/MediaBox")
            last = page.obj.Contents[-1] if isinstance(page.obj.Contents, pikepdf.Array) \
                else page.obj.Contents
            ops = pikepdf.parse_content_stream(last)
            names = [str(op) for _, op in ops]
            stroke = [list(map(float, o)) for o, op in ops if str(op) == "K"]
            assert stroke == [[0, 0, 0, 1]]
            points = [tuple(map(float, o)) for o, op in ops if str(op) in ("m", "l")]
            assert names.count("S") == 8 and len(points) == 16
            for x, y in points:
                assert mx0 <= x <= mx1 and my0 <= y <= my1
                outside = x < bx0 or x > bx1 or y < by0 or y > by1
                assert outside, (x, y)
                # Each mark sits on the extension of a trim line.
                assert min(abs(x - tx0), abs(x - tx1), abs(y - ty0), abs(y - ty1)) < 0.01


def test_press_rebuild_is_byte_identical(profiles_build: tuple[Path, BuildResult],
                                        tmp_path: Path) -> None:
    """WeasyPrint's random XMP DocumentID and pypdf's time-based file ID are replaced."""
    from flyer.build import BuildOptions, build

    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path,
                       profiles=("press",)))
    for name in NAMES:
        assert (tmp_path / "press" / name).read_bytes() == (
            profiles_build[0] / "press" / name).read_bytes(), name


def test_press_files_carry_no_annotation_in_the_printable_area(press: Path) -> None:
    for name in NAMES:
        with pikepdf.open(press / name) as pdf:
            assert all("/Annots" not in page.obj for page in pdf.pages), name


def test_press_qr_codes_still_decode_in_cmyk(press: Path) -> None:
    pages = pdfread.qr_payloads(press / "leaflet-fr.pdf", 150)
    assert len(pages[1]) == 10 and all(p.startswith("mailto:") for p in pages[1])


def test_press_refuses_an_rgb_icc_profile(tmp_path: Path) -> None:
    import weasyprint

    srgb = Path(weasyprint.__file__).parent / "pdf" / "sRGB2014.icc"
    with pytest.raises(FlyerError, match="CMJN"):
        build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path,
                           profiles=("press",), icc=srgb))
    assert not any(tmp_path.iterdir())


def test_output_condition_names_the_characterization_of_the_shipped_profile() -> None:
    condition = output_condition(ROOT / "layouts" / DEFAULT_ICC)
    assert (condition.identifier, condition.registry) == ("FOGRA39", "http://www.color.org")
    assert condition.info.startswith("ISO Coated v2 300%")


# Web ---------------------------------------------------------------------------------
def _struct(pdf: pikepdf.Pdf) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, pikepdf.Array):
            for child in node:
                walk(child)
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                found.append((str(node.S)[1:], node))
            if "/K" in node:
                walk(node.K)

    walk(pdf.Root.StructTreeRoot)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_web_files_are_tagged_pdf_ua_in_french_with_title_and_bookmarks(
        web: Path, name: str) -> None:
    with pikepdf.open(web / name) as pdf:
        assert str(pdf.Root.Lang) == "fr"
        assert bool(pdf.Root.MarkInfo.Marked)
        assert "/StructTreeRoot" in pdf.Root
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfuaid:part") == "1"
            assert xmp.get("dc:title")
        for page in pdf.pages:  # screen files: no bleed
            assert _box(page, "/MediaBox") == _box(page, "/TrimBox")
    assert pdfread.bookmarks(web / name)


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf"])
def test_web_contacts_are_a_table_with_header_cells_and_qr_codes_have_alt_text(
        web: Path, name: str) -> None:
    with pikepdf.open(web / name) as pdf:
        elements = _struct(pdf)
    kinds = Counter(kind for kind, _ in elements)
    assert kinds["Table"] >= 1 and kinds["TH"] >= 4 + 10  # column headers + one per service
    alts = [str(node.Alt) for kind, node in elements if kind == "Figure" and "/Alt" in node]
    figures = [node for kind, node in elements if kind == "Figure"]
    assert len(alts) == len(figures) == 10
    assert all(re.fullmatch(r"Code QR : écrire à \S+@\S+", alt) for alt in alts), alts


def test_web_leaflet_headings_are_in_order(web: Path) -> None:
    with pikepdf.open(web / "leaflet-fr.pdf") as pdf:
        headings = [kind for kind, _ in _struct(pdf) if re.fullmatch(r"H[1-6]", kind)]
    assert headings == ["H1", "H2", "H2"]


def test_web_files_are_rgb_and_keep_their_links(web: Path) -> None:
    operators, _ = _colour_operations(web / "leaflet-fr.pdf")
    assert "rg" in operators or any("RGB" in op for op in operators)
    uris = pdfread.link_uris(web / "leaflet-fr.pdf")
    assert sum(u.startswith("mailto:") for u in uris) == 10
    assert sum(u.startswith("tel:") for u in uris) == 10


def _relative_luminance(rgb: tuple[int, ...]) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_press_text_colours_keep_4_5_to_1_contrast_through_the_icc_profile() -> None:
    """The CMYK text colours, converted with the shipped profile as a proof would, stay
    readable (WCAG AA) on paper and on the tinted boxes."""
    from PIL import Image, ImageCms

    css = (ROOT / "layouts" / "press.css").read_text(encoding="utf-8")
    colours = {name: tuple(float(v) for v in value.split()) for name, value in
               re.findall(r"--(\w+):\s*device-cmyk\(([^)]*)\)", css)}
    transform = ImageCms.buildTransform(
        ImageCms.getOpenProfile(str(ROOT / "layouts" / DEFAULT_ICC)),
        ImageCms.createProfile("sRGB"), "CMYK", "RGB", renderingIntent=1)

    def luminance(cmyk: tuple[float, ...]) -> float:
        pixel = Image.new("CMYK", (1, 1), tuple(round(v * 255) for v in cmyk))
        return _relative_luminance(ImageCms.applyTransform(pixel, transform).getpixel((0, 0)))

    for text in ("ink", "accent"):
        for background in ((0.0, 0.0, 0.0, 0.0), colours["tint"]):
            light, dark = sorted((luminance(colours[text]), luminance(background)),
                                 reverse=True)
            assert (light + 0.05) / (dark + 0.05) >= 4.5, (text, background)

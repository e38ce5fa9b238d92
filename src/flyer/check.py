"""Preflight of any PDF: one result per check, with what was found and what was expected.

Two levels. The structural checks read the file with pypdf (already needed by the
build): page sizes and boxes, fonts embedded, colour spaces used by the content
streams, output intent and PDF/X version (press), tagging, language, headings, tables
and alternative texts (web), `mailto:`/`tel:` links. The render checks draw each page
with pypdfium2 and decode every QR code with zxing-cpp at print resolution, and
measure the smallest text: those libraries are imported inside the functions, so a
plain `flyer build` never loads them.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from flyer.formats import CHECKS, PAPER_MM

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

    from flyer.documents import ProfileSpec, Registry

MM_PER_PT = 25.4 / 72
SAFE_MM = 5.0  # a trim that wanders by a millimetre or two must not touch any text
# Resolution at which a reader's phone must still read the codes: a leaflet scanned from
# hand's length, a poster from a metre or two (PRINT-NOTES.md, "QR codes").
QR_DPI_SMALL, QR_DPI_LARGE = 150, 72
MIN_TEXT_PT = 10.0  # for a file flyer did not make (no document entry to ask)

# \w: addresses may have accented letters (IDN domains, UTF-8 local parts).
EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# E.164 numbers, or the short numbers the data allows (112, 103, 116000).
TEL = re.compile(r"^tel:(?:\+\d{6,15}|\d{3,6})$")


def printed_addresses(text: str) -> list[str]:
    """The e-mail addresses in a page's extracted text, also those the layout broke over
    two lines (after the @, before a dot: `name@` / `domain.be`, `first` / `.last@…`)."""
    text = text.replace("\u200b", "").replace("\u00ad", "")
    text = re.sub(r"@\s*\n\s*", "@", text)
    text = re.sub(r"(?<=[\w-])\s*\n\s*(?=\.[\w.%+-]*@)", "", text)
    text = re.sub(r"(?<=@[\w.-])\s*\n\s*(?=\.[\w-])", "", text)
    return EMAIL.findall(text)


@dataclass(frozen=True)
class CheckResult:
    """One row of the preflight report."""

    file: str
    label: str
    ok: bool
    found: str
    expected: str
    # For a check that counts (the QR codes): how many passed, out of how many.
    count: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class Rules:
    """What the preflight reads of a profile (profiles.yaml), as plain values: a render
    worker checks its files without loading the registries' models."""

    name: str
    checks: tuple[str, ...]
    colour: str = "rgb"
    pdf_variant: str | None = None
    links: bool = True
    bleed_mm: float = 0.0

    @classmethod
    def of(cls, profile: ProfileSpec | Rules) -> Rules:
        if isinstance(profile, Rules):
            return profile
        return cls(profile.name, tuple(profile.checks), profile.colour, profile.pdf_variant,
                   profile.links, profile.bleed_mm)


@dataclass(frozen=True)
class Expect:
    """What a file must be, from its document's entry and its profile (documents.yaml,
    profiles.yaml): None where nothing is known (a file flyer did not make)."""

    pages: int | None = None
    papers: tuple[str, ...] | None = None  # one per page, when the page count is fixed
    allowed: frozenset[str] | None = None  # papers any page may have
    qr_min_mm: float | None = None
    text_min_pt: float = MIN_TEXT_PT
    # `mailto:` links flyer made from addresses its data model validated (the plan's
    # codes): well formed as they are, so the link check does not validate them again.
    made_links: frozenset[str] = frozenset()


def check_pdf(source: bytes | Path, name: str,
              profile: ProfileSpec | Rules | str | None = None,
              expect: Expect | None = None, render: bool = True,
              registry: Registry | None = None, text: bool = True,
              only: frozenset[str] | None = None) -> list[CheckResult]:
    """Every check of `profile` on `source` (profile None: guessed from the file).

    `text=False` leaves out the checks on each character, and `only` limits the checks
    to those named: a merged file whose parts were each checked already is checked for
    what merging could break."""
    from pypdf import PdfReader

    data = source.read_bytes() if isinstance(source, Path) else source
    reader = PdfReader(io.BytesIO(data))
    spec = Rules.of(resolve_profile(profile, reader, registry))
    if only is not None:
        spec = replace(spec, checks=tuple(c for c in spec.checks if c in only))
    checks = _Checks(reader, name, spec, expect or Expect())
    results = checks.structural()
    # The text checks read pdfium's character boxes (cheap): always. Decoding every QR code
    # needs a render of each page: with `render` (`--check`, `flyer check`).
    if (text and any(c in spec.checks for c in ("text-size", "trim-clearance"))) or (
            render and "qr" in spec.checks):
        results += render_checks(data, name, reader, spec, expect or Expect(),
                                 decode_qr=render)
    return results


def check_large_pdf(path: Path, name: str, profile: ProfileSpec | Rules, expect: Expect
                    ) -> list[CheckResult]:
    """The checks merging can break (pages and paper, the PDF/X output intent), for a file
    of thousands of pages (a school batch's merged file), read lazily with pikepdf instead
    of parsed whole: its parts were each checked in full already."""
    import pikepdf

    results: list[CheckResult] = []
    with pikepdf.open(path) as pdf:
        names = []
        for page in pdf.pages:
            box = page.obj.get("/TrimBox") or page.mediabox
            x0, y0, x1, y1 = (float(v) for v in box)
            names.append(size_name((x1 - x0) * MM_PER_PT, (y1 - y0) * MM_PER_PT))
        if "paper" in profile.checks:
            found = ", ".join(f"{n} × {label}" for label, n in Counter(names).items())
            wanted = expect.allowed or frozenset(names)
            results.append(CheckResult(name, "Format des pages (TrimBox)",
                                       bool(names) and set(names) <= wanted,
                                       f"{len(names)} page(s) : {found}",
                                       " ou ".join(sorted(wanted))))
        if "pages" in profile.checks and expect.pages is not None:
            results.append(CheckResult(name, "Nombre de pages", len(names) == expect.pages,
                                       str(len(names)), str(expect.pages)))
        if "output-intent" in profile.checks:
            intents = [i for i in pdf.Root.get("/OutputIntents", [])
                       if i.get("/S") == "/GTS_PDFX"]
            profile_stream = intents[0].get("/DestOutputProfile") if intents else None
            components = int(profile_stream.get("/N", 0)) if profile_stream is not None else 0
            found = (f"{intents[0].get('/OutputConditionIdentifier', '?')} — profil à "
                     f"{components} composantes") if intents else "aucun"
            results.append(CheckResult(name, "Profil de sortie (output intent)",
                                       components == 4, found,
                                       "un profil CMJN GTS_PDFX incorporé"))
            xmp = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace") if (
                "/Metadata" in pdf.Root) else ""
            version = _xmp_value(xmp, "pdfxid:GTS_PDFXVersion")
            results.append(CheckResult(name, "Version PDF/X", version == "PDF/X-4",
                                       version or "aucune", "PDF/X-4"))
    return results


def shipped_registry() -> Registry | None:
    """The registry of `./layouts`, when flyer runs in its project folder."""
    from flyer.documents import load_registry
    from flyer.errors import FlyerError

    layouts = Path("layouts")
    if not (layouts / "profiles.yaml").is_file():
        return None
    try:
        return load_registry(layouts)
    except FlyerError:
        return None


def resolve_profile(profile: ProfileSpec | Rules | str | None, reader: PdfReader,
                    registry: Registry | None = None) -> ProfileSpec | Rules:
    """The profile given, or the one `profile_named` finds."""
    if profile is not None and not isinstance(profile, str):
        return profile
    return profile_named(profile, reader, registry)


def profile_named(kind: str | None, reader: PdfReader, registry: Registry | None = None
                  ) -> ProfileSpec:
    """A profile of the registry by name, or the one whose PDF variant the file claims; a
    file from elsewhere is checked for what it says it is."""
    registry = registry or shipped_registry()
    kind = kind or detect_profile(reader)
    if registry is not None:
        if kind in registry.profiles:
            return registry.profiles[kind]
        variant = {"press": "pdf/x-4", "web": "pdf/ua-1"}.get(kind)
        for spec in registry.profiles.values():
            if spec.pdf_variant == variant and (variant or spec.colour == "rgb"):
                return spec
    return inferred_profile(kind)


def inferred_profile(kind: str) -> ProfileSpec:
    """What a PDF/X, PDF/UA or plain file must be, without a registry to ask."""
    from flyer.documents import ProfileSpec

    always = ("paper", "fonts", "colour", "links", "text-size", "trim-clearance", "qr")
    if kind == "press":
        return ProfileSpec(name="press", pdf_variant="pdf/x-4", colour="cmyk", bleed_mm=3,
                           links=False, checks=(*always, "bleed", "black-text",
                                                "output-intent", "annotations"))
    if kind == "web":
        return ProfileSpec(name="web", pdf_variant="pdf/ua-1", fixed_pages=False,
                           checks=(*always, "bleed", "tagging"))
    return ProfileSpec(name=kind, checks=always)


def detect_profile(reader: PdfReader) -> str:
    """press for a PDF/X file, web for a PDF/UA one, office otherwise."""
    xmp = _xmp(reader)
    if "/OutputIntents" in _root(reader) or "GTS_PDFXVersion" in xmp:
        return "press"
    if "pdfuaid" in xmp:
        return "web"
    return "office"


def _root(reader: PdfReader) -> Any:
    """The document catalog (typed Any: pypdf's generic objects are loosely typed)."""
    return reader.trailer["/Root"].get_object()


def _xmp(reader: PdfReader) -> str:
    root = _root(reader)
    if "/Metadata" not in root:
        return ""
    data: bytes = root["/Metadata"].get_object().get_data()
    return data.decode("utf-8", "replace")


def _xmp_value(xmp: str, key: str) -> str | None:
    match = re.search(rf"{key}(?:>|=\")([^<\"]*)", xmp)
    return match.group(1).strip() if match else None


def _box(page: PageObject, name: str) -> tuple[float, float, float, float] | None:
    box = page.get(name)
    if box is None:
        return None
    values = [float(v) for v in box.get_object()]
    return (values[0], values[1], values[2], values[3])


def size_name(width_mm: float, height_mm: float) -> str:
    """"A4", "A4 paysage"… or the size in mm."""
    for label, (w, h) in PAPER_MM.items():
        if abs(width_mm - w) <= 1 and abs(height_mm - h) <= 1:
            return label
        if abs(width_mm - h) <= 1 and abs(height_mm - w) <= 1:
            return f"{label} paysage"
    return f"{width_mm:.0f}×{height_mm:.0f} mm"


class _Checks:
    def __init__(self, reader: PdfReader, name: str, profile: Rules,
                 expect: Expect) -> None:
        self.reader = reader
        self.name = name
        self.profile = profile
        self.expect = expect
        self.results: list[CheckResult] = []

    def add(self, label: str, ok: bool, found: str, expected: str) -> None:
        self.results.append(CheckResult(self.name, label, ok, found, expected))

    def structural(self) -> list[CheckResult]:
        wanted = set(self.profile.checks)
        steps = {"paper": self.sizes, "pages": self.pages, "bleed": self.bleed,
                 "fonts": self.fonts, "colour": self.colours, "output-intent":
                 self.output_intent, "annotations": self.annotations_in_bleed,
                 "tagging": self.tagging, "links": self.links}
        for name in CHECKS:
            if name in steps and name in wanted:
                steps[name]()
        return self.results

    # Boxes ----------------------------------------------------------------------------
    def trim(self, page: PageObject) -> tuple[float, float, float, float]:
        box = _box(page, "/TrimBox") or _box(page, "/MediaBox")
        assert box is not None
        return box

    def sizes(self) -> None:
        names = []
        for page in self.reader.pages:
            x0, y0, x1, y1 = self.trim(page)
            names.append(size_name((x1 - x0) * MM_PER_PT, (y1 - y0) * MM_PER_PT))
        counted = Counter(names)
        found = ", ".join(f"{n} × {label}" for label, n in counted.items())
        expect = self.expect
        if expect.papers is not None and len(expect.papers) == len(names):
            ok = list(expect.papers) == names
            shown = ", ".join(f"{n} × {label}" for label, n in Counter(expect.papers).items())
        elif expect.allowed:
            ok = bool(names) and all(n in expect.allowed for n in names)
            shown = " ou ".join(sorted(expect.allowed))
        else:
            ok = bool(names) and all(not n.endswith(" mm") for n in names)
            shown = "un format ISO (A3, A4, A5, A6)"
        self.add("Format des pages (TrimBox)", ok, f"{len(names)} page(s) : {found}", shown)

    def pages(self) -> None:
        if self.expect.pages is None:
            return
        count = len(self.reader.pages)
        self.add("Nombre de pages", count == self.expect.pages, str(count),
                 f"{self.expect.pages} (documents.yaml)")

    def bleed(self) -> None:
        smallest = float("inf")
        problems = []
        for index, page in enumerate(self.reader.pages, start=1):
            trim = _box(page, "/TrimBox")
            bleed = _box(page, "/BleedBox") or _box(page, "/MediaBox")
            media = _box(page, "/MediaBox")
            if trim is None or bleed is None or media is None:
                smallest = 0.0
                problems.append(f"p.{index} sans TrimBox")
                continue
            margins = (trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2],
                       bleed[3] - trim[3])
            smallest = min(smallest, *(m * MM_PER_PT for m in margins))
            if not (media[0] <= bleed[0] and media[1] <= bleed[1] and media[2] >= bleed[2]
                    and media[3] >= bleed[3]):
                problems.append(f"p.{index} BleedBox hors de la MediaBox")
        bleed_mm = 0.0 if smallest == float("inf") else max(smallest, 0.0)
        found = f"{bleed_mm:.1f} mm" + (" ; " + ", ".join(problems) if problems else "")
        wanted = self.profile.bleed_mm
        if wanted > 0:
            ok = bleed_mm >= wanted - 0.05 and not problems
            self.add("Fond perdu (BleedBox)", ok, found,
                     f"TrimBox, et BleedBox ≥ {wanted:g} mm autour, dans la MediaBox")
        else:
            self.add("Fond perdu (BleedBox)", bleed_mm < 0.05, found, "aucun (écran)")

    # Fonts ----------------------------------------------------------------------------
    def fonts(self) -> None:
        fonts: dict[str, bool] = {}
        for page in self.reader.pages:
            for resources in _all_resources(page.get("/Resources")):
                for font in _dict(resources.get("/Font")).values():
                    font = font.get_object()
                    target = font
                    if "/DescendantFonts" in font:
                        target = font["/DescendantFonts"].get_object()[0].get_object()
                    descriptor = _dict(target.get("/FontDescriptor"))
                    embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2",
                                                              "/FontFile3"))
                    if font.get("/Subtype") == "/Type3":
                        embedded = True
                    fonts[str(font.get("/BaseFont", "?"))] = embedded
        missing = sorted(n for n, e in fonts.items() if not e)
        found = (f"{len(fonts)} police(s), toutes incorporées" if not missing
                 else "non incorporées : " + ", ".join(missing))
        self.add("Polices incorporées", not missing, found, "toutes incorporées")

    # Colours --------------------------------------------------------------------------
    def colours(self) -> None:
        if self.profile.colour == "rgb" and self.profile.pdf_variant is None:
            # Any colour prints on an office printer: not worth reading every stream
            # (it was a third of a plain build's preflight).
            self.add("Espaces de couleur", True, "non analysés", "libres (RVB permis)")
            return
        scan = _ColourScan()
        for page in self.reader.pages:
            scan.page(page)
        spaces = sorted(scan.spaces)
        found = ", ".join(spaces) or "aucune couleur"
        if scan.rgb_where:
            found += " (RVB : " + ", ".join(sorted(scan.rgb_where)[:4]) + ")"
        if self.profile.colour == "cmyk":
            self.add("Espaces de couleur", not scan.rgb_where, found,
                     "CMJN (ou gris), aucun RVB")
            if "black-text" in self.profile.checks:
                self.results.append(black_text_check(self.name, scan.text_colours))
        else:
            self.add("Espaces de couleur", True, found, "libres (RVB permis)")

    # Conformance ----------------------------------------------------------------------
    def output_intent(self) -> None:
        root = _root(self.reader)
        intents = [i.get_object() for i in root.get("/OutputIntents", [])]
        pdfx = [i for i in intents if i.get("/S") == "/GTS_PDFX"]
        if not pdfx:
            self.add("Profil de sortie (output intent)", False, "aucun",
                     "un profil CMJN GTS_PDFX incorporé")
        else:
            intent = pdfx[0]
            profile = intent.get("/DestOutputProfile")
            components = int(profile.get_object().get("/N", 0)) if profile is not None else 0
            ident = str(intent.get("/OutputConditionIdentifier", "?"))
            info = str(intent.get("/Info", ""))
            found = f"{ident} — {info}, profil à {components} composantes"
            self.add("Profil de sortie (output intent)", components == 4, found,
                     "un profil CMJN GTS_PDFX incorporé")
        version = _xmp_value(_xmp(self.reader), "pdfxid:GTS_PDFXVersion")
        if version is None:
            info_dict = self.reader.trailer.get("/Info")
            if info_dict is not None and "/GTS_PDFXVersion" in info_dict.get_object():
                version = str(info_dict.get_object()["/GTS_PDFXVersion"])
        self.add("Version PDF/X", version == "PDF/X-4", version or "aucune", "PDF/X-4")

    def annotations_in_bleed(self) -> None:
        inside = 0
        for page in self.reader.pages:
            bleed = _box(page, "/BleedBox") or self.trim(page)
            for annot in page.get("/Annots", []) or []:
                annot = annot.get_object()
                if annot.get("/Subtype") in ("/PrinterMark", "/TrapNet"):
                    continue
                x0, y0, x1, y1 = (float(v) for v in annot.get("/Rect", [0, 0, 0, 0]))
                if x1 > bleed[0] and x0 < bleed[2] and y1 > bleed[1] and y0 < bleed[3]:
                    inside += 1
        self.add("Annotations dans la zone imprimée", inside == 0, str(inside),
                 "aucune (interdit en PDF/X)")

    def tagging(self) -> None:
        root = _root(self.reader)
        xmp = _xmp(self.reader)
        marked = bool(_dict(root.get("/MarkInfo")).get("/Marked", False))
        tree = root.get("/StructTreeRoot")
        part = _xmp_value(xmp, "pdfuaid:part")
        found = (f"MarkInfo {'oui' if marked else 'non'}, arbre de structure "
                 f"{'oui' if tree is not None else 'non'}, PDF/UA-{part or '?'}")
        self.add("Balisage (PDF/UA)", marked and tree is not None and part == "1", found,
                 "document balisé, PDF/UA-1")
        lang = str(root.get("/Lang", "")).strip()
        self.add("Langue (/Lang)", bool(lang), lang or "aucune", "la langue du texte (fr, nl…)")
        title = _xmp_value(xmp, "<rdf:li[^>]*") or ""
        info = self.reader.metadata
        title = (info.title if info is not None and info.title else "") or title
        display = bool(_dict(root.get("/ViewerPreferences")).get("/DisplayDocTitle", False))
        self.add("Titre du document", bool(title) and display,
                 (title[:60] or "aucun") + ("" if display else " (DisplayDocTitle absent)"),
                 "un titre, affiché par la visionneuse")
        elements = list(_struct_elements(tree, _dict(_dict(tree).get("/RoleMap"))))
        headings = [int(s[1]) for s, _ in elements if re.fullmatch(r"H[1-6]", s)]
        jumps = [f"H{a}→H{b}" for a, b in itertools.pairwise(headings)
                 if b > a + 1]
        ok = bool(headings) and headings[0] == 1 and not jumps
        self.add("Titres dans l'ordre", ok,
                 " ".join(f"H{h}" for h in headings[:12]) + (" …" if len(headings) > 12 else "")
                 + (f" ; sauts : {', '.join(jumps)}" if jumps else "") if headings else "aucun",
                 "H1 d'abord, aucun niveau sauté")
        tables = sum(1 for s, _ in elements if s == "Table")
        headers = sum(1 for s, _ in elements if s == "TH")
        self.add("Tableau des contacts", tables > 0 and headers > 0,
                 f"{tables} tableau(x), {headers} cellule(s) d'en-tête",
                 "un tableau avec cellules d'en-tête (TH)")
        figures = [e for s, e in elements if s == "Figure"]
        without = sum(1 for e in figures if not str(e.get("/Alt", "")).strip())
        self.add("Texte de remplacement des images", without == 0,
                 f"{len(figures)} image(s), {without} sans /Alt", "un /Alt pour chaque image")
        outline = root.get("/Outlines")
        count = 0
        if outline is not None:
            count = sum(1 for _ in self.reader.outline)
        self.add("Signets", count > 0, f"{count} signet(s)", "au moins un")

    # Links ----------------------------------------------------------------------------
    def links(self) -> None:
        uris = []
        for page in self.reader.pages:
            for annot in page.get("/Annots", []) or []:
                annot = annot.get_object()
                action = _dict(annot.get("/A"))
                if annot.get("/Subtype") == "/Link" and "/URI" in action:
                    uris.append(str(action["/URI"]))
        mailto = [u for u in uris if u.startswith("mailto:")]
        tel = [u for u in uris if u.startswith("tel:")]
        # A link of the plan's is taken as made; anything else is validated, which loads
        # the e-mail validator (30 ms in a worker that has not needed it).
        made = self.expect.made_links
        bad = ([u for u in mailto if u not in made and not _mailto_ok(u)]
               + [u for u in tel if not TEL.match(u)])
        found = f"{len(mailto)} mailto:, {len(tel)} tel:"
        if bad:
            found += " ; mal formés : " + ", ".join(bad[:4])
        if not self.profile.links and not uris:
            found += " (retirés : pas d'annotation en PDF/X)"
        self.add("Liens mailto: et tel:", not bad, found,
                 "mailto:adresse et tel:+32… bien formés")


def _mailto_ok(uri: str) -> bool:
    """One address, percent-decoded, that the data validation would accept."""
    from urllib.parse import unquote

    from flyer.values import parse_email

    address = unquote(uri.removeprefix("mailto:"))
    try:
        parse_email(address)
    except ValueError:
        return False
    return "?" not in uri


def _fmt(colour: tuple[float, ...]) -> str:
    return " ".join(f"{v:.3g}" for v in colour)


def _dict(value: Any) -> Any:
    if value is None:
        return {}
    return value.get_object()


def _all_resources(resources: Any) -> Iterator[Any]:
    """A resource dictionary and those of the form XObjects it uses, recursively."""
    seen: set[int] = set()
    stack = [resources]
    while stack:
        current = _dict(stack.pop())
        if id(current) in seen or not current:
            continue
        seen.add(id(current))
        yield current
        for xobject in _dict(current.get("/XObject")).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                stack.append(xobject["/Resources"])
        for pattern in _dict(current.get("/Pattern")).values():
            pattern = pattern.get_object()
            if "/Resources" in pattern:
                stack.append(pattern["/Resources"])


def _struct_elements(node: Any, rolemap: Any) -> Iterator[tuple[str, Any]]:
    """(standard structure type, element) in document order."""
    if node is None:
        return
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, list):
        for child in node:
            yield from _struct_elements(child, rolemap)
        return
    if not hasattr(node, "get"):
        return
    kind = node.get("/S")
    if kind is not None:
        name = str(kind)
        seen = 0
        while f"/{name.lstrip('/')}" in rolemap and seen < 10:
            name = str(rolemap[f"/{name.lstrip('/')}"])
            seen += 1
        yield name.lstrip("/"), node
    kids = node.get("/K")
    if kids is not None:
        yield from _struct_elements(kids, rolemap)


def _space_name(space: Any, resources: Any) -> str:
    """A colour space (name or array, possibly a resource name) as RVB/CMJN/gris/…"""
    space = space.get_object() if hasattr(space, "get_object") else space
    if isinstance(space, str) and not isinstance(space, list):
        name = str(space)
        simple = {"/DeviceRGB": "RVB", "/RGB": "RVB", "/CalRGB": "RVB",
                  "/DeviceCMYK": "CMJN", "/CMYK": "CMJN", "/DeviceGray": "gris",
                  "/G": "gris", "/CalGray": "gris", "/Pattern": "motif", "/Lab": "Lab"}
        if name in simple:
            return simple[name]
        named = _dict(_dict(resources).get("/ColorSpace")).get(name)
        if named is not None:
            return _space_name(named, None)
        return f"inconnu ({name})"
    family = str(space[0])
    if family == "/ICCBased":
        components = int(space[1].get_object().get("/N", 0))
        return {1: "gris", 3: "RVB", 4: "CMJN"}.get(components, f"ICC {components}")
    if family in ("/Indexed", "/I"):
        return _space_name(space[1], resources)
    if family in ("/Separation", "/DeviceN"):
        return "ton direct"
    if family == "/Pattern" and len(space) > 1:
        return _space_name(space[1], resources)
    return _space_name(space[0], resources)


BLACK_TEXT = "Texte courant en noir seul"


def black_text_check(name: str, text_colours: Counter[tuple[float, ...]]) -> CheckResult:
    """Running text in K only (the most frequent text colour is 0 0 0 1), and no text
    in rich black anywhere: `text_colours` counts the runs of text (text-showing
    operators) drawn in each colour."""
    black_text = {c for c in text_colours if len(c) == 4 and c[3] >= 0.9 and max(c[:3]) > 0}
    dominant = text_colours.most_common(1)
    found = "aucun texte" if not dominant else (
        f"couleur la plus fréquente : {_fmt(dominant[0][0])}")
    if black_text:
        found += " ; noir quadri : " + ", ".join(_fmt(c) for c in sorted(black_text))
    ok = bool(dominant) and dominant[0][0] == (0.0, 0.0, 0.0, 1.0) and not black_text
    return CheckResult(name, BLACK_TEXT, ok, found, "0 0 0 1 (K seul), jamais de noir quadri")


def text_colours(data: bytes) -> Counter[tuple[float, ...]]:
    """How many runs of text a file draws in each colour (its pages' content streams)."""
    from pypdf import PdfReader

    scan = _ColourScan()
    for page in PdfReader(io.BytesIO(data)).pages:
        scan.page(page)
    return scan.text_colours


class _ColourScan:
    """Every colour space a page really uses: colour operators in content streams, images,
    shadings and transparency groups, through form XObjects and patterns."""

    OPERANDS: ClassVar[dict[bytes, str]] = {
        b"rg": "RVB", b"RG": "RVB", b"k": "CMJN", b"K": "CMJN", b"g": "gris", b"G": "gris"}

    def __init__(self) -> None:
        self.spaces: set[str] = set()
        self.rgb_where: set[str] = set()
        self.text_colours: Counter[tuple[float, ...]] = Counter()
        self._done: set[int] = set()

    def note(self, space: str, where: str) -> None:
        self.spaces.add(space)
        if space == "RVB":
            self.rgb_where.add(where)

    def page(self, page: PageObject) -> None:
        resources = page.get("/Resources")
        group = _dict(page.get("/Group"))
        if "/CS" in group:
            self.note(_space_name(group["/CS"], resources), "groupe de transparence")
        contents = page.get_contents()
        if contents is not None:
            self.stream(contents.get_data(), resources, "page")

    def stream(self, data: bytes, resources: Any, where: str) -> None:
        resources = _dict(resources)
        fill: tuple[float, ...] = (0.0,)
        fill_space = "gris"
        for operands, operator in operations(data):
            if operator in self.OPERANDS:
                self.note(self.OPERANDS[operator], f"opérateur {operator.decode()} ({where})")
                if operator in (b"rg", b"k", b"g"):
                    fill = tuple(float(v) for v in operands)
                    fill_space = self.OPERANDS[operator]
            elif operator in (b"cs", b"CS"):
                space = _space_name(operands[0], resources)
                self.note(space, f"espace {operands[0]} ({where})")
                if operator == b"cs":
                    fill_space = space
            elif operator in (b"sc", b"scn") and fill_space in ("CMJN", "RVB", "gris"):
                if operands and all(isinstance(v, float) for v in operands):
                    fill = tuple(float(v) for v in operands)
            elif operator in (b"Tj", b"TJ", b"'", b'"'):
                if fill_space == "CMJN":
                    self.text_colours[fill] += 1
                elif fill_space == "gris" and len(fill) == 1:
                    self.text_colours[(0.0, 0.0, 0.0, 1.0 - fill[0])] += 1
                else:
                    self.text_colours[fill] += 1
            elif operator == b"Do":
                self.xobject(operands[0], resources, where)
            elif operator == b"sh":
                shading = _dict(_dict(resources.get("/Shading")).get(operands[0]))
                if "/ColorSpace" in shading:
                    self.note(_space_name(shading["/ColorSpace"], resources), "dégradé")
            elif operator == b"BI":
                # Inline image: its dictionary's /CS (or /ColorSpace) entry.
                pairs = dict(zip(operands[::2], operands[1::2], strict=False))
                inline_space: Any = pairs.get("/CS", pairs.get("/ColorSpace"))
                if isinstance(inline_space, str):
                    self.note(_space_name(inline_space, resources), "image en ligne")
        for pattern in _dict(resources.get("/Pattern")).values():
            pattern = pattern.get_object()
            if id(pattern) in self._done:
                continue
            self._done.add(id(pattern))
            if "/Shading" in pattern:
                shading = pattern["/Shading"].get_object()
                self.note(_space_name(shading.get("/ColorSpace"), resources), "motif")
            elif hasattr(pattern, "get_data"):
                self.stream(pattern.get_data(), pattern.get("/Resources", resources), "motif")

    def xobject(self, name: Any, resources: Any, where: str) -> None:
        xobject = _dict(_dict(resources.get("/XObject")).get(name))
        if not xobject or id(xobject) in self._done:
            return
        self._done.add(id(xobject))
        if xobject.get("/Subtype") == "/Image":
            if xobject.get("/ImageMask"):
                return
            if "/ColorSpace" in xobject:
                self.note(_space_name(xobject["/ColorSpace"], resources), f"image {name}")
            return
        group = _dict(xobject.get("/Group"))
        if "/CS" in group:
            self.note(_space_name(group["/CS"], resources), f"groupe de transparence {name}")
        self.stream(xobject.get_data(), xobject.get("/Resources", resources), f"forme {name}")


_TOKEN = re.compile(
    rb"(?P<space>[\x00\t\n\x0c\r ]+|%[^\r\n]*)"
    rb"|(?P<name>/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*)"
    rb"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))"
    rb"|(?P<hex><[0-9A-Fa-f\x00\t\n\x0c\r ]*>)"
    rb"|(?P<open><<|\[)|(?P<close>>>|\])"
    rb"|(?P<str>\()"
    rb"|(?P<op>[^\x00\t\n\x0c\r ()<>\[\]{}/%]+)"
)


def operations(data: bytes) -> Iterator[tuple[list[Any], bytes]]:
    """(operands, operator) of a content stream: numbers as floats, names as "/Name",
    strings and arrays as placeholders. A small tokenizer, ~30 times faster than
    pypdf's `ContentStream.operations` on WeasyPrint's text-heavy pages (measured: 8.4 s
    of a 20 s build went there); inline image data is skipped up to its `EI`."""
    operands: list[Any] = []
    depth = 0
    pos, end = 0, len(data)
    while pos < end:
        match = _TOKEN.match(data, pos)
        if match is None:  # a stray byte: skip it
            pos += 1
            continue
        kind = match.lastgroup
        pos = match.end()
        if kind == "space":
            continue
        if kind == "str":
            pos = _skip_string(data, pos)
            if depth == 0:
                operands.append("")
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
            if depth == 0:
                operands.append([])
        elif depth:
            continue
        elif kind == "num":
            operands.append(float(match.group()))
        elif kind == "name":
            operands.append(match.group().decode("latin-1"))
        elif kind == "hex":
            operands.append("")
        else:
            operator = match.group()
            if operator == b"ID":
                stop = re.compile(rb"[\x00\t\n\x0c\r ]EI(?=[\x00\t\n\x0c\r ]|$)")
                found = stop.search(data, pos)
                pos = found.end() if found else end
                yield operands, b"BI"
            elif operator != b"BI":
                yield operands, operator
            if operator != b"BI":
                operands = []


def _skip_string(data: bytes, pos: int) -> int:
    """Position after the literal string that started just before `pos`."""
    level = 1
    while pos < len(data) and level:
        byte = data[pos]
        if byte == 0x5C:  # backslash escapes the next byte
            pos += 2
            continue
        if byte == 0x28:
            level += 1
        elif byte == 0x29:
            level -= 1
        pos += 1
    return pos


# Render checks ------------------------------------------------------------------------
def render_checks(data: bytes, name: str, reader: PdfReader | None = None,
                  profile: ProfileSpec | Rules | None = None, expect: Expect | None = None,
                  decode_qr: bool = True) -> list[CheckResult]:
    """What needs the page's text or a render: the smallest text, text kept clear of the
    trim (and on the page at all: a 500-character URL runs off it), and, with
    `decode_qr`, every QR code decoded at print resolution and measured."""
    import ctypes

    import pypdfium2 as pdfium
    from pypdf import PdfReader

    reader = reader or PdfReader(io.BytesIO(data))
    expect = expect or Expect()
    wanted = set(profile.checks) if profile is not None else {"text-size", "trim-clearance",
                                                               "qr"}
    results: list[CheckResult] = []
    matrix = pdfium.raw.FS_MATRIX()
    document = pdfium.PdfDocument(data)
    smallest = float("inf")
    closest = float("inf")  # mm between any character and the trim edge
    closest_where = ""
    box = [ctypes.c_double() for _ in range(4)]
    refs = [ctypes.byref(v) for v in box]
    left, right, bottom, top = box
    # About 2,500 characters a leaflet, four pdfium calls each: bound once (a third of
    # a document's checks went to looking these names up).
    raw = pdfium.raw
    get_unicode, get_box = raw.FPDFText_GetUnicode, raw.FPDFText_GetCharBox
    get_size, get_matrix = raw.FPDFText_GetFontSize, raw.FPDFText_GetMatrix
    skipped = (0xAD, 0xFFFE, 0x02)
    qr = _QrScan(expect) if decode_qr and "qr" in wanted else None
    try:
        for index, page in enumerate(document, start=1):
            textpage = page.get_textpage()
            x0, y0, x1, y1 = (float(v) for v in reader.pages[index - 1].trimbox)
            page_closest = float("inf")  # in pt
            page_where = -1
            handle = textpage.raw  # the bare pointer: no wrapper property per call
            for char_index in range(textpage.count_chars()):
                char = get_unicode(handle, char_index)
                if char in skipped or chr(char).isspace():
                    continue
                if get_box(handle, char_index, *refs):
                    distance = min(left.value - x0, x1 - right.value, bottom.value - y0,
                                   y1 - top.value)
                    if distance < page_closest:
                        page_closest, page_where = distance, char
                # The Tf size times the scale of the text and current matrices:
                # WeasyPrint sets 14.67 px text under a 0.75 scale = 11 pt on paper.
                size = get_size(handle, char_index)
                if get_matrix(handle, char_index, matrix):
                    size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
                if 0 < size < smallest:
                    smallest = size
            if page_closest * MM_PER_PT < closest:
                closest = page_closest * MM_PER_PT
                closest_where = f"p.{index} « {chr(page_where)} »"
            if qr is not None:
                qr.page(index, page, textpage.get_text_range(), (x1 - x0, y1 - y0))
    finally:
        document.close()
    if "text-size" in wanted:
        shown = "aucun texte" if smallest == float("inf") else f"{smallest:.1f} pt"
        results.append(CheckResult(name, "Plus petit texte",
                                   smallest >= expect.text_min_pt - 0.05, shown,
                                   f"≥ {expect.text_min_pt:g} pt"))
    if "trim-clearance" in wanted:
        shown = "aucun texte" if closest == float("inf") else f"{closest:.1f} mm"
        if closest < 0:
            shown += f" (hors de la page : {closest_where})"
        results.append(CheckResult(name, "Texte loin de la coupe (TrimBox)",
                                   closest >= SAFE_MM - 0.05, shown, f"≥ {SAFE_MM:.0f} mm"))
    if qr is not None:
        results += qr.results(name)
    return results


class _QrScan:
    """Every QR code of a document decoded from a render at print resolution, measured,
    and matched with the addresses printed in its text."""

    def __init__(self, expect: Expect) -> None:
        self.expect = expect
        self.rows: list[str] = []
        # Every address printed anywhere in the document needs a readable code somewhere
        # in it (the "your contact" box on the front repeats an address coded on the back).
        self.printed: set[tuple[str, int]] = set()
        self.addresses: set[str] = set()
        self.undecodable = 0
        self.decoded = 0
        self.smallest = float("inf")

    def page(self, index: int, page: Any, text: str, size_pt: tuple[float, float]) -> None:
        import zxingcpp

        width_mm, height_mm = (v * MM_PER_PT for v in size_pt)
        dpi = QR_DPI_LARGE if max(width_mm, height_mm) > 297 + 1 else QR_DPI_SMALL
        image = page.render(scale=dpi / 72).to_pil()
        # Model 2 only: the wider "QRCode" also matches Micro QR, which finds false codes
        # inside real ones.
        found = zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormat.QRCodeModel2,  # type: ignore[arg-type]
            return_errors=True)
        payloads = [r.text for r in found if r.valid]
        self.undecodable += sum(1 for r in found if not r.valid)
        self.decoded += len(payloads)
        for result in found:
            if result.valid:
                p = result.position
                side = min(_distance(p.top_left, p.top_right),
                           _distance(p.top_left, p.bottom_left))
                self.smallest = min(self.smallest, side * 25.4 / dpi)
        self.addresses |= {unquote(p.removeprefix("mailto:")) for p in payloads}
        self.printed.update((a, index) for a in printed_addresses(text))
        if payloads:
            self.rows.append(f"p.{index} ({dpi} dpi) : {len(payloads)} "
                             f"({', '.join(sorted(payloads)[:2])}…)")

    def results(self, name: str) -> list[CheckResult]:
        missing = [f"p.{index} {a}" for a, index in sorted(self.printed,
                                                             key=lambda x: (x[1], x[0]))
                   if not any(a in decoded for decoded in self.addresses)]
        wanted = len({a for a, _ in self.printed})
        found = f"{self.decoded} codes QR lus"
        if wanted:
            found = f"{len({a for a, _ in self.printed} & self.addresses)} adresses sur " \
                    f"{wanted} ont leur code ; " + found
        if self.rows:
            found += " — " + "; ".join(self.rows)
        if self.undecodable:
            found += f" ; {self.undecodable} illisible(s)"
        if missing:
            found += " ; adresse sans code lisible : " + ", ".join(missing[:3])
        results = [CheckResult(
            name, "Codes QR lus à la résolution d'impression",
            not self.undecodable and not missing, found,
            f"chaque code lisible ({QR_DPI_SMALL} dpi A4/A5, {QR_DPI_LARGE} dpi A3), "
            "un code par adresse imprimée",
            count=self.decoded, total=self.decoded + self.undecodable)]
        minimum = self.expect.qr_min_mm
        if minimum is not None and self.decoded:
            # The decoder measures at the render's resolution: allow one pixel each side.
            tolerance = 2 * 25.4 / QR_DPI_SMALL
            results.append(CheckResult(
                name, "Taille des codes QR", self.smallest >= minimum - tolerance,
                f"plus petit symbole : {self.smallest:.1f} mm",
                f"≥ {minimum:g} mm (sans la marge blanche)"))
        return results


def _distance(a: Any, b: Any) -> float:
    return float(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5)


def expand_paths(arguments: list[Path]) -> list[Path]:
    """The PDFs `flyer check` was given: files, folders (the PDFs in them, subfolders
    included), and quoted patterns (`'output/press/*.pdf'`, as Windows' cmd passes them).

    A folder flyer writes into first gets an interrupted write completed (flyer.write).
    """
    import glob

    from flyer.errors import FlyerError, Problem
    from flyer.write import JOURNAL, recover

    found: list[Path] = []
    problems: list[Problem] = []
    for argument in arguments:
        text = str(argument)
        if not argument.exists() and any(ch in text for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matches:
                problems.append(Problem("aucun fichier ne correspond à ce modèle", argument))
            found += [m for m in matches if m.is_file()]
            continue
        if argument.is_dir():
            recover(argument)
            found += sorted(p for p in argument.rglob("*.pdf")
                            if not any(part.startswith(".") for part in
                                       p.relative_to(argument).parts))
            continue
        if argument.is_file():
            for folder in list(argument.resolve().parents)[:4]:
                if (folder / JOURNAL).exists():
                    recover(folder)
            found.append(argument)
            continue
        problems.append(Problem(_missing(argument), argument))
    if problems:
        raise FlyerError(problems=problems)
    if not found:
        raise FlyerError("aucun fichier PDF à contrôler ; donnez des fichiers .pdf ou le "
                         "dossier qui les contient (par exemple output)")
    return list(dict.fromkeys(found))


def _missing(path: Path) -> str:
    """A missing file, with the names closest to it in its folder."""
    import difflib

    folder = path.parent if str(path.parent) else Path(".")
    names = []
    if folder.is_dir():
        names = [p.name for p in folder.iterdir() if p.suffix.lower() == ".pdf" or p.is_dir()]
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.5)
    if close:
        return ("fichier introuvable ; vouliez-vous dire "
                + " ou ".join(f"« {folder / c} »" for c in close) + " ?")
    if not folder.is_dir():
        return f"fichier introuvable (le dossier {folder} n'existe pas)"
    return "fichier introuvable"


def check_files(paths: list[Path], profile: str | None = None,
                registry: Registry | None = None) -> list[CheckResult]:
    """`flyer check`: every check of every file (a file pypdf cannot open is one failure).

    A file flyer made (`leaflet-a5-fr.pdf`…) is held to its document's entry: paper, page
    count, smallest text, QR size.
    """
    from pypdf.errors import PyPdfError

    registry = registry or shipped_registry()
    results: list[CheckResult] = []
    for path in paths:
        try:
            expect = _expect_for(path, registry, profile)
            results += check_pdf(path, str(path), profile, expect, render=True,
                                 registry=registry)
        except (OSError, PyPdfError, ValueError) as exc:
            results.append(CheckResult(str(path), "Lecture du fichier", False,
                                       type(exc).__name__ + f" : {exc}"[:120],
                                       "un PDF lisible"))
    return results


def _expect_for(path: Path, registry: Registry | None, profile: str | None) -> Expect | None:
    if registry is None:
        return None
    from flyer.build import expectation

    found = registry.document_for_file(path.name)
    if found is None:
        return None
    spec, _, imposed = found
    from pypdf import PdfReader

    spec_profile = profile_named(profile, PdfReader(path), registry)
    return expectation(spec, spec_profile, imposed=imposed)

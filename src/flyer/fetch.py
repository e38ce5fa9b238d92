"""The one URL fetcher every WeasyPrint object uses.

WeasyPrint's default fetcher reads any `file:` URL and any http(s) URL and follows
redirects: a data file or a layout pack could embed `/etc/passwd` into a PDF or call an
internal address. This one answers only `data:` URLs, flyer's own `flyer-qr:` URLs (the
QR code of the payload after the colon, drawn here: the HTML names each code instead of
carrying its image) and regular files inside the folders it is given (paths resolved,
so `../` and symlinks out are refused), caps sizes, checks image dimensions before
WeasyPrint decodes them, measures SVG images before WeasyPrint draws them
(`measure_svg`), and says no with a warning naming the URL.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from xml.parsers import expat

from weasyprint.urls import URLFetcher, URLFetcherResponse

from flyer.errors import french_number
from flyer.qr import QR_SCHEME, qr_png

LOGGER = logging.getLogger("flyer.fetch")

MAX_FILE_BYTES = 20_000_000
MAX_IMAGE_PIXELS = 25_000_000  # a 5000×5000 logo; 12000×12000 costs WeasyPrint > 1 GB
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}
SVG_TYPE = "image/svg+xml"
# WeasyPrint draws ~12 000 SVG elements a second, and 1 MB of path data in ~1.5 s. A
# <use> draws a copy of what it points to: 8 levels of 10 <use> (1.6 kB) draw 322 million.
MAX_SVG_ELEMENTS = 5_000
MAX_SVG_BYTES = 1_000_000
SVG_SIZE_CAP = 10**12

mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("application/vnd.iccprofile", ".icc")


class RefusedURL(ValueError):
    """A URL this fetcher will not open; WeasyPrint logs it and carries on without it."""


class RestrictedFetcher(URLFetcher):  # type: ignore[misc]
    """Serves `data:` URLs and files under `roots`; refuses everything else."""

    def __init__(self, roots: list[Path], max_bytes: int = MAX_FILE_BYTES) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
        self.roots = [root.resolve() for root in roots]
        self.max_bytes = max_bytes
        self.refused: list[tuple[str, str]] = []  # (URL as shown, why), in order

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            if len(url) > self.max_bytes * 4 // 3 + 100:
                self._refuse(url, "URL data: trop grande")
            response = super().fetch(url, headers)
            body = response.read()
            # A compressed PNG of 12000×12000 pixels fits in a small data: URL.
            self._check_body(url, body, response.content_type)
            return URLFetcherResponse(url, body=body, headers=response.headers)
        if scheme == QR_SCHEME:
            return URLFetcherResponse(url, body=self._qr(url),
                                      headers={"Content-Type": "image/png"})
        if scheme != "file":
            self._refuse(url, "seuls les fichiers du dossier de mise en page et de données "
                              "sont permis")
        path = self._allowed_path(url)
        size = path.stat().st_size
        if size > self.max_bytes:
            self._refuse(url, f"fichier trop gros ({size // 1_000_000} Mo)")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = path.read_bytes()
        self._check_body(url, body, mime)
        return URLFetcherResponse(path.as_uri(), body=body, headers={"Content-Type": mime})

    def _qr(self, url: str) -> bytes:
        from qrcode.exceptions import DataOverflowError

        try:
            return qr_png(url[len(QR_SCHEME) + 1:])
        except (DataOverflowError, ValueError):
            return self._refuse(url, "texte trop long pour un code QR")  # type: ignore[no-any-return]

    def _check_body(self, url: str, body: bytes, mime: str) -> None:
        if mime in IMAGE_TYPES:
            self._check_image(url, io.BytesIO(body))
        else:
            self._check_svg(url, body, mime)

    def _allowed_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, "fichier sur une autre machine")
        try:
            path = Path(url2pathname(unquote(parts.path))).resolve(strict=True)
        except (OSError, RuntimeError):
            self._refuse(url, "fichier introuvable")
        if not any(path.is_relative_to(root) for root in self.roots):
            self._refuse(url, "fichier hors des dossiers de mise en page et de données")
        if not path.is_file():
            self._refuse(url, "ce n'est pas un fichier ordinaire")
        return path

    def _check_image(self, url: str, body: io.BytesIO) -> None:
        from PIL import Image  # Pillow comes with WeasyPrint; only images pay for it

        try:
            # Image.open reads the header only: the pixels are never decoded here. Pillow's
            # own bomb check (a warning, then an error above 179 Mpx) is ours to word.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(body) as image:
                    width, height = image.size
        except Image.DecompressionBombError:
            self._refuse(url, "image beaucoup trop grande (plus de 179 millions de pixels)")
        except Exception:  # any unreadable image is refused the same way
            self._refuse(url, "image illisible")
        if width * height > MAX_IMAGE_PIXELS:
            self._refuse(url, f"image trop grande ({width}×{height} pixels, "
                              f"maximum {MAX_IMAGE_PIXELS // 1_000_000} millions)")

    def _check_svg(self, url: str, body: bytes, mime: str) -> None:
        """WeasyPrint draws as SVG what says it is SVG, and, as a last resort, anything
        Pillow cannot read that parses as XML (a `.txt` in an <img>): both are measured."""
        if mime != SVG_TYPE and not _XML_START.match(body):
            return
        try:
            size = measure_svg(body)
        except SVGRefused as exc:
            self._refuse(url, str(exc))
        except SVGUnreadable as exc:
            if mime == SVG_TYPE:
                self._refuse(url, f"image SVG illisible ({exc})")
            return  # not XML: not drawn as SVG either
        if size.elements > MAX_SVG_ELEMENTS:
            self._refuse(url, f"image SVG trop complexe ({_at_least(size.elements)} éléments "
                              f"à dessiner, <use> compris ; maximum {_n(MAX_SVG_ELEMENTS)})")
        if size.bytes > MAX_SVG_BYTES:
            self._refuse(url, f"image SVG trop complexe ({_at_least(size.bytes // 1000)} ko "
                              f"à dessiner, <use> compris ; maximum "
                              f"{_n(MAX_SVG_BYTES // 1000)} ko)")

    def _refuse(self, url: str, why: str) -> Any:
        shown = url if len(url) < 120 else url[:117] + "…"
        self.refused.append((shown, why))
        LOGGER.warning("ressource refusée : %s (%s)", shown, why)
        raise RefusedURL(f"{shown}: {why}")


# --- SVG -------------------------------------------------------------------------------

_XML_START = re.compile(rb"(\xef\xbb\xbf)?\s*<")
_URL_REF = re.compile(r"url\(\s*['\"]?\s*#([^)'\"\s]+)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# An <image> in an SVG may show a raster image, never another SVG: an SVG showing
# itself twice doubles at every level (measured: still drawing after 60 s).
_RASTER_HREF = re.compile(
    r"(data:image/(png|jpeg|gif|webp|bmp|tiff)[;,]|[^?#]*\.(png|jpe?g|gif|webp|bmp|tiff?)([?#]|$))",
    re.I)


class SVGRefused(ValueError):
    """An SVG that must not reach WeasyPrint, with the reason in French."""


class SVGUnreadable(ValueError):
    """Not well-formed XML: WeasyPrint would not draw it either."""


@dataclass(frozen=True)
class SVGSize:
    """What drawing an SVG costs: elements and bytes of attributes and text, each <use>
    and `url(#…)` reference counted as a copy of what it points to."""

    elements: int
    bytes: int


# Containers drawn only where something refers to them.
_NOT_DRAWN = {"defs", "symbol", "marker", "pattern", "clipPath", "mask", "linearGradient",
              "radialGradient", "filter"}


@dataclass
class _Element:
    size: int  # bytes of its tag, attributes and text
    drawn: bool = True
    children: list[int] = field(default_factory=list)
    refs: list[tuple[str, int]] = field(default_factory=list)  # (id, copies drawn)


def measure_svg(body: bytes) -> SVGSize:
    """The drawing cost of an SVG, parsed by expat without expanding anything.

    Entity declarations are refused (the "billion laughs"), a bare <!DOCTYPE svg PUBLIC …>
    as Illustrator writes it is not. A <use>, gradient or pattern `href="#a"` draws a
    copy of `#a`; `fill="url(#a)"` (or clip-path, mask, filter) one more; a marker one
    per vertex of the path. References in a <style> may match every element.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    elements: list[_Element] = []
    ids: dict[str, int] = {}
    stack: list[int] = []
    style_text: list[str] = []
    style_refs: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(elements) >= MAX_SVG_ELEMENTS:
            raise SVGRefused(f"image SVG trop complexe (plus de {_n(MAX_SVG_ELEMENTS)} "
                             "éléments)")
        local = tag.rpartition(" ")[2]
        element = _Element(len(tag) + sum(len(k) + len(v) for k, v in attrs.items()),
                           drawn=local not in _NOT_DRAWN)
        index = len(elements)
        if stack:
            elements[stack[-1]].children.append(index)
        elements.append(element)
        stack.append(index)
        vertices = 1
        markers = []
        for name, value in attrs.items():
            attribute = name.rpartition(" ")[2]
            if attribute in ("d", "points"):
                vertices += len(_NUMBER.findall(value)) // 2
            if attribute == "id":
                ids.setdefault(value, index)
            elif attribute == "href":
                if value.startswith("#"):
                    element.refs.append((value[1:], 1))
                elif local in ("image", "feImage") and not _RASTER_HREF.match(value.strip()):
                    shown = value if len(value) < 60 else value[:57] + "…"
                    raise SVGRefused(f"image SVG qui affiche une autre image ({shown}) ; "
                                     "seules les images PNG, JPEG, GIF ou WebP sont permises "
                                     "dans un SVG")
            for target in _URL_REF.findall(value):
                if "marker" in attribute or "marker" in value:
                    markers.append(target)
                else:
                    element.refs.append((target, 1))
        element.refs.extend((target, vertices) for target in markers)
        if local == "style":
            style_text.clear()

    def end(tag: str) -> None:
        index = stack.pop()
        if tag.rpartition(" ")[2] == "style":
            text = "".join(style_text)
            style_refs.extend(_URL_REF.findall(text))
            elements[index].size += len(text)

    def text(data: str) -> None:
        if stack:
            elements[stack[-1]].size += len(data)
            style_text.append(data)

    def doctype(name: str, system_id: str | None, public_id: str | None,
                has_internal_subset: int) -> None:
        if has_internal_subset:
            raise SVGRefused("image SVG avec des déclarations <!DOCTYPE [ … ]> ou <!ENTITY> "
                             "; enregistrez-la à nouveau en SVG simple")

    def entity(*_: Any) -> None:
        raise SVGRefused("image SVG avec des déclarations <!ENTITY> ; enregistrez-la à "
                         "nouveau en SVG simple")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise SVGUnreadable(f"ligne {exc.lineno}") from None
    if not elements:
        raise SVGUnreadable("vide")
    # A <style> rule may apply to any element: count its references once per element.
    elements[0].refs.extend((target, len(elements)) for target in style_refs)
    return _expanded(elements, ids)


def _expanded(elements: list[_Element], ids: dict[str, int]) -> SVGSize:
    """The size of the root once every reference is expanded, without expanding any:
    each element's total is computed once, after its children's and its targets'."""
    cap = SVG_SIZE_CAP  # keeps the sums small: 10^100 is no use
    totals: dict[int, tuple[int, int]] = {}
    started: set[int] = set()
    todo = [(0, False)]  # depth-first, without recursion: elements nest thousands deep

    def needs(element: _Element) -> list[int]:
        return element.children + [ids[target] for target, _ in element.refs if target in ids]

    while todo:
        index, ready = todo.pop()
        if ready:
            element = elements[index]
            count, size = 1, element.size
            for child in element.children:
                if elements[child].drawn:
                    count, size = count + totals[child][0], size + totals[child][1]
            for target, copies in element.refs:
                if target in ids:
                    count += copies * totals[ids[target]][0]
                    size += copies * totals[ids[target]][1]
            totals[index] = (min(count, cap), min(size, cap))
            continue
        if index in totals:
            continue
        if index in started:  # reached again from inside itself
            raise SVGRefused("image SVG dont un élément se contient lui-même (<use> qui "
                             "pointe vers son propre groupe)")
        started.add(index)
        todo.append((index, True))
        todo.extend((i, False) for i in needs(elements[index]) if i not in totals)
    return SVGSize(*totals[0])


def _at_least(number: int) -> str:
    return f"plus de {_n(SVG_SIZE_CAP)}" if number >= SVG_SIZE_CAP else _n(number)


_n = french_number

"""HTML → PDF with WeasyPrint: one font set-up per process, one restricted fetcher.

`render_document()` lays out one document and returns WeasyPrint's `Document`, so the
bundle stage can merge pages without laying them out again; `write_pdf()` turns a
`Document` into bytes with the profile's options and a reproducible date and ID.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer.errors import FlyerError, Problem
from flyer.fetch import RestrictedFetcher
from flyer.startup import tune_weasyprint

if TYPE_CHECKING:
    from weasyprint import Document
    from weasyprint.text.fonts import FontConfiguration


# Imported by now (flyer.fetch): its C types are parsed in one pass (flyer.startup).
tune_weasyprint()


class _PastPages(Exception):
    """The layout under way will give more pages than it may: it is stopped."""


# The pages the layout under way may have before it is stopped (None: all of them).
_PAGE_LIMIT: ContextVar[int | None] = ContextVar("flyer_page_limit", default=None)


@functools.cache
def _stop_past() -> bool:
    """Whether a layout can be stopped once it runs past its pages (`at_most`).

    WeasyPrint makes pages one by one, each from where the last one ended
    (`weasyprint.layout.page.remake_page`, the index of the page to make first). Before
    it makes a page past the limit, the pages already made are checked: if none asks
    for another pass (a `counter(pages)`, a target's page number: WeasyPrint's own
    `pages_wanted` and `content_changed` marks), they stay as they are and the
    document has at least one page more than the limit, whatever follows. Then the
    layout is stopped. A warm A5 leaflet's first two fit steps run to three pages:
    a quarter of each was the third page. Another WeasyPrint, without that function,
    lays everything out, as before.
    """
    try:
        from weasyprint.layout import page as page_layout
    except ImportError:  # pragma: no cover - another WeasyPrint
        return False
    remake_page = getattr(page_layout, "remake_page", None)
    if remake_page is None:  # pragma: no cover - another WeasyPrint
        return False

    @functools.wraps(remake_page)
    def remake_page_within_limit(index: int, context: Any, *args: Any) -> Any:
        limit = _PAGE_LIMIT.get()
        if limit is not None and index >= limit and _settled(context.page_maker[:index]):
            raise _PastPages
        return remake_page(index, context, *args)

    page_layout.remake_page = remake_page_within_limit
    return True


def _settled(made: list[Any]) -> bool:
    """No page already made is marked to be made again (each entry: its state last)."""
    return not any(entry[-1].get("pages_wanted") or entry[-1].get("content_changed")
                   for entry in made)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """WeasyPrint's warnings (and our fetcher's refusals) during the block, as strings."""
    handler = _Collect()
    loggers = [logging.getLogger("weasyprint"), logging.getLogger("flyer.fetch")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# WeasyPrint's most common warnings about a layout, in French, with their line.
_CSS_WARNINGS = (
    (re.compile(r"^Ignored `(.+)` at (\d+):\d+, unknown property\.?$"),
     "propriété CSS inconnue, règle ignorée : {0}"),
    (re.compile(r"^Ignored `(.+)` at (\d+):\d+, invalid value\.?$"),
     "valeur CSS invalide, règle ignorée : {0}"),
    (re.compile(r"^Ignored `(.+)` at (\d+):\d+, (.+)$"), "règle CSS ignorée ({2}) : {0}"),
    (re.compile(r"^Parse error at (\d+):\d+ \((.+)\)$"), "erreur de syntaxe CSS ({1})"),
)


def word_warning(message: str) -> tuple[str, int | None]:
    """A WeasyPrint warning as a person reads it: in French where it is a common one, and
    the line of the stylesheet it is about."""
    for pattern, french in _CSS_WARNINGS:
        match = pattern.match(message)
        if match is not None:
            groups = match.groups()
            if french.startswith("erreur de syntaxe"):
                return french.format(*groups), int(groups[0])
            return french.format(groups[0], groups[1], *groups[2:]), int(groups[1])
    return f"WeasyPrint : {message}", None


def _recording_font_configuration() -> FontConfiguration:
    """A FontConfiguration that remembers the families declared by `@font-face`."""
    from weasyprint.text.fonts import FontConfiguration

    class RecordingFontConfiguration(FontConfiguration):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.declared_families: set[str] = set()

        def add_font_face(self, rule_descriptors: Any, url_fetcher: Any) -> Any:
            family = rule_descriptors.get("font_family")
            if family:
                self.declared_families.add(str(family))
            return super().add_font_face(rule_descriptors, url_fetcher)

    return RecordingFontConfiguration()


def has_fast_subsetting() -> bool:
    """Whether WeasyPrint can subset fonts with HarfBuzz (~3× faster than fontTools)."""
    from ctypes.util import find_library

    return find_library("harfbuzz-subset") is not None


def pdf_identifier(name: str, parts: list[tuple[str, bytes]] | None = None) -> bytes:
    """A stable PDF file identifier: the same inputs give the same ID, so rebuilds compare."""
    digest = hashlib.sha256(name.encode("utf-8"))
    for label, content in parts or ():
        digest.update(label.encode("utf-8"))
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:32].encode("ascii")


# Images kept decoded between renders (the services' QR codes repeat on every document).
MAX_CACHED_IMAGES = 200

# How layouts/*.html link their stylesheets (`_page.html`); any other form is left to
# WeasyPrint (and its fetcher).
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([^"<>]+)">')


@dataclass
class Renderer:
    """Holds what is worth setting up once per process: fonts and the fetcher."""

    layouts: Path
    data: Path
    fetcher: RestrictedFetcher = field(init=False)
    font_config: FontConfiguration = field(init=False)
    # WeasyPrint's own warnings: (layout file they are about, or None; message).
    warnings: list[tuple[str | None, str]] = field(default_factory=list)
    fallbacks: list[tuple[str, str]] = field(default_factory=list)  # (file, system family)
    _cmyk: dict[Path, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _sheets: dict[str, Any] = field(default_factory=dict, repr=False)
    _images: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.fetcher = RestrictedFetcher([self.layouts, self.data])
        self.font_config = _recording_font_configuration()

    def close(self) -> None:
        """Remove the folder where WeasyPrint copied the layout's fonts. WeasyPrint does
        it when its FontConfiguration is collected, which never happens in a worker that
        ends with os._exit: every build left two folders of fonts in /tmp."""
        import shutil

        folder = getattr(self.font_config, "_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self.font_config._folder = None

    def use_data(self, data: Path) -> None:
        """Another data folder (the web app's drafts): the fetcher may read it instead."""
        if data.resolve() != self.data.resolve():
            old = self.data.resolve()
            self.data = data
            self.fetcher.roots = [r for r in self.fetcher.roots if r != old] + [data.resolve()]

    def render_document(self, html: str, page_rule: str = "", icc: Path | None = None,
                        at_most: int | None = None) -> Document | None:
        """Lay out one HTML document; its stylesheets and fonts come through the fetcher.

        With `at_most`, the layout stops, and None comes back, as soon as the document is
        certain to need more pages (`_stop_past`): a fit step that does not fit is thrown
        away, so the rest of it need not be laid out.

        WeasyPrint parses every `<link>`ed stylesheet (and its @font-face rules) on every
        render, ~25 ms of a ~60 ms leaflet. Here the links are taken out of the HTML and the
        sheets, parsed once per Renderer, passed in the same order. They then count as
        "user" rather than "author" sheets, which only matters against `!important`,
        unused in `layouts/`. `page_rule` (the registry's paper and the profile's bleed)
        comes first, so a document's own `@page` rules may refine it. With `icc`,
        `device-cmyk()` colours are tied to that CMYK profile, which a PDF/X write then
        embeds as the output intent. Images are cached across renders (a batch repeats
        its QR codes).
        """
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetchingError

        base_url = self.layouts.resolve().as_uri() + "/"
        refusals = len(self.fetcher.refused)
        sheets = []
        if page_rule:
            if page_rule not in self._sheets:
                self._sheets[page_rule] = CSS(string=page_rule, url_fetcher=self.fetcher,
                                              font_config=self.font_config)
            sheets.append(self._sheets[page_rule])
        refused: list[Problem] = []
        for href in _STYLESHEET_LINK.findall(html):
            if href not in self._sheets:
                with collect_warnings() as messages:
                    try:
                        self._sheets[href] = CSS(url=base_url + href, url_fetcher=self.fetcher,
                                                 font_config=self.font_config)
                    except URLFetchingError as exc:
                        # Laid out without it, a poster came out A4 on two pages: refused.
                        why = str(exc).rsplit(": ", 1)[-1]
                        refused.append(Problem(
                            f"feuille de style refusée ou illisible ({why}) : le document "
                            "ne peut pas être mis en page sans elle", self.layouts / href))
                        continue
                self._keep(messages, href)
            sheets.append(self._sheets[href])
        if refused:
            raise FlyerError(problems=refused)
        options: dict[str, Any] = {}
        if icc is not None:
            cmyk = self._cmyk_options(icc)
            sheets.insert(0, cmyk["stylesheets"][0])
            options["color_profiles"] = cmyk["color_profiles"]
        if len(self._images) > MAX_CACHED_IMAGES:
            self._images.clear()  # a batch's schools each bring their own code: bounded
        document: Document | None = None
        token = _PAGE_LIMIT.set(at_most if at_most is not None and _stop_past() else None)
        try:
            with collect_warnings() as messages:
                document = HTML(
                    string=_STYLESHEET_LINK.sub("", html), base_url=base_url,
                    url_fetcher=self.fetcher,
                ).render(font_config=self.font_config, stylesheets=sheets,
                         cache=self._images, **options)
        except _PastPages:
            pass
        finally:
            _PAGE_LIMIT.reset(token)
        self._keep(messages)
        if document is not None:
            self._drop_attachments(document)
        missing = self.fetcher.refused[refusals:]
        if missing:
            # An image, font or stylesheet the layout asks for and cannot have: printed
            # without it, the page would not be what the layout meant.
            raise FlyerError(problems=[
                Problem(f"ressource refusée : {url} ({why}) ; la page ne peut pas être mise "
                        "en page sans elle", None) for url, why in dict.fromkeys(missing)])
        return document

    def _drop_attachments(self, document: Document) -> None:
        """No embedded files: a printed document never needs one, and each is a way out.

        `<link rel="attachment">` and `<a rel="attachment">` would embed whatever file
        the fetcher serves; WeasyPrint 70 also crashes when a document with a
        `<link rel="attachment">` is written twice (the merged bundle), since the
        attachment's source can be read only once.
        """
        dropped = len(document.metadata.attachments)
        document.metadata.attachments = []
        for page in document.pages:
            kept = [link for link in page.links if link[0] != "attachment"]
            dropped += len(page.links) - len(kept)
            page.links[:] = kept
        if dropped:
            self.warnings.append((None, f"pièce jointe ignorée ({dropped}) : les documents "
                                  "imprimés n'embarquent aucun fichier (rel=\"attachment\")"))

    def _cmyk_options(self, icc: Path) -> dict[str, Any]:
        """`render()` options for one CMYK profile, parsed once per process.

        The `@color-profile` rule is built here rather than written in press.css so a
        print shop's own profile (`--icc`, anywhere on disk) can replace the shipped one;
        that one file is added to what the fetcher may read.
        """
        from weasyprint import CSS

        path = icc.resolve()
        if path not in self._cmyk:
            if path not in self.fetcher.roots:
                self.fetcher.roots.append(path)
            profiles: dict[str, Any] = {}
            # Without `components` WeasyPrint 70 crashes on the rule (PRINT-NOTES.md).
            rule = (f'@color-profile device-cmyk {{ src: url("{path.as_uri()}"); '
                    "components: c, m, y, k }")
            with collect_warnings() as messages:
                sheet = CSS(string=rule, url_fetcher=self.fetcher,
                            font_config=self.font_config, color_profiles=profiles)
            self._keep(messages)
            for profile in profiles.values():
                _embed_exact_bytes(profile, path.read_bytes())
            self._cmyk[path] = {"stylesheets": [sheet], "color_profiles": profiles}
        return self._cmyk[path]

    def write_pdf(self, document: Document, name: str, date: dt.datetime,
                  source: str = "", **options: Any) -> bytes:
        """PDF bytes with a fixed date and an ID derived from the name and the `source` HTML.

        Two variants of one document (another language, another school) get different
        IDs; the same input gives the same bytes.
        """
        stamp = date.strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = stamp
        document.metadata.modified = stamp
        with collect_warnings() as messages:
            pdf: bytes = document.write_pdf(
                pdf_identifier=pdf_identifier(name, [("html", source.encode("utf-8"))]),
                **options)
        self._keep(messages)
        declared: set[str] = getattr(self.font_config, "declared_families", set())
        for family in sorted({font.family for font in document.fonts.values()} - declared):
            # Pango fell back to a font of this machine for characters the layout's
            # fonts lack: the PDF would differ from one computer to the next.
            self.fallbacks.append((name, family))
        return pdf

    def _keep(self, messages: list[str], source: str | None = None) -> None:
        # WeasyPrint repeats each refusal in English; the fetcher's own line already says it.
        # A stylesheet's parse warnings name it: "layouts/poster.css: Ignored `colr: red`…".
        self.warnings.extend((source, m) for m in messages if "RefusedURL" not in m)


class _ExactProfile:
    """Stands in for a Pillow `ImageCmsProfile` inside WeasyPrint's `ColorProfile`.

    WeasyPrint embeds `ImageCmsProfile.tobytes()`, LittleCMS's re-serialization, which
    changes once a missing tag has been looked up (its output-intent name does that):
    the first PDF of a build embedded the file as shipped, the next ones a copy 60 bytes
    longer. Embedding the file's own bytes keeps every PDF's output profile identical to
    the ICC file the output condition names.
    """

    def __init__(self, original: Any, data: bytes) -> None:
        self.profile = original.profile
        self._data = data

    def tobytes(self) -> bytes:
        return self._data


def _embed_exact_bytes(color_profile: Any, data: bytes) -> None:
    original = getattr(color_profile, "_profile", None)
    if original is not None and hasattr(original, "profile"):
        color_profile._profile = _ExactProfile(original, data)

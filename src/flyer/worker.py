"""A document's render, in a worker process: its HTML in, its checked files out.

The plan (flyer.build) fills the templates: for each fit step of a document, the HTML it
would print, with every value of the data in it and each QR code named by its payload.
A `DocumentTask` carries those pages of HTML and what the profile asks of the file, as
plain values; `render_documents` lays the first step that fits out with WeasyPrint,
stamps the codes, finishes the file for its profile, imposes it two-up if asked, and
checks every file against what its document and profile promise.

Nothing here needs the data model, the templates or the loaders (pydantic, Jinja, YAML):
a worker starts from a process that has only WeasyPrint, pikepdf and the preflight
loaded (flyer.pool), which is ready while the plan is still being made. WeasyPrint and
pikepdf are imported inside the functions: the plan reads `JobOutput` from here too.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer.check import CheckResult, Expect, Rules
from flyer.errors import Problem

if TYPE_CHECKING:
    from flyer.profiles import OutputCondition
    from flyer.render import Renderer


@dataclass
class JobOutput:
    """What a job made: files (name → bytes), and what to tell the user about them."""

    files: dict[str, bytes] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    layout: list[Problem] = field(default_factory=list)  # WeasyPrint's warnings, worded
    block: bytes = b""  # --schools: the school's block alone, for the merged file
    base: bytes = b""  # --schools: the shared leaflet, sent once per worker
    fit: tuple[str, ...] = ()  # --schools: the fit step of that shared leaflet
    # Why this document (too long for its pages) or school's leaflet cannot be made.
    set_aside: str | None = None


@dataclass(frozen=True)
class Finish:
    """How a profile finishes a file (profiles.yaml): PDF variant, colour, marks, links."""

    pdf_variant: str | None = None
    cmyk: bool = False
    condition: OutputCondition | None = None  # the PDF/X output intent (CMYK)
    crop_marks: bool = False
    links: bool = True
    bleed_mm: float = 0.0


@dataclass(frozen=True)
class Imposition:
    """The two-up sheets made from a document: file name, sheet size, ID, what to expect."""

    name: str
    sheet_mm: tuple[float, float]
    identifier: bytes
    expect: Expect


@dataclass(frozen=True)
class DocumentTask:
    """One document to make in one language and profile, as the plan made it."""

    target: Path  # where the file goes (messages name it)
    layouts: Path
    layouts_digest: str  # a worker keeps its parsed stylesheets while this is the same
    data: Path  # the other folder the fetcher may read (images of the data)
    template: str  # relative to `layouts`: WeasyPrint's warnings are said there
    label: str  # « Dépliant A5 », for the message when nothing fits
    # (fit step's classes, HTML), in the order they are tried: the first that gives at
    # most `pages` pages is kept; a profile whose pages may flow has one step.
    steps: tuple[tuple[tuple[str, ...], str], ...]
    pages: int
    fixed_pages: bool
    text_min_pt: float
    page_rule: str  # the registry's paper and the profile's bleed, as the first sheet
    icc: Path | None  # CMYK: the profile `device-cmyk()` colours are tied to
    finish: Finish
    payloads: tuple[str, ...]  # every QR code's payload, to stamp them as vector forms
    date: dt.datetime  # written into the PDF (reproducible)
    rules: Rules
    expect: Expect
    render_checks: bool  # --check: also decode every QR code from a render
    imposed: Imposition | None = None


def build_date(updated: dt.date) -> dt.datetime:
    """The date written into PDFs: SOURCE_DATE_EPOCH if set, else the data's `updated`."""
    from flyer.errors import FlyerError

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise FlyerError(f"SOURCE_DATE_EPOCH vaut « {epoch} » : il faut un nombre de "
                             "secondes depuis 1970 (par exemple 1473724800), ou rien")
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime(updated.year, updated.month, updated.day, tzinfo=dt.UTC)


# In a worker process: one Renderer (fonts, parsed stylesheets, decoded images) per
# layouts folder and version of its files, reused by every task and build it serves.
_RENDERERS: dict[tuple[str, str], Renderer] = {}
_CLOSE_AT_EXIT: list[Any] = []


def renderer_for(layouts: Path, digest: str, data: Path) -> Renderer:
    from flyer.render import Renderer

    key = (str(layouts.resolve()), digest)
    renderer = _RENDERERS.get(key)
    if renderer is None:
        if not _CLOSE_AT_EXIT:
            # Run by multiprocessing as a worker ends (and by atexit in any process).
            from multiprocessing.util import Finalize

            _CLOSE_AT_EXIT.append(Finalize(None, close_renderers, exitpriority=10))
        close_renderers()  # the layouts changed (flyer watch, flyer serve): start clean
        renderer = _RENDERERS[key] = Renderer(layouts, data)
    renderer.use_data(data)
    return renderer


def close_renderers() -> None:
    for renderer in _RENDERERS.values():
        renderer.close()
    _RENDERERS.clear()


def render_documents(tasks: list[DocumentTask]) -> list[JobOutput]:
    """A pool task: each document rendered, assembled and checked, within its budget."""
    from flyer import budget
    from flyer.lifetime import collection_paused

    outputs = []
    for task in tasks:
        with budget.render_budget(task.layouts / task.template), collection_paused():
            outputs.append(render_document(task))
    return outputs


def render_document(task: DocumentTask) -> JobOutput:
    renderer = renderer_for(task.layouts, task.layouts_digest, task.data)
    # This task's warnings only (a worker of `flyer serve` makes thousands of files).
    renderer.warnings.clear()
    renderer.fallbacks.clear()
    pdf, pages, fit, document = document_file(task, renderer)
    out = JobOutput()
    name = task.target.name
    if pdf is None:
        # A 3-page A5 leaflet is wrong paper: it is not written (an earlier one goes
        # too: its data is older), the others are, and the build ends with status 1.
        out.set_aside = fit_message(task, document, fit)
        return out
    out.files[name] = pdf
    out.pages[name] = pages
    if task.imposed is not None:
        from flyer.assemble import impose_two_up

        imposed = task.imposed
        out.files[imposed.name] = impose_two_up(pdf, imposed.identifier, imposed.sheet_mm)
        out.pages[imposed.name] = pages
    out.layout = layout_warnings(renderer, 0, task.layouts, task.template)
    out.warnings = [fallback_warning(family, task.target) for _, family in renderer.fallbacks]
    out.checks = _checks(task, out)
    return out


def document_file(task: DocumentTask, renderer: Renderer
                  ) -> tuple[bytes | None, int, tuple[str, ...], Any]:
    """The document's PDF, fitted, its codes stamped, finished for its profile:
    (bytes, or None when it does not fit its pages; pages; fit step; the layout)."""
    from flyer.assemble import finish, open_pdf, save, stamp_qr_codes
    from flyer.errors import FlyerError

    fit: tuple[str, ...] = ()
    html, document = "", None
    for number, step in enumerate(task.steps, 1):
        fit, html = step
        # A step before the last is stopped once it runs past the pages (None): only
        # the last one, kept even when too long, is laid out whole for the message.
        at_most = task.pages if task.fixed_pages and number < len(task.steps) else None
        try:
            document = renderer.render_document(html, task.page_rule, task.icc, at_most)
        except FlyerError as exc:
            # Said at the template that asked for it.
            template = task.layouts / task.template
            raise FlyerError(problems=[p if p.path is not None else replace(p, path=template)
                                       for p in exc.problems]) from None
        if document is not None and (not task.fixed_pages or len(document.pages) <= task.pages):
            break
    assert document is not None
    count = len(document.pages)
    if task.fixed_pages and count != task.pages:
        return None, count, fit, document
    options: dict[str, Any] = {}
    if task.finish.pdf_variant:
        options["pdf_variant"] = task.finish.pdf_variant
    pdf = open_pdf(renderer.write_pdf(document, task.target.name, task.date, source=html,
                                      **options))
    stamp_qr_codes(pdf, list(task.payloads), cmyk=task.finish.cmyk)
    identifier = bytes(pdf.trailer.ID[0])
    done = task.finish
    finish(pdf, done.condition, done.crop_marks, done.links, done.bleed_mm)
    try:
        return save(pdf, identifier, version=pdf.pdf_version), count, fit, document
    finally:
        pdf.close()


def _checks(task: DocumentTask, out: JobOutput) -> list[CheckResult]:
    from flyer.check import check_pdf

    results = []
    for name, data in out.files.items():
        imposed = task.imposed is not None and name == task.imposed.name
        expect = task.imposed.expect if imposed and task.imposed else task.expect
        results += check_pdf(data, str(task.target.with_name(name)), task.rules, expect,
                             render=task.render_checks)
    return results


def layout_warnings(renderer: Renderer, before: int, layouts: Path, template: str
                    ) -> list[Problem]:
    """WeasyPrint's warnings since `before`, at the layout file they are about (the
    stylesheet it was parsing, else the document's template)."""
    from flyer.render import word_warning

    problems = []
    for source, message in dict.fromkeys(renderer.warnings[before:]):
        text, line = word_warning(message)
        problems.append(Problem(text, layouts / (source or template),
                                line if source else None))
    return problems


def fallback_warning(family: str, target: Path) -> Problem:
    """Pango drew some characters with a font of this machine (the PDF would differ from
    one computer to the next)."""
    return Problem(f"des caractères absents de la police du modèle ont été imprimés avec "
                   f"« {family} », une police de cet ordinateur ; vérifiez les caractères "
                   "spéciaux des données (émojis, autres alphabets)", target)


def fit_message(task: DocumentTask, document: Any, fit: tuple[str, ...]) -> str:
    """Which document, by how much, and what would make it fit — in the right direction."""
    count = len(document.pages)
    label = f"« {task.label} » ({task.target.name})"
    if count < task.pages:
        return (f"{label} devait faire {task.pages} page(s) et n'en fait que {count} ; "
                "vérifiez la mise en page (saut de page manquant ?)")
    from flyer.fit import overflow_mm

    extra = overflow_mm(document, task.pages)
    tightened = (f"même resserré au maximum ({len(fit)} étape(s) de mise en page plus "
                 "serrée)") if fit else "dans sa mise en page"
    return (f"{label} ne tient pas sur {task.pages} page(s), {tightened} : il dépasse "
            f"d'environ {extra:.0f} mm sur une page de plus. Pour qu'il tienne, raccourcissez "
            "des descriptions ou retirez un service (ou raccourcissez la lettre) ; la taille "
            f"du texte ne descend pas sous le minimum d'impression ({task.text_min_pt:g} pt)")

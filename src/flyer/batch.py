"""The batch behind `flyer build --schools`: one leaflet per school, on every core, merged.

The budget is ~50 ms a leaflet on 2 cores (a whole leaflet costs WeasyPrint ~100 ms of
layout and painting), so, measured with bench/batch.py:
- a pool of worker processes, one per core, each setting up WeasyPrint once (fonts,
  fetcher, Jinja environment, parsed stylesheets) in its initializer;
- per language and service, the whole leaflet is laid out and written once, leaving a
  slot at the foot of the recto; per school, only the school's block is laid out, alone
  on a page whose margins put it in that slot, and drawn over the shared recto as a form
  XObject (pypdf), so the letter, the cards and their fonts and images are shared;
- QR codes are 1-bit PNG images cached per payload (`qr.qr_png`): an SVG path costs
  ~25 ms to paint per code, an image nothing, and the merged file stores each once;
- the parent builds the merged file the same way, from each service's shared leaflet and
  the small block PDFs, in CSV order with one bookmark per school.
Nothing is written before every leaflet is rendered, and then only through
`build.write_atomically`: Ctrl-C stops the workers and leaves no half-written file.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer import pool
from flyer.bundle import set_file_id
from flyer.context import Style, make_context, school_context
from flyer.errors import Problem
from flyer.model import Campaign
from flyer.render import Renderer, build_date, pdf_identifier
from flyer.schools import SchoolRow, load_schools
from flyer.templates import load_strings, make_environment, render_html

if TYPE_CHECKING:
    from weasyprint import Document

Tick = Callable[[int, int], None]

# Below this many leaflets, starting worker processes costs more than it saves.
POOL_THRESHOLD = 4
# Schools per job: a tick of the progress bar, and what one worker pre-merges.
MAX_JOB = 10


@dataclass(frozen=True)
class Job:
    """A run of consecutive schools in one language: rendered and pre-merged by one worker."""

    lang: str
    rows: tuple[tuple[int, SchoolRow], ...]  # (index in the CSV's good rows, row)


@dataclass(frozen=True)
class Rendered:
    index: int
    lang: str
    pdf: bytes  # the school's leaflet
    pages: int  # 2, or more when the leaflet or the school's block does not fit
    warnings: tuple[str, ...]
    overlay: bytes = b""  # the school's block alone, to draw again in the merged file
    notes: tuple[str, ...] = ()  # flyer's own remarks on this leaflet


@dataclass(frozen=True)
class JobDone:
    lang: str
    leaflets: tuple[Rendered, ...]
    # The shared leaflet of each service in the job: the parent builds the merged file from
    # these and the small block PDFs, instead of parsing every school's whole leaflet again.
    shared: dict[str, bytes]


@dataclass
class SchoolOutcome:
    """One CSV row, for the final table: built (with its files) or set aside (with why)."""

    line: int
    school: str
    service: str
    files: list[Path] = field(default_factory=list)
    why: str | None = None

    @property
    def built(self) -> bool:
        return self.why is None


class _Worker:
    """Everything one process sets up once and reuses for every leaflet it renders.

    Per language and service, the leaflet (recto with the school slot left free, verso)
    is laid out and written once; per school, only the school's block is laid out, alone
    on a page whose margins put it in that slot, and drawn over the shared recto.
    """

    def __init__(self, data: Path, layouts: Path, campaign: Campaign) -> None:
        self.campaign = campaign
        self.renderer = Renderer(layouts, data)
        self.env = make_environment(layouts)
        self.layouts = layouts
        self.date = build_date(campaign.contacts.updated)
        self.strings: dict[str, dict[str, str]] = {}
        self.shared: dict[tuple[str, str], tuple[Any, int, str, bool, bytes]] = {}
        self.style = Style(qr_raster=True)

    def _strings(self, lang: str) -> dict[str, str]:
        if lang not in self.strings:
            self.strings[lang] = load_strings(self.layouts, lang)
        return self.strings[lang]

    def _render(self, lang: str, service: str, sections: tuple[str, ...],
                school: dict[str, Any] | None = None, compact: bool = False) -> Document:
        context = make_context(self.campaign, lang, "leaflet", self._strings(lang), self.style,
                               highlight=service, school=school, sections=sections,
                               compact=compact, school_slot=True)
        return self.renderer.render_reusing_styles(render_html(self.env, "leaflet.html", context))

    def _shared(self, lang: str, service: str) -> tuple[Any, int, str, bool, bytes]:
        """A service's shared leaflet: (pypdf reader, page count, title, compact, PDF)."""
        from pypdf import PdfReader

        key = (lang, service)
        if key not in self.shared:
            document = self._render(lang, service, ("recto", "verso"))
            compact = len(document.pages) != 2
            if compact:  # a wordier language: tighter spacing, once
                document = self._render(lang, service, ("recto", "verso"), compact=True)
            pdf = self.renderer.write_pdf(document, f"schools-{lang}-{service}", self.date)
            self.shared[key] = (PdfReader(io.BytesIO(pdf)), len(document.pages),
                                str(document.metadata.title), compact, pdf)
        return self.shared[key]

    def render(self, lang: str, index: int, row: SchoolRow) -> Rendered:
        """The school's leaflet, and its block alone (to draw again in the merged file)."""
        from pypdf import PdfReader

        school = row.school
        shared, pages, title, compact, _ = self._shared(lang, school.service)
        before = len(self.renderer.warnings)
        notes: tuple[str, ...] = ()
        context = school_context(school, lang, self._strings(lang), self.style)
        block = self._render(lang, school.service, ("school",), context, compact=compact)
        if len(block.pages) != 1 and context["qr_src"]:
            # A very long name or address leaves no room for the code in the slot: the
            # address stays printed and clickable, so say so rather than set it aside.
            block = self._render(lang, school.service, ("school",),
                                 {**context, "qr_src": None}, compact=compact)
            notes = ("pas de place pour le code QR de l'adresse de l'école (nom ou adresse "
                     "très longs) ; l'adresse reste imprimée et cliquable",)
        warnings = tuple(self.renderer.warnings[before:])
        if pages != 2 or len(block.pages) != 1:
            return Rendered(index, lang, b"", pages + len(block.pages) - 1, warnings)
        name = f"schools/{row.slug}/leaflet-{lang}.pdf"
        block_pdf = self.renderer.write_pdf(block, name, self.date)
        overlay = PdfReader(io.BytesIO(block_pdf)).pages[0]
        writer = _writer()
        _add_leaflet(writer, shared, overlay)
        writer.add_metadata({"/Title": f"{title} — {school.school}", "/Producer": "flyer",
                             **_dates(self.date)})
        set_file_id(writer, pdf_identifier(name))
        buffer = io.BytesIO()
        writer.write(buffer)
        return Rendered(index, lang, buffer.getvalue(), 2, warnings, block_pdf, notes)

    def run(self, job: Job) -> JobDone:
        leaflets = tuple(self.render(job.lang, index, row) for index, row in job.rows)
        services = {row.school.service for _, row in job.rows}
        return JobDone(job.lang, leaflets,
                       {s: self._shared(job.lang, s)[4] for s in sorted(services)})


def _writer() -> Any:
    from pypdf import PdfWriter

    return PdfWriter()


def _dates(date: dt.datetime) -> dict[str, str]:
    stamp = date.strftime("D:%Y%m%d%H%M%SZ")
    return {"/CreationDate": stamp, "/ModDate": stamp}


def _add_leaflet(writer: Any, shared: Any, overlay: Any) -> None:
    """Append the shared recto with the school's block drawn over it, then the verso.

    The shared pages' content, fonts and images are cloned once per writer and referenced
    by every school's pages; each recto gets its own page dictionary, resources and links.
    """
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    recto = shared.pages[0].clone(writer, force_duplicate=True)
    form = DecodedStreamObject()
    form.set_data(overlay.get_contents().get_data())
    form.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): overlay.mediabox,
        NameObject("/Resources"): overlay["/Resources"].clone(writer),
    })
    form_ref = writer._add_object(form)
    resources = DictionaryObject(recto["/Resources"].get_object())
    xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    xobjects[NameObject("/FlyerSchool")] = form_ref
    resources[NameObject("/XObject")] = xobjects
    recto[NameObject("/Resources")] = resources
    # The recto's own content is wrapped in q…Q so its graphic state cannot shift the block.
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(b"\nQ q /FlyerSchool Do Q\n")
    contents = recto.raw_get("/Contents")  # the reference, not the stream it points to
    resolved = contents.get_object()
    own = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
    recto[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(before), *own, writer._add_object(after)])
    annots = ArrayObject(recto.get("/Annots", ArrayObject()))
    for annot in overlay.get("/Annots", ()):
        copy = annot.get_object().clone(writer)
        annots.append(copy.indirect_reference or writer._add_object(copy))
    recto[NameObject("/Annots")] = annots
    writer.add_page(recto)
    writer.add_page(shared.pages[1].clone(writer, force_duplicate=True))


_WORKER: _Worker | None = None


def _init_worker(data: Path, layouts: Path, campaign: Campaign) -> None:
    global _WORKER
    _WORKER = _Worker(data, layouts, campaign)


def _run(job: Job) -> JobDone:
    assert _WORKER is not None
    return _WORKER.run(job)


def make_jobs(langs: list[str], rows: list[SchoolRow], processes: int) -> list[Job]:
    """Runs of consecutive schools: big enough to pre-merge, small enough to share out."""
    size = max(1, min(MAX_JOB, len(rows) // (4 * processes)))
    return [Job(lang, tuple((i, rows[i]) for i in range(start, min(start + size, len(rows)))))
            for lang in langs for start in range(0, len(rows), size)]


def render_all(jobs: list[Job], data: Path, layouts: Path, campaign: Campaign,
               processes: int) -> Generator[JobDone, None, None]:
    """Finished jobs in the order of `jobs`, on a pool when it is worth it."""
    leaflets = sum(len(job.rows) for job in jobs)
    processes = min(processes, len(jobs))
    if processes <= 1 or leaflets < POOL_THRESHOLD or not pool.can_fork():
        worker = _Worker(data, layouts, campaign)
        for job in jobs:
            yield worker.run(job)
        return
    yield from pool.in_workers(_run, jobs, processes, _init_worker, (data, layouts, campaign))


class Merger:
    """Leaflets appended in order, with bookmarks; identical fonts and images kept once."""

    def __init__(self) -> None:
        from pypdf import PdfWriter

        self.writer = PdfWriter()
        self.count = 0

    def add(self, pdf: bytes, bookmarks: Sequence[tuple[str, int]] = ()) -> None:
        """Append every page of `pdf`; `bookmarks` are (title, page index within `pdf`)."""
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(pdf))
        first = len(self.writer.pages)
        for page in reader.pages:
            self.writer.add_page(page)
        for title, offset in bookmarks:
            self.writer.add_outline_item(title=title, page_number=first + offset)
        self.count += 1

    def finish(self, title: str | None = None, date: dt.datetime | None = None,
               identifier: bytes | None = None) -> bytes:
        # Each school's block has its own font subset: blocks that use the same glyphs
        # share one; shared leaflets are referenced, not copied, by their schools' pages.
        self.writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
        if title is not None and date is not None:
            self.writer.add_metadata({"/Title": title, "/Producer": "flyer", **_dates(date)})
            self.writer.page_mode = "/UseOutlines"
        if identifier is not None:
            set_file_id(self.writer, identifier)
        buffer = io.BytesIO()
        self.writer.write(buffer)
        return buffer.getvalue()


@dataclass
class SchoolsResult:
    files: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    pages: dict[Path, int] = field(default_factory=dict)
    outcomes: list[SchoolOutcome] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def build_schools(csv_path: Path, data: Path, layouts: Path, out: Path, campaign: Campaign,
                  tick: Tick | None = None, processes: int | None = None) -> SchoolsResult:
    """Render one leaflet per good row of `csv_path`, per language, and the merged files.

    Returns the files to write (folder → name → bytes); the caller writes them.
    """
    from pypdf import PdfReader

    names = [c.name for c in campaign.contacts.contacts]
    schools = load_schools(csv_path, names)
    result = SchoolsResult()
    outcomes = {row.line: SchoolOutcome(row.line, row.school.school, row.school.service)
                for row in schools.rows}
    for rejected in schools.set_aside:
        problem = rejected.problem
        result.outcomes.append(SchoolOutcome(problem.line or 0, rejected.school, "", why=(
            f"{problem.field} : {problem.message}" if problem.field else problem.message)))
    langs = list(campaign.letters)
    processes = processes or pool.workers_available()
    jobs = make_jobs(langs, schools.rows, processes)
    total = len(langs) * len(schools.rows)
    mergers = {lang: Merger() for lang in langs}
    folder_of = {row.line: out / "schools" / row.slug for row in schools.rows}
    ok: dict[str, list[int]] = {lang: [] for lang in langs}
    done = 0
    if tick:
        tick(done, total)
    shared: dict[tuple[str, str], Any] = {}
    finished_jobs = render_all(jobs, data, layouts, campaign, processes)
    try:  # closed at once on Ctrl-C, so the worker pool stops taking jobs
        for finished in finished_jobs:
            for service, pdf in finished.shared.items():
                if (finished.lang, service) not in shared:
                    shared[finished.lang, service] = PdfReader(io.BytesIO(pdf))
            for rendered in finished.leaflets:
                row = schools.rows[rendered.index]
                outcome = outcomes[row.line]
                result.warnings.extend(Problem(f"WeasyPrint : {m}", csv_path, row.line)
                                       for m in rendered.warnings)
                result.warnings.extend(Problem(m, csv_path, row.line) for m in rendered.notes)
                if rendered.pages != 2:
                    outcome.why = (f"le dépliant ne tient pas recto-verso ({rendered.pages} "
                                   "pages) : nom d'école ou de contact trop long ?")
                    continue
                merger = mergers[rendered.lang]
                _add_leaflet(merger.writer, shared[rendered.lang, row.school.service],
                             PdfReader(io.BytesIO(rendered.overlay)).pages[0])
                merger.writer.add_outline_item(title=row.school.school,
                                               page_number=len(merger.writer.pages) - 2)
                merger.count += 1
                if outcome.built:
                    name = f"leaflet-{rendered.lang}.pdf"
                    folder = folder_of[row.line]
                    result.files.setdefault(folder, {})[name] = rendered.pdf
                    result.pages[folder / name] = rendered.pages
                    outcome.files.append(folder / name)
                    ok[rendered.lang].append(row.line)
            done += len(finished.leaflets)
            if tick:
                tick(done, total)
    finally:
        finished_jobs.close()
    # A row that failed in one language is set aside in all: drop its other files.
    for outcome in outcomes.values():
        if not outcome.built and outcome.files:
            folder = outcome.files[0].parent
            result.files.pop(folder, None)
            outcome.files = []
    date = build_date(campaign.contacts.updated)
    for lang in langs:
        lines = [line for line in ok[lang] if outcomes[line].built]
        if not lines:
            continue
        if len(lines) != len(ok[lang]):  # rebuild the merge without the rows dropped above
            mergers[lang] = Merger()
            for line in lines:
                folder = folder_of[line]
                mergers[lang].add(result.files[folder][f"leaflet-{lang}.pdf"],
                                  [(outcomes[line].school, 0)])
        name = f"schools-{lang}.pdf"
        title = campaign.letters[lang].title
        result.files.setdefault(out, {})[name] = mergers[lang].finish(
            title, date, pdf_identifier(name))
        result.pages[out / name] = 2 * len(lines)
    result.outcomes.extend(outcomes.values())
    result.outcomes.sort(key=lambda o: o.line)
    return result

"""`build()`: the only module that knows every stage of the pipeline.

data/ → load (model) → context → HTML → PDF → bundle → check → files in `out/` (office),
`out/press/`, `out/web/`, written under temporary names and renamed into place only when
every document of every profile succeeded and passed its own preflight.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from flyer import pool
from flyer.bundle import finish_press, impose_two_up, merge_documents, merge_pdfs
from flyer.context import DOCUMENTS, make_context
from flyer.errors import FlyerError, Problem
from flyer.load import load_campaign
from flyer.profiles import Profile, make_profile
from flyer.render import Renderer, build_date, has_fast_subsetting, pdf_identifier
from flyer.templates import load_strings, make_environment, render_html

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from weasyprint import Document

    from flyer.batch import SchoolOutcome
    from flyer.check import CheckResult
    from flyer.model import Campaign

EXPECTED_PAGES = {"leaflet": 2, "leaflet-a5": 2, "letter": 2, "poster": 1}
# Documents laid out once more with the layouts' `compact` rules when they overflow.
COMPACT_DOCUMENTS = ("leaflet", "letter", "poster")
# Document variants drawn from another document's template with a stylesheet on top.
VARIANTS = {"leaflet-a5": ("leaflet", ("leaflet-a5.css",))}


@dataclass(frozen=True)
class BuildOptions:
    data: Path = Path("data")
    layouts: Path = Path("layouts")
    out: Path = Path("output")
    langs: tuple[str, ...] = ()  # empty: every language with a letter
    highlight: str | None = None  # --for: a service shown first as the reader's contact
    profiles: tuple[str, ...] = ("office",)  # office, press, web (flyer.profiles)
    check: bool = False  # also render every page and decode every QR code before writing
    icc: Path | None = None  # press: the print shop's CMYK profile instead of the shipped one
    schools: Path | None = None  # --schools: one leaflet per row of this CSV (batch.py)


@dataclass(frozen=True)
class Written:
    path: Path
    pages: int
    size: int


@dataclass
class BuildResult:
    written: list[Written] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    schools: list[SchoolOutcome] = field(default_factory=list)  # --schools: one per CSV row
    schools_file: Path | None = None

    @property
    def set_aside(self) -> list[SchoolOutcome]:
        return [outcome for outcome in self.schools if not outcome.built]


Progress = Callable[[str], None]
Tick = Callable[[int, int], None]  # (documents done, documents in all)


def output_folder(options: BuildOptions) -> Path:
    """Where a build writes: `out/`, or `out/for/<service>/` for a --for build, so that
    a personalised set never overwrites the general one."""
    if options.highlight is None:
        return options.out
    from flyer.schools import slugify

    return options.out / "for" / slugify(options.highlight)


def build(options: BuildOptions, progress: Progress | None = None,
          tick: Tick | None = None) -> BuildResult:
    """Render every document of every language into `options.out`, all or nothing."""
    say = progress or (lambda _message: None)
    for folder, label in ((options.layouts, "mise en page"), (options.data, "données")):
        if not folder.is_dir():
            raise FlyerError(f"dossier de {label} introuvable", folder)
    say("Lecture des données")
    campaign = load_campaign(options.data, list(options.langs) or None)
    names = [c.name for c in campaign.contacts.contacts]
    if options.highlight is not None and options.highlight not in names:
        raise FlyerError(_unknown_service(options.highlight, names), campaign.sources[0])
    result = BuildResult(warnings=list(campaign.warnings))
    if options.schools is not None:
        return _build_schools(options, campaign, result, say, tick)
    date = build_date(campaign.contacts.updated)
    profiles = [make_profile(name, output_folder(options), options.layouts, options.icc)
                for name in dict.fromkeys(options.profiles)]
    units = [(profile, lang) for profile in profiles for lang in campaign.letters]
    _TOOLS.clear()  # a fresh set-up per build: `flyer watch` builds again after edits
    outputs: dict[Path, tuple[Profile, dict[str, bytes]]] = {}
    pages: dict[Path, int] = {}
    weasyprint_warnings: list[str] = []
    for unit in _build_units(units, options, campaign, date, say):
        profile = unit.profile
        outputs.setdefault(profile.folder, (profile, {}))[1].update(unit.files)
        pages.update({profile.folder / name: count for name, count in unit.pages.items()})
        result.warnings.extend(unit.warnings)
        weasyprint_warnings.extend(unit.weasyprint_warnings)
        result.warnings.extend(
            Problem(f"des caractères absents de la police du modèle ont été imprimés avec "
                    f"« {family} », une police de cet ordinateur ; vérifiez les caractères "
                    "spéciaux des données (émojis, autres alphabets)", profile.folder / name)
            for name, family in unit.fallbacks)
    result.warnings[len(campaign.warnings):len(campaign.warnings)] = [
        Problem(f"WeasyPrint : {m}") for m in dict.fromkeys(weasyprint_warnings)]
    if not has_fast_subsetting():
        result.hints.append(
            "libharfbuzz-subset est absent : le rendu des polices est environ 3× plus lent "
            "(Debian/Ubuntu : sudo apt install libharfbuzz-subset0)")
    say("Contrôle des fichiers produits")
    result.checks = _preflight(list(outputs.values()), options.check)
    for path in write_atomically({folder: files for folder, (_, files) in outputs.items()}):
        result.written.append(Written(path, pages[path], path.stat().st_size))
    return result


@dataclass
class _Unit:
    """What one profile × language produced: files in memory, and what to tell the user."""

    profile: Profile
    lang: str
    files: dict[str, bytes] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    weasyprint_warnings: list[str] = field(default_factory=list)
    fallbacks: list[tuple[str, str]] = field(default_factory=list)


def _build_unit(profile: Profile, lang: str, options: BuildOptions, campaign: Campaign,
                date: dt.datetime, say: Progress) -> _Unit:
    """Every document of one language in one profile, and their merged bundle."""
    env, renderer = _tools(options)
    before = (len(renderer.warnings), len(renderer.fallbacks))
    unit = _Unit(profile, lang)
    files, services = unit.files, len(campaign.contacts.contacts)
    strings = load_strings(options.layouts, lang)
    documents = []
    sources: list[str] = []
    parts: list[tuple[str, bytes]] = []
    for document in DOCUMENTS:
        name = f"{document}-{lang}.pdf"
        say(f"Mise en page ({profile.name}) : {name}")
        html, rendered = _render(env, renderer, campaign, lang, document, strings,
                                 profile, options)
        documents.append(rendered)
        sources.append(html)
        files[name] = _write(renderer, profile, rendered, name, date, html)
        parts.append((strings[f"document_{document}"], files[name]))
        unit.pages[name] = len(rendered.pages)
        _warn_page_count(unit.warnings, profile, document, len(rendered.pages), name, services)
    say(f"Assemblage ({profile.name}) : flyer-{lang}.pdf")
    name = f"flyer-{lang}.pdf"
    title = campaign.letters[lang].title
    if profile.name == "office":
        # A PDF merge is ~10× cheaper than painting every page again, and the
        # office file claims no conformance that the merge would drop.
        files[name] = merge_pdfs(parts, title, pdf_identifier(name, parts))
    else:
        # PDF/X and PDF/UA must survive the merge: it happens inside WeasyPrint.
        files[name] = _write(renderer, profile, merge_documents(documents, title),
                             name, date, "".join(sources))
    unit.pages[name] = sum(len(d.pages) for d in documents)
    if profile.name == "office":
        name = f"leaflet-a5-{lang}.pdf"
        say(f"Mise en page : {name}")
        html, rendered = _render(env, renderer, campaign, lang, "leaflet-a5",
                                 strings, profile, options)
        files[name] = _write(renderer, profile, rendered, name, date, html)
        unit.pages[name] = len(rendered.pages)
        _warn_page_count(unit.warnings, profile, "leaflet-a5", len(rendered.pages),
                         name, services)
        name = f"leaflet-a5-2up-{lang}.pdf"
        a5 = files[f"leaflet-a5-{lang}.pdf"]
        files[name] = impose_two_up(a5, pdf_identifier(name, [("a5", a5)]))
        unit.pages[name] = len(rendered.pages)
    unit.weasyprint_warnings = renderer.warnings[before[0]:]
    unit.fallbacks = renderer.fallbacks[before[1]:]
    return unit


# One Jinja environment and one Renderer (fonts set up once) per build and process.
_TOOLS: dict[tuple[Path, Path], tuple[ImmutableSandboxedEnvironment, Renderer]] = {}


def _tools(options: BuildOptions) -> tuple[ImmutableSandboxedEnvironment, Renderer]:
    key = (options.layouts, options.data)
    if key not in _TOOLS:
        _TOOLS[key] = (make_environment(options.layouts),
                       Renderer(options.layouts, options.data))
    return _TOOLS[key]


def _build_units(units: list[tuple[Profile, str]], options: BuildOptions, campaign: Campaign,
                 date: dt.datetime, say: Progress) -> Iterator[_Unit]:
    """Each profile × language, on every core when there are several and fork is there.

    Measured on 2 cores: the default build (fr and nl) takes ~25 % less wall time.
    Units are independent (each merges its own bundle), so the bytes do not depend on
    where they were made.
    """
    processes = min(len(units), pool.workers_available())
    if processes <= 1 or not pool.can_fork():
        for profile, lang in units:
            yield _build_unit(profile, lang, options, campaign, date, say)
        return
    say(f"Mise en page sur {processes} cœurs")
    task = functools.partial(_build_unit_task, options=options, campaign=campaign, date=date)
    yield from pool.in_workers(task, units, processes)


def _build_unit_task(unit: tuple[Profile, str], options: BuildOptions, campaign: Campaign,
                     date: dt.datetime) -> _Unit:
    # Progress from a worker is not shown: the parent's status line says what runs.
    return _build_unit(*unit, options, campaign, date, _quiet)


def _quiet(_message: str) -> None:
    pass


DOCUMENT_LABELS = {"leaflet": "le dépliant", "leaflet-a5": "le dépliant A5",
                   "letter": "la lettre", "poster": "l'affiche"}


def _overflow_message(document: str, expected: int, actual: int, services: int) -> str:
    def pages(n: int) -> str:
        return f"{n} page" + ("s" if n > 1 else "")

    label = DOCUMENT_LABELS.get(document, document)
    if actual < expected:
        return f"{label} devait faire {pages(expected)} et n'en fait que {actual}"
    # The poster prints the services but not the letter's body.
    what = "la liste" if document == "poster" else "la lettre ou la liste"
    fix = "la liste" if document == "poster" else "la lettre ou les descriptions"
    return (f"{label} devait tenir sur {pages(expected)} et en fait {actual} : {what} "
            f"des {services} services est trop longue ; rien n'est coupé, la suite passe sur "
            f"les pages suivantes. Pour revenir à {pages(expected)}, raccourcissez {fix}")


def _render(env: ImmutableSandboxedEnvironment, renderer: Renderer, campaign: Campaign,
            lang: str, document: str, strings: dict[str, str], profile: Profile,
            options: BuildOptions) -> tuple[str, Document]:
    """One document of one language laid out with the profile's stylesheets: its HTML
    (the PDF's ID is derived from it) and WeasyPrint's document."""
    template, extra = VARIANTS.get(document, (document, ()))
    style = replace(profile.style,
                    stylesheets=extra + profile.stylesheets(options.layouts, template))
    context = make_context(campaign, lang, document, strings, style,
                           highlight=options.highlight)
    html = render_html(env, f"{template}.html", context)
    rendered = renderer.render_document(html, icc=profile.icc)
    # (Not the A5 leaflet: it is already as tight as 10 pt allows.)
    if (len(rendered.pages) > EXPECTED_PAGES[document] and profile.name != "web"
            and document in COMPACT_DOCUMENTS):
        # A wordier language or a longer list: the layouts' tighter spacing, once.
        html = render_html(env, f"{template}.html", {**context, "compact": True})
        rendered = renderer.render_document(html, icc=profile.icc)
    return html, rendered


def _build_schools(options: BuildOptions, campaign: Campaign, result: BuildResult,
                   say: Progress, tick: Tick | None) -> BuildResult:
    """--schools: the batch renders (see batch.py); here the files are written, all at the end."""
    from flyer.batch import build_schools

    if options.highlight is not None:
        raise FlyerError("--for et --schools ne vont pas ensemble : avec --schools, chaque "
                         "école a pour contact le service de sa ligne")
    if tuple(options.profiles) != ("office",):
        raise FlyerError("--schools produit des dépliants pour le profil office seulement ; "
                         "retirez --profile (l'imprimeur reçoit schools-<langue>.pdf)")
    assert options.schools is not None
    if not options.schools.is_file():
        raise FlyerError("fichier des écoles introuvable", options.schools)
    say("Mise en page des dépliants par école")
    batch = build_schools(options.schools, options.data, options.layouts, options.out,
                          campaign, tick=tick)
    result.warnings.extend(batch.warnings)
    result.schools = batch.outcomes
    result.schools_file = options.schools
    # Every school's folder and the merged files: all renamed into place, or none.
    for path in write_atomically(batch.files):
        result.written.append(Written(path, batch.pages[path], path.stat().st_size))
    return result


def _write(renderer: Renderer, profile: Profile, document: Document, name: str,
           date: dt.datetime, source: str) -> bytes:
    pdf = renderer.write_pdf(document, name, date, source=source, **profile.pdf_options)
    if profile.condition is not None:
        pdf = finish_press(pdf, profile.condition)
    return pdf


def _warn_page_count(warnings: list[Problem], profile: Profile, document: str, count: int,
                     name: str, services: int) -> None:
    expected = EXPECTED_PAGES[document]
    # The web layout is one table that may flow over pages: its length is not a fault.
    if count != expected and profile.name != "web":
        warnings.append(Problem(_overflow_message(document, expected, count, services),
                                profile.folder / name))


def _preflight(outputs: list[tuple[Profile, dict[str, bytes]]], render: bool
               ) -> list[CheckResult]:
    """Check what this build is about to write; refuse to write a file that fails.

    The structural checks (boxes, fonts, colours, conformance markers) read the bytes
    with pypdf; `render` adds the page renders and QR decoding (pypdfium2, zxing-cpp).
    """
    from flyer.check import check_pdf

    results: list[CheckResult] = []
    problems: list[Problem] = []
    for profile, files in outputs:
        for name, data in files.items():
            for check in check_pdf(data, str(profile.folder / name), profile.name,
                                   render=render):
                results.append(check)
                if not check.ok:
                    problems.append(Problem(
                        f"contrôle « {check.label} » échoué : trouvé {check.found} ; "
                        f"attendu {check.expected}", profile.folder / name))
    if problems:
        problems.insert(0, Problem("flyer a produit des fichiers qui ne passent pas son propre "
                                   "contrôle (erreur de mise en page ou de flyer)"))
        raise FlyerError(problems=problems)
    return results


def _unknown_service(name: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    hint = ("services proches : " + ", ".join(f"« {c} »" for c in close)) if close else (
        "services connus : " + ", ".join(f"« {c} »" for c in names))
    return f"service « {name} » inconnu ; {hint}"


def write_atomically(folders: dict[Path, dict[str, bytes]]) -> list[Path]:
    """Write every file of every folder under a temporary name, then rename them all.

    The renames start only when every file of the build is on disk, so a failure (disk
    full, a folder that cannot be created) leaves the output folders exactly as they
    were: temporary files removed, folders this call created removed again.
    """
    created: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    folder = next(iter(folders), Path("."))
    try:
        for folder, files in folders.items():
            missing = [p for p in (folder, *folder.parents) if not p.exists()]
            folder.mkdir(parents=True, exist_ok=True)
            created.extend(reversed(missing))
            for name, content in files.items():
                fd, staged_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp",
                                                   dir=folder)
                staged.append((Path(staged_name), folder / name))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
    except BaseException as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for made in reversed(created):  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        if isinstance(exc, OSError):
            raise FlyerError(f"écriture impossible ({exc.strerror})", folder) from None
        raise
    for tmp, target in staged:
        tmp.replace(target)
    return [target for _, target in staged]

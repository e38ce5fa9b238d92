"""The pipeline: `plan(options) → jobs`, then `run(plan)`. The only module that knows every
stage, and the one route for `flyer build`, `--for`, `--schools`, `flyer watch` and
`flyer serve`.

    data/ ─load→ model ─context→ HTML ─render (fit)→ PDF ─assemble→ check ─write→ out/

`plan()` reads the registries (layouts/documents.yaml, profiles.yaml) and the data, and
lists the jobs: one per document × language × profile, or per school row with
`--schools`, each with a key that hashes everything it reads. `run()` takes each job's
bytes from the render cache or renders it on the worker pool (never in this process),
checks every file against its document and profile, stages the files as they arrive,
merges the bundles, and commits everything in one step (flyer.write).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer import __version__
from flyer.documents import DocumentSpec, ProfileSpec, Registry, load_registry
from flyer.errors import FlyerError, Problem
from flyer.files import require_source_folders, visible_files
from flyer.formats import PAPER_MM
from flyer.worker import JobOutput

if TYPE_CHECKING:
    from flyer.check import CheckResult, Expect
    from flyer.model import Campaign
    from flyer.pool import Workers
    from flyer.profiles import OutputCondition
    from flyer.schools import SchoolList, SchoolRow
    from flyer.worker import DocumentTask

Progress = Callable[[str], None]
Tick = Callable[[int, int], None]  # (jobs done, jobs in all)

# School jobs travel to the workers in runs of this many: a tick of the progress bar.
SCHOOLS_PER_TASK = 10
# Estimated size of a file not yet in the cache, for the free-space check.
ESTIMATE_DOCUMENT = 250_000
ESTIMATE_SCHOOL = 80_000


@dataclass(frozen=True)
class BuildOptions:
    data: Path = Path("data")
    layouts: Path = Path("layouts")
    out: Path = Path("output")
    langs: tuple[str, ...] = ()  # empty: every language with a letter
    highlight: str | None = None  # --for: a service shown first as the reader's contact
    person: str | None = None  # --person: the contact person in the letter's box
    date: dt.date | None = None  # --date: the date in the letter's box
    profiles: tuple[str, ...] = ("office",)  # names in layouts/profiles.yaml
    check: bool = False  # also render every page and decode every QR code before writing
    icc: Path | None = None  # the print shop's CMYK profile instead of the profile's own
    schools: Path | None = None  # --schools: one leaflet per row of this CSV or XLSX
    cache: bool = True  # reuse rendered files whose inputs did not change
    # Only these documents of the registry (a preview needs one); empty: every document.
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    """One PDF to make (and, for an imposed document, its sheets): a value, with a key."""

    document: str
    lang: str
    profile: str
    target: Path
    scope: str
    school: SchoolRow | None = None
    key: str = ""
    base_key: str = ""  # --schools: the service's shared leaflet this school's is drawn on


@dataclass(frozen=True)
class Bundle:
    """A merged file: the documents of a language (flyer-fr.pdf) or every school's leaflet."""

    kind: str  # "documents" or "schools"
    profile: str
    lang: str
    target: Path
    scope: str
    parts: tuple[int, ...]  # indexes in Plan.jobs
    key: str = ""


@dataclass(frozen=True)
class WorkContext:
    """What a worker needs besides the job itself: sent with every task (a few kB)."""

    options: BuildOptions
    registry: Registry
    campaign: Campaign
    conditions: dict[str, OutputCondition | None]  # profile → output condition (CMYK)
    icc: dict[str, Path | None]  # profile → ICC file (CMYK)
    layouts_digest: str
    build_id: str = ""  # one per plan: a worker serving several builds knows a new one


@dataclass
class Plan:
    options: BuildOptions
    registry: Registry
    campaign: Campaign
    jobs: list[Job]
    bundles: list[Bundle]
    work: WorkContext
    schools: SchoolList | None = None
    warnings: list[Problem] = field(default_factory=list)
    html: dict[str, str] = field(default_factory=dict)  # job key → HTML at the first fit step
    # The plan's template environment and each language's texts: the HTML of the other
    # fit steps of a document to render is made with them.
    templates: Any = None
    strings: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Written:
    path: Path
    pages: int
    size: int
    document: str = ""  # registry name, "flyer" (bundle) or "schools" (merged schools)
    lang: str = ""
    profile: str = ""
    school: str | None = None  # the school's folder name
    imposed: bool = False  # the two-up sheets of `document`
    sha256: str = ""  # of the bytes written, as staged (the web app lists it)


@dataclass
class SchoolOutcome:
    """One row of the schools list, for the final table: built, or set aside with why."""

    line: int
    school: str
    service: str
    files: list[Path] = field(default_factory=list)
    why: str | None = None

    @property
    def built(self) -> bool:
        return self.why is None


@dataclass
class BuildResult:
    written: list[Written] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    # A school's leaflet passed its checks: counted, not kept (thousands of schools).
    school_checks: int = 0
    school_files: int = 0
    schools: list[SchoolOutcome] = field(default_factory=list)
    schools_file: Path | None = None
    removed: list[Path] = field(default_factory=list)  # earlier files no longer made
    # Documents not written, and why (too long for their pages even at the last fit step).
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    rendered: int = 0  # jobs laid out by WeasyPrint in this build
    cached: int = 0  # jobs taken from the render cache
    recovered: int = 0  # files an interrupted earlier build left staged, now in place

    @property
    def set_aside(self) -> list[SchoolOutcome]:
        return [outcome for outcome in self.schools if not outcome.built]

    @property
    def complete(self) -> bool:
        """Every document and school asked for was written."""
        return not self.skipped and not self.set_aside


# Plan ----------------------------------------------------------------------------------------
def plan(options: BuildOptions) -> Plan:
    """Everything this build will make, and the key of each job. Renders nothing."""
    from flyer.load import load_campaign

    options = _normalise(options)
    require_source_folders(options.data, options.layouts)
    registry = load_registry(options.layouts)
    names = list(registry.profiles) if "all" in options.profiles else options.profiles
    profiles = [registry.profile(name) for name in names]
    campaign = load_campaign(options.data, list(options.langs) or None)
    from flyer.lifetime import settle

    settle()  # the libraries the plan loaded: out of the collector's sight
    warnings = list(campaign.warnings)
    options = _resolve_highlight(options, campaign)
    if options.schools is not None and options.highlight is not None:
        raise FlyerError("--for et --schools ne vont pas ensemble : avec --schools, chaque "
                         "école a pour contact le service de sa ligne")
    conditions, icc = _colour_profiles(options, registry, profiles)
    import secrets

    work = WorkContext(options, registry, campaign, conditions, icc,
                       _layouts_digest(options.layouts), secrets.token_hex(8))
    result = Plan(options, registry, campaign, [], [], work, warnings=warnings)
    if options.schools is not None:
        _plan_schools(result, profiles)
    else:
        _plan_documents(result, profiles)
    _refuse_double_writes(result)
    _keys(result)
    return result


def _normalise(options: BuildOptions) -> BuildOptions:
    """`--lang FR`, `--profile Press ` and the like: any case, spaces around."""
    langs = tuple(dict.fromkeys(x.strip().lower() for x in options.langs if x.strip()))
    profiles = tuple(dict.fromkeys(x.strip().lower() for x in options.profiles if x.strip()))
    return replace(options, langs=langs, profiles=profiles or ("office",))


def _resolve_highlight(options: BuildOptions, campaign: Campaign) -> BuildOptions:
    """`--for` names a service as written in the contacts, whatever the case and spacing."""
    if options.highlight is None:
        return options
    import difflib

    names = [c.name for c in campaign.contacts.contacts]
    wanted = " ".join(options.highlight.split()).casefold()
    for name in names:
        if " ".join(name.split()).casefold() == wanted:
            return replace(options, highlight=name)
    close = difflib.get_close_matches(options.highlight, names, n=3, cutoff=0.4)
    hint = ("services proches : " + ", ".join(f"« {c} »" for c in close)) if close else (
        "services connus : " + ", ".join(f"« {c} »" for c in names))
    raise FlyerError(f"service « {options.highlight} » inconnu ; {hint}", campaign.sources[0])


def _colour_profiles(options: BuildOptions, registry: Registry, profiles: list[ProfileSpec]
                     ) -> tuple[dict[str, OutputCondition | None], dict[str, Path | None]]:
    from flyer.profiles import output_condition

    conditions: dict[str, OutputCondition | None] = {}
    icc: dict[str, Path | None] = {}
    for profile in profiles:
        path = None
        if profile.colour == "cmyk":
            path = options.icc or options.layouts / str(profile.icc)
            conditions[profile.name] = output_condition(path)
        icc[profile.name] = path
    return conditions, icc


def output_folder(options: BuildOptions, profile: ProfileSpec) -> Path:
    """`out/`, `out/press/`… or `out/for/<service>/[press/]` for a --for build, so that a
    personalised set never overwrites the general one."""
    root = options.out
    if options.highlight is not None:
        from flyer.names import folder_name

        root = root / "for" / folder_name(options.highlight)
    return root / profile.folder if profile.folder else root


def _plan_documents(plan_: Plan, profiles: list[ProfileSpec]) -> None:
    options = plan_.options
    route = "documents"
    if options.highlight is not None:
        from flyer.names import folder_name

        route = "for:" + folder_name(options.highlight)
    for profile in profiles:
        folder = output_folder(options, profile)
        for lang in plan_.campaign.letters:
            scope = f"{profile.name}|{lang}|{route}|"
            parts = []
            for spec in _documents(plan_):
                if profile.name not in spec.profiles:
                    continue
                if spec.bundle:
                    parts.append(len(plan_.jobs))
                plan_.jobs.append(Job(spec.name, lang, profile.name,
                                      folder / spec.file_name(lang), scope + spec.name))
            # Some documents only (a preview): the merged file would be missing the others.
            if profile.bundle and len(parts) > 1 and not options.documents:
                plan_.bundles.append(Bundle("documents", profile.name, lang,
                                            folder / f"flyer-{lang}.pdf", scope + "flyer",
                                            tuple(parts)))


def _plan_schools(plan_: Plan, profiles: list[ProfileSpec]) -> None:
    from flyer.schools import load_schools

    options = plan_.options
    assert options.schools is not None
    specs = [s for s in _documents(plan_) if s.schools]
    if not specs:
        raise FlyerError("aucun document n'est marqué « schools: true » dans documents.yaml ; "
                         "c'est le document fait pour chaque école",
                         options.layouts / "documents.yaml")
    names = [c.name for c in plan_.campaign.contacts.contacts]
    plan_.schools = load_schools(options.schools, names)
    plan_.warnings.extend(plan_.schools.warnings)
    for profile in profiles:
        folder = output_folder(options, profile)
        for lang in plan_.campaign.letters:
            scope = f"{profile.name}|{lang}|schools|"
            for spec in specs:
                if profile.name not in spec.profiles:
                    continue
                parts = []
                for row in plan_.schools.rows:
                    parts.append(len(plan_.jobs))
                    plan_.jobs.append(Job(
                        spec.name, lang, profile.name,
                        folder / "schools" / row.slug / spec.file_name(lang),
                        scope + spec.name, school=row))
                # The merged file is for printing: a tagged web leaflet is published alone.
                if parts and profile.fixed_pages:
                    name = "schools" if len(specs) == 1 else f"schools-{spec.name}"
                    plan_.bundles.append(Bundle("schools", profile.name, lang,
                                                folder / f"{name}-{lang}.pdf",
                                                scope + name, tuple(parts)))


def _documents(plan_: Plan) -> list[DocumentSpec]:
    """The registry's documents this build makes (`documents`: some, by name)."""
    registry, wanted = plan_.registry, plan_.options.documents
    unknown = [name for name in wanted if name not in registry.documents]
    if unknown:
        raise FlyerError(f"document « {', '.join(unknown)} » inconnu ; documents : "
                         f"{', '.join(registry.documents)}",
                         plan_.options.layouts / "documents.yaml")
    return [spec for name, spec in registry.documents.items() if not wanted or name in wanted]


def _refuse_double_writes(plan_: Plan) -> None:
    """Two outputs with one path are refused before anything renders (Pelican's rule)."""
    seen: dict[Path, str] = {}
    for job in plan_.jobs:
        targets = [job.target]
        spec = plan_.registry.documents[job.document]
        if spec.impose:
            targets.append(job.target.with_name(spec.imposed_name(job.lang)))
        for target in targets:
            if target in seen:
                raise FlyerError(f"« {job.document} » et « {seen[target]} » s'écriraient tous "
                                 f"deux dans {target.name} ; renommez l'un des deux dans "
                                 "documents.yaml", plan_.options.layouts / "documents.yaml")
            seen[target] = job.document
    for bundle in plan_.bundles:
        if bundle.target in seen:
            raise FlyerError(f"le document « {seen[bundle.target]} » porte le nom du fichier "
                             f"qui rassemble les documents ({bundle.target.name}) ; "
                             "renommez-le dans documents.yaml",
                             plan_.options.layouts / "documents.yaml")
        seen[bundle.target] = bundle.kind


def _layouts_digest(layouts: Path) -> str:
    """Every file a layout may read (templates, stylesheets, fonts, texts, ICC)."""
    digest = hashlib.sha256()
    for path in visible_files(layouts):
        relative = path.relative_to(layouts)
        if relative.as_posix() in ("documents.yaml", "profiles.yaml", "README.md"):
            continue  # entries are hashed one by one, with their jobs
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """flyer's own code that makes the files (not the web app): changed, every key
    changes, so the cache never serves a file an older flyer made."""
    root = Path(__file__).parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _common_digest(plan_: Plan) -> bytes:
    from importlib.metadata import version

    digest = hashlib.sha256()
    for part in (code_digest(), version("weasyprint"), version("pikepdf"), version("qrcode"),
                 plan_.work.layouts_digest, os.environ.get("SOURCE_DATE_EPOCH", ""),
                 str(plan_.options.check)):
        digest.update(part.encode() + b"\0")
    for path in sorted({p for p in plan_.work.icc.values() if p is not None}):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def _keys(plan_: Plan) -> None:
    """Each job's key: a hash of what it reads. Its HTML holds every data value it prints
    (so a letter change reaches the leaflet but not the poster); the layout files, fonts,
    ICC profile and versions are in the common part."""
    from flyer.templates import load_strings, make_environment

    common = _common_digest(plan_)
    env = plan_.templates = make_environment(plan_.options.layouts)
    strings = plan_.strings = {lang: load_strings(plan_.options.layouts, lang)
                               for lang in plan_.campaign.letters}
    bases: dict[tuple[str, str, str, str], str] = {}
    for index, job in enumerate(plan_.jobs):
        spec = plan_.registry.documents[job.document]
        profile = plan_.registry.profiles[job.profile]
        digest = hashlib.sha256(common)
        digest.update(spec.model_dump_json().encode() + profile.model_dump_json().encode())
        digest.update(f"{job.lang}\0{job.target.name}\0".encode())
        if job.school is None:
            html = _html(env, plan_.options, plan_.campaign, spec, profile, job.lang,
                         strings[job.lang])
            digest.update(html.encode())
            key = digest.hexdigest()
            plan_.html[key] = html
            plan_.jobs[index] = replace(job, key=key)
            continue
        service = job.school.school.service
        base_id = (spec.name, profile.name, job.lang, service)
        if base_id not in bases:
            base_digest = digest.copy()
            html = _html(env, plan_.options, plan_.campaign, spec, profile, job.lang,
                         strings[job.lang], highlight=service, school_slot=True)
            base_digest.update(html.encode())
            bases[base_id] = base_digest.hexdigest()
        digest.update(bases[base_id].encode())
        digest.update(job.school.school.model_dump_json().encode())
        plan_.jobs[index] = replace(job, key=digest.hexdigest(), base_key=bases[base_id])
    for index, bundle in enumerate(plan_.bundles):
        digest = hashlib.sha256(common)
        digest.update(f"{bundle.kind}\0{bundle.target.name}\0".encode())
        for part in bundle.parts:
            digest.update(plan_.jobs[part].key.encode())
        plan_.bundles[index] = replace(bundle, key=digest.hexdigest())


def _html(env: Any, options: BuildOptions, campaign: Campaign, spec: DocumentSpec,
          profile: ProfileSpec, lang: str, strings: dict[str, str], fit: tuple[str, ...] = (),
          highlight: str | None = None, school: dict[str, Any] | None = None,
          sections: tuple[str, ...] = ("recto", "verso"), school_slot: bool = False
          ) -> str:
    """A document's HTML: its template filled with the context of one language.

    Each code is named by its payload (`flyer-qr:…`), drawn by the fetcher only when the
    HTML is rendered: a job's key hashes the very HTML its worker renders, and a plan
    with nothing to render draws no code at all.
    """
    return _htmls(env, options, campaign, spec, profile, lang, strings, (fit,),
                  highlight=highlight, school=school, sections=sections,
                  school_slot=school_slot)[0]


def _htmls(env: Any, options: BuildOptions, campaign: Campaign, spec: DocumentSpec,
           profile: ProfileSpec, lang: str, strings: dict[str, str],
           fits: tuple[tuple[str, ...], ...], highlight: str | None = None,
           school: dict[str, Any] | None = None,
           sections: tuple[str, ...] = ("recto", "verso"), school_slot: bool = False
           ) -> list[str]:
    """The HTML of each fit step in `fits`, from one context."""
    from flyer.context import fit_step, make_context
    from flyer.templates import render_html

    context = make_context(
        campaign, lang, spec, strings, profile,
        highlight=highlight if highlight is not None else options.highlight,
        person=options.person, date=options.date, school=school, sections=sections,
        school_slot=school_slot, stylesheets=_stylesheets(options.layouts, spec, profile))
    return [render_html(env, spec.template, {**context, **fit_step(fit)}) for fit in fits]


def _stylesheets(layouts: Path, spec: DocumentSpec, profile: ProfileSpec) -> tuple[str, ...]:
    """The document's stylesheets, then the profile's (those that exist for its template)."""
    extra = tuple(name for name in profile.stylesheets_for(spec.template)
                  if (layouts / name).is_file())
    return (*spec.stylesheets, *extra)


def page_rule(spec: DocumentSpec, profile: ProfileSpec) -> str:
    """The registry's paper and the profile's bleed, as the first stylesheet."""
    rule = f"@page {{ size: {spec.paper}"
    if profile.bleed_mm:
        rule += f"; bleed: {profile.bleed_mm:g}mm"
    return rule + " }"


# Run -----------------------------------------------------------------------------------------
def build(options: BuildOptions, progress: Progress | None = None, tick: Tick | None = None,
          workers: Workers | None = None) -> BuildResult:
    """Plan, render what changed, check, and write every file into `options.out`, all or
    nothing."""
    say = progress or (lambda _message: None)
    say("Lecture des données")
    return run(plan(options), progress, tick, workers)


def run(plan_: Plan, progress: Progress | None = None, tick: Tick | None = None,
        workers: Workers | None = None) -> BuildResult:
    from flyer.cache import RenderCache
    from flyer.write import Interrupted, Output

    say = progress or (lambda _message: None)
    options = plan_.options
    cache = RenderCache.default() if options.cache else None
    result = BuildResult(warnings=list(plan_.warnings))
    if options.schools is not None:
        result.schools_file = options.schools
        _set_aside_rows(plan_, result)
    output = Output(options.out)
    # Which jobs the cache has; their files are read one job at a time, when staged.
    cached = {i for i, job in enumerate(plan_.jobs) if cache is not None and cache.has(job.key)}
    output.prepare(_estimate(plan_))
    result.recovered = output.recovered
    try:
        _render_and_stage(plan_, cached, cache, output, result, say, tick, workers)
        say("Écriture des fichiers")
        scopes = _scopes(plan_)
        try:
            commit = output.commit(scopes)
        except KeyboardInterrupt:
            raise Interrupted(output.committed) from None
    except BaseException:
        output.discard()
        raise
    result.removed = commit.removed
    for path in commit.kept:
        result.warnings.append(Problem(
            "fichier produit par une version précédente puis modifié : flyer ne le produit "
            "plus, et le laisse en place", path))
    if cache is not None:
        cache.prune()
    return result


def _scopes(plan_: Plan) -> set[str]:
    """What this build speaks for, so that a commit removes what it no longer makes there.

    A scope is "profile|lang|route|document". Every document of a route: the whole route
    ("profile|lang|route|"), so a document taken out of documents.yaml loses its files;
    some documents only (a preview): those documents, and nothing else is touched.
    """
    exact = {job.scope for job in plan_.jobs} | {b.scope for b in plan_.bundles}
    if plan_.options.documents:
        return exact
    return {scope.rsplit("|", 1)[0] + "|" for scope in exact}


def _estimate(plan_: Plan) -> int:
    """The bytes this build will stage: a rough upper bound for the free-space check."""
    total = 0
    icc_size = {name: path.stat().st_size for name, path in plan_.work.icc.items()
                if path is not None}
    for job in plan_.jobs:
        total += (ESTIMATE_SCHOOL if job.school else ESTIMATE_DOCUMENT)
        total += icc_size.get(job.profile, 0)  # every PDF/X file embeds its profile
    return total * 2 if plan_.bundles else total  # a bundle repeats its parts


def _set_aside_rows(plan_: Plan, result: BuildResult) -> None:
    assert plan_.schools is not None
    for rejected in plan_.schools.set_aside:
        problem = rejected.problem
        result.schools.append(SchoolOutcome(problem.line or 0, rejected.school, "", why=(
            f"{problem.field} : {problem.message}" if problem.field else problem.message)))
    for row in plan_.schools.rows:
        result.schools.append(SchoolOutcome(row.line, row.school.school, row.school.service))
    result.schools.sort(key=lambda outcome: outcome.line)


def _render_and_stage(plan_: Plan, cached: set[int], cache: Any, output: Any,
                      result: BuildResult, say: Progress, tick: Tick | None,
                      workers: Workers | None) -> None:
    """Every job's files staged in plan order as they arrive, then the bundles.

    Nothing per school stays in memory: its leaflet is staged at once and its block (for
    the merged file) spilled beside the staged files until the merge.
    """
    jobs = plan_.jobs
    outcomes = {o.line: o for o in result.schools}
    kept: dict[int, bytes] = {}  # documents that go into a bundle (a handful)
    bundled = {part for bundle in plan_.bundles for part in bundle.parts}
    blocks = output.staging / ".blocks"
    bases: dict[str, bytes] = {}
    failed: set[int] = set()  # school rows set aside (in any language or profile)
    problems: list[Problem] = []  # anything that stops the whole build, all said at once
    skipped: set[int] = set()  # documents too long for their pages: not written
    todo = [i for i in range(len(jobs)) if i not in cached]
    result.cached = len(jobs) - len(todo)
    result.rendered = len(todo)
    if todo:
        say(f"Mise en page de {len(todo)} document(s)" if plan_.schools is None
            else f"Mise en page de {len(todo)} dépliant(s) d'école")
    if tick:
        tick(0, len(jobs))
    outputs = _outputs(plan_, cached, todo, workers, cache=cache, bases=bases)
    for done, (index, job_output) in enumerate(outputs, 1):
        job = jobs[index]
        if index in cached:
            _reanchor(job_output, job.target)
        elif cache is not None and job_output.set_aside is None:
            cache.put(job.key, job_output)
        if job_output.base:
            bases.setdefault(job.base_key, job_output.base)
            if cache is not None:
                cache.put_blob(job.base_key, job_output.base)
        result.warnings.extend(job_output.warnings)
        _relay(job_output.layout, result)
        if job_output.set_aside is not None and job.school is None:
            result.skipped.append((job.target, job_output.set_aside))
            skipped.add(index)
        elif job_output.set_aside is not None:
            assert job.school is not None
            outcomes[job.school.line].why = job_output.set_aside
            failed.add(job.school.line)
        else:
            problems.extend(_failed_checks(job_output.checks))
            if job.school is None:
                result.checks.extend(job_output.checks)
            else:
                result.school_checks += len(job_output.checks)
                result.school_files += len(job_output.files)
            for name, data in job_output.files.items():
                target = job.target.with_name(name)
                output.stage(target, data, job.scope)
                result.written.append(Written(
                    target, job_output.pages[name], len(data), job.document, job.lang,
                    job.profile, job.school.slug if job.school else None,
                    imposed=name != job.target.name, sha256=output.staged[target][1]))
                if job.school is not None:
                    outcomes[job.school.line].files.append(target)
            if index in bundled and job.school is None:
                kept[index] = job_output.files[job.target.name]
            if job_output.block:
                blocks.mkdir(exist_ok=True)
                (blocks / f"{index}.pdf").write_bytes(job_output.block)
        if tick:
            tick(done, len(jobs))
    if problems:
        raise FlyerError(problems=problems)
    if failed:
        _unstage_set_aside(result, output, failed)
    for bundle in plan_.bundles:
        missing = [plan_.jobs[i].target.name for i in bundle.parts if i in skipped]
        if missing:
            result.skipped.append((bundle.target, "il lui manque " + ", ".join(missing)))
            continue
        say(f"Assemblage : {bundle.target.name}")
        profile = plan_.registry.profiles[bundle.profile]
        if bundle.kind == "schools":
            built = _schools_file(plan_, bundle, profile, failed, blocks, bases, cache,
                                  output, workers)
            if built is None:
                continue
            path, pages = built
            checks = _check_bundle(plan_, bundle, path, pages)
            failed_checks = _failed_checks(checks)
            if failed_checks:
                raise FlyerError(problems=failed_checks)
            result.checks.extend(checks)
            output.adopt(bundle.target, bundle.scope)
            result.written.append(Written(bundle.target, pages, path.stat().st_size,
                                          "schools", bundle.lang, bundle.profile,
                                          sha256=output.staged[bundle.target][1]))
            continue
        data, pages, checks = _bundle(plan_, bundle, kept, cache)
        failed_checks = _failed_checks(checks)
        if failed_checks:
            raise FlyerError(problems=failed_checks)
        result.checks.extend(checks)
        output.stage(bundle.target, data, bundle.scope)
        result.written.append(Written(bundle.target, pages, len(data), "flyer",
                                      bundle.lang, bundle.profile,
                                      sha256=output.staged[bundle.target][1]))


def _relay(layout: list[Problem], result: BuildResult) -> None:
    """WeasyPrint's warnings from a worker: to the report once each, and to this process's
    `weasyprint` logger, where the tests and a host application listen for them."""
    import logging

    logger = logging.getLogger("weasyprint")
    for problem in layout:
        if problem not in result.warnings:
            result.warnings.append(problem)
            logger.warning("%s", problem)


def _reanchor(job_output: JobOutput, target: Path) -> None:
    """A cached output's warnings and checks name the files where this build writes them."""
    names = set(job_output.files)
    job_output.warnings = [replace(w, path=target.with_name(w.path.name))
                           if w.path is not None and w.path.name in names else w
                           for w in job_output.warnings]
    job_output.checks = [replace(c, file=str(target.with_name(Path(c.file).name)))
                         if Path(c.file).name in names else c for c in job_output.checks]


def _unstage_set_aside(result: BuildResult, output: Any, failed: set[int]) -> None:
    """A school set aside in one language or profile is set aside in all."""
    gone: set[Path] = set()
    for outcome in result.schools:
        if outcome.line in failed:
            for path in outcome.files:
                staged = output.staged.pop(path, None)
                if staged is not None:
                    staged[0].unlink(missing_ok=True)
                gone.add(path)
            outcome.files = []
    result.written = [w for w in result.written if w.path not in gone]


def _schools_file(plan_: Plan, bundle: Bundle, profile: ProfileSpec, failed: set[int],
                  blocks: Path, bases: dict[str, bytes], cache: Any, output: Any,
                  workers: Workers | None) -> tuple[Path, int] | None:
    """The merged file of every school built, written straight to its staged place:
    each service's shared leaflet once, and each school's block."""
    from flyer.assemble import SchoolsFile

    merged = SchoolsFile(output.staging_path(bundle.target),
                         plan_.work.conditions.get(profile.name), profile.crop_marks,
                         profile.links, profile.bleed_mm)
    for index in bundle.parts:
        job = plan_.jobs[index]
        assert job.school is not None
        if job.school.line in failed:
            continue
        # Every job's block was written there, cached ones included (cache.get has it).
        block_file = blocks / f"{index}.pdf"
        block = block_file.read_bytes() if block_file.is_file() else b""
        if job.base_key not in bases:
            base = cache.get_blob(job.base_key) if cache is not None else None
            bases[job.base_key] = base or _rerender_base(plan_, index, workers)
        merged.add(job.base_key, bases[job.base_key], block, job.school.school.school)
    path = merged.finish(plan_.campaign.letters[bundle.lang].title,
                         _identifier(bundle.target.name, bundle.key))
    if not merged.count:
        path.unlink()
        return None
    return path, merged.pages


def _identifier(name: str, key: str) -> bytes:
    return hashlib.sha256(f"{name}\0{key}".encode()).hexdigest()[:32].encode("ascii")


def _bundle(plan_: Plan, bundle: Bundle, kept: dict[int, bytes], cache: Any
            ) -> tuple[bytes, int, list[CheckResult]]:
    """The merged file of a language's documents and its checks, from the cache when its
    parts did not change."""
    name = bundle.target.name
    if cache is not None:
        hit = cache.get(bundle.key)
        if hit is not None:
            _reanchor(hit, bundle.target)
            return hit.files[name], hit.pages[name], hit.checks
    from flyer.assemble import merge, open_pdf

    parts = []
    for index in bundle.parts:
        job = plan_.jobs[index]
        spec = plan_.registry.documents[job.document]
        parts.append((spec.label_for(job.lang), kept[index]))
    data = merge(parts, plan_.campaign.letters[bundle.lang].title,
                 _identifier(bundle.target.name, bundle.key))
    with open_pdf(data) as pdf:
        pages = len(pdf.pages)
    checks = _check_bundle(plan_, bundle, data, pages)
    if cache is not None and not _failed_checks(checks):
        cache.put(bundle.key, JobOutput(files={name: data}, pages={name: pages},
                                        checks=checks))
    return data, pages, checks


def _check_bundle(plan_: Plan, bundle: Bundle, data: bytes | Path, pages: int
                  ) -> list[CheckResult]:
    """The parts were checked one by one, QR codes included; the merged file is checked for
    what merging could break: pages and paper, fonts, colours, conformance, links."""
    from flyer.check import Expect, check_pdf

    profile = plan_.registry.profiles[bundle.profile]
    specs = [plan_.registry.documents[plan_.jobs[i].document] for i in bundle.parts]
    if bundle.kind == "schools":
        papers = [specs[0].paper] * pages  # every school's leaflet is the same document
        expected = pages // specs[0].pages * specs[0].pages
    else:
        papers = [spec.paper for spec in specs for _ in range(spec.pages)]
        expected = len(papers)
    fixed = profile.fixed_pages
    expect = Expect(pages=expected if fixed else None,
                    papers=tuple(papers) if fixed else None,
                    allowed=frozenset(papers), qr_min_mm=None,
                    text_min_pt=min(spec.text_min_pt for spec in specs))
    if isinstance(data, Path):
        from flyer.check import check_large_pdf

        return check_large_pdf(data, str(bundle.target), profile, expect)
    merging = {"paper", "pages", "output-intent", "tagging"}
    return check_pdf(data, str(bundle.target), profile, expect, render=False, text=False,
                     only=frozenset(merging))


def _failed_checks(checks: list[CheckResult]) -> list[Problem]:
    """A file that fails its own preflight is not written: each failure said as a problem."""
    return [Problem(f"contrôle « {c.label} » échoué : trouvé {c.found} ; attendu "
                    f"{c.expected} (flyer refuse d'écrire ce fichier)", Path(c.file))
            for c in checks if not c.ok]


def _rerender_base(plan_: Plan, index: int, workers: Workers | None) -> bytes:
    """The shared leaflet of a school job, when neither a worker nor the cache has it."""
    job = replace(plan_.jobs[index], key=plan_.jobs[index].key + "-base")
    one = replace(plan_, jobs=[job])
    for _, out in _outputs(one, set(), [0], workers, want_base=True):
        return out.base
    raise AssertionError("no output")  # pragma: no cover


# Workers ---------------------------------------------------------------------------------------
def _outputs(plan_: Plan, cached: set[int], todo: list[int], workers: Workers | None,
             want_base: bool = False, cache: Any = None,
             bases: dict[str, bytes] | None = None) -> Iterator[tuple[int, JobOutput]]:
    """Each job's output in plan order: from the cache, or from the worker pool.

    School leaflets: each service's shared leaflet is made first, once, and handed to
    every worker (`bases` gets them too, for the merged file); otherwise each worker made
    each service's leaflet for itself (two cores: every one twice)."""
    import shutil
    import tempfile

    from flyer.pool import Workers, call

    tasks: list[list[int]] = []
    for index in todo:
        job = plan_.jobs[index]
        if (tasks and job.school is not None and len(tasks[-1]) < SCHOOLS_PER_TASK
                and plan_.jobs[tasks[-1][-1]].school is not None):
            tasks[-1].append(index)
        else:
            tasks.append([index])
    if plan_.schools is None:
        # The longest first (an imposed A5 tries several fit steps): the last worker to
        # finish does not start it last. Results are still used in plan order.
        tasks.sort(key=lambda task: _weight(plan_, task[0]), reverse=True)
    task_of = {index: n for n, task in enumerate(tasks) for index in task}
    own = workers is None and bool(tasks)
    pool = Workers.start(len(tasks), plan_.schools is not None) if own else workers
    folder = None
    try:
        results: dict[int, JobOutput] = {}
        pending: Iterator[list[JobOutput]] = iter(())
        shared: dict[str, SharedBase] = {}
        if pool is not None and plan_.schools is not None and not want_base and todo:
            folder = Path(tempfile.mkdtemp(prefix="flyer-bases-"))
            shared = _share_bases(plan_, todo, pool, folder, cache, bases)
        if pool is not None and tasks:
            # Documents (a dozen) are all made before the first goes out: the fork server
            # is most likely still loading. School tasks are made as the pool takes them.
            arguments: Iterable[tuple[Any, ...]] = (_task(plan_, task, want_base, shared)
                                                    for task in tasks)
            if plan_.schools is None:
                arguments = list(arguments)
            pending = pool.map_ordered(
                call, arguments, labels=[[_template_of(plan_, i) for i in task]
                                         for task in tasks],
                while_waiting=_load_assembly if plan_.bundles else None)
        received = 0
        for index in range(len(plan_.jobs)):
            if index in cached:
                hit = cache.get(plan_.jobs[index].key) if cache is not None else None
                if hit is None:  # pruned since the plan (another flyer): made again,
                    # on this build's workers when it has some
                    hit = next(out for _, out in _outputs(plan_, set(), [index], pool))
                yield index, hit
                continue
            if index not in task_of:
                continue
            while index not in results:
                outputs = next(pending)
                for position, out in zip(tasks[received], outputs, strict=True):
                    results[position] = out
                received += 1
            yield index, results.pop(index)
    finally:
        if own and pool is not None:
            pool.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class SharedBase:
    """A service's shared school leaflet, made once and read by every worker: its file,
    the fit step its schools' blocks are laid out at, and its checks."""

    path: Path
    fit: tuple[str, ...]
    checks: tuple[CheckResult, ...]


def _share_bases(plan_: Plan, todo: list[int], pool: Workers, folder: Path, cache: Any,
                 bases: dict[str, bytes] | None) -> dict[str, SharedBase]:
    """Each shared leaflet the school jobs of `todo` are drawn on, made once on the pool.
    One that does not fit its pages is left out: its schools are set aside by the workers
    with the reason, as they find it."""
    from flyer.pool import call

    first: dict[str, int] = {}
    for index in todo:
        job = plan_.jobs[index]
        if job.school is not None and plan_.registry.profiles[job.profile].fixed_pages:
            first.setdefault(job.base_key, index)
    if not first:
        return {}
    made = pool.map_ordered(
        call, [(run_task, plan_.work, [plan_.jobs[i]], True) for i in first.values()],
        labels=[[_template_of(plan_, i)] for i in first.values()])
    shared: dict[str, SharedBase] = {}
    for key, [out] in zip(first, made, strict=True):
        if not out.base:
            continue
        path = folder / f"{key}.pdf"
        path.write_bytes(out.base)
        shared[key] = SharedBase(path, out.fit, tuple(out.checks))
        if bases is not None:
            bases.setdefault(key, out.base)
        if cache is not None:
            cache.put_blob(key, out.base)
    return shared


def _load_assembly() -> None:
    """What the merged files need here (pikepdf, the preflight's reader), loaded while
    the workers render rather than after them."""
    import pypdf  # noqa: F401

    import flyer.assemble  # noqa: F401


def _task(plan_: Plan, indexes: list[int], want_base: bool,
          shared: dict[str, SharedBase] | None = None) -> tuple[Any, ...]:
    """A pool task: (function, arguments). Documents go to flyer.worker with their HTML;
    school leaflets to `run_task`, which fills each school's block in the worker, with
    the shared leaflets they are drawn on."""
    jobs = [plan_.jobs[i] for i in indexes]
    if jobs[0].school is None:
        from flyer.worker import render_documents

        return (render_documents, [document_task(plan_, job) for job in jobs])
    given = {job.base_key: shared[job.base_key] for job in jobs
             if shared and job.base_key in shared}
    return (run_task, plan_.work, jobs, want_base, given)


def document_task(plan_: Plan, job: Job) -> DocumentTask:
    """What a worker needs to make `job`'s files: the HTML of each fit step, and what the
    document and its profile ask of the file, as plain values."""
    from flyer.check import Rules
    from flyer.worker import DocumentTask, Finish, Imposition, build_date

    options, work = plan_.options, plan_.work
    spec = plan_.registry.documents[job.document]
    profile = plan_.registry.profiles[job.profile]
    fits = [spec.fit[:n] for n in range(len(spec.fit) + 1)] if profile.fixed_pages else [()]
    # The first step's HTML is the plan's (it made it for the job's key); the others from
    # one context.
    first = plan_.html.get(job.key)
    later = fits[1:] if first is not None else fits
    htmls = [first] if first is not None else []
    if later:
        htmls += _htmls(plan_.templates, options, plan_.campaign, spec, profile, job.lang,
                        plan_.strings[job.lang], tuple(later))
    steps = tuple(zip(fits, htmls, strict=True))
    payloads = tuple(_payloads(plan_.campaign))
    made = frozenset(payloads)  # the same `mailto:` URIs as the documents' links
    imposed = None
    if spec.sheet_paper:
        name = spec.imposed_name(job.lang)
        imposed = Imposition(name, PAPER_MM[spec.sheet_paper], _identifier(name, job.key),
                             replace(expectation(spec, profile, imposed=True),
                                     made_links=made))
    return DocumentTask(
        target=job.target, layouts=options.layouts, layouts_digest=work.layouts_digest,
        data=options.data, template=spec.template, label=spec.label_for("fr"), steps=steps,
        pages=spec.pages, fixed_pages=profile.fixed_pages, text_min_pt=spec.text_min_pt,
        page_rule=page_rule(spec, profile), icc=work.icc.get(profile.name),
        finish=Finish(profile.pdf_variant, profile.colour == "cmyk",
                      work.conditions.get(profile.name), profile.crop_marks, profile.links,
                      profile.bleed_mm),
        payloads=payloads, date=build_date(plan_.campaign.contacts.updated),
        rules=Rules.of(profile), expect=replace(expectation(spec, profile), made_links=made),
        render_checks=options.check, imposed=imposed)


def _payloads(campaign: Campaign, school: Any = None) -> list[str]:
    """Every code's payload: each service's address, and a school's own."""
    from flyer.qr import mailto_uri

    emails = [c.email for c in campaign.contacts.contacts if c.email]
    if school is not None and school.email:
        emails.append(school.email)
    return [mailto_uri(e) for e in emails]


def _weight(plan_: Plan, index: int) -> tuple[bool, float]:
    """A rough order of cost, to start the long jobs first: an imposed document (small
    type, tight fit steps, a second file to draw), then the larger page area."""
    spec = plan_.registry.documents[plan_.jobs[index].document]
    width, height = spec.size_mm
    return spec.impose is not None, width * height * spec.pages


def _template_of(plan_: Plan, index: int) -> str:
    spec = plan_.registry.documents[plan_.jobs[index].document]
    return str(plan_.options.layouts / spec.template)


# In a worker process: one Workshop per layouts folder, reused across tasks and builds.
_WORKSHOPS: dict[tuple[str, str], Workshop] = {}


def run_task(work: WorkContext, jobs: list[Job], want_base: bool = False,
             shared: dict[str, SharedBase] | None = None) -> list[JobOutput]:
    """A task on a worker: each school's leaflet rendered, assembled and checked (with
    `want_base`, only its service's shared leaflet, its fit step and its checks)."""
    key = (str(work.options.layouts.resolve()), work.layouts_digest)
    shop = _WORKSHOPS.get(key)
    if shop is None:
        _WORKSHOPS.clear()
        shop = _WORKSHOPS[key] = Workshop(work)
    if shop.work.build_id != work.build_id:
        shop.start_build(work)
    for base_key, base in (shared or {}).items():
        shop.take_base(base_key, base)
    return [shop.run(job, want_base) for job in jobs]


class Workshop:
    """What a worker making school leaflets sets up once and reuses: the Jinja
    environment (each school's block is filled in the worker: 5 000 of them would hold
    up the plan), the fonts, the parsed stylesheets, the texts of each language, and each
    service's shared leaflet."""

    def __init__(self, work: WorkContext) -> None:
        from flyer.templates import make_environment
        from flyer.worker import renderer_for

        self.work = work
        self.env = make_environment(work.options.layouts)
        self.renderer = renderer_for(work.options.layouts, work.layouts_digest,
                                     work.options.data)
        self.strings: dict[str, dict[str, str]] = {}
        self.bases: dict[str, tuple[bytes, tuple[str, ...]]] = {}
        self.base_checks: dict[str, list[CheckResult]] = {}
        self.base_colours: dict[str, Counter[tuple[float, ...]]] = {}
        self.sent: set[str] = set()

    def start_build(self, work: WorkContext) -> None:
        """A worker that outlives a build (watch, the web app) serves the next one: what
        it told the last build's parent, and its warnings, are that build's."""
        self.work = work
        self.sent.clear()
        self.renderer.warnings.clear()
        self.renderer.fallbacks.clear()
        self.renderer.use_data(work.options.data)

    def take_base(self, key: str, base: SharedBase) -> None:
        """A shared leaflet made by another worker (the parent has it already)."""
        if key not in self.bases:
            self.bases[key] = (base.path.read_bytes(), base.fit)
            if base.checks:
                self.base_checks[key] = list(base.checks)
        self.sent.add(key)

    def _strings(self, lang: str) -> dict[str, str]:
        from flyer.templates import load_strings

        if lang not in self.strings:
            self.strings[lang] = load_strings(self.work.options.layouts, lang)
        return self.strings[lang]

    def run(self, job: Job, want_base: bool = False) -> JobOutput:
        from flyer import budget

        spec = self.work.registry.documents[job.document]
        with budget.render_budget(self.work.options.layouts / spec.template):
            return self._school(job, spec, want_base)

    def _render(self, spec: DocumentSpec, profile: ProfileSpec, lang: str, fit: tuple[str, ...],
                at_most: int | None = None, **extra: Any) -> tuple[str, Any]:
        """The HTML and its layout (None: stopped past `at_most` pages, flyer.render)."""
        html = _html(self.env, self.work.options, self.work.campaign, spec, profile, lang,
                     self._strings(lang), fit=fit, **extra)
        try:
            document = self.renderer.render_document(html, page_rule(spec, profile),
                                                     self.work.icc.get(profile.name), at_most)
        except FlyerError as exc:
            # Said at the template that asked for it.
            template = self.work.options.layouts / spec.template
            raise FlyerError(problems=[p if p.path is not None else replace(p, path=template)
                                       for p in exc.problems]) from None
        return html, document

    def _fitted(self, spec: DocumentSpec, profile: ProfileSpec, lang: str, **extra: Any
                ) -> tuple[str, Any, tuple[str, ...]]:
        """The document laid out at the first fit step that gives its page count.

        Steps are the `fit:` classes of its entry, added one by one (`compact`, then
        `compact small`…); a profile whose pages may flow (web) is laid out once.
        """
        steps = [spec.fit[:n] for n in range(len(spec.fit) + 1)] if profile.fixed_pages else [()]
        for number, fit in enumerate(steps, 1):
            # Only the last step, kept even when too long, is laid out whole.
            at_most = spec.pages if profile.fixed_pages and number < len(steps) else None
            html, document = self._render(spec, profile, lang, fit, at_most, **extra)
            if document is not None and len(document.pages) <= spec.pages:
                break
        return html, document, fit

    def _pdf(self, document: Any, name: str, html: str, profile: ProfileSpec,
             payloads: list[str]) -> Any:
        """WeasyPrint's PDF, opened for assembly, its QR images stamped as vector codes."""
        from flyer.assemble import open_pdf, stamp_qr_codes
        from flyer.worker import build_date

        date = build_date(self.work.campaign.contacts.updated)
        options: dict[str, Any] = {}
        if profile.pdf_variant:
            options["pdf_variant"] = profile.pdf_variant
        pdf = open_pdf(self.renderer.write_pdf(document, name, date, source=html, **options))
        stamp_qr_codes(pdf, payloads, cmyk=profile.colour == "cmyk")
        return pdf

    def _save(self, pdf: Any, profile: ProfileSpec, identifier: bytes | None = None,
              finished: bool = True) -> bytes:
        """The file's bytes, finished for the profile (crop marks, output condition, no
        links where none are allowed) unless it is an intermediate (a shared leaflet)."""
        from flyer.assemble import finish, save

        identifier = identifier or bytes(pdf.trailer.ID[0])
        if finished:
            finish(pdf, self.work.conditions.get(profile.name), profile.crop_marks,
                   profile.links, profile.bleed_mm)
        try:
            return save(pdf, identifier, version=pdf.pdf_version)
        finally:
            pdf.close()

    def _payloads(self, school: Any = None) -> list[str]:
        return _payloads(self.work.campaign, school)

    def _warnings(self, before: int, spec: DocumentSpec) -> list[Problem]:
        from flyer.worker import layout_warnings

        return layout_warnings(self.renderer, before, self.work.options.layouts, spec.template)

    def _fallbacks(self, before: int, target: Path) -> list[Problem]:
        from flyer.worker import fallback_warning

        return [fallback_warning(family, target)
                for _, family in self.renderer.fallbacks[before:]]

    def _check(self, job: Job, spec: DocumentSpec, profile: ProfileSpec, out: JobOutput
               ) -> list[CheckResult]:
        from flyer.check import check_pdf

        results = []
        for name, data in out.files.items():
            expect = expectation(spec, profile, imposed=name != job.target.name)
            results += check_pdf(data, str(job.target.with_name(name)), profile, expect,
                                 render=self.work.options.check)
        return results

    def _school(self, job: Job, spec: DocumentSpec, want_base: bool) -> JobOutput:
        """A school's leaflet: its service's shared leaflet with the school's block drawn
        over the slot the recto leaves free (print profiles), or laid out whole (a tagged
        web file, whose structure an overlay would break)."""
        from pikepdf import Name

        from flyer.assemble import open_pdf, overlay
        from flyer.context import school_context

        assert job.school is not None
        profile = self.work.registry.profiles[job.profile]
        row = job.school
        service = row.school.service
        before = (len(self.renderer.warnings), len(self.renderer.fallbacks))
        context = school_context(row.school, job.lang, self._strings(job.lang))
        name = job.target.name
        out = JobOutput()
        if not profile.fixed_pages:
            html, document, fit = self._fitted(spec, profile, job.lang, highlight=service,
                                                  school=context)
            out.files[name] = self._save(self._pdf(document, name, html, profile,
                                                   self._payloads(row.school)), profile)
            out.pages[name] = len(document.pages)
            out.checks = self._check(job, spec, profile, out)
            return out
        if job.base_key not in self.bases:
            html, document, fit = self._fitted(spec, profile, job.lang, highlight=service,
                                                  school_slot=True)
            if len(document.pages) != spec.pages:
                out.set_aside = (f"le dépliant du service ne tient pas sur {spec.pages} pages "
                                 "même resserré ; raccourcissez la lettre ou les descriptions")
                return out
            base_pdf = self._pdf(document, f"base-{job.base_key}", html, profile,
                                 self._payloads())
            self.bases[job.base_key] = (self._save(base_pdf, profile, finished=False), fit)
        base, fit = self.bases[job.base_key]
        if want_base or job.base_key not in self.sent:
            out.base = base
            self.sent.add(job.base_key)
        if want_base:
            out.fit = fit
            if not self.work.options.check:
                out.checks = self._base_checks(job, spec, profile, base)
            return out
        html, block = self._render(spec, profile, job.lang, fit, highlight=service,
                                   school=context, sections=("school",), school_slot=True)
        if len(block.pages) != 1 and context["qr_src"]:
            # A very long name or address leaves no room for the code in the slot: the
            # address stays printed and clickable, so say so rather than set it aside.
            html, block = self._render(spec, profile, job.lang, fit, highlight=service,
                                       school={**context, "qr_src": None},
                                       sections=("school",), school_slot=True)
            out.warnings.append(Problem(
                "pas de place pour le code QR de l'adresse de l'école (nom ou adresse très "
                "longs) ; l'adresse reste imprimée et cliquable", self.work.options.schools,
                row.line))
        if len(block.pages) != 1:
            out.set_aside = ("le cadre de l'école déborde : nom d'école ou de contact trop "
                             "long ?")
            return out
        block_pdf = self._save(self._pdf(block, f"block-{job.key}", html, profile,
                                         self._payloads(row.school)), profile, finished=False)
        leaflet = open_pdf(base)
        overlay(leaflet, block_pdf)
        leaflet.docinfo[Name.Title] = (
            f"{self.work.campaign.letters[job.lang].title} — {row.school.school}")
        out.block = block_pdf
        out.files[name] = self._save(leaflet, profile, _identifier(name, job.key))
        out.pages[name] = spec.pages
        out.layout = self._warnings(before[0], spec)
        out.warnings += self._fallbacks(before[1], job.target)
        if self.work.options.check:
            out.checks = self._check(job, spec, profile, out)  # the real file, rendered
        else:
            out.checks = self._school_checks(job, spec, profile, base, block_pdf)
        return out

    def _school_checks(self, job: Job, spec: DocumentSpec, profile: ProfileSpec, base: bytes,
                       block: bytes) -> list[CheckResult]:
        """The checks of a school's leaflet from those of its two parts: the service's
        shared leaflet (checked once per worker) and the school's block, each finished as
        the leaflet is. A leaflet is exactly those two drawn one over the other, so this
        is the same verdict for a tenth of the time (a batch of 5 000 schools)."""
        from flyer.check import BLACK_TEXT, Expect, black_text_check, check_pdf, text_colours

        name = str(job.target)
        block_only = check_pdf(
            self._finished(block, profile), name, profile,
            Expect(pages=1, papers=(spec.paper,), allowed=frozenset({spec.paper}),
                   text_min_pt=spec.text_min_pt), render=False)
        results = []
        by_label = {c.label: c for c in block_only}
        for shared in self._base_checks(job, spec, profile, base):
            own = by_label.get(shared.label)
            if own is not None and not own.ok and own.label == BLACK_TEXT:
                # The most frequent colour is the leaflet's, not the block's alone (a
                # school without a contact person: its name, in the accent colour).
                both = self._base_colours(job.base_key, base, profile) + text_colours(
                    self._finished(block, profile))
                results.append(black_text_check(name, both))
            elif own is not None and not own.ok:
                results.append(replace(own, expected=shared.expected))
            else:
                results.append(replace(shared, file=name))  # said of this school's file
        return results

    def _base_checks(self, job: Job, spec: DocumentSpec, profile: ProfileSpec, base: bytes
                     ) -> list[CheckResult]:
        """The checks of a service's shared leaflet, finished as its schools' are: once."""
        from flyer.check import check_pdf

        if job.base_key not in self.base_checks:
            self.base_checks[job.base_key] = check_pdf(
                self._finished(base, profile), str(job.target), profile,
                expectation(spec, profile), render=False)
        return self.base_checks[job.base_key]

    def _base_colours(self, key: str, base: bytes, profile: ProfileSpec
                      ) -> Counter[tuple[float, ...]]:
        from flyer.check import text_colours

        if key not in self.base_colours:
            self.base_colours[key] = text_colours(self._finished(base, profile))
        return self.base_colours[key]

    def _finished(self, data: bytes, profile: ProfileSpec) -> bytes:
        from flyer.assemble import open_pdf

        if profile.crop_marks or not profile.links or profile.colour == "cmyk":
            return self._save(open_pdf(data), profile)
        return data  # nothing to finish for this profile


def expectation(spec: DocumentSpec, profile: ProfileSpec, imposed: bool = False) -> Expect:
    """What the preflight expects of one of `spec`'s files in `profile`."""
    from flyer.check import Expect

    paper = f"{spec.sheet_paper} paysage" if imposed and spec.sheet_paper else spec.paper
    fixed = profile.fixed_pages
    return Expect(pages=spec.pages if fixed else None,
                  papers=(paper,) * spec.pages if fixed else None,
                  allowed=frozenset({paper}), qr_min_mm=spec.qr_min_mm,
                  text_min_pt=spec.text_min_pt)

"""Builds for the web app: `flyer.build.build()` behind a cache, a queue and a table.

- A build is named by a key, the hash of everything it reads (the files of `data/` and
  `layouts/`, the options, the flyer code, today's date for the stale-data warning). A
  second request for the same key does no work: the result is in memory, or in
  `OUT/.serve/builds/<key>/manifest.json` after a restart.
- Identical concurrent requests share one build (single flight); builds run one at a
  time (`Lane`: the pipeline already uses every core for one build), a person waiting
  for a preview before a background batch; each runs in a thread, never on the event
  loop, and writes into its own folder.
- Downloads are looked up in the table of what a build wrote (`Outcome.files`), by name;
  no path ever comes from a request.
- Page previews are PNG images drawn by pypdfium2 in a separate process (pdfium is not
  thread-safe, and the build's preflight uses it), cached by the PDF's hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import heapq
import itertools
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer.build import code_digest
from flyer.errors import FlyerError
from flyer.write import sha256_file

if TYPE_CHECKING:
    from flyer.build import BuildOptions, BuildResult, Written
    from flyer.check import CheckResult

log = logging.getLogger("flyer.web")

# Who waits for a build: a person looking at a preview first, a background batch last.
PRIORITY_PREVIEW, PRIORITY_PERSON, PRIORITY_AUDIENCE, PRIORITY_BATCH = 0, 1, 2, 3
KEEP_BUILDS = 40
KEEP_PREVIEWS = 2000
KEEP_UPLOADS = 30
KEEP_DRAFTS = 20
RETRY_AFTER = 10.0  # seconds before a build that failed unexpectedly is tried again
PREVIEW_SCALES = {"petit": 0.34, "grand": 1.0}
UNEXPECTED = ("Une erreur inattendue a empêché la préparation des documents. Rien n'a été "
              "modifié. Réessayez ; si cela se reproduit, le détail est dans le journal du "
              "serveur (à transmettre au service informatique).")


@dataclass(frozen=True)
class Spec:
    """What to build: the `flyer build` options the web app uses."""

    data: Path
    layouts: Path
    langs: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ("office",)
    check: bool = False
    highlight: str | None = None
    person: str | None = None
    date: dt.date | None = None
    schools: Path | None = None
    documents: tuple[str, ...] = ()  # a preview needs only the documents it shows


def make_options(spec: Spec, out: Path) -> BuildOptions:
    """The `flyer build` options of `spec`, writing into `out`."""
    from flyer.build import BuildOptions

    return BuildOptions(data=spec.data, layouts=spec.layouts, out=out, langs=spec.langs,
                        highlight=spec.highlight, person=spec.person, date=spec.date,
                        profiles=spec.profiles, check=spec.check, schools=spec.schools,
                        documents=spec.documents)


# --- what a build produced ------------------------------------------------------------

@dataclass(frozen=True)
class FileEntry:
    """One file a build wrote, as the pages show and serve it."""

    name: str  # leaflet-fr.pdf
    relative: str  # where in the build's folder: press/leaflet-fr.pdf
    document: str  # leaflet, letter, poster, leaflet-a5, leaflet-a5-2up, flyer, schools
    lang: str
    profile: str  # office, press, web
    school: str | None  # the school's folder name, for a schools build
    pages: int
    size: int
    sha256: str
    checks: tuple[tuple[str, bool], ...] = ()  # (label, passed) of the preflight
    qr_read: int | None = None
    qr_total: int | None = None


def describe(written: Written) -> tuple[str, str, str, str | None]:
    """(document, lang, profile, school) of a written file; the two-up sheets of a
    document are a file of their own here (`leaflet-a5-2up`)."""
    document = written.document + ("-2up" if written.imposed else "")
    return document, written.lang, written.profile, written.school


def qr_counts(check: CheckResult) -> tuple[int, int] | None:
    """(codes read, codes found) from the QR row of the preflight, None for other rows."""
    if check.count is None or check.total is None:
        return None
    return check.count, check.total


@dataclass
class SchoolLine:
    line: int
    school: str
    service: str
    built: bool
    why: str | None
    files: list[str] = field(default_factory=list)  # names in the table of files


@dataclass
class Outcome:
    """A finished build: the files, or why there are none."""

    key: str
    ok: bool
    files: list[FileEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # French, when not ok
    warnings: list[str] = field(default_factory=list)
    schools: list[SchoolLine] = field(default_factory=list)
    seconds: float = 0.0
    cacheable: bool = True  # False after an unexpected failure: try again next time
    finished: float = field(default_factory=time.time)

    def file(self, name: str, profile: str | None = None) -> FileEntry | None:
        return next((f for f in self.files if f.name == name and f.school is None
                     and (profile is None or f.profile == profile)), None)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        files = [FileEntry(**{**f, "checks": tuple(tuple(c) for c in f["checks"])})
                 for f in data.pop("files")]
        schools = [SchoolLine(**s) for s in data.pop("schools")]
        return cls(files=files, schools=schools, **data)


def _outcome(key: str, result: BuildResult, out: Path) -> Outcome:
    checks: dict[Path, list[CheckResult]] = {}
    for check in result.checks:
        checks.setdefault(Path(check.file).resolve(), []).append(check)
    files = []
    for written in result.written:
        document, lang, profile, school = describe(written)
        own = checks.get(written.path.resolve(), [])
        counts = next((c for c in map(qr_counts, own) if c is not None), None)
        files.append(FileEntry(
            name=written.path.name, relative=written.path.relative_to(out).as_posix(),
            document=document, lang=lang, profile=profile, school=school,
            pages=written.pages, size=written.size, sha256=written.sha256,
            checks=tuple((c.label, c.ok) for c in own),
            qr_read=counts[0] if counts else None, qr_total=counts[1] if counts else None))
    schools = []
    for row in result.schools:
        names = {p.resolve() for p in row.files}
        schools.append(SchoolLine(
            line=row.line, school=row.school, service=row.service, built=row.built,
            why=row.why, files=[f.relative for f in files
                                if (out / f.relative).resolve() in names]))
    # WeasyPrint's own remarks are in English and for whoever maintains the layouts.
    warnings = [w.message for w in result.warnings if not w.message.startswith("WeasyPrint")]
    for w in result.warnings:
        if w.message.startswith("WeasyPrint"):
            log.warning("%s", w)
    # Its seconds are the whole call's, timed by Builds._build.
    return Outcome(key, True, files, warnings=list(dict.fromkeys(warnings)), schools=schools)


# --- the key: a hash of the inputs ----------------------------------------------------

class Digests:
    """File hashes, recomputed only when a file's size, time or inode changed.

    Bounded: besides data/ and layouts/, drafts and uploaded school lists bring paths that
    come and go for as long as the server runs; the least recently hashed are forgotten.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._memo: dict[Path, tuple[tuple[int, int, int], str]] = {}

    def file(self, path: Path) -> str:
        stat = path.stat()
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        known = self._memo.get(path)
        if known is not None and known[0] == signature:
            return known[1]
        digest = sha256_file(path)
        self._memo.pop(path, None)  # to the end: the oldest entry is the first
        self._memo[path] = (signature, digest)
        if len(self._memo) > self.LIMIT:
            del self._memo[next(iter(self._memo))]
        return digest

    def folder(self, folder: Path) -> str:
        from flyer.files import visible_files

        digest = hashlib.sha256()
        for path in visible_files(folder):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(self.file(path).encode())
        return digest.hexdigest()


# --- one build at a time, people first ------------------------------------------------

class Lane:
    """`capacity` builds at once; waiters are served by priority, then arrival."""

    def __init__(self, capacity: int = 1) -> None:
        self._free = capacity
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # granted just as we were cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


@dataclass
class Progress:
    """What a running build is doing, for a page that polls it."""

    state: str = "waiting"  # waiting, running
    done: int = 0
    total: int = 0


class Builds:
    """Every build of this server: running, finished, or on disk from an earlier run."""

    def __init__(self, root: Path, capacity: int = 1, worker: Any = None) -> None:
        self.root = root  # OUT/.serve
        self.lane = Lane(capacity)
        self.digests = Digests()
        self._tasks: dict[str, asyncio.Task[Outcome]] = {}
        self._done: dict[str, Outcome] = {}
        self._progress: dict[str, Progress] = {}
        self._pdfs: dict[str, tuple[Path, int]] = {}  # sha256 → (a file with it, pages)
        self.worker = worker or BuildWorker()

    # Keys and lookups (cheap: safe on the event loop).
    def key(self, spec: Spec) -> str:
        parts: dict[str, Any] = {
            "code": code_digest(), "data": self.digests.folder(spec.data),
            "layouts": self.digests.folder(spec.layouts),
            # Every other field of the spec, so that none can be forgotten here.
            "options": {name: repr(value) for name, value in dataclasses.asdict(spec).items()
                        if name not in ("data", "layouts", "schools")},
            "schools": self.digests.file(spec.schools) if spec.schools else None,
            # The stale-data warning depends on the day.
            "today": dt.date.today().isoformat()}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def folder(self, key: str) -> Path:
        return self.root / "builds" / key

    def peek(self, key: str) -> Outcome | None:
        """The finished build `key`, from memory or from an earlier run's manifest."""
        outcome = self._done.get(key)
        if outcome is not None:
            if not outcome.ok or self.folder(key).is_dir():
                return outcome
            del self._done[key]  # pruned
            return None
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            return None
        manifest = self.folder(key) / "manifest.json"
        try:
            outcome = Outcome.from_json(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if all((self.folder(key) / f.relative).is_file() for f in outcome.files):
            self._register(outcome)
            return outcome
        return None

    def progress(self, key: str) -> Progress | None:
        return self._progress.get(key) if key in self._tasks else None

    def start(self, spec: Spec, priority: int, key: str | None = None) -> str:
        """Make sure the build of `spec` is done or under way; its key."""
        key = key or self.key(spec)
        known = self.peek(key)
        if known is not None and not known.cacheable and time.time() - known.finished > RETRY_AFTER:
            del self._done[key]  # an unexpected failure: worth another try
            known = None
        if known is None and key not in self._tasks:
            self._progress[key] = Progress()
            task = asyncio.get_running_loop().create_task(self._run(key, spec, priority))
            self._tasks[key] = task
            task.add_done_callback(lambda _t: self._finished(key))
        return key

    async def get(self, spec: Spec, priority: int, key: str | None = None) -> Outcome:
        key = self.start(spec, priority, key)
        return await self.wait(key)

    async def wait(self, key: str, timeout: float | None = None) -> Outcome:
        """The outcome of `key` (raises TimeoutError after `timeout` seconds; the build
        goes on: a person leaving the page does not cancel it)."""
        outcome = self.peek(key)
        if outcome is not None:
            return outcome
        task = self._tasks.get(key)
        if task is None:
            raise KeyError(key)
        return await asyncio.wait_for(asyncio.shield(task), timeout)

    def _finished(self, key: str) -> None:
        self._tasks.pop(key, None)
        self._progress.pop(key, None)

    def pdf(self, sha256: str) -> tuple[Path, int] | None:
        """A PDF some build wrote with this hash, and its page count (for previews)."""
        found = self._pdfs.get(sha256)
        return found if found is not None and found[0].is_file() else None

    def _register(self, outcome: Outcome) -> None:
        self._done[outcome.key] = outcome
        for entry in outcome.files:
            if entry.name.endswith(".pdf"):
                self._pdfs[entry.sha256] = (self.folder(outcome.key) / entry.relative,
                                            entry.pages)

    async def _run(self, key: str, spec: Spec, priority: int) -> Outcome:
        import anyio.to_thread

        progress = self._progress[key]
        async with self.lane.slot(priority):
            progress.state = "running"
            busy = set(self._tasks)
            outcome = await anyio.to_thread.run_sync(self._build, key, spec, progress, busy)
        self._register(outcome)
        return outcome

    def _build(self, key: str, spec: Spec, progress: Progress, busy: set[str]) -> Outcome:
        """Have the build process run `spec` (this thread waits) and write the manifest."""
        out = self.folder(key)
        shutil.rmtree(out, ignore_errors=True)  # what a crash mid-build may have left
        out.mkdir(parents=True)
        started = time.monotonic()
        outcome = self.worker.run(key, spec, out, progress)
        outcome.seconds = time.monotonic() - started
        if outcome.cacheable:
            _write_text(out / "manifest.json", outcome.to_json())
        count = len(outcome.files)
        # Not cacheable and not ok: stopped before its end (the line above said why), which
        # is not the data's refusal.
        what = (f"{count} fichier{'s' if count > 1 else ''}" if outcome.ok
                else "refusée" if outcome.cacheable else "non terminée")
        log.info("construction %s : %s en %s s", key[:8], what,
                 f"{outcome.seconds:.1f}".replace(".", ","))
        self._prune(busy | {key})
        return outcome

    def _prune(self, keep: Iterable[str]) -> None:
        """The server's folder stays small: the oldest builds and page images go."""
        builds = self.root / "builds"
        keep = set(keep)
        entries = sorted((p for p in builds.iterdir() if p.is_dir()),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_BUILDS:]:
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(OSError):
            images = sorted((self.root / "previews").glob("*.png"),
                            key=lambda p: p.stat().st_mtime, reverse=True)
            for old in images[KEEP_PREVIEWS:]:
                old.unlink(missing_ok=True)

    def touch(self, key: str) -> None:
        """Mark a build as used (the oldest unused builds are removed first)."""
        with contextlib.suppress(OSError):
            os.utime(self.folder(key))

    async def zip(self, outcome: Outcome, entries: list[FileEntry], name: str) -> Path:
        """A ZIP of `entries` of `outcome`, made once per build."""
        import anyio.to_thread

        target = self.folder(outcome.key) / "zip" / name
        if not target.is_file():
            await anyio.to_thread.run_sync(_write_zip, self.folder(outcome.key), entries, target)
        return target

    def close(self) -> None:
        """Server shutdown: queued builds are dropped, the running one stopped (its folder
        is cleared and built again next time: nothing half-written is ever served)."""
        for task in list(self._tasks.values()):
            task.cancel()
        self.worker.close()


class ChildDied(Exception):
    pass


class ChildProcess:
    """A helper process that serves requests over a pipe, one at a time.

    Spawned (a fresh interpreter: no copy of the server's threads, so the pipeline may
    fork its own workers from it), in a process group of its own (stopping it stops its
    workers too, and Ctrl-C in the terminal reaches only the server, which then stops
    it). Started on first use, started again if it died; it ends by itself when the
    server is gone (its pipe closes).
    """

    def __init__(self, serve: Any, name: str) -> None:
        import threading

        self._serve, self._name = serve, name
        self._process: Any = None
        self._connection: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._ensure()

    def _ensure(self) -> Any:
        if self._process is None or not self._process.is_alive():
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe()
            # Not a daemon: a daemonic process may not start the pipeline's own workers.
            process = context.Process(target=_child_main, args=(self._serve, child),
                                      name=self._name)
            process.start()
            child.close()
            self._process, self._connection = process, parent
        return self._connection

    def call(self, request: Any, on_message: Any = None) -> Any:
        """Send `request`, pass any ("kind", value) message on, return the ("done", value)
        answer (blocking: call it from a thread). Raises ChildDied if the process died."""
        with self._lock:
            connection = self._ensure()
            try:
                connection.send(request)
                while True:
                    kind, value = connection.recv()
                    if kind == "done":
                        return value
                    if on_message is not None:
                        on_message(kind, value)
            except (EOFError, OSError):
                self._stop(self._process)
                self._process = self._connection = None
                raise ChildDied(self._name) from None

    def close(self) -> None:
        process, connection = self._process, self._connection
        self._stop(process)
        if connection is not None:
            connection.close()

    @staticmethod
    def _stop(process: Any) -> None:
        import signal

        if process is None or process.pid is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)  # the process and the workers it started
            except (ProcessLookupError, PermissionError, AttributeError):
                process.kill()  # not yet in its own group (or no process groups here)
            process.join(3)
            if not process.is_alive():
                return


def _child_main(serve: Any, connection: Any) -> None:
    import signal

    if hasattr(os, "setpgrp"):
        os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(connection)


class BuildWorker:
    """The process that runs `flyer.build.build()` for the server (one build at a time):
    WeasyPrint's memory and any crash stay out of the server."""

    def __init__(self) -> None:
        self._child = ChildProcess(_serve_builds, "flyer-build")
        self._closing = False

    def start(self) -> None:
        self._child.start()

    def run(self, key: str, spec: Spec, out: Path, progress: Progress) -> Outcome:
        """Build `spec` into `out` (blocking: call it from a thread)."""

        def message(kind: str, value: Any) -> None:
            if kind == "tick":
                progress.done, progress.total = value

        try:
            outcome: Outcome = self._child.call((key, spec, out), message)
        except ChildDied:
            if self._closing:
                log.info("construction %s interrompue : le serveur s'arrête", key[:8])
            else:
                log.error("le processus de construction s'est arrêté pendant %s (mémoire "
                          "insuffisante ?) ; il est relancé", key[:8])
            return Outcome(key, False, problems=[UNEXPECTED], cacheable=False)
        return outcome

    def close(self) -> None:
        self._closing = True
        self._child.close()

    @property
    def pid(self) -> int | None:
        process = self._child._process
        return None if process is None else int(process.pid)


def _serve_builds(connection: Any) -> None:
    """The build process: receive (key, spec, out), answer progress and the outcome."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from flyer.build import build  # loaded once, before the first request
    from flyer.pool import Workers, workers_available

    # One pool of render workers for every build of the server's life: forked from this
    # single-threaded process, they keep fonts, stylesheets and shared leaflets set up.
    workers = Workers(workers_available(), schools=True)
    build = functools.partial(build, workers=workers)

    while True:
        try:
            key, spec, out = connection.recv()
        except (EOFError, OSError):
            return  # the server is gone

        def tick(done: int, total: int) -> None:
            connection.send(("tick", (done, total)))

        # The pages show the count of files done (tick), not the stage names.
        connection.send(("done", run_build(build, key, spec, out, None, tick)))


def run_build(build: Any, key: str, spec: Spec, out: Path, say: Any, tick: Any) -> Outcome:
    """One call to the pipeline, and what it produced (or why not) as an Outcome."""
    try:
        result = build(make_options(spec, out), progress=say, tick=tick)
        return _outcome(key, result, out)
    except FlyerError as exc:
        from flyer.web.forms import problem_text

        return Outcome(key, False, problems=[problem_text(p) for p in exc.problems])
    except Exception:
        import traceback

        traceback.print_exc()  # to the server's log: the build process shares its stderr
        return Outcome(key, False, problems=[UNEXPECTED], cacheable=False)


def _write_text(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def _write_zip(folder: Path, entries: list[FileEntry], target: Path) -> None:
    target.parent.mkdir(exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            # School leaflets keep their folder (one per school); the others are flat.
            arcname = entry.relative.removeprefix("press/").removeprefix("web/")
            arcname = arcname.removeprefix("schools/") if entry.school else arcname
            archive.write(folder / entry.relative, arcname)
    os.replace(staged, target)


def draft_data(root: Path, data: Path, replace: dict[str, bytes]) -> Path:
    """A copy of `data/` with some files replaced: what a preview of unsaved text builds.

    Named by the hash of its content, so the same draft is the same folder (and key).
    """
    from flyer.files import visible_files

    files = {p.relative_to(data).as_posix(): p.read_bytes() for p in visible_files(data)}
    files.update(replace)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    folder = root / "drafts" / digest.hexdigest()[:32]
    if not folder.is_dir():
        staged = Path(tempfile.mkdtemp(dir=folder.parent.parent, prefix=".draft."))
        for name, content in files.items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(content)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            staged.rename(folder)
        except OSError:  # made meanwhile by another request
            shutil.rmtree(staged, ignore_errors=True)
        with contextlib.suppress(OSError):
            drafts = sorted(folder.parent.iterdir(), key=lambda p: p.stat().st_mtime,
                            reverse=True)
            for old in drafts[KEEP_DRAFTS:]:
                shutil.rmtree(old, ignore_errors=True)
    return folder


# --- previews -------------------------------------------------------------------------

class Previews:
    """PNG images of PDF pages, drawn in a separate process (pdfium is not thread-safe, and
    the build process uses it for its preflight), cached by the PDF's hash."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "previews"
        self._child = ChildProcess(_serve_previews, "flyer-previews")
        self._pending: dict[Path, asyncio.Future[None]] = {}

    async def png(self, pdf: Path, sha256: str, page: int, size: str) -> Path:
        """The PNG of one page, drawn now unless it already is (or is being drawn)."""
        target, pending = self._start(pdf, sha256, page, size)
        if pending is not None:
            await asyncio.shield(pending)
        return target

    def prepare(self, pdf: Path, sha256: str, page: int, size: str) -> None:
        """Start drawing a page the browser is about to ask for."""
        self._start(pdf, sha256, page, size)

    def _start(self, pdf: Path, sha256: str, page: int, size: str
               ) -> tuple[Path, asyncio.Future[None] | None]:
        import anyio.to_thread

        target = self.folder / f"{sha256[:32]}-{page}-{size}.png"
        if target.is_file():
            return target, None
        pending = self._pending.get(target)
        if pending is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            request = (str(pdf), page - 1, PREVIEW_SCALES[size], str(target))
            pending = asyncio.ensure_future(anyio.to_thread.run_sync(self._draw, request))
            self._pending[target] = pending
            pending.add_done_callback(lambda f: self._done(target, f))
        return target, pending

    def _draw(self, request: tuple[str, int, float, str]) -> None:
        error = self._child.call(request)
        if error:
            raise RuntimeError(error)

    def _done(self, target: Path, future: asyncio.Future[None]) -> None:
        self._pending.pop(target, None)
        if not future.cancelled() and future.exception() is not None:
            log.error("aperçu %s impossible : %s", target.name, future.exception())

    def close(self) -> None:
        self._child.close()


def _serve_previews(connection: Any) -> None:
    """The preview process: receive (pdf, page index, scale, target), answer when drawn."""
    while True:
        try:
            pdf, index, scale, target = connection.recv()
        except (EOFError, OSError):
            return
        try:
            render_page(pdf, index, scale, target)
            connection.send(("done", None))
        except Exception as exc:  # a PDF pruned meanwhile, a page out of range
            connection.send(("done", f"{type(exc).__name__}: {exc}"))


def render_page(pdf: str, index: int, scale: float, target: str) -> None:
    """Draw one page to a PNG file (runs in the preview process)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[index].render(scale=scale).to_pil()
        staged = f"{target}.{os.getpid()}.tmp"
        # Fast compression: a preview is shown once or twice, on this computer or its LAN.
        image.save(staged, "PNG", compress_level=1)
        os.replace(staged, target)
    finally:
        document.close()


# --- uploads (the schools list) -------------------------------------------------------

MAX_UPLOAD = 2 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"


def store_upload(root: Path, filename: str, content: bytes) -> Path:
    """Keep an uploaded schools list under a name the server chooses (its hash)."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xls", ".ods", ".numbers"):
        raise FlyerError("ce format de tableur n'est pas lu ; dans votre tableur, choisissez "
                         "« Enregistrer sous » et le format Excel (.xlsx) ou CSV (.csv)")
    if suffix not in (".csv", ".xlsx", ".txt"):
        raise FlyerError("envoyez la liste des écoles en fichier Excel (.xlsx) ou CSV (.csv)")
    if not content.strip():
        raise FlyerError("le fichier envoyé est vide")
    if suffix == ".xlsx" and not content.startswith(_XLSX_MAGIC):
        raise FlyerError("ce fichier porte l'extension .xlsx mais n'est pas un classeur Excel ; "
                         "ouvrez-le dans Excel et enregistrez-le à nouveau")
    folder = root / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".csv" if suffix == ".txt" else suffix
    target = folder / f"{hashlib.sha256(content).hexdigest()[:32]}{suffix}"
    if not target.is_file():
        _write_bytes(target, content)
    with contextlib.suppress(OSError):
        uploads = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in uploads[KEEP_UPLOADS:]:
            old.unlink(missing_ok=True)
    return target


def _write_bytes(path: Path, content: bytes) -> None:
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=".upload.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.replace(staged, path)

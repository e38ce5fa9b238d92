"""Writing a build's files into an output folder: all of them or none, even when killed.

Files are staged as they are rendered, in `<out>/.flyer-staging-<run>/` (the same file
system as their targets, so each rename is atomic), then committed in one step:
1. the journal `<out>/.flyer-journal.json` lists every move and every removal;
2. with Ctrl-C and SIGTERM deferred, each existing target is moved aside and its staged
   file renamed into place; if one cannot be replaced (a PDF open in a viewer on
   Windows), every file already moved is put back and the error names that file;
3. files flyer wrote before, in the same scopes, and no longer writes are removed (never
   a file it did not write, nor one changed since), the manifest
   `<out>/.flyer-manifest.json` is rewritten, the journal and the staging folder go.
A run killed during step 2 or 3 is completed by the next flyer run on that folder
(`recover`): the staged files are complete, so the moves are done again. Staging
folders of runs killed earlier are removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyer.errors import FlyerError

JOURNAL = ".flyer-journal.json"
MANIFEST = ".flyer-manifest.json"
STAGING_PREFIX = ".flyer-staging-"
LOCK = ".flyer-lock"
# A staging folder of a dead run, where no lock can tell (not POSIX), after this long.
STALE_STAGING_SECONDS = 24 * 3600


NOTHING_WRITTEN = "Interrompu — rien n'a été écrit : le dossier de sortie est tel qu'avant."


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with whether the files had all been written by then."""

    def __init__(self, committed: bool) -> None:
        super().__init__()
        self.committed = committed


def interrupt_message(interrupt: KeyboardInterrupt) -> str:
    """What the user is told after Ctrl-C or SIGTERM: true either way, since renames are
    never cut halfway (an interrupt before the commit left the output folder as it was)."""
    if isinstance(interrupt, Interrupted) and interrupt.committed:
        return "Interrompu — les fichiers étaient déjà tous écrits."
    return NOTHING_WRITTEN


@dataclass
class Commit:
    written: list[Path] = field(default_factory=list)  # replaced or created
    unchanged: list[Path] = field(default_factory=list)  # already identical on disk
    removed: list[Path] = field(default_factory=list)  # written by an earlier build, gone now
    kept: list[Path] = field(default_factory=list)  # earlier files changed by hand: left alone


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def os_error(exc: OSError, path: Path) -> FlyerError:
    """An OS error while writing, in French, with what to do."""
    from flyer.files import os_error_message

    return FlyerError(f"écriture impossible : {os_error_message(exc)}", path)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM arrive after the block, not in the middle of its renames.

    Python handlers that only take note, rather than a blocked signal mask: a process with
    other threads (watch, the web app, a pool's feeder) would receive a blocked signal on
    one of them, and Python would still raise in the main thread at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled by the main thread, which is not renaming
        return
    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    received: list[int] = []
    previous = {number: signal.signal(number, lambda n, _f: received.append(n))
                for number in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One commit or recovery at a time per output folder (CLI, watch and web app)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the journal still makes it safe
        yield
        return
    with (root / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=0, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _sync(paths: list[Path]) -> None:
    """Staged bytes on disk before the journal says they are complete: each file for a
    usual build, the whole system's buffers at once for a batch of thousands."""
    if len(paths) > 200 and hasattr(os, "sync"):
        os.sync()
        return
    for path in paths:
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


def recover(root: Path) -> int:
    """Finish a commit a killed run left in `root`, and remove dead runs' staging folders.

    Returns the number of files moved into place. Safe to call at every start: without
    a journal it only cleans up.
    """
    if not root.is_dir():
        return 0
    moved = 0
    with _locked(root):
        journal = _read_json(root / JOURNAL)
        if isinstance(journal, dict):
            moved = len(_apply(root, journal, rollback=False).written)
        with contextlib.suppress(FileNotFoundError):
            (root / JOURNAL).unlink()
        for folder in root.glob(STAGING_PREFIX + "*"):
            if folder.is_dir() and not _alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
    return moved


def _alive(staging: Path) -> bool:
    """Whether a staging folder belongs to a run still going (it holds its lock)."""
    lock = staging / ".lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return time.time() - staging.stat().st_mtime < STALE_STAGING_SECONDS
    try:
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def _apply(root: Path, journal: dict[str, Any], rollback: bool) -> Commit:
    """Do what a journal says: moves, then removals, then the new manifest.

    `rollback`: on a failed move, put back everything moved so far and raise (a normal
    commit); otherwise (recovery after a kill) keep going forward, since every staged
    file is complete.
    """
    commit = Commit()
    staging = root / str(journal.get("staging", ""))
    done: list[tuple[Path, Path, Path | None]] = []  # (staged, target, backup)
    created: list[Path] = []
    for staged_rel, target_rel in journal.get("moves", []):
        staged, target = staging / staged_rel, root / target_rel
        if not staged.exists():
            continue  # moved before the kill
        backup = None
        try:
            missing = [p for p in (target.parent, *target.parent.parents)
                       if p.is_relative_to(root) and not p.exists()]
            target.parent.mkdir(parents=True, exist_ok=True)
            created.extend(reversed(missing))
            if rollback and target.exists():
                backup = staging / ".old" / target_rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup)
            os.replace(staged, target)
        except OSError as exc:
            if not rollback:
                raise os_error(exc, target) from None
            if backup is not None and backup.exists() and not target.exists():
                os.replace(backup, target)
            for staged_back, target_back, backup_back in reversed(done):
                with contextlib.suppress(OSError):
                    os.replace(target_back, staged_back)
                    if backup_back is not None:
                        os.replace(backup_back, target_back)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            if isinstance(exc, PermissionError) or exc.errno in (errno.EBUSY, errno.EACCES):
                raise FlyerError(
                    "ce fichier ne peut pas être remplacé : il est sans doute ouvert dans un "
                    "autre programme (visionneuse PDF, imprimante). Fermez-le puis relancez ; "
                    "aucun fichier n'a été remplacé", target) from None
            raise os_error(exc, target) from None
        done.append((staged, target, backup))
        commit.written.append(target)
    for rel, digest in journal.get("remove", []):
        path = root / rel
        with contextlib.suppress(OSError):
            if path.is_file() and sha256_file(path) == digest:
                path.unlink()
                commit.removed.append(path)
                _prune_empty(path.parent, root)
    manifest = journal.get("manifest")
    if isinstance(manifest, dict):
        _write_json(root / MANIFEST, manifest)
    with contextlib.suppress(FileNotFoundError):
        (root / JOURNAL).unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return commit


def _covered(scope: str, scopes: set[str]) -> bool:
    """A scope ending in "|" covers every scope it starts."""
    return scope in scopes or any(s.endswith("|") and scope.startswith(s) for s in scopes)


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove folders a removed school's leaflets leave empty, up to `root`."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


class Output:
    """One build's writes into `root`: staged as they come, committed all at once.

    `scope` names what a file belongs to ("office|fr|documents|leaflet"…): a commit removes
    the earlier files of the scopes it covers that it no longer writes; a scope ending in
    "|" covers all those it starts ("office|fr|schools|").
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run = secrets.token_hex(6)
        self.staging = root / f"{STAGING_PREFIX}{self.run}"
        self.staged: dict[Path, tuple[Path, str, str]] = {}  # target → (staged, sha, scope)
        self.committed = False
        self._created: list[Path] = []
        self._lock: Any = None
        self.recovered = 0

    # Before rendering -------------------------------------------------------------------
    def prepare(self, estimate: int) -> None:
        """Finish a killed run's commit, then make sure `estimate` bytes can be written.

        Done before minutes of rendering, not after: a folder that cannot be written or a
        disk too full is said at once.
        """
        if self.root.exists() and not self.root.is_dir():
            raise FlyerError("ce chemin est un fichier, pas un dossier ; choisissez un autre "
                             "dossier de sortie (--out)", self.root)
        self.recovered = recover(self.root)
        missing = [p for p in (self.root, *self.root.parents) if not p.exists()]
        try:
            self.staging.mkdir(parents=True)
        except OSError as exc:
            raise os_error(exc, self.root) from None
        self._created = [*reversed(missing), self.staging]
        try:
            import fcntl

            self._lock = (self.staging / ".lock").open("a")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows
            pass
        free = shutil.disk_usage(self.root).free
        # Room for the new files beside the old ones until the commit, plus a margin.
        needed = int(estimate * 1.2) + 5_000_000
        if free < needed:
            self.discard()
            raise FlyerError(
                f"espace disque insuffisant : il faut environ {needed // 1_000_000 + 1} Mo, "
                f"il reste {free // 1_000_000} Mo ; libérez de la place ou choisissez un autre "
                "dossier (--out)", self.root)

    # While rendering --------------------------------------------------------------------
    def stage(self, target: Path, data: bytes, scope: str) -> None:
        """Write one file's bytes under the staging folder (mode from the umask)."""
        if target in self.staged:
            raise FlyerError("deux documents de cette production s'écriraient dans le même "
                             "fichier ; renommez l'un des deux dans documents.yaml", target)
        rel = target.relative_to(self.root)
        staged = self.staging / rel
        try:
            staged.parent.mkdir(parents=True, exist_ok=True)
            # 0o666 minus the umask, like any program's output (mkstemp would give 0600).
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise os_error(exc, target) from None
        self.staged[target] = (staged, hashlib.sha256(data).hexdigest(), scope)

    def staging_path(self, target: Path) -> Path:
        """Where to write `target` in place (a file too large to hold in memory); then
        `adopt` it."""
        staged = self.staging / target.relative_to(self.root)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def adopt(self, target: Path, scope: str) -> None:
        """A file written at `staging_path(target)`, staged like the others."""
        if target in self.staged:
            raise FlyerError("deux documents de cette production s'écriraient dans le même "
                             "fichier ; renommez l'un des deux dans documents.yaml", target)
        staged = self.staging / target.relative_to(self.root)
        self.staged[target] = (staged, sha256_file(staged), scope)

    def discard(self) -> None:
        """Forget the staged files: the output folder stays as it was."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        shutil.rmtree(self.staging, ignore_errors=True)
        for folder in reversed(self._created[:-1]):
            with contextlib.suppress(OSError):
                folder.rmdir()

    # The one step that changes the output folder ----------------------------------------
    def commit(self, scopes: set[str]) -> Commit:
        """Rename every staged file into place and remove what the scopes no longer hold."""
        manifest = _read_json(self.root / MANIFEST)
        files: dict[str, Any] = manifest.get("files", {}) if isinstance(manifest, dict) else {}
        moves: list[list[str]] = []
        unchanged: list[Path] = []
        new_files: dict[str, Any] = {}
        for target, (staged, digest, scope) in self.staged.items():
            rel = target.relative_to(self.root).as_posix()
            new_files[rel] = {"sha256": digest, "scope": scope}
            if (target.is_file() and target.stat().st_size == staged.stat().st_size
                    and sha256_file(target) == digest):
                unchanged.append(target)
                continue
            moves.append([staged.relative_to(self.staging).as_posix(), rel])
        remove: list[list[str]] = []
        kept: list[Path] = []
        for rel, entry in files.items():
            if rel in new_files or not isinstance(entry, dict):
                continue
            if not _covered(str(entry.get("scope")), scopes):
                new_files.setdefault(rel, entry)  # another build's file: not ours to judge
                continue
            path = self.root / rel
            if not path.is_file():
                continue
            if sha256_file(path) == entry.get("sha256"):
                remove.append([rel, str(entry["sha256"])])
            else:
                kept.append(path)  # changed since flyer wrote it: the person's file now
        journal = {"staging": self.staging.name, "moves": moves, "remove": remove,
                   "manifest": {"version": 1, "files": new_files}}
        _sync([self.staging / m[0] for m in moves])
        with _locked(self.root):
            _write_json(self.root / JOURNAL, journal)
            with deferred_signals():
                try:
                    commit = _apply(self.root, journal, rollback=True)
                except FlyerError:
                    # Rolled back (a locked file): the journal must not redo it next time.
                    with contextlib.suppress(FileNotFoundError):
                        (self.root / JOURNAL).unlink()
                    raise
                self.committed = True
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        commit.unchanged = unchanged
        commit.kept = kept
        return commit

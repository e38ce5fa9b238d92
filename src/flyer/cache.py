"""The render cache: what a job made, by the job's key, in the user's cache folder.

A key hashes everything a job reads (see build._keys), so an entry never goes stale: it is
simply not asked for again. Entries are written atomically (a folder renamed into place),
read without unpickling anything (JSON and the PDF bytes), and the oldest are removed
past a size cap. `FLYER_CACHE_DIR` moves the folder (tests, a shared server).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyer.errors import Problem

if TYPE_CHECKING:
    from flyer.worker import JobOutput

MAX_BYTES = int(os.environ.get("FLYER_CACHE_MAX_BYTES", str(1024**3)))
FORMAT = 1


def cache_folder() -> Path:
    configured = os.environ.get("FLYER_CACHE_DIR", "").strip()
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("flyer", appauthor=False))


class RenderCache:
    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = root / f"renders-v{FORMAT}"
        self.max_bytes = max_bytes
        # Only a store can take the cache past its cap: a build that stored nothing does
        # not walk the whole cache (0.3 s for 10 000 entries) to find that out.
        self._stored = False

    @classmethod
    def default(cls) -> RenderCache:
        return cls(cache_folder())

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def has(self, key: str) -> bool:
        return (self._folder(key) / "meta.json").is_file()

    def get(self, key: str) -> JobOutput | None:
        from flyer.check import CheckResult
        from flyer.worker import JobOutput

        folder = self._folder(key)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            files = {name: (folder / f"{number}.pdf").read_bytes()
                     for number, name in enumerate(meta["files"])}
            block = (folder / "block.pdf").read_bytes() if meta.get("block") else b""
        except (OSError, ValueError, KeyError, TypeError):
            return None
        with contextlib.suppress(OSError):
            os.utime(folder)  # recently used: pruned last
        return JobOutput(
            files=files, pages={k: int(v) for k, v in meta["pages"].items()},
            checks=[CheckResult(**c) for c in meta.get("checks", [])],
            warnings=[_problem(w) for w in meta.get("warnings", [])],
            layout=[_problem(w) for w in meta.get("layout", [])],
            block=block)

    def put(self, key: str, output: JobOutput) -> None:
        meta: dict[str, Any] = {
            "files": list(output.files), "pages": output.pages,
            "checks": [asdict(c) for c in output.checks],
            "warnings": [_plain(w) for w in output.warnings],
            "layout": [_plain(w) for w in output.layout],
            "block": bool(output.block)}
        blobs = {f"{n}.pdf": data for n, data in enumerate(output.files.values())}
        if output.block:
            blobs["block.pdf"] = output.block
        self._store(key, blobs, meta)

    def put_blob(self, key: str, data: bytes) -> None:
        self._store(key, {"0.pdf": data}, {"files": ["blob"], "pages": {}})

    def get_blob(self, key: str) -> bytes | None:
        try:
            return (self._folder(key) / "0.pdf").read_bytes()
        except OSError:
            return None

    def _store(self, key: str, blobs: dict[str, bytes], meta: dict[str, Any]) -> None:
        folder = self._folder(key)
        if folder.exists():
            return
        tmp = folder.with_name(f".{key}.{secrets.token_hex(4)}")
        try:
            tmp.mkdir(parents=True)
            for name, data in blobs.items():
                (tmp / name).write_bytes(data)
            (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, folder)
            self._stored = True
        except OSError:
            # A full disk or a read-only cache costs speed, never a build.
            shutil.rmtree(tmp, ignore_errors=True)

    def prune(self) -> None:
        """Remove the least recently used entries past the size cap, if this object
        stored any since it last pruned."""
        if not self._stored or not self.root.is_dir():
            return
        self._stored = False
        entries = []
        total = 0
        for folder in self.root.glob("*/*"):
            try:
                size = sum(f.stat().st_size for f in folder.iterdir())
                entries.append((folder.stat().st_mtime, size, folder))
                total += size
            except OSError:
                continue
        for _, size, folder in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size


def _plain(problem: Problem) -> dict[str, Any]:
    return {"message": problem.message, "path": str(problem.path) if problem.path else None,
            "line": problem.line, "field": problem.field}


def _problem(value: dict[str, Any]) -> Problem:
    return Problem(value["message"], Path(value["path"]) if value.get("path") else None,
                   value.get("line"), value.get("field"))

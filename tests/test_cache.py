"""The render cache: nothing re-rendered when nothing changed, and only what a change
touches re-rendered otherwise."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flyer.build import BuildOptions, build, plan
from flyer.cache import RenderCache

ROOT = Path(__file__).resolve().parent.parent


def _keys(data: Path, tmp_path: Path) -> dict[str, str]:
    planned = plan(BuildOptions(data=data, layouts=ROOT / "layouts", out=tmp_path / "out",
                                langs=("fr",)))
    return {job.document: job.key for job in planned.jobs}


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.pdf"))}


def test_a_letter_change_reaches_the_documents_that_show_it_and_not_the_poster(
        data_copy: Path, tmp_path: Path) -> None:
    before = _keys(data_copy, tmp_path)
    letter = data_copy / "letter.fr.md"
    text = letter.read_text(encoding="utf-8")
    letter.write_text(text.replace("Vous n'êtes pas seul.", "Vous n'êtes pas seuls."),
                      encoding="utf-8")
    body = _keys(data_copy, tmp_path)
    assert body["poster"] == before["poster"]  # the poster does not print the body
    assert all(body[d] != before[d] for d in ("leaflet", "letter", "leaflet-a5"))
    letter.write_text(text.replace("headline: À Mouscron", "headline: A Mouscron"),
                      encoding="utf-8")
    assert _keys(data_copy, tmp_path)["poster"] != before["poster"]  # it prints the headline


def test_a_rebuild_with_nothing_changed_renders_nothing_and_never_imports_weasyprint(
        tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    env = {**os.environ, "FLYER_CACHE_DIR": str(cache)}
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from flyer.build import BuildOptions, build\n"
        f"r = build(BuildOptions(data=Path({str(ROOT / 'data')!r}), "
        f"layouts=Path({str(ROOT / 'layouts')!r}), out=Path({str(out)!r}), langs=('fr',)))\n"
        "print(r.rendered, r.cached, 'weasyprint' in sys.modules)\n")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=env)
    assert first.stdout.split()[0] != "0"
    files = _tree(out)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env=env)
    assert second.stdout.split() == ["0", first.stdout.split()[0], "False"]
    assert _tree(out) == files  # byte-identical


def test_the_cache_is_capped_by_size_oldest_first(tmp_path: Path) -> None:
    from flyer.worker import JobOutput

    cache = RenderCache(tmp_path, max_bytes=2500)
    for index in range(5):
        cache.put(f"{index:064x}", JobOutput(files={"a.pdf": b"x" * 1000},
                                            pages={"a.pdf": 1}))
        os.utime(cache._folder(f"{index:064x}"), (index, index))  # oldest first
    RenderCache(tmp_path, max_bytes=2500).prune()  # stored nothing: walks nothing
    assert all(cache.has(f"{i:064x}") for i in range(5))
    cache.prune()
    assert [cache.get(f"{i:064x}") is not None for i in range(5)] == [
        False, False, False, True, True]


def test_a_cached_build_names_this_builds_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Warnings and checks taken from the cache speak of this build's output folder."""
    monkeypatch.setenv("FLYER_CACHE_DIR", str(tmp_path / "cache"))
    first = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts",
                               out=tmp_path / "one", langs=("fr",)))
    again = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts",
                               out=tmp_path / "two", langs=("fr",)))
    assert again.rendered == 0 and first.rendered > 0
    assert all(c.file.startswith(str(tmp_path / "two")) for c in again.checks)


def test_an_entry_pruned_after_the_plan_is_made_again(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Another flyer may prune the shared cache between this build's plan and its use of
    an entry: the job is rendered again, and the files are the same as ever."""
    monkeypatch.setenv("FLYER_CACHE_DIR", str(tmp_path / "cache"))
    options = dict(data=ROOT / "data", layouts=ROOT / "layouts", langs=("fr",))
    build(BuildOptions(out=tmp_path / "first", **options))  # type: ignore[arg-type]
    keys = _keys(ROOT / "data", tmp_path)
    leaflet_key = keys["leaflet"]
    original = RenderCache.get
    lost: list[str] = []
    # The poster is not in the cache: the build starts workers, which make the leaflet too.
    has = RenderCache.has
    monkeypatch.setattr(RenderCache, "has",
                        lambda self, key: key != keys["poster"] and has(self, key))

    def pruned_once(self: RenderCache, key: str) -> object:
        if key == leaflet_key and not lost:
            lost.append(key)
            return None
        return original(self, key)

    monkeypatch.setattr(RenderCache, "get", pruned_once)
    from flyer.pool import Workers

    starts: list[int] = []
    start = Workers.start.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Workers, "start",
                        classmethod(lambda cls, tasks, schools=False: starts.append(tasks)
                                    or start(cls, tasks, schools)))
    build(BuildOptions(out=tmp_path / "second", **options))  # type: ignore[arg-type]
    assert lost == [leaflet_key]
    assert starts == [1]  # one pool, for the poster, made the leaflet again too
    assert _tree(tmp_path / "second") == _tree(tmp_path / "first")

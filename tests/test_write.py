"""Writing into the output folder: all or nothing, recoverable after a kill, never a file
flyer did not write, and modes that follow the umask."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from flyer import write
from flyer.errors import FlyerError
from flyer.write import JOURNAL, MANIFEST, Output, recover


def _commit(root: Path, files: dict[str, bytes], scope: str = "office|fr|documents",
            scopes: set[str] | None = None) -> write.Commit:
    output = Output(root)
    output.prepare(0)
    try:
        for name, data in files.items():
            output.stage(root / name, data, scope)
        return output.commit(scopes or {scope})
    except BaseException:
        output.discard()
        raise


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".flyer-")}


def test_files_follow_the_umask_like_any_program_output(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        _commit(tmp_path, {"leaflet-fr.pdf": b"pdf", "schools/a/leaflet-fr.pdf": b"pdf"})
    finally:
        os.umask(old)
    for name in ("leaflet-fr.pdf", "schools/a/leaflet-fr.pdf"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_a_folder_that_cannot_be_made_leaves_the_output_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "leaflet-fr.pdf").write_bytes(b"previous")
    (tmp_path / "press").write_bytes(b"a file where the press folder should be")
    before = _tree(tmp_path)
    with pytest.raises(FlyerError, match="un fichier porte le nom d'un dossier attendu"):
        _commit(tmp_path, {"leaflet-fr.pdf": b"new", "web/a.pdf": b"x",
                           "press/sub/b.pdf": b"y"})
    assert _tree(tmp_path) == before
    assert not list(tmp_path.glob(".flyer-staging-*"))


def test_a_file_locked_by_a_viewer_is_named_and_nothing_is_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows a PDF open in a viewer cannot be replaced: simulated here."""
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        (tmp_path / name).write_bytes(b"old " + name.encode())
    before = _tree(tmp_path)
    real = os.replace

    def locked(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(src) == tmp_path / "b.pdf":
            raise PermissionError(13, "The process cannot access the file")
        real(src, dst)

    monkeypatch.setattr(write.os, "replace", locked)
    with pytest.raises(FlyerError) as caught:
        _commit(tmp_path, {"a.pdf": b"new a", "b.pdf": b"new b", "c.pdf": b"new c"})
    assert caught.value.path == tmp_path / "b.pdf"
    assert "ouvert dans un autre programme" in str(caught.value)
    assert _tree(tmp_path) == before
    assert not (tmp_path / JOURNAL).exists()


def test_the_same_file_twice_in_one_build_is_refused(tmp_path: Path) -> None:
    output = Output(tmp_path)
    output.prepare(0)
    output.stage(tmp_path / "a.pdf", b"1", "s")
    with pytest.raises(FlyerError, match="même fichier"):
        output.stage(tmp_path / "a.pdf", b"2", "s")
    output.discard()


def test_files_flyer_no_longer_writes_are_removed_and_no_others(tmp_path: Path) -> None:
    scope = "office|fr|schools"
    _commit(tmp_path, {"schools/a/leaflet-fr.pdf": b"a", "schools/b/leaflet-fr.pdf": b"b",
                       "schools/c/leaflet-fr.pdf": b"c"}, scope)
    (tmp_path / "mes-notes.txt").write_text("à moi", encoding="utf-8")
    (tmp_path / "schools/c/leaflet-fr.pdf").write_bytes(b"changed by hand")
    # Another scope (the Dutch files) is not this build's to judge.
    _commit(tmp_path, {"schools/a/leaflet-nl.pdf": b"nl"}, "office|nl|schools")
    commit = _commit(tmp_path, {"schools/a/leaflet-fr.pdf": b"a2"}, scope)
    assert commit.removed == [tmp_path / "schools/b/leaflet-fr.pdf"]
    assert commit.kept == [tmp_path / "schools/c/leaflet-fr.pdf"]
    assert not (tmp_path / "schools/b").exists()  # its folder went with it
    assert (tmp_path / "mes-notes.txt").read_text(encoding="utf-8") == "à moi"
    assert (tmp_path / "schools/a/leaflet-nl.pdf").read_bytes() == b"nl"
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == ["schools/a/leaflet-fr.pdf", "schools/a/leaflet-nl.pdf"]


def test_a_kill_during_the_renames_is_completed_by_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL after the journal and two renames: the next run finishes the write."""
    names = [f"schools/s{i}/leaflet-fr.pdf" for i in range(5)]
    _commit(tmp_path, {n: b"old" for n in names})
    real = os.replace
    calls = {"n": 0}

    class Killed(BaseException):
        pass

    def dies(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if ".flyer-staging-" in str(src) and ".old" not in str(dst):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Killed  # the process is gone: no rollback, no cleanup
        real(src, dst)

    monkeypatch.setattr(write.os, "replace", dies)
    monkeypatch.setattr(write.shutil, "rmtree", lambda *a, **k: None)
    output = Output(tmp_path)
    output.prepare(0)
    for name in names:
        output.stage(tmp_path / name, b"new", "office|fr|documents")
    with pytest.raises(Killed):
        output.commit({"office|fr|documents"})
    monkeypatch.undo()
    mixed = [(tmp_path / n).read_bytes() if (tmp_path / n).exists() else None for n in names]
    assert mixed == [b"new", b"new", None, b"old", b"old"]  # the third one was moved aside
    assert (tmp_path / JOURNAL).exists()
    assert recover(tmp_path) == 3
    assert [(tmp_path / n).read_bytes() for n in names] == [b"new"] * 5
    assert not (tmp_path / JOURNAL).exists()
    assert not list(tmp_path.glob(".flyer-staging-*"))


def test_staging_left_by_a_run_killed_while_rendering_is_removed(tmp_path: Path) -> None:
    output = Output(tmp_path)
    output.prepare(0)
    output.stage(tmp_path / "a.pdf", b"half a build", "s")
    output._lock.close()  # the process died: its lock went with it
    assert recover(tmp_path) == 0
    assert not list(tmp_path.glob(".flyer-staging-*"))
    assert not (tmp_path / "a.pdf").exists()


@pytest.mark.parametrize("other_thread", [False, True])
def test_ctrl_c_during_the_renames_waits_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_thread: bool) -> None:
    """Also with another thread running (watch, the web app): a blocked signal mask would
    let the signal in through that thread."""
    import threading

    stop = threading.Event()
    if other_thread:
        threading.Thread(target=stop.wait, daemon=True).start()
    names = [f"s{i}.pdf" for i in range(4)]
    _commit(tmp_path, {n: b"old" for n in names})
    real = os.replace
    sent = {"done": False}

    def interrupted(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        real(src, dst)
        if not sent["done"] and ".flyer-staging-" in str(src):
            sent["done"] = True
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(write.os, "replace", interrupted)
    output = Output(tmp_path)
    output.prepare(0)
    for name in names:
        output.stage(tmp_path / name, b"new", "office|fr|documents")
    with pytest.raises(KeyboardInterrupt):
        output.commit({"office|fr|documents"})
    stop.set()
    assert output.committed
    assert [(tmp_path / n).read_bytes() for n in names] == [b"new"] * 4


def test_not_enough_space_is_said_before_rendering(tmp_path: Path) -> None:
    output = Output(tmp_path / "out")
    with pytest.raises(FlyerError, match="espace disque insuffisant"):
        output.prepare(10**15)
    assert not (tmp_path / "out").exists()

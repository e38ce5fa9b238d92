"""Faults and kills: no worker outlives flyer, an interrupted write is completed by the
next run, and a layout that would print wrong paper is refused, never written with
exit status 0."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from flyer.build import BuildOptions, build
from flyer.cli import app
from flyer.errors import FlyerError
from flyer.write import JOURNAL, MANIFEST, recover

ROOT = Path(__file__).resolve().parent.parent
FLYER = [sys.executable, "-c", "from flyer.cli import main; main()"]
runner = CliRunner()


def _workers(process: psutil.Process, deadline: float) -> list[psutil.Process]:
    while time.monotonic() < deadline:
        children = process.children(recursive=True)
        if children:
            return children
        time.sleep(0.05)
    return []


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_no_worker_outlives_flyer(tmp_path: Path, how: int) -> None:
    """Killed while its workers render (a batch of 300 schools), flyer takes them with it,
    SIGKILL included, and writes nothing."""
    schools = tmp_path / "ecoles.csv"
    schools.write_text("school;service\n" + "".join(
        f"École fictive n° {i};CPMS Libre Mouscron 1\n" for i in range(300)), encoding="utf-8")
    env = {**os.environ, "FLYER_CACHE_DIR": str(tmp_path / "cache")}
    process = psutil.Popen([*FLYER, "build", "--schools", str(schools), "--out",
                            str(tmp_path / "out"), "--no-cache"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        assert _workers(process, time.monotonic() + 30), "no worker was started"
        time.sleep(1)
        workers = process.children(recursive=True)  # every worker by now
        process.send_signal(how)
        code = process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, [p.pid for p in alive]
    finally:
        if process.is_running():
            process.kill()
    assert code in (-signal.SIGKILL, 130), code  # stopped mid-render, not finished
    out = tmp_path / "out"
    published = [p for p in out.rglob("*.pdf") if ".flyer-staging-" not in str(p)]
    assert not published
    # What a SIGKILL leaves behind is staging only, which the next run removes.
    recover(out)
    assert not list(out.glob(".flyer-staging-*"))


def _killed_mid_rename(out: Path) -> tuple[list[str], Path]:
    """The output folder as a SIGKILL during the renames leaves it: a journal, two files
    renamed, the others still staged (and one moved aside)."""
    names = [f"schools/s{i}/leaflet-fr.pdf" for i in range(4)]
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"old")
    staging = out / ".flyer-staging-dead"
    for name in names[2:]:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(b"new")
    for name in names[:2]:
        (out / name).write_bytes(b"new")
    (staging / ".old" / names[2]).parent.mkdir(parents=True, exist_ok=True)
    os.replace(out / names[2], staging / ".old" / names[2])
    journal = {"staging": staging.name, "moves": [[n, n] for n in names], "remove": [],
               "manifest": {"version": 1, "files": {n: {"sha256": "x", "scope": "s"}
                                                    for n in names}}}
    (out / JOURNAL).write_text(json.dumps(journal), encoding="utf-8")
    return names, staging


@pytest.mark.parametrize("command", ["check", "build"])
def test_the_next_run_completes_a_write_killed_mid_rename(
        tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    names, staging = _killed_mid_rename(out)
    if command == "check":
        result = runner.invoke(app, ["check", str(out)])
    else:
        result = runner.invoke(app, ["build", "--lang", "fr", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    assert [(out / n).read_bytes() for n in names] == [b"new"] * 4
    assert not (out / JOURNAL).exists() and not staging.exists()
    assert MANIFEST in {p.name for p in out.iterdir()}


def test_a_deleted_stylesheet_is_named_and_nothing_is_written(
        layouts_copy: Path, tmp_path: Path) -> None:
    """Without poster.css the poster came out A4 on two pages, with exit 0."""
    (layouts_copy / "poster.css").unlink()
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "--layouts", str(layouts_copy), "--out", str(out)])
    assert result.exit_code == 2
    assert "poster.css" in result.output and "introuvable" in result.output
    assert not out.exists()


def test_a_stylesheet_too_large_to_load_is_named_and_nothing_is_written(
        layouts_copy: Path, tmp_path: Path) -> None:
    poster = layouts_copy / "poster.css"
    with poster.open("a", encoding="utf-8") as handle:
        handle.write("/*" + "x" * 21_000_000 + "*/\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "--layouts", str(layouts_copy), "--out", str(out),
                                 "--lang", "fr"])
    assert result.exit_code == 2, result.output
    assert "poster.css" in result.output and "trop gros" in result.output
    assert not out.exists()


def test_text_that_runs_off_the_page_is_refused(layouts_copy: Path, tmp_path: Path) -> None:
    """A layout that lets a long line run past the trim: the preflight refuses the file."""
    poster = layouts_copy / "poster.css"
    poster.write_text(poster.read_text(encoding="utf-8")
                      + "\n.cta { white-space: nowrap; }\n", encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=tmp_path / "out",
                           langs=("fr",)))
    said = "\n".join(str(p) for p in caught.value.problems)
    assert "poster-fr.pdf" in said and "hors de la page" in said
    assert not (tmp_path / "out").exists()


def test_watch_refuses_an_output_folder_that_holds_the_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    result = runner.invoke(app, ["watch", "--data", str(data), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "dossier de sortie" in result.output and "contient le dossier de données" in \
        " ".join(result.output.split())


def test_for_folders_never_collide(tmp_path: Path) -> None:
    """« 😀 » and « !!! » both made out/for/ and the second replaced the first."""
    from flyer.names import folder_name

    assert folder_name("😀") != folder_name("!!!")
    assert folder_name("😀") and folder_name("!!!")
    assert folder_name("CON").lower() != "con" and folder_name("nul.txt").lower() != "nul"


def test_an_unexpected_fault_is_said_in_french_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import flyer.build

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in flyer")

    monkeypatch.setattr(flyer.build, "build", broken)
    monkeypatch.setenv("FLYER_CACHE_DIR", str(tmp_path))
    result = runner.invoke(app, ["build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 70
    assert "Erreur inattendue de flyer" in result.output and "Traceback" not in result.output
    assert "a bug in flyer" in (tmp_path / "errors" / "flyer-erreur.txt").read_text(
        encoding="utf-8")

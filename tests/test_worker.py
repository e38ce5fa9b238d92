"""flyer.worker: a document's HTML in, its checked files out, without the data model.

And the process around it (flyer.pool, flyer.forkserver, flyer.console): the fork
server that workers start from loads the render side only, starts before the data is
read, and leaves nothing behind it: no process, no folder of fonts.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from flyer.build import BuildOptions, document_task, plan
from flyer.worker import JobOutput

ROOT = Path(__file__).resolve().parent.parent
FLYER = Path(sys.executable).parent / "flyer"  # the console script, as people run it
# What the plan needs and a worker must never load.
PLAN_ONLY = ("pydantic", "jinja2", "yaml", "ruamel", "markdown_it", "phonenumbers", "typer",
             "rich", "openpyxl", "flyer.model", "flyer.build", "flyer.load")


def _tasks(tmp_path: Path) -> dict[str, bytes]:
    planned = plan(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path,
                                langs=("fr",), cache=False))
    return {job.document: pickle.dumps(document_task(planned, job))
            for job in planned.jobs}


def test_a_document_is_rendered_and_checked_without_the_data_model(tmp_path: Path) -> None:
    """In a fresh interpreter that loads what the fork server loads: every document's
    task is rendered, its files pass their checks, and no module of the plan is loaded."""
    script = textwrap.dedent(f"""
        import json, pickle, sys
        import flyer.forkserver
        from flyer.worker import render_documents
        tasks = pickle.loads(sys.stdin.buffer.read())
        report = {{}}
        for name, data in tasks.items():
            [out] = render_documents([pickle.loads(data)])
            report[name] = {{"files": sorted(out.files), "set_aside": out.set_aside,
                             "failed": [c.label for c in out.checks if not c.ok],
                             "checks": len(out.checks)}}
        loaded = [m for m in {PLAN_ONLY!r} if m in sys.modules]
        print(json.dumps({{"report": report, "loaded": loaded}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(_tasks(tmp_path)),
                          capture_output=True, check=True, cwd=ROOT)
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert answer["loaded"] == []
    report = answer["report"]
    assert report["leaflet-a5"]["files"] == ["leaflet-a5-2up-fr.pdf", "leaflet-a5-fr.pdf"]
    for name, facts in report.items():
        assert facts["set_aside"] is None, name
        assert facts["failed"] == [] and facts["checks"] > 3, (name, facts)


def test_the_html_a_job_is_keyed_by_is_the_html_its_worker_renders(tmp_path: Path) -> None:
    planned = plan(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path,
                                langs=("fr",), cache=False))
    for job in planned.jobs:
        task = document_task(planned, job)
        spec = planned.registry.documents[job.document]
        assert [fit for fit, _ in task.steps] == [spec.fit[:n]
                                                  for n in range(len(spec.fit) + 1)]
        assert task.steps[0][1] == planned.html[job.key]
        # Each code is named, not drawn: the fetcher draws it in the worker.
        assert "flyer-qr:mailto:" in task.steps[0][1] and "data:image/png" not in task.steps[0][1]


def test_a_job_output_is_a_plain_value() -> None:
    out = JobOutput(files={"a.pdf": b"%PDF"}, pages={"a.pdf": 1})
    assert pickle.loads(pickle.dumps(out)) == out


def _weasyprint_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("weasyprint-*")}


def test_a_build_leaves_no_process_and_no_folder_of_fonts_behind(tmp_path: Path) -> None:
    before = _weasyprint_folders()
    env = {**os.environ, "FLYER_CACHE_DIR": str(tmp_path / "cache")}
    process = psutil.Popen([str(FLYER), "build", "--lang", "fr", "--no-cache", "--out",
                            str(tmp_path / "out")], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set[psutil.Process] = set()
    while process.poll() is None:
        try:
            seen.update(process.children(recursive=True))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert process.wait(timeout=120) == 0
    assert seen, "the build started no process of its own"
    _, alive = psutil.wait_procs(list(seen), timeout=10)
    assert not alive, [p.pid for p in alive]
    assert _weasyprint_folders() <= before
    assert (tmp_path / "out" / "leaflet-a5-2up-fr.pdf").is_file()


def test_the_fork_server_is_loading_before_the_data_is_read(tmp_path: Path) -> None:
    """A data error (exit 2) comes after the fork server was started: it was started
    first, and it goes with flyer."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "contacts.yaml").write_text("contacts: [\n", encoding="utf-8")
    (data / "letter.fr.md").write_text("---\ntitle: T\n---\nBonjour\n", encoding="utf-8")
    process = psutil.Popen([str(FLYER), "build", "--data", str(data), "--out",
                            str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    started: list[psutil.Process] = []
    deadline = time.monotonic() + 20
    while not started and time.monotonic() < deadline and process.poll() is None:
        try:
            started = process.children()
        except psutil.NoSuchProcess:
            break
        time.sleep(0.005)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert "Traceback" not in err.decode()
    assert started, "no fork server was started before the data error"
    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive


@pytest.mark.parametrize("after", [0.15, 0.4])
def test_ctrl_c_while_the_fork_server_loads_prints_no_traceback(
        tmp_path: Path, after: float) -> None:
    process = subprocess.Popen([str(FLYER), "build", "--lang", "fr", "--no-cache", "--out",
                                str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               env={**os.environ, "FLYER_CACHE_DIR": str(tmp_path / "c")})
    time.sleep(after)
    os.killpg(os.getpgid(process.pid), 0)  # still ours
    process.send_signal(signal.SIGINT)
    # The terminal sends Ctrl-C to the whole foreground group: the fork server too.
    for child in psutil.Process(process.pid).children(recursive=True):
        child.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    text = err.decode()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert process.returncode in (130, 0), text


def _processes_seen(command: list[str], env: dict[str, str]) -> tuple[int, set[int]]:
    process = psutil.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    while process.poll() is None:
        try:
            seen.update(p.pid for p in process.children(recursive=True))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.005)
    return process.wait(timeout=120), seen


def test_a_rebuild_with_nothing_changed_starts_no_process(
        data_copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "FLYER_CACHE_DIR": str(tmp_path / "cache")}
    command = [str(FLYER), "build", "--lang", "fr", "--data", str(data_copy), "--out",
               str(tmp_path / "out")]
    code, seen = _processes_seen(command, env)
    assert code == 0 and seen
    code, seen = _processes_seen(command, env)
    assert code == 0 and not seen  # everything from the cache: no fork server either
    letter = data_copy / "letter.fr.md"
    letter.write_text(letter.read_text(encoding="utf-8") + "\nUne ligne de plus.\n",
                      encoding="utf-8")
    code, seen = _processes_seen(command, env)
    assert code == 0 and seen

"""A process's collector and exit: frozen imports, paused collections, exit without
teardown that still runs every exit handler."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from flyer import lifetime


def test_collections_wait_while_a_document_is_made_and_come_back_after() -> None:
    assert gc.isenabled()
    with lifetime.collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with lifetime.collection_paused():
            pass
        assert not gc.isenabled()  # paused by someone else: left as it was
    finally:
        gc.enable()


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60)


def test_leaving_runs_the_exit_handlers_and_flushes_with_the_status(tmp_path: Path) -> None:
    marker = tmp_path / "handler-ran"
    done = _python(f"""
        import atexit, sys, tempfile
        from flyer import lifetime
        kept = tempfile.TemporaryDirectory(dir={str(tmp_path)!r})  # removed at exit
        atexit.register(lambda: open({str(marker)!r}, "w").write("yes"))
        sys.stdout.write("dit avant de partir")  # buffered: no newline, no flush
        lifetime.leave(3)
    """)
    assert done.returncode == 3
    assert done.stdout == "dit avant de partir"
    assert marker.read_text() == "yes"
    assert [p for p in tmp_path.iterdir() if p != marker] == []


def test_a_running_thread_keeps_the_ordinary_exit() -> None:
    before = lifetime.may_leave_now()  # another test's thread may still be ending
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not lifetime.may_leave_now()
    finally:
        stop.set()
        worker.join()
    assert lifetime.may_leave_now() == before


def test_what_was_loaded_is_frozen_once() -> None:
    done = _python("""
        import gc
        from flyer import lifetime
        lifetime.settle()
        first = gc.get_freeze_count()
        made = [[] for _ in range(1000)]
        lifetime.settle()
        print(first > 0, gc.get_freeze_count() == first)
    """)
    assert done.stdout.split() == ["True", "True"]

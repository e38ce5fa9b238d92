"""The render workers: Ctrl-C stops them, and nothing prints from the pool's thread."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from flyer.pool import Workers


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_ctrl_c_while_waiting_stops_the_workers_without_a_thread_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tasks not started yet must not be cancelled from here: the pool's own thread, on
    finding its workers killed, would fail them again, and Python 3.11 raises in that
    thread (InvalidStateError), a traceback printed in the middle of flyer's message."""
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    # The interleaving a loaded machine gives: the pool's thread sees its workers killed
    # before this thread gets to shut the pool down.
    shutdown = ProcessPoolExecutor.shutdown

    def late_shutdown(self: ProcessPoolExecutor, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.5)
        shutdown(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "shutdown", late_shutdown)
    workers = Workers(1)
    timer = threading.Timer(0.8, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in workers.map_ordered(_sleep, [(5.0,)] * 6, labels=[["tâche"]] * 6):
                pass
        time.sleep(1.5)  # the pool's thread finds its workers gone
    finally:
        timer.cancel()
        workers.close()
    assert raised == []

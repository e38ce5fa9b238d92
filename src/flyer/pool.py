"""The worker processes every render runs in: started safely, bounded, never orphaned.

- Start method: forkserver on Linux, spawn elsewhere (macOS's system libraries are not
  fork-safe). The fork server loads the render side of the pipeline once (flyer.worker:
  WeasyPrint, pikepdf, the preflight; never the data model) and every worker is forked
  from it with all that loaded. `prestart()` starts it before the data is even read:
  it loads WeasyPrint on the second core while this process reads the data and makes
  the plan, and the first document goes to a worker the moment its HTML is made.
- Each worker dies with its parent: PR_SET_PDEATHSIG on Linux, a watchdog thread on the
  parent's sentinel elsewhere; the fork server dies with flyer the same way. A worker
  killed with SIGKILL or short of memory makes the task fail with a French message
  naming the templates it was rendering.
- Each render has a budget (flyer.budget): memory for the whole worker, time per task.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NoReturn

from flyer import budget
from flyer.errors import FlyerError

# Tasks submitted ahead of the one the caller waits for: enough to keep every core busy,
# few enough that finished results do not pile up in memory (a 5 000-school batch).
WINDOW_PER_WORKER = 3

# Whether this process has killed a worker (Ctrl-C, a timeout, a crash). See `cli.main`.
_killed_workers = False


def workers_were_killed() -> bool:
    """A worker killed halfway through sending its result leaves concurrent.futures'
    manager thread blocked on the result pipe for good (its writer is this process, so no
    end of file comes), and Python waits for that thread at exit: see `exit_now`."""
    return _killed_workers


def exit_now(code: int) -> NoReturn:
    """End this process without waiting for threads, and without leaving noise behind.

    Everything flyer had to say is said by then, so its output is closed first: a pool
    thread still running (its queue closed under it) cannot print a traceback after
    « Arrêté. ». Workers still starting (a fork server may be mid-launch) are killed, so
    none prints one once the pool's semaphores are gone; and the exit finalizers that
    unlink those named semaphores are run, or the resource tracker (a process of its own)
    would print an English warning about "leaked semaphore objects".
    """
    import contextlib
    import multiprocessing.util

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError):
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
    for child in multiprocessing.active_children():
        child.kill()
    # What a normal exit runs first (private, but stable since Python 3.0; not in typeshed).
    multiprocessing.util._run_finalizers(0)  # type: ignore[attr-defined]
    os._exit(code)


def call(function: Callable[..., Any], *args: Any) -> Any:
    """A pool task that names its own function: one pool makes documents (flyer.worker)
    and school leaflets (flyer.build) alike, and a worker imports only what its tasks
    need."""
    return function(*args)


def workers_available() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def start_method() -> str:
    """forkserver on Linux (Python 3.14's own default there: a fork of a process that
    runs threads is unsafe), spawn elsewhere."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


# What the fork server imports before it forks any worker (flyer/forkserver.py); for
# school leaflets, whose block each worker fills in from the data model, the model and
# templates too: loaded once and shared, rather than once in each worker.
FORKSERVER_PRELOAD = ["flyer.forkserver"]
SCHOOLS_PRELOAD = [*FORKSERVER_PRELOAD, "flyer.build", "flyer.context", "flyer.templates"]


def prestart(schools: bool = False) -> None:
    """Start the fork server now, if there is one, so that it is loading WeasyPrint
    while this process reads the data and makes the plan (0.4 s of a build from cold on
    two cores). Nothing is lost if no worker is asked for: the server ends with flyer.
    Once it runs, it serves every later pool of this process with what it loaded."""
    if start_method() != "forkserver":
        return
    import signal
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(
        SCHOOLS_PRELOAD if schools else FORKSERVER_PRELOAD)
    # Started with Ctrl-C ignored (kept across exec, and then Python installs no handler
    # of its own): the server, still importing, must not print a KeyboardInterrupt
    # traceback under flyer's « Arrêté. »; flyer handles Ctrl-C and stops it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
    try:
        forkserver.ensure_running()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Workers:
    """A pool of render workers; `map_ordered` runs tasks and yields results in order."""

    def __init__(self, processes: int, schools: bool = False) -> None:
        method = start_method()
        if method == "forkserver":
            prestart(schools)  # once per process; the server serves every later pool
        self.processes = processes
        self._context = multiprocessing.get_context(method)
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=self._context,
                                   initializer=_start_worker)

    @classmethod
    def start(cls, tasks: int, schools: bool = False) -> Workers:
        return cls(max(1, min(tasks, workers_available())), schools)

    def map_ordered(self, function: Callable[..., Any], arguments: Iterable[tuple[Any, ...]],
                    labels: list[list[str]], while_waiting: Callable[[], None] | None = None
                    ) -> Iterator[Any]:
        """`function(*args)` for each tuple of `arguments` on the workers, in order.

        `while_waiting` runs here once the first tasks are out, before the first result
        is waited for: this process's own preparation for what follows.
        A task that runs past its time budget, or a worker that dies (killed, out of
        memory), stops the pool and raises a FlyerError naming the templates in `labels`.
        Ctrl-C cancels what has not started and re-raises.
        """
        queue: deque[tuple[Future[Any], list[str], int]] = deque()
        items = iter(enumerate(arguments))
        window = self.processes * WINDOW_PER_WORKER

        def fill() -> None:
            while len(queue) < window:
                try:
                    index, args = next(items)
                except StopIteration:
                    return
                try:
                    future = self._executor.submit(function, *args)
                except BrokenProcessPool:
                    self._reset()
                    future = self._executor.submit(function, *args)
                queue.append((future, labels[index], len(labels[index])))

        try:
            fill()
            if while_waiting is not None:
                while_waiting()
            while queue:
                future, names, size = queue[0]
                try:
                    result = future.result(timeout=budget.task_seconds(size))
                except FutureTimeout:
                    raise FlyerError(budget.timeout_message(names[0], budget.task_seconds(size)),
                                     None) from None
                except BrokenProcessPool:
                    raise FlyerError(budget.crash_message(names[0])) from None
                queue.popleft()
                fill()
                yield result
        except BaseException:
            if queue:
                # Ctrl-C, a timeout, a crash or an error: running tasks are stopped, not
                # waited for, and the pool's own thread cancels the others (shutdown with
                # cancel_futures). Not from here: that thread, finding its workers killed,
                # fails every pending task, and on a task cancelled under it Python 3.11
                # raises in the thread, a traceback in the middle of flyer's message.
                self._reset(kill=True)
            raise

    def _reset(self, kill: bool = False) -> None:
        """Replace the executor (after a crash or a timeout), killing its workers."""
        global _killed_workers
        old = self._executor
        if kill:
            _killed_workers = True
            # concurrent.futures has no public way to stop a running task before 3.14
            # (`terminate_workers`); its worker table is stable across versions.
            for process in list((getattr(old, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.kill()
        old.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _start_worker() -> None:
    import signal

    # The parent handles Ctrl-C and stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    budget.limit_worker()


def die_with_parent() -> None:
    """This process (a worker, or the fork server) must not outlive its parent, whatever
    kills it (SIGKILL included).

    On Linux the kernel kills it when its parent dies: flyer for the fork server, the
    fork server for a worker."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        # The parent may have died between this process's start and the prctl.
        if os.getppid() != parent or parent == 1:
            os._exit(1)
        return
    watched = multiprocessing.parent_process()  # pragma: no cover - not Linux
    if watched is None:  # pragma: no cover
        return

    def watch() -> None:  # pragma: no cover - not Linux
        watched.join()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()  # pragma: no cover

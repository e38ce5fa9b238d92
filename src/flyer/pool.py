"""The worker processes every render runs in: started safely, bounded, never orphaned.

- Start method: fork on Linux for a command-line build (workers inherit the loaded
  WeasyPrint instead of paying ~0.5 s each to import it), forkserver for a long-lived
  process with threads (`flyer serve`), spawn where fork is unsafe (macOS, Windows).
- Each worker dies with its parent: PR_SET_PDEATHSIG on Linux, a watchdog thread on the
  parent's sentinel elsewhere. A worker killed with SIGKILL or short of memory makes the
  task fail with a French message naming the templates it was rendering.
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


def workers_available() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def start_method(long_lived: bool = False) -> str:
    """fork only on Linux (macOS's system libraries are not fork-safe); forkserver for a
    process that already runs threads (a server), spawn elsewhere."""
    if sys.platform.startswith("linux"):
        return "forkserver" if long_lived else "fork"
    return "spawn"


class Workers:
    """A pool of render workers; `map_ordered` runs tasks and yields results in order."""

    def __init__(self, processes: int, long_lived: bool = False) -> None:
        method = start_method(long_lived)
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            # The server process imports these once; every worker forked from it has them.
            context.set_forkserver_preload(["weasyprint", "flyer.build"])
        elif method == "fork":
            # Loaded once, before forking: every worker has them without paying for them.
            import pikepdf  # noqa: F401
            import pypdf  # noqa: F401
            import pypdfium2  # noqa: F401
            import weasyprint  # noqa: F401
        self.processes = processes
        self._context = context
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        # The worker's parent is this process only when it is forked from it (not from a
        # fork server, nor spawned).
        parent = os.getpid() if self._context.get_start_method() == "fork" else None
        return ProcessPoolExecutor(self.processes, mp_context=self._context,
                                   initializer=_start_worker, initargs=(parent,))

    @classmethod
    def start(cls, tasks: int) -> Workers:
        return cls(max(1, min(tasks, workers_available())))

    def map_ordered(self, function: Callable[..., Any], arguments: Iterable[tuple[Any, ...]],
                    labels: list[list[str]]) -> Iterator[Any]:
        """`function(*args)` for each tuple of `arguments` on the workers, in order.

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


def _start_worker(parent: int | None) -> None:
    import signal

    # The parent handles Ctrl-C and stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    budget.limit_worker()


def _die_with_parent(parent: int | None) -> None:
    """A worker must not outlive flyer, whatever kills flyer (SIGKILL included).

    On Linux the kernel kills it when its parent dies: flyer, or the fork server that dies
    with flyer (`flyer watch`, `flyer serve`)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        # Forked by flyer itself: flyer may have died between the fork and the prctl.
        if parent is not None and os.getppid() != parent:
            os._exit(1)
        return
    watched = multiprocessing.parent_process()  # pragma: no cover - not Linux
    if watched is None:  # pragma: no cover
        return

    def watch() -> None:  # pragma: no cover - not Linux
        watched.join()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()  # pragma: no cover

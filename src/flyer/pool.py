"""Running independent renders on every core: a fork pool that stops cleanly.

Shared by the normal build (one task per profile × language) and the `--schools` batch
(one task per run of schools). Workers are forked after WeasyPrint is imported, so they
inherit the loaded libraries instead of paying ~0.5 s each to load them again.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from flyer.errors import FlyerError

T = TypeVar("T")
R = TypeVar("R")


def workers_available() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Fork is what makes a pool cheap here; macOS and Windows run everything in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


def in_workers(function: Callable[[T], R], items: Iterable[T], processes: int,
               initializer: Callable[..., Any] | None = None,
               initargs: tuple[Any, ...] = ()) -> Iterator[R]:
    """`function(item)` for every item on `processes` forked workers, results in order.

    A worker that dies (killed for memory) raises a FlyerError instead of hanging; Ctrl-C
    drops the tasks not started and re-raises in the caller, which has written nothing.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import weasyprint  # noqa: F401 — loaded once, before forking

    executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_worker, initargs=(initializer, initargs))
    try:
        yield from executor.map(function, items)
    except BrokenProcessPool:
        executor.shutdown(wait=False, cancel_futures=True)
        raise FlyerError("un processus de mise en page s'est arrêté brutalement (mémoire "
                         "insuffisante ?) ; rien n'a été écrit") from None
    except BaseException:
        # Ctrl-C, or an error while the caller used a result: the running tasks end
        # within a second and their results are discarded.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()


def _start_worker(initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    # The parent handles Ctrl-C and stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)

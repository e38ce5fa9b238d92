"""The time and memory a render may use, so a hostile or broken layout cannot take the
machine down.

The sandbox (flyer.templates) and the fetcher (flyer.fetch) refuse the known attacks
early and precisely; this is the backstop for what they do not foresee:
- a worker's address space is capped (RLIMIT_AS): an allocation past it fails in the
  worker, not in the machine;
- a job has a wall-clock budget (an interval timer raises inside the render) and a CPU
  budget (RLIMIT_CPU kills a worker stuck in C code); the parent also stops waiting for a
  task past its budget and kills the pool.
Every way out becomes a FlyerError naming the template.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from flyer.errors import FlyerError

RENDER_SECONDS = float(os.environ.get("FLYER_RENDER_SECONDS", "40"))
# A worker with WeasyPrint loaded maps ~1 GB of address space (libraries, arenas); a big
# leaflet batch peaks well under 1 GB of it resident.
WORKER_ADDRESS_SPACE = int(os.environ.get("FLYER_WORKER_MEMORY", str(4 * 1024**3)))


class RenderTimeout(Exception):
    """Raised inside a worker when a job runs past its wall-clock budget."""


def task_seconds(jobs: int) -> float:
    """How long the parent waits for a task of `jobs` jobs before stopping the pool."""
    return RENDER_SECONDS * max(jobs, 1) + 15


def timeout_message(template: str, seconds: float) -> str:
    return (f"{template} : la mise en page a dépassé le temps permis ({seconds:.0f} s) ; ce "
            "modèle fait sans doute trop de travail (boucles, images, SVG) — utilisez les "
            "modèles fournis ou corrigez celui-ci")


def crash_message(template: str) -> str:
    return (f"{template} : le processus de mise en page s'est arrêté brutalement (mémoire "
            "épuisée ou arrêt forcé) ; ce modèle demande sans doute trop de mémoire — "
            "utilisez les modèles fournis ou corrigez celui-ci. Rien n'a été écrit")


def limit_worker() -> None:
    """Cap the worker's address space; called once when a worker starts."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = WORKER_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(
            WORKER_ADDRESS_SPACE, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@contextlib.contextmanager
def render_budget(template: Path) -> Iterator[None]:
    """Run one job within its budget; whatever stops it is said as a FlyerError."""
    seconds = RENDER_SECONDS
    timer = hasattr(signal, "setitimer") and _main_thread()
    previous = None
    cpu = _cpu_limit(seconds)
    if timer:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except RenderTimeout:
        raise FlyerError(timeout_message(str(template), seconds)) from None
    except MemoryError:
        raise FlyerError(crash_message(str(template))) from None
    except RecursionError:
        raise FlyerError(f"{template} : mise en page trop profondément imbriquée ; corrigez le "
                         "modèle") from None
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if cpu is not None:
            cpu()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _alarm(_signum: int, _frame: object) -> None:
    raise RenderTimeout


def _cpu_limit(seconds: float) -> Callable[[], None] | None:
    """RLIMIT_CPU at the CPU time used so far plus the budget: the kernel ends a worker
    stuck in C code where no Python exception can reach it. Returns the undo."""
    if not sys.platform.startswith("linux"):
        return None
    import resource

    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime)
        limit = spent + int(seconds * 2) + 5
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
    except (ValueError, OSError):
        return None

    def undo() -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))

    return undo

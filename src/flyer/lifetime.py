"""What a flyer process costs besides its work: Python's garbage collector, and its exit.

- **Collector.** A full collection walks every object Python tracks, and the modules a
  build loads are most of them (pydantic, Jinja, WeasyPrint: 70 000 to 90 000 objects):
  60 to 70 ms each time one runs, once or twice a build in each process. `settle()`,
  called once the imports are done, moves them out of the collector's sight for good
  (`gc.freeze`): the collections that follow walk only what the build made. In the fork
  server it also keeps those pages shared by every worker forked from it, since a
  collection no longer writes into them (copy-on-write).
- **One document.** A document's render makes some 20 000 objects that only a collection
  frees (WeasyPrint's boxes point at each other), and about a hundred young collections
  run meanwhile: 20 to 30 ms a document. `collection_paused()` lets them wait until the
  document is made; the first collection after it frees them all at once, and a worker
  that then ends (a build's) never has to.
- **Exit.** At the end of a command, Python's own teardown frees every module and object
  one by one: 0.15 to 0.35 s after `flyer build` has written and said everything.
  `leave()` ends the process once the exit handlers have run (files flushed, workers
  joined, temporary folders removed), without that teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

_settled = False


def settle() -> None:
    """What this process loaded so far is kept for good: no collection walks it again.
    Once per process: a long-lived one (`flyer serve`) would otherwise keep each build's
    garbage of the moment too."""
    global _settled
    if not _settled:
        _settled = True
        gc.freeze()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No collection while one document is made (bounded: one document's objects)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def may_leave_now() -> bool:
    """No thread of this process is still running (it would be joined by a normal exit)."""
    main = threading.main_thread()
    return all(t is main or t.daemon or not t.is_alive() for t in threading.enumerate())


def leave(code: int) -> NoReturn:
    """End the process with `code`: output flushed, exit handlers run, no teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    # What a normal exit runs before the teardown: multiprocessing's (workers and the
    # fork server stopped, named semaphores unlinked), weakref finalizers (temporary
    # folders), logging's, the libraries' own.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)

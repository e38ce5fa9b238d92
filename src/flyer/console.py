"""The `flyer` command's entry point, kept empty of imports.

- A build or a watch starts the render workers' fork server before anything else is
  imported (flyer.pool.prestart): it loads WeasyPrint on the second core while the
  command line, the data and the plan are loaded on the first.
- A render worker started from that server reads the script that started flyer again
  (multiprocessing's `__mp_main__`): it must not load the command line's libraries
  (typer, rich) for it.
"""

from __future__ import annotations

import sys

# The commands that render (`flyer serve` renders in a process of its own).
RENDERING = ("build", "watch")


def main() -> None:
    if sys.argv[1:2] and sys.argv[1] in RENDERING:
        from flyer import pool

        pool.prestart()
    from flyer.cli import main as cli_main

    cli_main()

"""The `flyer` command's entry point, kept empty of imports.

- A build that will render (`--no-cache`) or a watch starts the render workers' fork
  server before anything else is imported (flyer.pool.prestart): it loads WeasyPrint on
  the second core while the command line, the data and the plan load on the first.
  (`flyer build` decides for the other cases, once it knows its folders.)
- A render worker started from that server reads the script that started flyer again
  (multiprocessing's `__mp_main__`): it must not load the command line's libraries
  (typer, rich) for it.
"""

from __future__ import annotations

import sys


def main() -> None:
    command = sys.argv[1:2]
    if command == ["watch"] or (command == ["build"] and "--no-cache" in sys.argv[2:]):
        from flyer import pool

        pool.prestart(schools=any(a.startswith("--schools") for a in sys.argv[2:]))
    try:
        from flyer.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        # Ctrl-C before a command has begun (the command line still loading): nothing
        # was written, and a command says so itself once it runs (flyer.cli).
        print("Arrêté.", file=sys.stderr, flush=True)
        raise SystemExit(130) from None

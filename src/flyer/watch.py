"""`flyer watch`: rebuild when a file under `data/` or `layouts/` changes.

`plan()` decides from a set of changed paths what to rebuild (a letter or a language's
texts: that language only; anything else: everything); `rebuild()` runs the build and
reports its errors without raising, so the person editing a YAML file sees the mistake,
fixes it, saves, and gets the PDF back. Both are pure enough to test without watching;
`watch()` only connects them to watchfiles.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from flyer.build import BuildOptions, BuildResult, build
from flyer.errors import FlyerError
from flyer.files import require_source_folders
from flyer.load import LETTER_NAME
from flyer.write import interrupt_message

Report = Callable[[str], None]
Builder = Callable[[BuildOptions], BuildResult]

# Editors save through temporary files: Vim .swp / ~, Emacs .#, LibreOffice .~lock,
# Excel ~$contacts.xlsx.
_IGNORED = re.compile(r"(^\.|^~\$|~$|\.swp$|\.swx$|\.tmp$|^#.*#$)")


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def plan(changes: Iterable[Path], options: BuildOptions) -> BuildOptions | None:
    """The build to run for `changes`, or None when none of them matters."""
    langs: set[str] = set()
    for path in changes:
        if _IGNORED.search(path.name) or _inside(path, options.out):
            continue
        if not (_inside(path, options.data) or _inside(path, options.layouts)):
            continue
        letter = LETTER_NAME.match(path.name)
        if letter and _inside(path, options.data):
            langs.add(letter.group(1))
        elif (path.parent.name == "i18n" and path.suffix == ".yaml" and path.stem != "fr"
              and _inside(path, options.layouts)):
            langs.add(path.stem)  # fr.yaml is every language's fallback: rebuild all
        else:
            return options
    if not langs:
        return None
    if options.langs:
        langs &= set(options.langs)
        if not langs:
            return None
    return dataclasses.replace(options, langs=tuple(sorted(langs)))


def rebuild(changes: Iterable[Path], options: BuildOptions, report: Report,
            builder: Builder = build) -> BuildResult | None:
    """Rebuild what `changes` call for; report the files written or the data's errors."""
    todo = plan(changes, options)
    if todo is None:
        return None
    what = ", ".join(todo.langs) if todo.langs else "tout"
    report(f"Reconstruction ({what})…")
    try:
        result = builder(todo)
    except KeyboardInterrupt as exc:
        report(interrupt_message(exc))
        raise
    except FlyerError as exc:
        report(f"Erreur — les PDF précédents sont gardés ({len(exc.problems)} problème(s)) :")
        for problem in exc.problems:
            report(f"  {problem}")
        return None
    for written in result.written:
        report(f"  écrit : {written.path}")
    return result


def refuse_output_over_sources(options: BuildOptions) -> None:
    """An output folder that holds the data or layouts would hide every change (flyer
    ignores its own output): refused, instead of watching in silence."""
    for folder, label in ((options.data, "données"), (options.layouts, "mise en page")):
        if _inside(folder, options.out):
            raise FlyerError(
                f"le dossier de sortie ({options.out}) contient le dossier de {label} "
                f"({folder}) : flyer ne verrait aucune modification. Choisissez un dossier "
                "de sortie à part, par exemple --out output", options.out)


def watch(options: BuildOptions, report: Report, stop: threading.Event | None = None,
          builder: Builder | None = None) -> None:
    """Build once, then rebuild on every change until `stop` is set (or Ctrl-C).

    One pool of workers serves every rebuild (started from a fork server: watchfiles runs
    a thread), and the render cache makes a rebuild redo only what the change touched.
    """
    from watchfiles import watch as watch_files

    require_source_folders(options.data, options.layouts)
    refuse_output_over_sources(options)
    workers = None
    if builder is None:
        import functools

        from flyer.pool import Workers, workers_available

        workers = Workers(workers_available())
        builder = functools.partial(build, workers=workers)
    try:
        rebuild([options.data / "contacts.yaml"], options, report, builder)
        report(f"Surveillance de {options.data}/ et {options.layouts}/ (Ctrl-C pour arrêter)")
        for changes in watch_files(options.data, options.layouts, stop_event=stop,
                                   debounce=300, raise_interrupt=False):
            rebuild({Path(path) for _, path in changes}, options, report, builder)
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends, not a failure, whenever it comes: a rebuild under
        # way has said what it left (all written or nothing), and the loop stops.
        pass
    finally:
        if workers is not None:
            workers.close()

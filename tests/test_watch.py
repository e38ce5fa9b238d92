"""`flyer watch`: what a change rebuilds, errors reported without stopping, one live run."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from flyer.build import BuildOptions, BuildResult, Written
from flyer.errors import FlyerError
from flyer.watch import plan, rebuild, watch
from flyer.write import NOTHING_WRITTEN, Interrupted

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def options(tmp_path: Path) -> BuildOptions:
    for folder in ("data", "layouts/i18n", "out"):
        (tmp_path / folder).mkdir(parents=True)
    return BuildOptions(data=tmp_path / "data", layouts=tmp_path / "layouts",
                        out=tmp_path / "out")


@pytest.mark.parametrize(("changed", "langs"), [
    ("data/letter.nl.md", ("nl",)),
    ("layouts/i18n/nl.yaml", ("nl",)),
    ("data/contacts.yaml", ()),  # every language
    ("layouts/base.css", ()),
    ("layouts/i18n/fr.yaml", ()),  # French texts are every language's fallback
])
def test_a_change_rebuilds_its_language_or_everything(
    options: BuildOptions, changed: str, langs: tuple[str, ...],
) -> None:
    todo = plan([options.data.parent / changed], options)
    assert todo is not None and todo.langs == langs


@pytest.mark.parametrize("changed", [
    "data/.contacts.yaml.swp", "data/contacts.yaml~", "data/.~lock.schools.csv#",
    "out/leaflet-fr.pdf", "elsewhere/notes.txt"])
def test_editor_files_output_and_other_folders_are_ignored(
    options: BuildOptions, changed: str,
) -> None:
    assert plan([options.data.parent / changed], options) is None


def test_a_language_left_out_by_lang_is_not_rebuilt(options: BuildOptions) -> None:
    only_fr = BuildOptions(data=options.data, layouts=options.layouts, out=options.out,
                           langs=("fr",))
    assert plan([options.data / "letter.nl.md"], only_fr) is None
    assert plan([options.data / "letter.fr.md"], only_fr) == only_fr


def test_data_errors_are_reported_and_watching_goes_on(options: BuildOptions) -> None:
    def broken(_: BuildOptions) -> BuildResult:
        raise FlyerError("« 05634608 » n'est pas un numéro belge valide",
                         options.data / "contacts.yaml", 42)

    said: list[str] = []
    assert rebuild([options.data / "contacts.yaml"], options, said.append, broken) is None
    assert said[0] == "Reconstruction (tout)…"
    assert "les PDF précédents sont gardés" in said[1]
    assert said[2].strip() == (f"{options.data / 'contacts.yaml'}:42: « 05634608 » n'est pas "
                               "un numéro belge valide")


def test_a_successful_rebuild_lists_the_files(options: BuildOptions) -> None:
    written = Written(options.out / "leaflet-nl.pdf", 2, 1000)
    seen: list[BuildOptions] = []

    def builder(todo: BuildOptions) -> BuildResult:
        seen.append(todo)
        return BuildResult(written=[written])

    said: list[str] = []
    rebuild([options.data / "letter.nl.md"], options, said.append, builder)
    assert [o.langs for o in seen] == [("nl",)]
    assert said == ["Reconstruction (nl)…", f"  écrit : {written.path}"]


@pytest.mark.parametrize(("interruption", "said_last"), [
    (Interrupted(committed=True), "Interrompu — les fichiers étaient déjà tous écrits."),
    (Interrupted(committed=False), NOTHING_WRITTEN),
    (KeyboardInterrupt(), NOTHING_WRITTEN),
])
def test_ctrl_c_during_a_rebuild_ends_the_watch_and_says_what_was_left(
    options: BuildOptions, interruption: KeyboardInterrupt, said_last: str,
) -> None:
    """Ctrl-C is how a watch stops: mid-rebuild too, it returns (exit 0), after saying
    truly whether the files were all written or none."""
    def builder(_: BuildOptions) -> BuildResult:
        raise interruption

    said: list[str] = []
    watch(options, said.append, threading.Event(), builder)  # does not raise
    assert said == ["Reconstruction (tout)…", said_last]


def test_watch_rebuilds_when_a_data_file_is_saved(options: BuildOptions) -> None:
    """The one live test: real file events, a fake build, stopped by its event."""
    (options.data / "contacts.yaml").write_text("updated: 2016-09-13\n", encoding="utf-8")
    builds: list[tuple[str, ...]] = []
    stop = threading.Event()

    def builder(todo: BuildOptions) -> BuildResult:
        builds.append(todo.langs)
        return BuildResult()

    thread = threading.Thread(target=watch, args=(options, lambda _: None, stop, builder))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not builds and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # let watchfiles start watching before the change
        (options.data / "letter.nl.md").write_text("---\n", encoding="utf-8")
        while len(builds) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert builds[:2] == [(), ("nl",)]


def test_flyer_watch_rebuilds_for_real_and_stops_on_ctrl_c(data_copy: Path, tmp_path: Path
                                                           ) -> None:
    """The real command, with its own render workers (started from a fork server, since
    watchfiles runs a thread): a saved letter is rebuilt, Ctrl-C stops everything."""
    out = tmp_path / "out"
    leaflet = out / "leaflet-fr.pdf"
    process = psutil.Popen(
        [sys.executable, "-c", "from flyer.cli import main; main()", "watch", "--data",
         str(data_copy), "--layouts", str(ROOT / "layouts"), "--out", str(out), "--lang", "fr"],
        env={**os.environ, "FLYER_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not leaflet.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leaflet.is_file(), "the first build did not write the leaflet"
        first = hashlib.sha256(leaflet.read_bytes()).hexdigest()
        time.sleep(1)  # watching starts after the first build
        letter = data_copy / "letter.fr.md"
        letter.write_text(letter.read_text(encoding="utf-8").replace(
            "Vous n'êtes pas seul.", "Vous n'êtes pas seuls."), encoding="utf-8")
        while (hashlib.sha256(leaflet.read_bytes()).hexdigest() == first
               and time.monotonic() < deadline):
            time.sleep(0.2)
        assert hashlib.sha256(leaflet.read_bytes()).hexdigest() != first, "not rebuilt"
        # Saved again, and Ctrl-C most likely in the middle of that rebuild: the watch
        # still ends as asked, whenever the signal comes.
        letter.write_text(letter.read_text(encoding="utf-8") + "\nÀ bientôt.\n",
                          encoding="utf-8")
        time.sleep(0.45)
        workers = process.children(recursive=True)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.is_running():
            process.kill()
    assert process.returncode == 0, output
    assert "Arrêté." in output and "Erreur" not in output and "Traceback" not in output, output
    assert "KeyboardInterrupt" not in output  # no English from a library
    assert output.rstrip().endswith("Arrêté."), output  # nothing printed after the end
    assert "leaked" not in output
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive

"""Benchmark: cold `flyer build`, a rebuild with nothing changed, and each warm document,
each against its floor measured in the same run.

    .venv/bin/python bench/build.py [--runs N]

- floor: starting Python and `import weasyprint`; hello world: the same plus a one-line
  PDF (a bare WeasyPrint program). Beside them, what flyer's fork server loads before
  the first worker is forked (`import flyer.forkserver`: WeasyPrint with flyer's
  library lookup, pikepdf, the preflight's readers).
- cold: `flyer build --lang fr --no-cache` into an empty folder (process start to exit,
  workers included). Goal: 1.6 × the hello world or less.
- no change: `flyer build --lang fr` again over its own output, the render cache warm.
  Goal: faster than `import weasyprint`, and byte-identical files.
- warm: one document made in a process that has made it before (fonts, stylesheets and
  QR codes set up): context, HTML, layout, PDF, codes stamped; no preflight.
The machine has 2 cores and is shared: min and median of N runs, all interleaved.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLYER = Path(sys.executable).parent / "flyer"
HELLO = ("import weasyprint; "
         "weasyprint.HTML(string='<p>Bonjour</p>').write_pdf('/dev/null')")


def once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - start


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.pdf"))}


def line(label: str, times: list[float], goal: str = "") -> str:
    return (f"{label:<34} min {min(times) * 1000:7.0f} ms   median "
            f"{statistics.median(times) * 1000:7.0f} ms  {goal}")


def warm(runs: int) -> dict[str, list[float]]:
    from flyer.build import BuildOptions, document_task, plan
    from flyer.lifetime import collection_paused
    from flyer.worker import document_file, renderer_for

    out = Path(tempfile.mkdtemp())
    planned = plan(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                                langs=("fr",), cache=False))
    renderer = renderer_for(ROOT / "layouts", planned.work.layouts_digest, ROOT / "data")
    jobs = [j for j in planned.jobs if j.profile == "office"]
    results: dict[str, list[float]] = {j.document: [] for j in jobs}
    for run in range(runs + 1):
        for job in jobs:
            start = time.perf_counter()
            # The plan's part (context, HTML of each fit step), then the worker's, which
            # runs with collections paused (flyer.worker).
            task = document_task(planned, job)
            with collection_paused():
                document_file(task, renderer)
            if run:  # the first run sets up fonts and caches: not warm
                results[job.document].append(time.perf_counter() - start)
    shutil.rmtree(out, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"Python {platform.python_version()}, {runs} runs, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    times: dict[str, list[float]] = {k: [] for k in ("floor", "hello", "server", "cold",
                                                     "nochange")}
    identical = True
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FLYER_CACHE_DIR": str(Path(tmp) / "cache")}
        kept = Path(tmp) / "kept"
        subprocess.run([str(FLYER), "build", "--lang", "fr", "--out", str(kept)], check=True,
                       capture_output=True, cwd=ROOT, env=env)
        before = tree(kept)
        for run in range(runs):
            cold_out = Path(tmp) / f"cold{run}"
            times["floor"].append(once([sys.executable, "-c", "import weasyprint"], env))
            times["hello"].append(once([sys.executable, "-c", HELLO], env))
            times["server"].append(once([sys.executable, "-c", "import flyer.forkserver"],
                                        env))
            times["cold"].append(once([str(FLYER), "build", "--lang", "fr", "--no-cache",
                                       "--out", str(cold_out)], env))
            times["nochange"].append(once([str(FLYER), "build", "--lang", "fr", "--out",
                                           str(kept)], env))
            identical = identical and tree(kept) == before
            shutil.rmtree(cold_out, ignore_errors=True)
    floor, hello = statistics.median(times["floor"]), statistics.median(times["hello"])
    print(line("python + import weasyprint (floor)", times["floor"]))
    print(line("weasyprint hello world", times["hello"]))
    print(line("python + flyer's render side", times["server"],
               f"{statistics.median(times['server']) / floor:.2f}× import weasyprint"))
    cold = statistics.median(times["cold"])
    print(line("cold flyer build --lang fr", times["cold"],
               f"{cold / hello:.2f}× hello world (goal ≤ 1.6×)"))
    nochange = statistics.median(times["nochange"])
    print(line("rebuild, nothing changed", times["nochange"],
               f"{nochange / floor:.2f}× import weasyprint (goal < 1); "
               f"byte-identical: {'yes' if identical else 'NO'}"))
    for document, values in warm(runs).items():
        print(line(f"warm {document}", values))


if __name__ == "__main__":
    main()

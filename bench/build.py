"""Benchmark: cold `flyer build` and the warm render of each document.

    .venv/bin/python bench/build.py [--runs N]

Cold = process start to exit of `flyer build` (the seed's data, fr), against the floor
of starting Python and importing WeasyPrint in the same run, so a noisy 2-core machine
still gives a comparable ratio. Warm = layout + PDF writing of one document in a
process that has already built once (fonts set up, QR codes cached). Prints min and
median of N runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLYER = Path(sys.executable).parent / "flyer"


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def warm(runs: int) -> dict[str, list[float]]:
    from flyer.build import BuildOptions
    from flyer.context import DOCUMENTS, make_context
    from flyer.load import load_campaign
    from flyer.render import Renderer, build_date
    from flyer.templates import load_strings, make_environment, render_html

    options = BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts")
    campaign = load_campaign(options.data, ["fr"])
    env = make_environment(options.layouts)
    renderer = Renderer(options.layouts, options.data)
    strings = load_strings(options.layouts, "fr")
    date = build_date(campaign.contacts.updated)
    results: dict[str, list[float]] = {d: [] for d in DOCUMENTS}
    for run in range(runs + 1):
        for document in DOCUMENTS:
            start = time.perf_counter()
            context = make_context(campaign, "fr", document, strings)
            rendered = renderer.render_document(render_html(env, f"{document}.html", context))
            renderer.write_pdf(rendered, document, date)
            if run:  # the first run sets up fonts and caches: not warm
                results[document].append(time.perf_counter() - start)
    return results


def line(label: str, times: list[float]) -> str:
    return (f"{label:<28} min {min(times) * 1000:7.0f} ms   "
            f"median {statistics.median(times) * 1000:7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {runs} runs")
    with tempfile.TemporaryDirectory() as out:
        floor = timed([sys.executable, "-c", "import weasyprint"], runs)
        cold = timed([str(FLYER), "build", "--lang", "fr", "--out", out], runs)
        every = timed([str(FLYER), "build", "--out", out], runs)
    print(line("python + import weasyprint", floor))
    print(line("cold flyer build (fr)", cold))
    print(line("cold flyer build (fr + nl)", every))
    ratio = statistics.median(cold) / statistics.median(floor)
    print(f"{'cold build / import floor':<28} {ratio:.2f}× (median)")
    for document, times in warm(runs).items():
        print(line(f"warm {document}", times))


if __name__ == "__main__":
    main()

"""Benchmark: `flyer build --schools` on 200 fictional schools, against the naive way.

    .venv/bin/python bench/batch.py [--schools 200] [--naive-sample 5] [--lang fr]

Measured as whole processes, as a person would run them:
- batch: one `flyer build --schools FILE --lang fr` (wall time from process start to
  exit, so Python start-up, imports and the worker pool are included), the peak resident
  memory of the process tree (parent + workers, sampled every 50 ms with psutil; shared
  pages are counted once per process, so this over- rather than under-states), and the
  size of the merged file;
- naive: one `flyer build --for SERVICE --lang fr` per school, one after the other. Each
  of those builds leaflet, letter, poster and bundle, as `--for` does; a sample of N is
  timed and extrapolated to all the schools (said in the output).
Goals (issue 6, 2 cores): ≤ 50 ms per leaflet, ≤ 300 MiB, merged file ≤ 4 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
FLYER = Path(sys.executable).parent / "flyer"
KINDS = ["École fictive", "Athénée fictif", "Institut imaginaire", "Lycée inventé",
         "École communale fictive"]
PLACES = ["des Tilleuls", "du Moulin", "de la Gare", "des Coquelicots", "du Beau-Site",
          "Saint-Exemple", "des Peupliers", "du Centre", "de l'Europe", "des Prés"]
PEOPLE = ["Mme Exemple", "M. Modèle", "Mme Essai", "M. Spécimen", ""]


def write_schools(path: Path, count: int) -> list[str]:
    """A CSV of `count` fictional schools; returns the service of each row."""
    from flyer.load import load_contacts

    services = [c.name for c in load_contacts(ROOT / "data")[0].contacts]
    rows = []
    for i in range(count):
        name = f"{KINDS[i % len(KINDS)]} {PLACES[(i // len(KINDS)) % len(PLACES)]} n° {i + 1}"
        person = PEOPLE[i % len(PEOPLE)]
        rows.append([name, services[i % len(services)], person,
                     f"056/99 {10 + i // 100:02d} {i % 100:02d}" if person else "",
                     f"ecole{i + 1}@ecole-fictive.be" if person else ""])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["school", "service", "contact", "phone", "email"])
        writer.writerows(rows)
    return [row[1] for row in rows]


@dataclass
class Run:
    wall: float  # seconds, process start to exit
    cpu: float  # user + system seconds of the whole tree (workers are waited for)
    rss: int  # peak of the sum of RSS over the tree (shared pages counted in each process)
    pss: int  # peak of the sum of PSS (shared pages split between processes: real footprint)


def run_measured(command: list[str]) -> Run:
    """Wall and CPU time, peak RSS and PSS of the process tree of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    peak_rss = peak_pss = 0
    while process.poll() is None:
        rss = pss = 0
        try:
            members = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            members = []
        for member in members:
            try:
                memory = member.memory_full_info()
            except psutil.Error:
                continue
            rss += memory.rss
            pss += getattr(memory, "pss", memory.rss)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command} failed with exit status {process.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, peak_rss, peak_pss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--naive-sample", type=int, default=5)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--profile", default="office")
    args = parser.parse_args()
    mib = 1024 * 1024
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"Python {platform.python_version()}")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schools_csv = folder / "schools.csv"
        services = write_schools(schools_csv, args.schools)
        out = folder / "batch"
        # --no-cache: the renders are what is measured, not the render cache.
        command = [str(FLYER), "build", "--schools", str(schools_csv), "--lang", args.lang,
                   "--profile", args.profile, "--no-cache", "--out", str(out)]
        run = run_measured(command)
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        folder_out = out / "press" if args.profile == "press" else out
        merged = folder_out / f"schools-{args.lang}.pdf"
        built = len(list((folder_out / "schools").glob(f"*/leaflet-{args.lang}.pdf")))
        cores = len(os.sched_getaffinity(0))
        print(f"batch:  {' '.join(command[1:3])} … ({args.schools} schools, {args.lang})")
        print(f"        wall {run.wall:.2f} s = {run.wall / args.schools * 1000:.0f} ms per "
              f"leaflet (goal ≤ 50); {built} leaflets written")
        print(f"        CPU {run.cpu:.1f} s = {run.cpu / args.schools * 1000:.0f} ms per leaflet"
              f" → {run.cpu / cores / args.schools * 1000:.0f} ms on {cores} idle cores "
              f"(load average before the run: {load:.2f})")
        print(f"        peak memory of the process tree: PSS {run.pss / mib:.0f} MiB, "
              f"RSS {run.rss / mib:.0f} MiB (goal ≤ 300); "
              f"largest single process {largest / mib:.0f} MiB")
        print(f"        merged {merged.name}: {merged.stat().st_size / 1e6:.2f} MB "
              f"(goal ≤ 4 MB)")
        sample = services[: args.naive_sample]
        if not sample:
            return
        naive_total = 0.0
        for index, service in enumerate(sample):
            naive_total += run_measured([str(FLYER), "build", "--for", service, "--lang",
                                         args.lang, "--no-cache",
                                         "--out", str(folder / f"naive{index}")]).wall
        naive_per = naive_total / len(sample)
        print(f"naive:  one `flyer build --for SERVICE --lang {args.lang}` per school, "
              f"sequential; {len(sample)} timed, extrapolated to {args.schools}")
        print(f"        {naive_per * 1000:.0f} ms per school → "
              f"~{naive_per * args.schools:.0f} s for {args.schools}")
        print(f"ratio:  batch is {naive_per * args.schools / run.wall:.1f}× faster")


if __name__ == "__main__":
    main()

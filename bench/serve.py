"""Benchmark of `flyer serve`, as people use it.

    .venv/bin/python bench/serve.py [--runs 3] [--saves 12] [--downloads 16]

Each run starts `flyer serve` (a child process, a fresh copy of data/ and a fresh output
folder), warms it up with one visit of each page, then measures:

1. save → preview refreshed: POST the services form with one phone changed, follow the
   redirect (the page waits for the preview's build) and fetch the new preview image;
   p50 and p95 of `--saves` saves (goal: p50 ≤ 1 s).
2. `--downloads` concurrent downloads of documents that are not built yet (CPMS letters,
   one per contact person: each is a build of its own), while a reader loads the home
   page every 0.25 s: the home page's p95 (goal ≤ 1 s), the time until the last download,
   and the peak PSS of the server and its children (goal ≤ 600 MiB).

Prints each run, then min and median over the runs, and the machine they ran on.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def start(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    data = workdir / "data"
    shutil.copytree(ROOT / "data", data)
    process = subprocess.Popen(
        [sys.executable, "-c", "from flyer.cli import main; main()", "serve", "--port", "0",
         "--no-browser", "--data", str(data), "--layouts", str(ROOT / "layouts"),
         "--out", str(workdir / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "FLYER_PASSWORD": ""})
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line[line.index("http://"):].strip()
    for _ in range(200):
        try:
            httpx.get(url + "static/flyer.css", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    return process, url


def services_form(page: str) -> dict[str, str]:
    fields = {name: html.unescape(value) for name, value in re.findall(
        r'<input id="[^"]*" name="(service-[^"]+)" type="[^"]+" value="([^"]*)"', page)}
    fields.update(re.findall(r'name="(service-\d+-origin)" value="([^"]*)"', page))
    fields.update({name: html.unescape(value) for name, value in re.findall(
        r'<textarea id="[^"]*" name="([^"]+)"[^>]*>\n(.*?)</textarea>', page, re.S)})
    fields["jeton"] = re.search(r'name="jeton" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields["hash"] = re.search(r'name="hash" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    return fields


def preview_image(client: httpx.Client, page: str) -> str:
    """The preview image of a services page, polling while it is being prepared."""
    while True:
        found = re.search(r'src="(/apercu/[0-9a-f]{64}/\d+-grand\.png)"', page)
        if found:
            image = client.get(found.group(1))
            assert image.headers["content-type"] == "image/png"
            return found.group(1)
        poll = re.search(r'hx-get="([^"]+)"', page)
        assert poll, page[-1500:]
        time.sleep(0.1)
        page = client.get(html.unescape(poll.group(1))).text


def wait_card(client: httpx.Client, slug: str, query: str = "") -> None:
    while "Tout télécharger" not in client.get(f"/carte/{slug}{query}").text:
        time.sleep(0.2)


def save_to_preview(client: httpx.Client, saves: int) -> list[float]:
    times = []
    last = preview_image(client, client.get("/services").text)
    for _ in range(saves):
        fields = services_form(client.get("/services").text)
        # A number never saved before (in this run or an earlier one): a new build, not
        # one a cache already has.
        digits = f"{random.randrange(10**5):05d}"
        fields["service-0-phone"] = f"056/3{digits[0]} {digits[1:3]} {digits[3:]}"
        started = time.perf_counter()
        page = client.post("/services", data={**fields, "action": "save"},
                           follow_redirects=True, timeout=120).text
        image = preview_image(client, page)
        times.append(time.perf_counter() - started)
        assert image != last, "the preview did not change"
        last = image
    return times


def tree_pss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_full_info().pss
    return total


def concurrent_downloads(url: str, server: psutil.Process, count: int
                         ) -> tuple[list[float], float, int]:
    nonce = random.randrange(10**9)  # people never asked for before: nothing is cached
    """(home page times, seconds until the last download, peak PSS in bytes)."""
    done = threading.Event()
    home: list[float] = []
    peak = [tree_pss(server)]

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not done.is_set():
                started = time.perf_counter()
                assert client.get("/").status_code == 200
                home.append(time.perf_counter() - started)
                time.sleep(0.25)

    def sampler() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss(server))
            time.sleep(0.1)

    def download(n: int) -> None:
        query = urlencode({"service": "La Passerelle", "personne": f"Personne {nonce}-{n}",
                           "date": "2026-03-02", "langue": "fr"})
        with httpx.Client(base_url=url, timeout=600) as client:
            response = client.get(f"/telecharger/cpms/letter-fr.pdf?{query}")
            assert response.status_code == 200 and response.content.startswith(b"%PDF")

    watchers = [threading.Thread(target=reader), threading.Thread(target=sampler)]
    for thread in watchers:
        thread.start()
    started = time.perf_counter()
    downloads = [threading.Thread(target=download, args=(n,)) for n in range(count)]
    for thread in downloads:
        thread.start()
    for thread in downloads:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    for thread in watchers:
        thread.join()
    return home, elapsed, peak[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "?")
    cores = len(os.sched_getaffinity(0))
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.node()} — {cpu}, {cores} cœurs, {memory:.0f} Gio, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()} "
            f"(charge moyenne au départ : {load})")


def run_once(saves: int, downloads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        process, url = start(Path(folder))
        try:
            with httpx.Client(base_url=url, timeout=300) as client:
                wait_card(client, "ecole")  # warm: the home page's build is done
                client.get("/lettre")
                times = save_to_preview(client, saves)
                wait_card(client, "ecole")
            home, elapsed, peak = concurrent_downloads(url, psutil.Process(process.pid),
                                                       downloads)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    return {"save_p50": statistics.median(times), "save_p95": percentile(times, 95),
            "home_p95": percentile(home, 95), "home_max": max(home),
            "downloads_s": elapsed, "peak_pss_mib": peak / 2**20}


LABELS = {
    "save_p50": ("enregistrer → aperçu, p50", "s"),
    "save_p95": ("enregistrer → aperçu, p95", "s"),
    "home_p95": ("page d'accueil pendant les téléchargements, p95", "s"),
    "home_max": ("page d'accueil pendant les téléchargements, max", "s"),
    "downloads_s": ("téléchargements simultanés, jusqu'au dernier", "s"),
    "peak_pss_mib": ("mémoire (PSS) du serveur et de ses processus, pic", "Mio"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--saves", type=int, default=12)
    parser.add_argument("--downloads", type=int, default=16)
    args = parser.parse_args()
    print(machine())
    results = []
    for n in range(args.runs):
        result = run_once(args.saves, args.downloads)
        results.append(result)
        print(f"run {n + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in result.items()),
              flush=True)
    print(f"\n{args.runs} runs ; {args.saves} enregistrements par run ; {args.downloads} "
          "téléchargements simultanés de lettres CPMS pas encore construites")
    print(f"{'mesure':<52} {'min':>10} {'médiane':>10}")
    for key, (label, unit) in LABELS.items():
        values = [r[key] for r in results]
        low, middle = min(values), statistics.median(values)
        print(f"{label:<52} {low:>6.2f} {unit:<3} {middle:>6.2f} {unit}")


if __name__ == "__main__":
    main()

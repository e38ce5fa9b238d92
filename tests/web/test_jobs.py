"""The build layer of the web app: keys, single flight, priorities, the table of files."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import flyer.build
from flyer.build import BuildResult, Written
from flyer.check import CheckResult
from flyer.errors import FlyerError
from flyer.web import jobs
from flyer.web.jobs import Builds, Lane, Spec, describe, make_options, qr_counts
from tests.web.conftest import SCHOOL_HEADERS, xlsx_of

ROOT = Path(__file__).resolve().parents[2]


def test_written_files_are_named_by_document_language_profile_and_school(tmp_path: Path) -> None:
    cases = [
        (Written(tmp_path / "leaflet-a5-2up-fr.pdf", 2, 10, "leaflet-a5", "fr", "office",
                 imposed=True), ("leaflet-a5-2up", "fr", "office", None)),
        (Written(tmp_path / "press/poster-nl.pdf", 1, 10, "poster", "nl", "press"),
         ("poster", "nl", "press", None)),
        (Written(tmp_path / "schools/ecole/leaflet-fr.pdf", 2, 10, "leaflet", "fr", "office",
                 "ecole"), ("leaflet", "fr", "office", "ecole")),
    ]
    for written, expected in cases:
        assert describe(written) == expected


def test_qr_row_of_the_preflight_gives_codes_read_and_found() -> None:
    row = CheckResult("x.pdf", "Codes QR lus à la résolution d'impression", False, "…", "…",
                      count=10, total=11)
    assert qr_counts(row) == (10, 11)
    assert qr_counts(CheckResult("x.pdf", "Polices incorporées", True, "", "")) is None


def test_person_date_and_documents_reach_the_pipeline(tmp_path: Path) -> None:
    import datetime as dt

    spec = Spec(ROOT / "data", ROOT / "layouts", person="Mme Exemple",
                date=dt.date(2026, 1, 5), highlight="La Passerelle", documents=("letter",))
    options = make_options(spec, tmp_path)
    assert (options.highlight, options.person, options.date, options.documents) == (
        "La Passerelle", "Mme Exemple", dt.date(2026, 1, 5), ("letter",))


def test_key_changes_with_the_data_and_the_options(tmp_path: Path, data_copy: Path) -> None:
    builds = Builds(tmp_path)
    spec = Spec(data_copy, ROOT / "layouts")
    key = builds.key(spec)
    assert builds.key(spec) == key
    assert builds.key(Spec(data_copy, ROOT / "layouts", profiles=("press",))) != key
    assert builds.key(Spec(data_copy, ROOT / "layouts", documents=("leaflet",))) != key
    contacts = data_copy / "contacts.yaml"
    contacts.write_text(contacts.read_text(encoding="utf-8").replace("056/39 16 20",
                                                                       "056/39 16 21"),
                        encoding="utf-8")
    assert builds.key(spec) != key
    (data_copy / ".history").mkdir()
    (data_copy / ".history" / "contacts.1.yaml").write_text("old", encoding="utf-8")
    assert builds.key(spec) == builds.key(Spec(data_copy, ROOT / "layouts"))


class FakeBuild:
    """Stands in for flyer.build.build: counts calls, writes one file, can be held."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, options: flyer.build.BuildOptions, progress: object = None,
                 tick: object = None) -> BuildResult:
        self.calls.append(options.highlight or "")
        self.release.wait(10)
        if options.highlight == "refused":
            raise FlyerError("service « refused » inconnu")
        path = options.out / "leaflet-fr.pdf"
        path.write_bytes(b"%PDF-1.7 fake")
        return BuildResult(written=[Written(path, 2, path.stat().st_size)])


@pytest.fixture
def fake_build() -> FakeBuild:
    return FakeBuild()


class InProcess:
    """The build process's loop, run in the calling thread with a stand-in pipeline."""

    def __init__(self, build: FakeBuild) -> None:
        self.build = build

    def run(self, key: str, spec: Spec, out: Path, progress: jobs.Progress) -> jobs.Outcome:
        return jobs.run_build(self.build, key, spec, out, print, print)

    def close(self) -> None:
        pass


def builds_with(root: Path, fake: FakeBuild) -> Builds:
    return Builds(root, worker=InProcess(fake))


def test_identical_requests_share_one_build(tmp_path: Path, fake_build: FakeBuild) -> None:
    async def scenario() -> list[jobs.Outcome]:
        builds = builds_with(tmp_path, fake_build)
        spec = Spec(ROOT / "data", ROOT / "layouts")
        fake_build.release.clear()
        waiting = [asyncio.create_task(builds.get(spec, jobs.PRIORITY_PERSON))
                   for _ in range(8)]
        await asyncio.sleep(0.2)
        fake_build.release.set()
        return list(await asyncio.gather(*waiting))

    outcomes = asyncio.run(scenario())
    assert len(fake_build.calls) == 1
    assert {o.key for o in outcomes} == {outcomes[0].key}
    assert outcomes[0].file("leaflet-fr.pdf") is not None


def test_a_finished_build_is_found_again_after_a_restart(tmp_path: Path,
                                                         fake_build: FakeBuild) -> None:
    spec = Spec(ROOT / "data", ROOT / "layouts")

    async def once() -> jobs.Outcome:
        return await builds_with(tmp_path, fake_build).get(spec, jobs.PRIORITY_PERSON)

    first = asyncio.run(once())
    second = asyncio.run(once())  # a new Builds: as after a restart
    assert len(fake_build.calls) == 1
    assert second.files == first.files


def test_a_refused_build_says_why_in_french(tmp_path: Path, fake_build: FakeBuild) -> None:
    spec = Spec(ROOT / "data", ROOT / "layouts", highlight="refused")
    outcome = asyncio.run(builds_with(tmp_path, fake_build).get(spec, jobs.PRIORITY_PERSON))
    assert not outcome.ok
    assert outcome.problems == ["service « refused » inconnu"]


def test_a_person_waiting_goes_before_a_background_batch() -> None:
    order: list[str] = []

    async def scenario() -> None:
        lane = Lane(1)

        async def job(name: str, priority: int) -> None:
            async with lane.slot(priority):
                order.append(name)
                await asyncio.sleep(0.05)

        first = asyncio.create_task(job("running", 2))
        await asyncio.sleep(0.01)
        batch = asyncio.create_task(job("batch", jobs.PRIORITY_BATCH))
        await asyncio.sleep(0.01)
        person = asyncio.create_task(job("preview", jobs.PRIORITY_PREVIEW))
        await asyncio.gather(first, batch, person)

    asyncio.run(scenario())
    assert order == ["running", "preview", "batch"]


def test_uploads_refuse_formats_that_are_not_read(tmp_path: Path) -> None:
    with pytest.raises(FlyerError, match="Enregistrer sous"):
        jobs.store_upload(tmp_path, "ecoles.xls", b"\xd0\xcf\x11\xe0")
    with pytest.raises(FlyerError, match="n'est pas un classeur Excel"):
        jobs.store_upload(tmp_path, "ecoles.xlsx", b"school;service\n")
    with pytest.raises(FlyerError, match="vide"):
        jobs.store_upload(tmp_path, "ecoles.csv", b"  \n")


def test_an_xlsx_list_keeps_the_spreadsheet_row_numbers(tmp_path: Path) -> None:
    from flyer.schools import load_schools

    listing = xlsx_of([
        SCHOOL_HEADERS,
        ["École A", "La Passerelle", "Mme A\n(directrice)", "056/99 10 01", None],
        ["École B", "Service inconnu", None, None, None]])
    stored = jobs.store_upload(tmp_path, "ecoles.xlsx", listing)
    schools = load_schools(stored, ["La Passerelle"])
    assert [row.line for row in schools.rows] == [2]
    assert schools.rows[0].school.contact == "Mme A (directrice)"
    assert [s.problem.line for s in schools.set_aside] == [3]


def test_a_build_process_that_dies_is_said_in_french_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed mid-build (out of memory, say): the page says so, the next build works."""
    import os
    import signal

    monkeypatch.setattr(jobs, "RETRY_AFTER", 0.0)

    async def scenario() -> tuple[jobs.Outcome, jobs.Outcome]:
        builds = Builds(tmp_path)
        builds.worker.start()
        spec = Spec(ROOT / "data", ROOT / "layouts", langs=("fr",))
        key = builds.start(spec, jobs.PRIORITY_PERSON)
        while (builds.progress(key) or jobs.Progress()).state != "running":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        os.kill(builds.worker.pid, signal.SIGKILL)
        first = await builds.wait(key)
        second = await builds.get(spec, jobs.PRIORITY_PERSON)
        builds.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert not first.ok
    assert first.problems == [jobs.UNEXPECTED]
    assert second.ok and second.file("leaflet-fr.pdf") is not None


def test_file_digests_stay_bounded_and_right(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Drafts and uploads bring new paths for as long as the server runs: the memo keeps
    the most recent ones, and a forgotten file is simply hashed again."""
    import hashlib

    monkeypatch.setattr(jobs.Digests, "LIMIT", 3)
    digests = jobs.Digests()
    paths = []
    for n in range(5):
        path = tmp_path / f"draft-{n}.yaml"
        path.write_text(f"version {n}\n", encoding="utf-8")
        paths.append(path)
        digests.file(path)
    assert len(digests._memo) == 3 and paths[0] not in digests._memo
    assert digests.file(paths[0]) == hashlib.sha256(b"version 0\n").hexdigest()
    paths[4].write_text("changed\n", encoding="utf-8")
    assert digests.file(paths[4]) == hashlib.sha256(b"changed\n").hexdigest()


class StoppedWorker:
    """A build process that ends before the build does (the server stopping)."""

    def run(self, key: str, spec: Spec, out: Path, progress: jobs.Progress) -> jobs.Outcome:
        return jobs.Outcome(key, False, problems=[jobs.UNEXPECTED], cacheable=False)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("worker", "said"), [
    (StoppedWorker(), "non terminée"),  # not the data's refusal
    (None, "refusée"),
])
def test_the_journal_tells_a_refused_build_from_one_not_finished(
        tmp_path: Path, fake_build: FakeBuild, caplog: pytest.LogCaptureFixture,
        worker: object, said: str) -> None:
    builds = Builds(tmp_path, worker=worker or InProcess(fake_build))
    spec = Spec(ROOT / "data", ROOT / "layouts", highlight="refused")
    with caplog.at_level("INFO", logger="flyer.web"):
        outcome = asyncio.run(builds.get(spec, jobs.PRIORITY_PERSON))
    assert not outcome.ok
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("construction")]
    assert f" : {said} en " in line

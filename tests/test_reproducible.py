"""Two builds of the same input give byte-identical PDFs, in one process or two."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest

from flyer.build import BuildOptions, BuildResult, build

ROOT = Path(__file__).resolve().parent.parent


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.pdf")}


def _build(out: Path) -> dict[str, str]:
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out))
    return _hashes(out)


def test_rebuild_in_the_same_process_is_byte_identical(
    tmp_path: Path, seed_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = _hashes(seed_build[0])
    # Four documents, the A5 leaflet and its two-up sheet, in French and Dutch.
    assert len(first) == 12
    assert _build(tmp_path / "again") == first
    with pikepdf.open(seed_build[0] / "leaflet-fr.pdf") as pdf:
        # Without SOURCE_DATE_EPOCH the date is the data's `updated`, not the clock.
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:20160913")


def test_rebuild_in_another_process_with_another_hash_seed_is_byte_identical(
    tmp_path: Path, seed_build: tuple[Path, BuildResult]
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = "12345"
    out = tmp_path / "other-process"
    subprocess.run(
        [str(Path(sys.executable).parent / "flyer"), "build", "--data", str(ROOT / "data"),
         "--layouts", str(ROOT / "layouts"), "--out", str(out)],
        check=True, env=env, capture_output=True, cwd=tmp_path)
    assert _hashes(out) == _hashes(seed_build[0])


def test_source_date_epoch_fixes_the_date_and_stays_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed_build: tuple[Path, BuildResult]
) -> None:
    epoch = 1_700_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    first = _build(tmp_path / "one")
    assert _build(tmp_path / "two") == first
    assert first != _hashes(seed_build[0])  # the date did change something
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("D:%Y%m%d%H%M%S")
    for name in first:
        with pikepdf.open(tmp_path / "one" / name) as pdf:
            assert str(pdf.docinfo["/CreationDate"]).startswith(stamp), name
            assert str(pdf.docinfo["/ModDate"]).startswith(stamp), name


@pytest.mark.parametrize("profile", ["office", "press"])
def test_school_leaflets_rebuild_byte_identical(tmp_path: Path, profile: str) -> None:
    """The school block is drawn over the leaflet under a fixed resource name, and the
    shared leaflet's XMP DocumentID (random in WeasyPrint's PDF/X) is derived: two builds
    of the same schools give the same bytes, merged file included, as every other file."""
    schools = tmp_path / "ecoles.csv"
    schools.write_text("school;service\nÉcole A;CPMS Libre Mouscron 1\n"
                       "École B;CPMS Libre Mouscron 1\n", encoding="utf-8")
    hashes = []
    for run in ("one", "two"):
        out = tmp_path / run
        build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                           langs=("fr",), schools=schools, cache=False, profiles=(profile,)))
        hashes.append({p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in out.rglob("*.pdf")})
    folder = "" if profile == "office" else "press/"
    assert {f"{folder}schools/ecole-a/leaflet-fr.pdf", f"{folder}schools-fr.pdf"} <= set(hashes[0])
    assert hashes[0] == hashes[1]

"""HTML → PDF: the shipped fonts only, and a warning when the data needs another one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flyer.build import BuildOptions, build
from flyer.errors import FlyerError
from flyer.worker import build_date

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent


def test_characters_missing_from_the_font_are_reported(data_copy: Path, tmp_path: Path) -> None:
    contacts = data_copy / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_text(text.replace("sur tes droits.", "sur tes droits ☎ Ωμέγα."),
                        encoding="utf-8")
    result = build(BuildOptions(data=data_copy, layouts=ROOT / "layouts", out=tmp_path / "out",
                                langs=("fr",)))
    fallbacks = [w for w in result.warnings if "police de cet ordinateur" in w.message]
    assert {w.path.name for w in fallbacks if w.path} == {
        "leaflet-fr.pdf", "letter-fr.pdf", "leaflet-a5-fr.pdf"}
    # The fallback really happened: a font other than the shipped family is in the file.
    fonts = pdfread.fonts(tmp_path / "out" / "leaflet-fr.pdf")
    assert any("Atkinson" not in name for name in fonts)


def test_pdf_ids_differ_between_documents_and_repeat_between_builds(
    seed_build: tuple[Path, object], tmp_path: Path
) -> None:
    import pikepdf

    out = seed_build[0]

    def ids(folder: Path) -> dict[str, bytes]:
        found = {}
        for path in sorted(folder.glob("*.pdf")):
            with pikepdf.open(path) as pdf:
                found[path.name] = bytes(pdf.trailer.ID[0])
        return found

    first = ids(out)
    assert len(set(first.values())) == len(first)
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path, langs=("fr",)))
    assert ids(tmp_path) == {k: v for k, v in first.items() if k.endswith("-fr.pdf")}


def test_unreadable_source_date_epoch_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "hier")
    with pytest.raises(FlyerError, match="SOURCE_DATE_EPOCH"):
        build_date(dt.date(2016, 9, 13))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1473724800")
    assert build_date(dt.date(2000, 1, 1)) == dt.datetime(2016, 9, 13, tzinfo=dt.UTC)

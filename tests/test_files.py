"""flyer.files: which sources changed since the last build (the guess that starts the
render workers early)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flyer.files import changed_since_last_build
from flyer.write import MANIFEST


def _folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    data, layouts, out = tmp_path / "data", tmp_path / "layouts", tmp_path / "out"
    for folder in (data, layouts, out):
        folder.mkdir()
    (data / "contacts.yaml").write_text("contacts: []\n", encoding="utf-8")
    (layouts / "base.css").write_text("p {}\n", encoding="utf-8")
    return data, layouts, out


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_never_built_there_is_a_change(tmp_path: Path) -> None:
    data, layouts, out = _folders(tmp_path)
    assert changed_since_last_build(out, [data, layouts])


def test_sources_older_than_the_last_build_are_no_change(tmp_path: Path) -> None:
    data, layouts, out = _folders(tmp_path)
    for path in (data / "contacts.yaml", layouts / "base.css"):
        _age(path, 60)
    (out / MANIFEST).write_text("{}", encoding="utf-8")
    assert not changed_since_last_build(out, [data, layouts])
    # A hidden file (the web app's history, an editor's swap file) is not a source.
    (data / ".history").mkdir()
    (data / ".history" / "contacts.yaml").write_text("x", encoding="utf-8")
    assert not changed_since_last_build(out, [data, layouts])


def test_a_file_edited_after_the_last_build_is_a_change(tmp_path: Path) -> None:
    data, layouts, out = _folders(tmp_path)
    for path in (data / "contacts.yaml", layouts / "base.css"):
        _age(path, 60)
    (out / MANIFEST).write_text("{}", encoding="utf-8")
    _age(out / MANIFEST, 30)
    assert not changed_since_last_build(out, [data, layouts])
    (layouts / "base.css").write_text("p { color: red }\n", encoding="utf-8")
    assert changed_since_last_build(out, [data, layouts])


def test_a_single_file_source_and_a_missing_one(tmp_path: Path) -> None:
    data, layouts, out = _folders(tmp_path)
    schools = tmp_path / "ecoles.csv"
    schools.write_text("school;service\n", encoding="utf-8")
    for path in (data / "contacts.yaml", layouts / "base.css", schools):
        _age(path, 60)
    (out / MANIFEST).write_text("{}", encoding="utf-8")
    assert not changed_since_last_build(out, [data, layouts, schools])
    assert changed_since_last_build(out, [data, layouts, tmp_path / "absent.icc"])

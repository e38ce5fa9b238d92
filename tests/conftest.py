"""Shared fixtures: a build of the shipped data, and no WeasyPrint warning allowed."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyer.build import BuildOptions, BuildResult, build

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class _Fail(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_weasyprint_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test during which WeasyPrint logs a warning (unless marked otherwise)."""
    handler = _Fail()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if "allow_weasyprint_warnings" not in request.keywords and handler.records:
        messages = "\n".join(r.getMessage() for r in handler.records)
        pytest.fail(f"WeasyPrint warned:\n{messages}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_weasyprint_warnings: the test expects WeasyPrint to warn"
    )
    # The render cache of this test run, not the user's (and not shared between runs).
    import os
    import tempfile

    os.environ["FLYER_CACHE_DIR"] = tempfile.mkdtemp(prefix="flyer-test-cache-")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped `data/`, to edit in a test."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


@pytest.fixture
def layouts_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped `layouts/`."""
    target = tmp_path / "layouts"
    shutil.copytree(ROOT / "layouts", target)
    return target


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """One build of the shipped data and layouts, shared by the read-back tests."""
    out = tmp_path_factory.mktemp("seed-build")
    handler = _Fail()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out))
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]
    return out, result


@pytest.fixture(scope="session")
def profiles_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """One press + web build of the shipped data (`out/press/`, `out/web/`), shared by
    the profile and preflight tests."""
    out = tmp_path_factory.mktemp("profiles-build")
    handler = _Fail()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                                    profiles=("press", "web")))
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]
    return out, result

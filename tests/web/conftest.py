"""Fixtures of the web app tests: a server-owned folder and a copy of data/ per test."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyer.web.app import create_app
from flyer.web.server import ServeConfig

# Starlette 1.x suggests httpx2 for its test client; httpx (in pyproject) works the same.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://127.0.0.1:8000"


SCHOOL_HEADERS = ["école", "service", "contact", "téléphone", "courriel"]


def xlsx_of(rows: list[list[str | None]]) -> bytes:
    """An Excel workbook whose first sheet holds `rows`, as a secretary would save it."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def token_of(html: str) -> str:
    """The form token a page carries (every form has it)."""
    match = re.search(r'name="jeton" value="([^"]+)"', html)
    assert match, "no form token on the page"
    return match.group(1)


def hash_of(html: str) -> str:
    match = re.search(r'name="hash" value="([0-9a-f]*)"', html)
    assert match, "no file hash on the page"
    return match.group(1)


@pytest.fixture(scope="session")
def shared_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One server folder for the session: a build is named by the hash of what it reads,
    so tests with the same data share it, as two people of one server would."""
    return tmp_path_factory.mktemp("serve-out")


@pytest.fixture
def config(data_copy: Path, shared_out: Path) -> ServeConfig:
    return ServeConfig(data=data_copy, layouts=ROOT / "layouts", out=shared_out)


@pytest.fixture
def client(config: ServeConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config), base_url=BASE_URL) as test_client:
        yield test_client

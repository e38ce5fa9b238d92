"""With a password: a login wall, signed cookies, slowed-down failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from flyer.web.app import create_app
from flyer.web.auth import Throttle, password_ok
from flyer.web.server import ServeConfig
from tests.web.conftest import ROOT, token_of

PASSWORD = "cartable-bleu-42"


@pytest.fixture
def guarded(data_copy: Path, shared_out: Path) -> Iterator[TestClient]:
    config = ServeConfig(data=data_copy, layouts=ROOT / "layouts", out=shared_out,
                         host="0.0.0.0", password=PASSWORD)
    with TestClient(create_app(config), base_url="http://flyer.mairie.local") as client:
        yield client


def test_every_page_but_the_login_form_needs_a_session(guarded: TestClient) -> None:
    for url in ("/", "/services", "/lettre", "/ecoles", "/telecharger/ecole/leaflet-fr.pdf"):
        response = guarded.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/connexion?suite=")
    assert guarded.post("/services", data={}).status_code == 403
    assert guarded.get("/static/flyer.css").status_code == 200
    login = guarded.get("/connexion")
    assert login.status_code == 200
    assert '<label for="password">Mot de passe</label>' in login.text


def test_a_wrong_password_is_refused_slowly_and_the_right_one_opens(
        guarded: TestClient) -> None:
    form = guarded.get("/connexion?suite=/services").text
    started = time.monotonic()
    refused = guarded.post("/connexion?suite=/services",
                           data={"jeton": token_of(form), "password": "cartable-bleu-41"})
    assert time.monotonic() - started >= 1.0
    assert refused.status_code == 401
    assert "Mot de passe incorrect" in refused.text
    opened = guarded.post("/connexion?suite=/services",
                          data={"jeton": token_of(refused.text), "password": PASSWORD},
                          follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/services"
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    services = guarded.get("/services")
    assert services.status_code == 200
    assert "Se déconnecter" in services.text
    guarded.post("/deconnexion", data={"jeton": token_of(services.text)})
    assert guarded.get("/services", follow_redirects=False).status_code == 303


def test_login_redirects_only_inside_the_app(guarded: TestClient) -> None:
    form = guarded.get("/connexion").text
    response = guarded.post("/connexion?suite=//evil.example/", follow_redirects=False,
                            data={"jeton": token_of(form), "password": PASSWORD})
    assert response.headers["location"] == "/"


def test_failures_cost_more_each_time_and_a_success_forgets_them() -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    throttle = Throttle()
    original = asyncio.sleep
    asyncio.sleep = record  # type: ignore[assignment]
    try:
        for _ in range(7):
            asyncio.run(throttle.fail("10.0.0.1"))
        throttle.succeed("10.0.0.1")
        asyncio.run(throttle.fail("10.0.0.1"))
    finally:
        asyncio.sleep = original
    assert slept == [1, 2, 4, 8, 16, 30, 30, 1]


def test_password_comparison() -> None:
    assert password_ok(PASSWORD, PASSWORD)
    assert not password_ok(PASSWORD, PASSWORD + " ")
    assert not password_ok(PASSWORD, "")

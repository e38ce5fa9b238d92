"""`flyer serve` from the command line: refuses to listen unprotected, starts, stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from flyer.cli import app
from tests.web.conftest import ROOT

runner = CliRunner()


def test_another_host_without_a_password_is_refused_in_french(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--no-browser", "--data",
                                 str(ROOT / "data"), "--layouts", str(ROOT / "layouts"),
                                 "--out", str(tmp_path)], env={"FLYER_PASSWORD": None})
    assert result.exit_code == 2
    assert "mot de passe" in result.output
    assert "Traceback" not in result.output


def test_a_password_file_too_short_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("court\n", encoding="utf-8")
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--password-file", str(secret),
                                 "--no-browser", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "mot de passe trop court" in result.output


def test_a_busy_port_is_a_french_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port), "--no-browser", "--data",
                                     str(ROOT / "data"), "--layouts", str(ROOT / "layouts"),
                                     "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert f"le port {port} est déjà utilisé" in result.output


def start_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[str], str]:
    """`flyer serve` on a free port in a child process; its address once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from flyer.cli import main; main()", "serve", "--port", "0",
         "--no-browser", "--data", str(ROOT / "data"), "--layouts", str(ROOT / "layouts"),
         "--out", str(tmp_path / "out"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})})
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "http://" in line, line + (process.stderr.read() if process.stderr else "")
    url = line[line.index("http://"):].strip()
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "static/flyer.css", timeout=2)
            return process, url
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)


def test_serve_prints_its_address_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process, url = start_server(tmp_path)
    try:
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "ecoles", timeout=10)
        assert response.status_code == 200
        assert '<html lang="fr">' in response.text
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Arrêté." in err
    assert "Traceback" not in err
    # The journal is French: uvicorn's English lifecycle lines are translated or left out.
    assert "GET /ecoles" in err and " requête : " in err, err
    for english in ("Uvicorn running", "Started server process", "Application startup",
                    "Shutting down", "Finished server process", " INFO "):
        assert english not in err, err

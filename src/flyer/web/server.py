"""`flyer serve`: the checks before listening, then uvicorn in this process.

Listening anywhere but on this computer (127.0.0.1) needs a password: from the
FLYER_PASSWORD environment variable or a file. Without one, flyer refuses to start.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flyer.errors import FlyerError
from flyer.web.auth import is_local

PASSWORD_VARIABLE = "FLYER_PASSWORD"
MIN_PASSWORD = 8


@dataclass(frozen=True)
class ServeConfig:
    data: Path
    layouts: Path
    out: Path
    host: str = "127.0.0.1"
    port: int = 8000
    password: str | None = None
    open_browser: bool = True

    @property
    def root(self) -> Path:
        """The server's own folder: builds, previews, uploads (never data/)."""
        return self.out / ".serve"


def read_password(password_file: Path | None) -> str | None:
    """The password from --password-file, else FLYER_PASSWORD, else None."""
    password: str | None
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise FlyerError("fichier du mot de passe illisible", password_file) from None
        password = text.strip("\r\n")
        if not password:
            raise FlyerError("le fichier du mot de passe est vide", password_file)
    else:
        password = os.environ.get(PASSWORD_VARIABLE) or None
    if password is not None and len(password) < MIN_PASSWORD:
        raise FlyerError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")
    return password


def check_config(config: ServeConfig) -> None:
    """Refuse what would be unsafe or cannot work, before anything listens."""
    from flyer.files import require_source_folders

    require_source_folders(config.data, config.layouts)
    if not is_local(config.host) and config.password is None:
        raise FlyerError(
            f"--host {config.host} rendrait flyer accessible depuis d'autres ordinateurs : "
            f"il faut un mot de passe. Donnez-le dans la variable {PASSWORD_VARIABLE} ou "
            "avec --password-file FICHIER (au moins 8 caractères), ou gardez --host 127.0.0.1 "
            "pour cet ordinateur seulement.")


def bind(config: ServeConfig) -> socket.socket:
    """The listening socket, so that a busy port is a French message, not a traceback."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host.strip("[]"), config.port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise FlyerError(f"le port {config.port} est déjà utilisé (flyer est peut-être déjà "
                             f"ouvert : essayez http://{_shown(config.host)}:{config.port}) ; "
                             f"ou choisissez-en un autre avec --port {config.port + 1}") from None
        raise FlyerError(f"impossible d'écouter sur {config.host}:{config.port} "
                         f"({exc.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _shown(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def run(config: ServeConfig, say: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C. Prints the address; opens the browser unless asked not to."""
    import uvicorn

    from flyer.web.app import create_app
    from flyer.web.store import remember_umask

    check_config(config)
    remember_umask()
    sock = bind(config)
    port = sock.getsockname()[1]
    url = f"http://{_shown(config.host)}:{port}/"
    _configure_logging()
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(
        app, log_config=None, access_log=True, timeout_graceful_shutdown=5,
        server_header=False, proxy_headers=False))
    say(f"flyer est ouvert à l'adresse {url}")
    say("Laissez cette fenêtre ouverte pendant que vous travaillez ; Ctrl-C pour arrêter.")
    if config.open_browser:
        threading.Thread(target=_open_when_ready, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _open_when_ready(server: object, url: str) -> None:
    import time

    for _ in range(100):
        if getattr(server, "started", False):
            webbrowser.open(url)
            return
        time.sleep(0.1)


# uvicorn's lifecycle lines, by their format string: said in French, or left out when
# flyer already says it (the address, Ctrl-C) or when it means nothing to the person
# keeping the window open. Anything not listed is shown as uvicorn wrote it.
_UVICORN_LINES: dict[str, str | None] = {
    "Started server process [%d]": None,
    "Waiting for application startup.": None,
    "Application startup complete.": None,
    "Shutting down": "arrêt demandé",
    "Waiting for connections to close. (CTRL+C to force quit)":
        "attente de la fin des pages en cours (Ctrl-C pour forcer l'arrêt)",
    "Waiting for background tasks to complete. (CTRL+C to force quit)":
        "attente de la fin des tâches en cours (Ctrl-C pour forcer l'arrêt)",
    "Cancel %s running task(s), timeout graceful shutdown exceeded":
        "%s tâche(s) arrêtée(s) : elles ne finissaient pas",
    "Waiting for application shutdown.": None,
    "Application shutdown complete.": None,
    "Finished server process [%d]": None,
}
_LEVELS = {"DEBUG": "détail", "INFO": "info", "WARNING": "attention", "ERROR": "erreur",
           "CRITICAL": "erreur grave"}
_SOURCES = {"uvicorn.error": "serveur", "uvicorn.access": "requête", "uvicorn": "serveur"}


class _InFrench(logging.Filter):
    """The journal in French: uvicorn's known lines translated or dropped, levels and
    sources named in French."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            if record.msg.startswith("Uvicorn running on"):
                return False  # flyer prints the address itself, in French
            if record.msg in _UVICORN_LINES:
                french = _UVICORN_LINES[record.msg]
                if french is None:
                    return False
                record.msg = french
        record.niveau = _LEVELS.get(record.levelname, record.levelname.lower())
        record.source = _SOURCES.get(record.name, record.name)
        return True


def _configure_logging() -> None:
    """One readable line per event, in French, for whoever keeps the server running."""
    handler = logging.StreamHandler()
    handler.addFilter(_InFrench())
    handler.setFormatter(logging.Formatter("%(asctime)s %(niveau)s %(source)s : %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    for name in ("flyer", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

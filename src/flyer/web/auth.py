"""Safe by default: who may use the app, and what a request may do.

- `Guard`, one ASGI middleware in front of every route: the security headers (a
  Content-Security-Policy of `default-src 'self'`: no inline script or style anywhere),
  the Host check (a page of another site cannot reach a server on 127.0.0.1 through a
  DNS name it controls), the cross-site check of every POST (`Origin` and
  `Sec-Fetch-Site`), the size cap of request bodies (checked on the announced length,
  then counted while reading), and the login wall when a password is set.
- The form token: one random token per session, in every form, compared in constant time.
- The password: compared with `hmac.compare_digest`; failed attempts are slowed down.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flyer.web.jobs import MAX_UPLOAD

CSP = ("default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# A little more than the file itself: the form's other fields and the multipart framing.
MAX_BODY = MAX_UPLOAD + 64 * 1024
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
OPEN_PATHS = ("/connexion", "/static/")
TOKEN_FIELD = "jeton"
TOKEN_HEADER = "x-jeton"


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def form_token(session: dict[str, Any]) -> str:
    """The session's form token (made on first use)."""
    token = session.get("token")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["token"] = token
    return token


def token_ok(session: dict[str, Any], sent: str | None) -> bool:
    expected = session.get("token")
    return (isinstance(expected, str) and isinstance(sent, str)
            and hmac.compare_digest(expected.encode(), sent.encode()))


def password_ok(expected: str, given: str) -> bool:
    # Digests first: compare_digest on equal lengths says nothing about the password's.
    return hmac.compare_digest(hashlib.sha256(expected.encode()).digest(),
                               hashlib.sha256(given.encode()).digest())


@dataclass
class Throttle:
    """Failed logins cost time: 1 s, then twice as long each time, up to 30 s, per client.

    The delay is served before the answer (the attacker waits) and forgotten after a
    success or 15 minutes of quiet.
    """

    failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    forget_after: float = 15 * 60

    async def fail(self, client: str) -> None:
        count, last = self.failures.get(client, (0, 0.0))
        if time.monotonic() - last > self.forget_after:
            count = 0
        count += 1
        self.failures[client] = (count, time.monotonic())
        await asyncio.sleep(min(2.0 ** (count - 1), 30.0))

    def succeed(self, client: str) -> None:
        self.failures.pop(client, None)


class BodyTooLarge(Exception):
    pass


class Guard:
    """See the module docstring; wraps the app (inside the session middleware)."""

    def __init__(self, app: ASGIApp, *, login_required: bool, allowed_hosts: tuple[str, ...] | None,
                 max_body: int = MAX_BODY) -> None:
        self.app = app
        self.login_required = login_required
        self.allowed_hosts = allowed_hosts  # None: any (a password protects the server)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        if self.allowed_hosts is not None and _host_name(
                headers.get("host", "")) not in self.allowed_hosts:
            await _plain(send_secured, 400, "Adresse du serveur non reconnue.")
            return
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            await _plain(send_secured, 405, "Méthode non acceptée.")
            return
        if method == "POST" and not _same_site(headers):
            await _plain(send_secured, 403, "Demande refusée : elle ne vient pas d'une page "
                                            "de flyer. Rechargez la page et recommencez.")
            return
        path = scope["path"]
        if self.login_required and not path.startswith(OPEN_PATHS) and not scope.get(
                "session", {}).get("user"):
            if method == "GET":
                target = path + (f"?{scope['query_string'].decode()}"
                                 if scope.get("query_string") else "")
                location = "/connexion?suite=" + quote(target, safe="")
                await _redirect(send_secured, location)
            else:
                await _plain(send_secured, 403, "Votre session a expiré : connectez-vous à "
                                                "nouveau (vos dernières saisies n'ont pas été "
                                                "enregistrées).")
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain(send_secured, 413, _too_large(self.max_body))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_secured(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _plain(send_secured, 413, _too_large(self.max_body))


def _host_name(value: str) -> str:
    """`127.0.0.1:8000` → `127.0.0.1`; `[::1]:8000` → `[::1]`."""
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0]


def _too_large(limit: int) -> str:
    return (f"Fichier trop gros : la limite est de {limit // (1024 * 1024)} Mo. "
            "Une liste d'écoles tient en quelques centaines de ko ; vérifiez le fichier choisi.")


def _same_site(headers: Headers) -> bool:
    """A POST must come from a page of this server (the form token is checked as well)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is not None:
        if origin == "null":
            return False
        parts = urlsplit(origin)
        if parts.netloc != headers.get("host", ""):
            return False
    return True


async def _plain(send: Send, status: int, text: str) -> None:
    body = (f'<!doctype html><html lang="fr"><meta charset="utf-8"><title>flyer</title>'
            f'<link rel="stylesheet" href="/static/flyer.css"><main class="page">'
            f'<h1>flyer</h1><p class="alert">{text}</p><p><a href="/">Retour à l\'accueil</a>'
            f'</p></main></html>').encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})

"""The app's own pages: a normal autoescaping Jinja2 environment over `web/templates/`.

(The layouts of the documents are rendered by the pipeline in its sandbox; the app
never renders them.)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from flyer.web import store, views
from flyer.web.auth import TOKEN_FIELD, form_token

HERE = Path(__file__).parent
NAVIGATION = (("/", "Documents"), ("/services", "Services"), ("/lettre", "Lettre"),
              ("/ecoles", "Écoles"))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        french_date=views.french_date, size=views.size_text, pages=views.pages_text,
        language=views.language_name, in_sentence=views.language_in_sentence,
        qr=views.qr_text)
    env.globals.update(static=static_url, navigation=NAVIGATION, token_field=TOKEN_FIELD,
                       mail_limit=views.MAIL_LIMIT,
                       keep_versions=store.KEEP_VERSIONS)
    return env


@functools.cache
def static_url(name: str) -> str:
    """`/static/<name>?v=<hash>`: a new file, a new URL (the old one may stay cached)."""
    digest = hashlib.sha256((HERE / "static" / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    state = request.app.state
    page = {
        "request": request, "path": request.url.path,
        "token": form_token(request.session),
        "logged_in": bool(request.session.get("user")),
        "login_required": state.config.password is not None,
        # The messages a page may show; a route sets the ones that apply.
        "saved": False, "restored": None, "refused": False, "conflict": False,
        "changed": False, "draft": False,
        **(context or {}),
    }
    html = environment().get_template(name).render(page)
    return HTMLResponse(html, status, headers={"cache-control": "no-store", **(headers or {})})

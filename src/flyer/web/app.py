"""The routes of `flyer serve`: each reads the request, calls forms/store/jobs, renders.

    /                      Documents: one card per audience, previews, downloads, checks
    /services              Services: edit contacts.yaml (history, conflicts, stale date)
    /lettre                Lettre: each language's letter, with a live preview
    /ecoles                Écoles: a CSV or XLSX list → one leaflet per school
    /telecharger/…         files, looked up in the table of what a build wrote
    /apercu/…              page images (PNG) of those files
    /connexion             the login form, when a password is set
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flyer.errors import FlyerError
from flyer.web import forms, store, views
from flyer.web.auth import (
    LOCAL_HOSTS,
    TOKEN_FIELD,
    TOKEN_HEADER,
    Guard,
    Throttle,
    password_ok,
    token_ok,
)
from flyer.web.jobs import (
    PREVIEW_SCALES,
    PRIORITY_AUDIENCE,
    PRIORITY_BATCH,
    PRIORITY_PERSON,
    PRIORITY_PREVIEW,
    Builds,
    Outcome,
    Previews,
    Spec,
    draft_data,
    store_upload,
)
from flyer.web.server import ServeConfig
from flyer.web.templating import HERE, render

log = logging.getLogger("flyer.web")

# How long a page waits for its preview before showing "being prepared" and polling.
PREVIEW_WAIT = 4.0
SESSION_AGE = 12 * 60 * 60  # a working day


def create_app(config: ServeConfig) -> Starlette:
    config = dataclasses.replace(config, data=config.data.resolve(),
                                 layouts=config.layouts.resolve(), out=config.out.resolve())
    config.root.mkdir(parents=True, exist_ok=True)
    builds, previews = Builds(config.root), Previews(config.root)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        builds.worker.start()  # it loads WeasyPrint while the first page is served
        yield
        builds.close()
        previews.close()

    allowed = None if config.password is not None else (*LOCAL_HOSTS, config.host)
    app = Starlette(
        routes=ROUTES, lifespan=lifespan,
        middleware=[
            Middleware(SessionMiddleware, secret_key=_session_key(config.root),
                       session_cookie="flyer_session", max_age=SESSION_AGE, same_site="strict"),
            Middleware(Guard, login_required=config.password is not None,
                       allowed_hosts=allowed),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.config = config
    app.state.builds = builds
    app.state.previews = previews
    app.state.throttle = Throttle()
    return app


def _session_key(root: Path) -> str:
    """The key that signs session cookies, kept so that a restart logs nobody out."""
    path = root / "session-key"
    with contextlib.suppress(OSError):
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the server's secret
    with open(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


# --- helpers shared by the routes -----------------------------------------------------

def _config(request: Request) -> ServeConfig:
    config: ServeConfig = request.app.state.config
    return config


def _builds(request: Request) -> Builds:
    builds: Builds = request.app.state.builds
    return builds


async def _form(request: Request) -> FormData:
    """The posted form, once its token is the session's (else 403)."""
    form = await request.form(max_files=1, max_fields=2000)
    sent = form.get(TOKEN_FIELD) or request.headers.get(TOKEN_HEADER)
    if not token_ok(request.session, sent if isinstance(sent, str) else None):
        raise HTTPException(403, "La page était trop ancienne (ou ouverte avant un "
                                 "redémarrage) : rechargez-la, puis recommencez.")
    return form


def _languages(config: ServeConfig) -> tuple[str, ...]:
    from flyer.load import available_languages

    return tuple(available_languages(config.data)) or ("fr",)


async def _preview(request: Request, spec: Spec, view: str, wait: float = PREVIEW_WAIT
                   ) -> dict[str, Any]:
    """The preview block of a page: waits a little for the build, else polls."""
    builds = _builds(request)
    key = builds.start(spec, PRIORITY_PREVIEW)
    with contextlib.suppress(TimeoutError, KeyError):
        await builds.wait(key, timeout=wait)
    block = views.preview_block(builds.peek(key), key, view, spec.langs[0] if spec.langs else "fr")
    previews: Previews = request.app.state.previews
    for image in block["images"]:  # drawn while the page travels to the browser
        found = builds.pdf(image["sha256"])
        if found is not None:
            previews.prepare(found[0], image["sha256"], image["page"], image["size"])
    return block


# --- Documents ------------------------------------------------------------------------

def _service_names(config: ServeConfig) -> list[str]:
    from flyer.load import load_contacts

    try:
        contacts, _, _ = load_contacts(config.data)
    except FlyerError:
        return []
    return [c.name for c in contacts.contacts]


def _card(request: Request, slug: str, names: list[str], langs: tuple[str, ...]
          ) -> tuple[views.Card, views.CpmsChoice | None]:
    """One audience's card; `names` and `langs` (the services and languages of data/)
    are what the CPMS card offers."""
    config, builds = _config(request), _builds(request)
    audience = views.AUDIENCES[slug]
    if slug != "cpms":
        spec = views.audience_spec(audience, config.data, config.layouts)
        key = builds.key(spec)
        # The school's files are made at once; the print shop's and the website's (slower,
        # needed less often) when someone asks for them.
        if audience.automatic or request.query_params.get("preparer") == slug:
            builds.start(spec, PRIORITY_AUDIENCE, key)
        elif builds.peek(key) is None and builds.progress(key) is None:
            return views.Card(audience, "idle"), None
        return views.make_card(audience, builds.peek(key), builds.progress(key),
                               f"/telecharger/{slug}"), None
    choice = views.cpms_choice(request.query_params, names, langs)
    if not choice.service or choice.errors:
        return views.Card(audience, "empty"), choice
    key = builds.start(views.cpms_spec(config.data, config.layouts, choice), PRIORITY_PERSON)
    return views.make_card(audience, builds.peek(key), builds.progress(key),
                           "/telecharger/cpms", choice.query), choice


def _data_warnings(config: ServeConfig) -> tuple[list[str], list[str]]:
    """(warnings, problems) about data/ as the pipeline's loader sees it: the stale date,
    a translation not reviewed… known before any document is built."""
    from flyer.load import load_campaign

    try:
        campaign = load_campaign(config.data)
    except FlyerError as exc:
        return [], [forms.problem_text(p) for p in exc.problems]
    return [views.readable(w.message) for w in campaign.warnings], []


async def home(request: Request) -> Response:
    config = _config(request)
    names, langs = _service_names(config), _languages(config)
    cards = {}
    choice = None
    for slug in views.AUDIENCES:
        cards[slug], found = _card(request, slug, names, langs)
        choice = choice or found
    warnings, problems = await asyncio.to_thread(_data_warnings, config)
    return render(request, "documents.html", {
        "cards": cards, "choice": choice, "names": names, "langs": langs,
        "warnings": warnings, "problems": problems})


async def card(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in views.AUDIENCES:
        raise HTTPException(404)
    # Polled every second while the card is pending: only what the card shows is loaded
    # (the CPMS form's services and languages; the data's warnings once it is ready).
    config = _config(request)
    names, langs = ((_service_names(config), _languages(config)) if slug == "cpms"
                    else ([], ()))
    found, choice = _card(request, slug, names, langs)
    warnings = ((await asyncio.to_thread(_data_warnings, config))[0]
                if found.state == "ready" else [])
    return render(request, "_card.html", {"card": found, "choice": choice, "names": names,
                                          "langs": langs, "warnings": warnings})


async def download(request: Request) -> Response:
    slug, name = request.path_params["slug"], request.path_params["name"]
    audience = views.AUDIENCES.get(slug)
    if audience is None:
        raise HTTPException(404)
    config, builds = _config(request), _builds(request)
    if slug == "cpms":
        choice = views.cpms_choice(request.query_params, _service_names(config), _languages(config))
        if not choice.service or choice.errors:
            raise HTTPException(404)
        spec = views.cpms_spec(config.data, config.layouts, choice)
    else:
        spec = views.audience_spec(audience, config.data, config.layouts)
    outcome = await builds.get(spec, PRIORITY_PERSON)
    return await _serve_file(request, outcome, name, audience)


async def _serve_file(request: Request, outcome: Outcome, name: str,
                      audience: views.Audience | None = None) -> Response:
    builds = _builds(request)
    if not outcome.ok:
        return render(request, "error.html", {
            "title": "Les documents n'ont pas pu être préparés",
            "problems": outcome.problems}, status=409)
    builds.touch(outcome.key)
    if audience is not None and name == views.zip_name(audience):
        entries = [f for f in outcome.files if f.school is None]
        path = await builds.zip(outcome, entries, name)
        return FileResponse(path, media_type="application/zip", filename=name)
    entry = outcome.file(name)
    if entry is None:
        raise HTTPException(404)
    return FileResponse(builds.folder(outcome.key) / entry.relative,
                        media_type="application/pdf", filename=name)


async def preview_png(request: Request) -> Response:
    sha, size = request.path_params["sha"], request.path_params["size"]
    page = request.path_params["page"]
    if size not in PREVIEW_SCALES or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise HTTPException(404)
    found = _builds(request).pdf(sha)
    if found is None or not 1 <= page <= found[1]:
        raise HTTPException(404)
    previews: Previews = request.app.state.previews
    png = await previews.png(found[0], sha, page, size)
    return FileResponse(png, media_type="image/png",
                        headers={"cache-control": "private, max-age=31536000, immutable"})


async def preview_block(request: Request) -> Response:
    """The preview of a build, for a page that polls until it is ready."""
    view = request.query_params.get("vue", "")
    if view not in views.PREVIEW_PAGES:
        raise HTTPException(404)
    key = request.path_params["key"]
    builds = _builds(request)
    if builds.peek(key) is None and builds.progress(key) is None:
        raise HTTPException(404)
    lang = request.query_params.get("langue", "fr")
    if lang not in _languages(_config(request)):
        raise HTTPException(404)
    block = views.preview_block(builds.peek(key), key, view, lang)
    return render(request, "_preview.html", {"preview": block})


# --- Services -------------------------------------------------------------------------

def _contacts_file(config: ServeConfig) -> tuple[str, Path]:
    """("yaml" | "table" | "missing", the file): only contacts.yaml is edited here."""
    for name in ("contacts.csv", "contacts.xlsx"):
        if (config.data / name).is_file():
            return "table", config.data / name
    path = config.data / "contacts.yaml"
    return ("yaml" if path.is_file() else "missing"), path


async def services(request: Request) -> Response:
    config = _config(request)
    kind, path = _contacts_file(config)
    if kind != "yaml":
        return await _services_table(request, kind, path)
    if request.method == "POST":
        return await _services_post(request, path)
    langs = _languages(config)
    raw = path.read_bytes()
    try:
        data = store.load_roundtrip(forms.decode(raw)[1])
        form = forms.form_from_file(data, langs)
    except Exception:
        from flyer.load import load_contacts

        data = _config(request).data
        return await _broken(request, path, raw, lambda: load_contacts(data))
    updated = forms.updated_of(data)
    forms.validate_services(form, updated or dt.date.today(), path)
    context = {"saved": request.query_params.get("enregistre") == "1",
               "restored": request.query_params.get("retabli")}
    return await _services_page(request, form, path, store.content_hash(raw), updated, context)


async def _services_page(request: Request, form: forms.ServicesForm, path: Path, file_hash: str,
                         updated: dt.date | None, context: dict[str, Any], status: int = 200
                         ) -> Response:
    preview = await _preview(request, _services_spec(_config(request)), "services")
    return render(request, "services.html", {
        "form": form, "hash": file_hash, "updated": updated, "stale": forms.is_stale(updated),
        "today": dt.date.today(), "versions": store.versions(path), "preview": preview,
        "conflict": False, **context}, status=status)


def _shown(page: str) -> tuple[str, ...]:
    """The documents a page's preview shows: the only ones its build makes."""
    from flyer.web.views import PREVIEW_PAGES

    return tuple(dict.fromkeys(document for document, *_ in PREVIEW_PAGES[page]))


def _services_spec(config: ServeConfig) -> Spec:
    """The build behind the services page's preview: the first language, office only."""
    return Spec(data=config.data, layouts=config.layouts, langs=(_languages(config)[0],),
                documents=_shown("services"))


async def _services_post(request: Request, path: Path) -> Response:
    config = _config(request)
    posted = await _form(request)
    expected = str(posted.get("hash", ""))
    form, action = forms.form_from_post(posted, _languages(config))
    raw = path.read_bytes()
    bom, text = forms.decode(raw)
    data = store.load_roundtrip(text)
    updated = forms.updated_of(data)
    if forms.apply_action(form, action):
        return await _services_page(request, form, path, expected, updated, {"changed": True})
    if store.content_hash(raw) != expected:
        return await _conflict(request, form, path, expected, updated)
    if action == "verified":
        updated = dt.date.today()
    if not forms.validate_services(form, updated or dt.date.today(), path):
        return await _services_page(request, form, path, expected, updated,
                                    {"refused": True, "changed": True}, status=422)
    new_text = store.edit_contacts(text, [s.values for s in form.services],
                                   dt.date.today() if action == "verified" else None)
    problems = forms.check_file_text(new_text, path)
    if problems:  # the last gate: what `flyer build` would say about the new file
        form.errors.extend(problems)
        return await _services_page(request, form, path, expected, updated,
                                    {"refused": True, "changed": True}, status=422)
    try:
        await asyncio.to_thread(store.save, path, bom + new_text.encode("utf-8"), expected)
    except store.Conflict:
        return await _conflict(request, form, path, expected, updated)
    log.info("%s enregistré (%d services) ; version précédente gardée dans %s/", path.name,
             len(form.services), store.HISTORY)
    # The preview's build starts now, while the browser follows the redirect.
    _builds(request).start(_services_spec(config), PRIORITY_PREVIEW)
    return RedirectResponse("/services?enregistre=1", status_code=303)


async def _conflict(request: Request, form: forms.ServicesForm, path: Path, expected: str,
                    updated: dt.date | None) -> Response:
    log.info("%s : enregistrement refusé, le fichier a changé depuis l'ouverture de la page",
             path.name)
    return await _services_page(request, form, path, expected, updated,
                                {"conflict": True, "changed": True}, status=409)


async def _services_table(request: Request, kind: str, path: Path) -> Response:
    from flyer.load import load_contacts

    if request.method == "POST":
        raise HTTPException(409, "Les services sont lus dans un tableur : modifiez-les dans ce "
                                 "fichier.")
    contacts, problems = None, []
    try:
        contacts, _, _ = load_contacts(_config(request).data)
    except FlyerError as exc:
        problems = [forms.problem_text(p) for p in exc.problems]
    return render(request, "services_table.html", {
        "kind": kind, "file": path.name, "contacts": contacts, "problems": problems})


async def _broken(request: Request, path: Path, raw: bytes, load: Callable[[], object]
                  ) -> Response:
    """contacts.yaml or a letter cannot be read at all: say why (as the CLI does, `load`
    raising the pipeline's own FlyerError), offer its earlier versions."""
    problems = ["Le fichier n'a pas pu être lu."]
    try:
        load()
    except FlyerError as exc:
        problems = [forms.problem_text(p) for p in exc.problems]
    return render(request, "services_broken.html", {
        "problems": problems, "versions": store.versions(path),
        "hash": store.content_hash(raw), "file": path.name})


async def restore_version(request: Request) -> Response:
    """Put back an earlier version of contacts.yaml or of a letter."""
    from flyer.load import LETTER_NAME

    config = _config(request)
    posted = await _form(request)
    what = str(posted.get("fichier", ""))
    if what == "contacts.yaml":
        path, back = config.data / "contacts.yaml", "/services"
    elif (match := LETTER_NAME.fullmatch(what)) and match.group(1) in _languages(config):
        path, back = config.data / what, f"/lettre?langue={match.group(1)}"
    else:
        raise HTTPException(404)
    version = str(posted.get("version", ""))
    try:
        await asyncio.to_thread(store.restore, path, version, str(posted.get("hash", "")))
    except KeyError:
        raise HTTPException(404) from None
    except store.Conflict:
        raise HTTPException(409, "Le fichier a été modifié ailleurs entre-temps : rien n'a été "
                                 "rétabli. Rechargez la page et recommencez.") from None
    log.info("%s : version %s rétablie", path.name, version)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}retabli={version}", status_code=303)


# --- Lettre ---------------------------------------------------------------------------

def _letter_lang(request: Request) -> tuple[str, Path]:
    langs = _languages(_config(request))
    lang = request.query_params.get("langue") or langs[0]
    if lang not in langs:
        raise HTTPException(404)
    return lang, _config(request).data / f"letter.{lang}.md"


async def letter(request: Request) -> Response:
    config = _config(request)
    lang, path = _letter_lang(request)
    raw = path.read_bytes()
    bom, text = forms.decode(raw)
    try:
        saved = forms.letter_from_file(text, path, lang)
    except Exception:
        saved = None
    if request.method == "GET":
        if saved is None:
            from flyer.load import load_letter

            return await _broken(request, path, raw, lambda: load_letter(path, lang))
        forms.validate_letter(saved, text, path)
        spec = Spec(data=config.data, layouts=config.layouts, langs=(lang,),
                    documents=_shown("lettre"))
        return await _letter_page(request, saved, path, store.content_hash(raw), spec, {
            "saved": request.query_params.get("enregistre") == "1",
            "restored": request.query_params.get("retabli")})
    posted = await _form(request)
    expected = str(posted.get("hash", ""))
    form = forms.letter_from_post(posted, lang, saved is not None and saved.reviewed is not None)
    new_text = _letter_text(text, form)
    if new_text is None or not forms.validate_letter(form, new_text, path):
        return await _letter_page(request, form, path, expected, None, {"refused": True},
                                  status=422)
    if posted.get("action") == "preview":
        spec = Spec(data=_draft(config, lang, new_text), layouts=config.layouts, langs=(lang,),
                    documents=_shown("lettre"))
        return await _letter_page(request, form, path, expected, spec, {"draft": True})
    try:
        await asyncio.to_thread(store.save, path, bom + new_text.encode("utf-8"), expected)
    except store.Conflict:
        log.info("%s : enregistrement refusé, le fichier a changé", path.name)
        return await _letter_page(request, form, path, expected, None, {"conflict": True},
                                  status=409)
    log.info("%s enregistré ; version précédente gardée dans %s/", path.name, store.HISTORY)
    return RedirectResponse(f"/lettre?langue={lang}&enregistre=1", status_code=303)


def _letter_text(text: str, form: forms.LetterForm) -> str | None:
    try:
        return store.edit_front_matter(text, forms.letter_values(form), form.body)
    except Exception:
        form.general.append("Le début du fichier (le bloc entre les deux lignes « --- ») "
                            "n'a pas pu être lu : corrigez-le ou rétablissez une version "
                            "précédente.")
        return None


def _draft(config: ServeConfig, lang: str, text: str) -> Path:
    return draft_data(config.root, config.data, {f"letter.{lang}.md": text.encode("utf-8")})


async def _letter_page(request: Request, form: forms.LetterForm, path: Path, file_hash: str,
                       spec: Spec | None, context: dict[str, Any], status: int = 200
                       ) -> Response:
    preview = await _preview(request, spec, "lettre") if spec is not None else None
    return render(request, "letter.html", {
        "form": form, "hash": file_hash, "langs": _languages(_config(request)),
        "versions": store.versions(path), "file": path.name, "preview": preview,
        "conflict": False, **context}, status=status)


async def letter_preview(request: Request) -> Response:
    """The live preview: the letter as typed, built from a copy of data/ (nothing saved)."""
    config = _config(request)
    lang, path = _letter_lang(request)
    posted = await _form(request)
    _, text = forms.decode(path.read_bytes())
    try:
        had_review = forms.letter_from_file(text, path, lang).reviewed is not None
    except Exception:
        had_review = False
    form = forms.letter_from_post(posted, lang, had_review)
    new_text = _letter_text(text, form)
    if new_text is None or not forms.validate_letter(form, new_text, path):
        problems = [*form.general,
                    *(f"{forms.LETTER_LABELS[k]} : {v}" for k, v in form.errors.items())]
        return render(request, "_preview.html", {"preview": {
            "state": "refused", "problems": problems, "images": [], "poll": ""}})
    spec = Spec(data=_draft(config, lang, new_text), layouts=config.layouts, langs=(lang,),
                documents=_shown("lettre"))
    return render(request, "_preview.html", {"preview": await _preview(request, spec, "lettre")})


# --- Écoles ---------------------------------------------------------------------------

SCHOOLS_ZIP = "depliants-ecoles.zip"


async def schools(request: Request) -> Response:
    config = _config(request)
    page = {"one": {}, "one_errors": {}, "names": _service_names(config)}
    if request.method == "GET":
        return render(request, "schools.html", {"errors": [], **page})
    posted = await _form(request)
    upload = posted.get("liste")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "schools.html", {
            "errors": ["Choisissez d'abord le fichier de la liste des écoles."], **page},
            status=422)
    content = await upload.read()
    try:
        path = await asyncio.to_thread(store_upload, config.root, upload.filename, content)
    except FlyerError as exc:
        return render(request, "schools.html", {
            "errors": [forms.problem_text(p) for p in exc.problems], **page}, status=422)
    spec = Spec(data=config.data, layouts=config.layouts, schools=path)
    key = _builds(request).start(spec, PRIORITY_BATCH)
    log.info("liste des écoles reçue (%s, %d octets) : construction %s", upload.filename,
             len(content), key[:8])
    return RedirectResponse(f"/ecoles/{key}", status_code=303)


async def one_school(request: Request) -> Response:
    """One school without a spreadsheet: the form becomes a one-row list (same pipeline)."""
    import csv
    import io

    from flyer.schools import COLUMNS, REQUIRED

    config = _config(request)
    posted = await _form(request)
    values = {name: " ".join(str(posted.get(name, "")).split())[:200] for name in COLUMNS}
    errors = {name: "Ce champ est obligatoire." for name in REQUIRED if not values[name]}
    if errors:
        return render(request, "schools.html", {"errors": [], "one": values,
                                                "one_errors": errors,
                                                "names": _service_names(config)}, status=422)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([values[name] for name in COLUMNS])
    path = await asyncio.to_thread(store_upload, config.root, "ecole.csv",
                                   buffer.getvalue().encode("utf-8"))
    key = _builds(request).start(Spec(data=config.data, layouts=config.layouts, schools=path),
                                 PRIORITY_PERSON)
    return RedirectResponse(f"/ecoles/{key}", status_code=303)


def _schools_outcome(request: Request) -> tuple[str, Outcome | None]:
    key = request.path_params["key"]
    builds = _builds(request)
    outcome = builds.peek(key)
    if outcome is None and builds.progress(key) is None:
        raise HTTPException(404, "Ce résultat n'est plus disponible : envoyez à nouveau la "
                                 "liste des écoles.")
    return key, outcome


async def schools_result(request: Request) -> Response:
    key, outcome = _schools_outcome(request)
    merged = [f for f in outcome.files if f.document == "schools"] if outcome else []
    return render(request, "schools_result.html", {
        "key": key, "outcome": outcome, "progress": _builds(request).progress(key),
        "merged": merged, "zip": SCHOOLS_ZIP,
        "built": [s for s in outcome.schools if s.built] if outcome else [],
        "set_aside": [s for s in outcome.schools if not s.built] if outcome else []})


async def schools_download(request: Request) -> Response:
    key, outcome = _schools_outcome(request)
    if outcome is None:
        outcome = await _builds(request).wait(key)
    name = request.path_params["name"]
    if not outcome.ok:
        return await _serve_file(request, outcome, name)
    school = request.path_params.get("school")
    if school is None and name == SCHOOLS_ZIP:
        entries = [f for f in outcome.files if f.school is not None]
        path = await _builds(request).zip(outcome, entries, name)
        return FileResponse(path, media_type="application/zip", filename=name)
    entry = next((f for f in outcome.files if f.name == name and f.school == school), None)
    if entry is None:
        raise HTTPException(404)
    return FileResponse(_builds(request).folder(key) / entry.relative,
                        media_type="application/pdf", filename=name)


async def schools_example(request: Request) -> Response:
    """An example list to start from (a fixed file of the project, never a request path)."""
    example = _config(request).data / "examples" / "schools.csv"
    if not example.is_file():
        raise HTTPException(404)
    return FileResponse(example, media_type="text/csv; charset=utf-8",
                        filename="exemple-ecoles.csv")


# --- Connexion ------------------------------------------------------------------------

async def login(request: Request) -> Response:
    config = _config(request)
    target = request.query_params.get("suite", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if config.password is None or request.session.get("user"):
        return RedirectResponse(target, status_code=303)
    if request.method == "GET":
        return render(request, "login.html", {"target": target, "error": None})
    posted = await _form(request)
    client = request.client.host if request.client else "?"
    throttle: Throttle = request.app.state.throttle
    if not password_ok(config.password, str(posted.get("password", ""))):
        log.warning("connexion refusée depuis %s", client)
        await throttle.fail(client)
        return render(request, "login.html", {
            "target": target, "error": "Mot de passe incorrect. Vérifiez les majuscules, "
                                       "puis réessayez."}, status=401)
    throttle.succeed(client)
    request.session.clear()
    request.session["user"] = True  # a new session: a new form token as well
    log.info("connexion depuis %s", client)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    await _form(request)
    request.session.clear()
    return RedirectResponse("/connexion", status_code=303)


# --- errors ---------------------------------------------------------------------------

MESSAGES = {404: "Cette page n'existe pas (ou plus).", 405: "Action non acceptée ici.",
            403: "Action refusée.", 409: "Action impossible pour le moment."}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and not exc.detail.isascii() else MESSAGES.get(
        exc.status_code, "Demande incorrecte.")
    return render(request, "error.html", {"title": detail, "problems": []},
                  status=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    # (uvicorn logs the traceback right after: Starlette re-raises for it.)
    log.error("erreur inattendue sur %s : %s", request.url.path, type(exc).__name__)
    return render(request, "error.html", {
        "title": "Une erreur inattendue est survenue",
        "problems": ["Rien n'a été modifié. Réessayez ; si cela se reproduit, le détail est "
                     "dans le journal du serveur (à transmettre au service informatique)."]},
        status=500)


ROUTES = [
    Route("/", home),
    Route("/carte/{slug}", card),
    Route("/telecharger/{slug}/{name}", download),
    Route("/apercu/{sha}/{page:int}-{size}.png", preview_png),
    Route("/apercu/{key}", preview_block),
    Route("/services", services, methods=["GET", "POST"]),
    Route("/versions", restore_version, methods=["POST"]),
    Route("/lettre", letter, methods=["GET", "POST"]),
    Route("/lettre/apercu", letter_preview, methods=["POST"]),
    Route("/ecoles", schools, methods=["GET", "POST"]),
    Route("/ecoles/exemple.csv", schools_example),
    Route("/ecoles/une", one_school, methods=["POST"]),
    Route("/ecoles/{key}", schools_result),
    Route("/ecoles/{key}/{name}", schools_download),
    Route("/ecoles/{key}/{school}/{name}", schools_download),
    Route("/connexion", login, methods=["GET", "POST"]),
    Route("/deconnexion", logout, methods=["POST"]),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]

"""Forms ↔ files: what the pages show, what they send back, and why a value is refused.

Validation is the CLI's: the same models (`flyer.model.Contact`, `ContactList`, `Letter`)
through `flyer.load.validate`, so a refused value gets the same French message as in
`flyer build`. Each message is attached to the field it is about, and the form is shown
again with what the person typed.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyer.errors import FlyerError, Problem
from flyer.web.store import ServiceValues

MAX_SERVICES = 200
SERVICE_FIELDS = ("name", "description", "phone", "email")
LETTER_FIELDS = ("title", "headline", "call_to_action")
# Field names as `flyer.load` reports them (its FIELD_LABELS) → form field.
_FIELD_CODES = {"name": 1, "description": 2, "phone": 3, "email": 4}
_ACTION = re.compile(r"^(add|remove|up|down|save|verified)(?::(\d{1,3}))?$")


@dataclass
class ServiceForm:
    """One service as shown in its fieldset, with the refusals next to its fields."""

    values: ServiceValues
    errors: dict[str, str] = field(default_factory=dict)  # field → French message

    @property
    def origin(self) -> int | None:
        return self.values.origin


@dataclass
class ServicesForm:
    services: list[ServiceForm]
    langs: tuple[str, ...]  # the languages of the descriptions ("fr" first)
    errors: list[str] = field(default_factory=list)  # not about one field
    notices: list[str] = field(default_factory=list)  # what add/remove/move changed
    focus: str | None = None  # the id of the element to focus after a reload


def form_from_file(data: Any, langs: tuple[str, ...]) -> ServicesForm:
    """The form as the round-trip YAML of contacts.yaml has it (values as typed)."""
    services = []
    for index, item in enumerate(data.get("contacts") or []):
        description = item.get("description")
        texts = ({"fr": str(description)} if isinstance(description, str)
                 else {str(k): str(v) for k, v in (description or {}).items()})
        services.append(ServiceForm(ServiceValues(
            origin=index, name=_text(item.get("name")), phone=_text(item.get("phone")),
            email=_text(item.get("email")),
            description={lang: texts.get(lang, "") for lang in _langs(langs, texts)})))
    return ServicesForm(services, langs)


def _langs(langs: tuple[str, ...], texts: Mapping[str, str]) -> list[str]:
    # A description in a language without a letter is kept (and shown), never dropped.
    return [*langs, *(lang for lang in texts if lang not in langs)]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def form_from_post(form: Mapping[str, Any], langs: tuple[str, ...]) -> tuple[ServicesForm, str]:
    """The services as posted (in the page's order) and the button pressed."""
    from flyer.model import LANG_CODE

    services = []
    for index in range(MAX_SERVICES):
        prefix = f"service-{index}-"
        if prefix + "origin" not in form:
            break
        origin_text = str(form.get(prefix + "origin", ""))
        origin = int(origin_text) if origin_text.isdigit() else None
        description = {}
        for key in form:
            if key.startswith(prefix + "description-"):
                lang = key.removeprefix(prefix + "description-")
                if LANG_CODE.fullmatch(lang):
                    description[lang] = _clean(form[key])
        services.append(ServiceForm(ServiceValues(
            origin=origin, name=_clean(form.get(prefix + "name")),
            phone=_clean(form.get(prefix + "phone")), email=str(form.get(prefix + "email")
                                                                or "").strip(),
            description={lang: description.get(lang, "") for lang in _langs(langs, description)},
        )))
    action = str(form.get("action") or "save")
    return ServicesForm(services, langs), action if _ACTION.match(action) else "save"


def _clean(value: Any) -> str:
    """Text as a person means it: spaces and line breaks inside collapsed to one space."""
    return " ".join(str(value or "").split())


def apply_action(form: ServicesForm, action: str) -> bool:
    """Add, remove or move a service on the page (nothing is saved yet).

    Returns True when the action only changed the page; False for save and verified.
    """
    match = _ACTION.match(action)
    if match is None:
        return False
    verb, number = match.group(1), match.group(2)
    services = form.services
    index = int(number) if number is not None else -1
    if verb == "add":
        services.append(ServiceForm(ServiceValues(
            origin=None, description={lang: "" for lang in form.langs})))
        form.notices.append("Un nouveau service a été ajouté en bas de la liste. Remplissez-le, "
                            "puis cliquez sur « Enregistrer ».")
        form.focus = f"service-{len(services) - 1}-name"
        return True
    if not 0 <= index < len(services):
        return verb not in ("save", "verified")
    name = services[index].values.name or "Le nouveau service"
    if verb == "remove":
        del services[index]
        form.notices.append(f"« {name} » sera retiré de la liste quand vous cliquerez sur "
                            "« Enregistrer ».")
        form.focus = "save"
        return True
    if verb in ("up", "down"):
        target = index - 1 if verb == "up" else index + 1
        if 0 <= target < len(services):
            services[index], services[target] = services[target], services[index]
            where = "plus haut" if verb == "up" else "plus bas"
            form.notices.append(f"« {name} » a été déplacé {where}. Cliquez sur "
                                "« Enregistrer » pour garder cet ordre.")
            form.focus = f"service-{target}-{verb}"
            # At the top (bottom), the up (down) button is gone: focus the other one.
            if (verb == "up" and target == 0) or (verb == "down" and target == len(services) - 1):
                form.focus = f"service-{target}-{'down' if verb == 'up' else 'up'}"
        return True
    return False


def validate_services(form: ServicesForm, updated: dt.date, path: Path) -> bool:
    """Check every service with the CLI's model; attach refusals to their fields.

    Returns True when the whole list would load in `flyer build`.
    """
    from pydantic import ValidationError

    from flyer.load import validate
    from flyer.model import Contact, ContactList, ItemError

    contacts = []
    for service in form.services:
        values = service.values
        data: dict[str, Any] = {"name": values.name, "phone": values.phone}
        if values.email:
            data["email"] = values.email
        texts = {lang: text for lang, text in values.description.items() if text}
        if texts:
            data["description"] = texts
        # Each field on its own "line": the line of a problem says which field it is about.
        lines: dict[tuple[str | int, ...], int] = {
            (name,): code for name, code in _FIELD_CODES.items()}
        try:
            contacts.append(validate(Contact, data, path, lines))
        except FlyerError as exc:
            for problem in exc.problems:
                _attach(service, problem)
    first = next(((index, s) for index, s in enumerate(form.services) if s.errors), None)
    if first is not None:
        index, service = first
        name = next(f for f in SERVICE_FIELDS if f in service.errors)
        if name == "description":
            name = f"description-{form.langs[0] if form.langs else 'fr'}"
        form.focus = f"service-{index}-{name}"  # where the person fixes it, said by its label
        return False
    if not form.services:
        form.errors.append("Il faut au moins un service : ajoutez-en un avant d'enregistrer.")
        return False
    try:
        ContactList.model_validate({"updated": updated, "contacts": contacts})
    except ValidationError as exc:
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, ItemError) and cause.index < len(form.services):
                form.services[cause.index].errors.setdefault("name", str(cause))
            else:
                form.errors.append(str(cause or error["msg"]))
        return False
    return True


def _attach(service: ServiceForm, problem: Problem) -> None:
    field_name = next((name for name, code in _FIELD_CODES.items() if code == problem.line),
                      "name")
    service.errors.setdefault(field_name, problem.message)


def check_file_text(text: str, path: Path) -> list[str]:
    """What `flyer build` would say about this contacts.yaml text (empty: it loads).

    The last gate before writing: the new text is read back exactly as the CLI reads it.
    """
    from flyer.load import parse_yaml, validate
    from flyer.model import ContactList

    try:
        data, lines = parse_yaml(text, path)
        validate(ContactList, data, path, lines)
    except FlyerError as exc:
        return [problem_text(p) for p in exc.problems]
    return []


def problem_text(problem: Problem) -> str:
    """A problem for a page: the file's name and line, never a folder of the server."""
    where = ""
    if problem.path is not None:
        where = problem.path.name
        if problem.line is not None:
            where += f", ligne {problem.line}"
        where += " : "
    what = f"{problem.field} : " if problem.field else ""
    return f"{where}{what}{problem.message}"


# --- the letter -----------------------------------------------------------------------

@dataclass
class LetterForm:
    lang: str
    title: str = ""
    headline: str = ""
    call_to_action: str = ""
    body: str = ""
    reviewed: bool | None = None  # None: the letter has no `review:` (nothing to tick)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def letter_from_file(text: str, path: Path, lang: str) -> LetterForm:
    from flyer.load import split_front_matter

    front, body, _ = split_front_matter(text, path)
    data = _front(front)
    review = data.get("review")
    return LetterForm(lang, title=_text(data.get("title")), headline=_text(data.get("headline")),
                      call_to_action=_text(data.get("call_to_action")),
                      body=body.lstrip("\r\n"),
                      reviewed=None if review is None else str(review) == "done")


def _front(front: str) -> Mapping[str, Any]:
    from flyer.web.store import load_roundtrip

    data = load_roundtrip(front) if front.strip() else None
    return data if isinstance(data, Mapping) else {}


def letter_from_post(form: Mapping[str, Any], lang: str, had_review: bool) -> LetterForm:
    return LetterForm(
        lang, title=_clean(form.get("title")), headline=_clean(form.get("headline")),
        call_to_action=_clean(form.get("call_to_action")),
        body=str(form.get("body") or "").replace("\r\n", "\n"),
        reviewed=(form.get("reviewed") == "1") if had_review else None)


def letter_values(letter: LetterForm) -> dict[str, str | None]:
    """The front-matter keys to write (review only when the file has one)."""
    values: dict[str, str | None] = {
        "title": letter.title, "headline": letter.headline,
        "call_to_action": letter.call_to_action}
    if letter.reviewed is not None:
        values["review"] = "done" if letter.reviewed else "pending"
    return values


def validate_letter(letter: LetterForm, text: str, path: Path) -> bool:
    """Read the letter `text` as `flyer build` would; attach refusals to their fields."""
    from flyer.load import parse_yaml, split_front_matter, validate
    from flyer.model import Letter

    try:
        front, body, first_line = split_front_matter(text, path)
        data, lines = parse_yaml(front, path, first_line)
        validate(Letter, data or {}, path, lines, lang=letter.lang, body=body.strip())
    except FlyerError as exc:
        for problem in exc.problems:
            name = problem.field if problem.field in (*LETTER_FIELDS, "body") else None
            if name is not None:
                letter.errors.setdefault(name, problem.message)
            else:
                letter.general.append(problem_text(problem))
        return False
    return True


# --- files as the pages read them ---------------------------------------------------

def decode(raw: bytes) -> tuple[bytes, str]:
    """(BOM or b"", text) of a data file: a BOM Notepad added is kept as it was."""
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    return bom, raw[len(bom):].decode("utf-8")


def updated_of(data: Any) -> dt.date | None:
    from flyer.model import parse_date

    try:
        return parse_date(data.get("updated"))
    except ValueError:
        return None


def is_stale(updated: dt.date | None) -> bool:
    from flyer.load import STALE_AFTER_DAYS

    return updated is None or (dt.date.today() - updated).days > STALE_AFTER_DAYS


LETTER_LABELS = {"title": "Titre", "headline": "Message", "call_to_action": "Appel à agir",
                 "body": "Texte de la lettre"}

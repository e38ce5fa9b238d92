"""Reading `data/` into the model, and mapping every mistake back to its file and line.

YAML is composed, not constructed: every scalar stays the string the person typed
(PyYAML's resolver would turn `056331247` into an octal integer and `NO` into False),
duplicated keys and aliases are refused, and each value's line is remembered so that
a validation error can point at it.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from flyer.errors import FlyerError, Problem
from flyer.model import Campaign, ContactList, Letter

MAX_DATA_BYTES = 1_000_000
STALE_AFTER_DAYS = 365

Location = tuple[str | int, ...]
Lines = dict[Location, int]

FIELD_LABELS = {
    "name": "nom",
    "phone": "téléphone",
    "email": "courriel",
    "description": "description",
    "updated": "updated",
    "contacts": "contacts",
}


def read_text(path: Path) -> str:
    """A data file's text, UTF-8 (with or without BOM), size-capped."""
    try:
        size = path.stat().st_size
    except OSError:
        raise FlyerError("fichier introuvable", path) from None
    if size > MAX_DATA_BYTES:
        raise FlyerError(f"fichier trop gros ({size // 1000} ko, maximum 1000 ko)", path)
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FlyerError(
            "le fichier n'est pas en UTF-8 ; enregistrez-le en « UTF-8 » dans votre éditeur",
            path,
            line,
        ) from None


def parse_yaml(text: str, path: Path, first_line: int = 1) -> tuple[Any, Lines]:
    """YAML → plain dicts, lists and strings, plus the line of every key and item."""
    offset = first_line - 1
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise FlyerError(
                    "les ancres et alias YAML (& et *) ne sont pas acceptés ; "
                    "recopiez le texte à chaque endroit",
                    path,
                    event.start_mark.line + 1 + offset if event.start_mark else None,
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        raise FlyerError(
            f"syntaxe YAML incorrecte ({exc.problem or exc.context}) ; vérifiez l'indentation "
            "et mettez entre guillemets un texte qui contient « : » ou « # »",
            path,
            line,
        ) from None
    except yaml.YAMLError as exc:
        raise FlyerError(f"syntaxe YAML incorrecte ({exc})", path) from None
    lines: Lines = {}
    if node is None:
        return None, lines
    return _plain(node, (), lines, path, offset), lines


def _plain(node: yaml.Node, loc: Location, lines: Lines, path: Path, offset: int) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.ScalarNode):
        # An empty plain value (`email:`) means "not given"; everything else stays as typed.
        if node.style is None and node.value in ("", "~", "null", "Null", "NULL"):
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*loc, i), lines, path, offset) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1 + offset
            if key is None:
                raise FlyerError("une clé doit être un simple mot", path, key_line)
            if key in result:
                raise FlyerError(
                    f"la clé « {key} » apparaît deux fois (déjà ligne {lines[(*loc, key)]}) ; "
                    "gardez-en une seule",
                    path,
                    key_line,
                )
            lines[(*loc, key)] = key_line
            result[key] = _plain(value_node, (*loc, key), lines, path, offset)
        return result
    raise FlyerError("structure YAML inattendue", path, node.start_mark.line + 1 + offset)


def validate(
    model: type[BaseModel], data: Any, path: Path, lines: Lines, **extra: Any
) -> Any:
    """Validate `data` against `model`; every error becomes a `Problem` at its line."""
    if not isinstance(data, dict):
        raise FlyerError("le fichier doit contenir des clés « clé: valeur »", path, 1)
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        problems = [_problem(model, err, path, lines, data) for err in exc.errors()]
        raise FlyerError(problems=problems) from None


def _line_for(loc: Location, lines: Lines) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _field_name(loc: Location, data: Any) -> str:
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and isinstance(
                node[part], dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''} n°{part + 1}" + (
                f" ({name})" if name else "")]
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(FIELD_LABELS.get(part, part))
            node = node.get(part) if isinstance(node, dict) else None
    return ", ".join(p.strip() for p in parts)


def _problem(
    model: type[BaseModel], err: Any, path: Path, lines: Lines, data: Any
) -> Problem:
    loc: Location = tuple(err["loc"])
    kind = err["type"]
    # Keys of a description mapping are languages, not fields: report them at the description.
    if kind == "value_error":
        message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"vouliez-vous dire « {close[0]} » ?" if close else (
            "clés possibles : " + ", ".join(allowed))
        message = f"clé inconnue « {key} » ; {hint}"
    elif kind == "missing":
        key = str(loc[-1])
        message = f"champ obligatoire manquant : ajoutez « {key}: … »"
        loc_line = _line_for(loc[:-1], lines)
        return Problem(message, path, loc_line, _field_name(loc[:-1], data) or None)
    elif kind in ("string_type", "str_type"):
        message = "doit être un texte simple, pas une liste ni un bloc de clés"
    elif kind in ("list_type",):
        message = "doit être une liste (une ligne « - » par élément)"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        message = "doit être un bloc de clés « clé: valeur »"
    elif kind == "too_short":
        message = "ne peut pas être vide"
    elif kind == "string_too_long":
        message = f"trop long (maximum {err['ctx']['max_length']} caractères)"
    elif kind == "literal_error":
        message = f"valeur non reconnue ; valeurs possibles : {err['ctx']['expected']}"
    else:
        message = err["msg"]
    return Problem(message, path, _line_for(loc, lines), _field_name(loc, data) or None)


def _allowed_keys(model: type[BaseModel], loc: Location) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in args if hasattr(a, "model_fields")), annotation)
    return [name for name in getattr(current, "model_fields", {}) if name != "lang"]


def load_contacts(data_dir: Path) -> ContactList:
    """`contacts.yaml` (or, for the data issue's Excel route, `contacts.csv`) → ContactList."""
    path = data_dir / "contacts.yaml"
    if not path.is_file():
        raise FlyerError("fichier des contacts introuvable (contacts.yaml)", data_dir)
    data, lines = parse_yaml(read_text(path), path)
    contacts: ContactList = validate(ContactList, data, path, lines)
    return contacts


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Markdown with `---` front matter → (yaml, body, line where the yaml starts)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise FlyerError(
            "la lettre doit commencer par un bloc « --- » (titre, headline, call_to_action)",
            path,
            1,
        )
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), 2
    raise FlyerError("le bloc « --- » du début n'est jamais fermé par « --- »", path, 1)


def load_letter(path: Path, lang: str) -> Letter:
    """`letter.<lang>.md` → Letter (front matter validated, body kept as Markdown)."""
    front, body, first_line = split_front_matter(read_text(path), path)
    data, lines = parse_yaml(front, path, first_line)
    if data is None:
        data = {}
    letter: Letter = validate(Letter, data, path, lines, lang=lang, body=body.strip())
    return letter


def available_languages(data_dir: Path) -> list[str]:
    """Languages that have a `letter.<lang>.md`, French first."""
    langs = sorted(p.name.split(".")[1] for p in data_dir.glob("letter.*.md"))
    return sorted(langs, key=lambda lang: (lang != "fr", lang))


def load_campaign(
    data_dir: Path, langs: list[str] | None = None, today: dt.date | None = None
) -> Campaign:
    """All of `data/`: contacts and the letters of `langs` (default: every language found)."""
    if not data_dir.is_dir():
        raise FlyerError("dossier de données introuvable", data_dir)
    known = available_languages(data_dir)
    wanted = langs or known
    problems: list[Problem] = []
    contacts: ContactList | None = None
    try:
        contacts = load_contacts(data_dir)
    except FlyerError as exc:
        problems.extend(exc.problems)
    letters: dict[str, Letter] = {}
    for lang in wanted:
        path = data_dir / f"letter.{lang}.md"
        if lang not in known:
            problems.append(Problem(
                f"pas de lettre pour la langue « {lang} » ; langues disponibles : "
                + (", ".join(known) or "aucune"), path))
            continue
        try:
            letters[lang] = load_letter(path, lang)
        except FlyerError as exc:
            problems.extend(exc.problems)
    if problems or contacts is None:
        raise FlyerError(problems=problems)
    campaign = Campaign(contacts=contacts, letters=letters)
    campaign.sources = [data_dir / "contacts.yaml", *(data_dir / f"letter.{x}.md" for x in letters)]
    campaign.warnings = _warnings(campaign, data_dir, today or dt.date.today())
    return campaign


def _warnings(campaign: Campaign, data_dir: Path, today: dt.date) -> list[Problem]:
    warnings: list[Problem] = []
    updated = campaign.contacts.updated
    if (today - updated).days > STALE_AFTER_DAYS:
        warnings.append(Problem(
            f"les coordonnées datent du {updated:%d/%m/%Y} : vérifiez-les avant d'imprimer",
            data_dir / "contacts.yaml"))
    for lang, letter in campaign.letters.items():
        if letter.review == "pending":
            warnings.append(Problem(
                f"la traduction « {lang} » n'a pas encore été relue par une personne "
                "de langue maternelle (review: pending)", data_dir / f"letter.{lang}.md"))
        missing = [c.name for c in campaign.contacts.contacts
                   if c.description and lang not in c.description]
        if lang != "fr" and missing:
            warnings.append(Problem(
                f"description en « {lang} » manquante pour : {', '.join(missing)} "
                "(le texte français sera imprimé)", data_dir / "contacts.yaml"))
    return warnings

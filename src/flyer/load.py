"""Reading `data/` into the model, and mapping every mistake back to its file and line.

YAML is composed, not constructed: every scalar stays the string the person typed
(PyYAML's resolver would turn `056331247` into an octal integer and `NO` into False),
duplicated keys and aliases are refused, and each value's line is remembered so that
a validation error can point at it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import io
import re
import unicodedata
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from phonenumbers import shortnumberinfo
from pydantic import BaseModel, ValidationError

from flyer.errors import FlyerError, Problem
from flyer.model import (
    REGION,
    Campaign,
    ContactList,
    ItemError,
    Letter,
    parse_date,
    parse_phone,
)

MAX_DATA_BYTES = 1_000_000
STALE_AFTER_DAYS = 365

Location = tuple[str | int, ...]
Lines = dict[Location, int]

YAML_PROBLEMS = {
    "mapping values are not allowed": "un « : » de trop sur cette ligne ; mettez le texte "
    "entre guillemets (name: \"Accueil : 9 h\") ou vérifiez l'indentation",
    "could not find expected ':'": "il manque « : » après le nom du champ (name: …)",
    "found unexpected end of stream": "un guillemet ouvert n'est jamais fermé",
    "while scanning a quoted scalar": "un guillemet ouvert n'est jamais fermé",
    "expected <block end>": "l'indentation de cette ligne ne correspond pas à celle du bloc ; "
    "alignez-la sur les lignes du même service",
    "did not find expected '-' indicator": "l'indentation de cette ligne ne correspond pas à "
    "celle de la liste ; alignez les « - » les uns sous les autres",
}
ITEM_LABELS = {"contacts": "service"}
MISSING_EXAMPLES = {
    "name": "« name: Nom du service »",
    "phone": '« phone: "056/39 16 20" »',
    "updated": "« updated: 2016-09-13 » (la date où vous avez vérifié les coordonnées)",
    "contacts": "« contacts: » puis une ligne « - name: … » par service",
}

FIELD_LABELS = {
    "name": "nom",
    "phone": "téléphone",
    "email": "courriel",
    "description": "description",
    "updated": "updated",
    "contacts": "contacts",
}


def read_bytes(path: Path) -> bytes:
    """A data file's bytes, refused past MAX_DATA_BYTES (a data file is a few kB)."""
    try:
        size = path.stat().st_size
    except OSError:
        raise FlyerError("fichier introuvable", path) from None
    if size > MAX_DATA_BYTES:
        raise FlyerError(f"fichier trop gros ({size // 1000} ko, maximum 1000 ko)", path)
    return path.read_bytes()


def read_text(path: Path) -> str:
    """A data file's text, UTF-8 (with or without BOM), size-capped."""
    raw = read_bytes(path)
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
        raise FlyerError(_yaml_syntax_message(exc), path, line) from None
    except yaml.YAMLError as exc:
        raise FlyerError(f"syntaxe YAML incorrecte ({exc})", path) from None
    lines: Lines = {}
    if node is None:
        return None, lines
    return _plain(node, (), lines, path, offset), lines


def _yaml_syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's English diagnosis → what to change, in French."""
    problem = exc.problem or exc.context or ""
    if "'\\t'" in problem:
        return ("une tabulation est utilisée pour décaler la ligne ; YAML n'accepte que des "
                "espaces : remplacez la tabulation par des espaces")
    for english, french in YAML_PROBLEMS.items():
        if english in problem or english in (exc.context or ""):
            return f"syntaxe YAML incorrecte : {french}"
    return (f"syntaxe YAML incorrecte ({problem}) ; vérifiez l'indentation et mettez entre "
            "guillemets un texte qui contient « : » ou « # »")


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
    model: type[BaseModel], data: Any, path: Path, lines: Lines,
    labels: dict[str, str] | None = None, **extra: Any
) -> Any:
    """Validate `data` against `model`; every error becomes a `Problem` at its line.

    `labels` (for a CSV) maps field names to the column headers as the file writes them.
    """
    if data is None:
        needed = [name for name, f in model.model_fields.items()
                  if f.is_required() and name not in extra]
        raise FlyerError(f"le fichier est vide ; il doit contenir au moins : {', '.join(needed)}",
                         path, 1)
    if not isinstance(data, dict):
        raise FlyerError("le fichier doit contenir des clés « clé: valeur »", path, 1)
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        errors = exc.errors()
        # `contact:` for `contacts:` is one mistake: the "did you mean" says it all, so the
        # missing `contacts` is not reported as well.
        guessed = {(tuple(e["loc"][:-1]), close) for e in errors
                   if e["type"] == "extra_forbidden"
                   for close in difflib.get_close_matches(
                       str(e["loc"][-1]), _allowed_keys(model, tuple(e["loc"][:-1])),
                       n=1, cutoff=0.6)}
        problems = [_problem(model, err, path, lines, data, labels) for err in errors
                    if not (err["type"] == "missing"
                            and (tuple(err["loc"][:-1]), err["loc"][-1]) in guessed)]
        raise FlyerError(problems=problems) from None


def _line_for(loc: Location, lines: Lines) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _field_name(loc: Location, data: Any, labels: dict[str, str] | None = None) -> str:
    if labels is not None:
        # A CSV row is already named by its line: the column is all the reader needs.
        return next((labels.get(str(p), str(p)) for p in reversed(loc)
                     if isinstance(p, str) and p != "contacts"), "")
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and isinstance(
                node[part], dict) else None
            # `contacts n°3` reads oddly in French: a list item of contacts is a service.
            item = ITEM_LABELS.get(parts[-1], parts[-1]) if parts else ""
            parts[-1:] = [f"{item} n°{part + 1}" + (f" ({name})" if name else "")]
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(FIELD_LABELS.get(part, part))
            node = node.get(part) if isinstance(node, dict) else None
    return ", ".join(p.strip() for p in parts)


def _problem(
    model: type[BaseModel], err: Any, path: Path, lines: Lines, data: Any,
    labels: dict[str, str] | None = None,
) -> Problem:
    loc: Location = tuple(err["loc"])
    kind = err["type"]
    # Keys of a description mapping are languages, not fields: report them at the description.
    if kind == "value_error":
        error = err.get("ctx", {}).get("error")
        message = str(error) if error is not None else err["msg"]
        if isinstance(error, ItemError):
            first_line = lines.get((*loc, error.same_as)) if error.same_as is not None else None
            if first_line is not None:
                message = f"ce service est déjà ligne {first_line} ; gardez-le une seule fois"
            loc = (*loc, error.index)
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"vouliez-vous dire « {close[0]} » ?" if close else (
            "clés possibles : " + ", ".join(allowed))
        message = f"clé inconnue « {key} » ; {hint}"
        return Problem(message, path, _line_for(loc, lines),
                       _field_name(loc[:-1], data, labels) or None)
    elif kind == "missing":
        key = str(loc[-1])
        if labels is not None and key == "updated":
            message = (
                "date de vérification introuvable ; ajoutez une colonne « mis à jour » "
                "(13/09/2016) ou une première ligne « mis à jour;13/09/2016 »")
            return Problem(message, path, 1)
        if labels is not None:
            column = labels.get(key, FIELD_LABELS.get(key, key))
            return Problem(f"cellule vide ; remplissez la colonne « {column} »", path,
                           _line_for(loc[:-1], lines), column)
        label = FIELD_LABELS.get(key, key)
        example = MISSING_EXAMPLES.get(key, f"« {key}: … »")
        named = f"« {key} »" if key == label else f"« {key} » ({label})"
        message = f"le champ obligatoire {named} manque ; ajoutez {example}"
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
    return Problem(message, path, _line_for(loc, lines), _field_name(loc, data, labels) or None)


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


def contacts_path(data_dir: Path) -> Path:
    """The one contacts file of `data_dir`: `contacts.yaml` or `contacts.csv`, never both."""
    yaml_path, csv_path = data_dir / "contacts.yaml", data_dir / "contacts.csv"
    if yaml_path.is_file() and csv_path.is_file():
        raise FlyerError(
            "contacts.yaml et contacts.csv sont tous les deux présents ; gardez-en un seul "
            "(supprimez ou renommez l'autre) pour savoir lequel imprimer",
            data_dir,
        )
    if csv_path.is_file():
        return csv_path
    if yaml_path.is_file():
        return yaml_path
    raise FlyerError(
        "fichier des contacts introuvable : ajoutez contacts.yaml ou contacts.csv", data_dir
    )


def load_contacts(data_dir: Path) -> tuple[ContactList, Path, list[Problem]]:
    """`contacts.yaml` or `contacts.csv` → (ContactList, the file read, warnings)."""
    path = contacts_path(data_dir)
    if path.suffix == ".csv":
        return load_contacts_csv(path)
    data, lines = parse_yaml(read_text(path), path)
    contacts: ContactList = validate(ContactList, data, path, lines)
    return contacts, path, []


# --- contacts.csv, as Excel exports it ------------------------------------------------

# Normalised header (lower case, no accents, words separated by one space) → field.
CSV_COLUMNS = {
    "nom": "name", "name": "name", "service": "name", "nom du service": "name",
    "telephone": "phone", "tel": "phone", "phone": "phone", "numero": "phone",
    "numero de telephone": "phone", "gsm": "phone",
    "courriel": "email", "e mail": "email", "email": "email", "mail": "email",
    "adresse courriel": "email", "adresse e mail": "email", "adresse mail": "email",
    "description": "description.fr", "description fr": "description.fr",
    "description nl": "description.nl", "beschrijving": "description.nl",
    "mis a jour": "updated", "mis a jour le": "updated", "updated": "updated",
    "date": "updated", "verifie le": "updated", "date de mise a jour": "updated",
}
CSV_HEADERS_SHOWN = "nom, téléphone, courriel, description, description nl, mis à jour"
_EXCEL_FLOAT = re.compile(r"^\d+(?:[.,]\d+)?E\+?\d+$", re.IGNORECASE)
_PHONE_DIGITS = re.compile(r"^[1-9][0-9 ./\-]*$")


def normalise_header(header: str) -> str:
    """`Téléphone :`, `E-mail`, `description_NL` → `telephone`, `e mail`, `description nl`."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def decode_csv(raw: bytes, path: Path) -> str:
    """Excel's encodings: UTF-8 (with or without BOM), UTF-16 (« texte Unicode »), Windows-1252."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FlyerError(
            "encodage du fichier non reconnu ; dans Excel, choisissez « Enregistrer sous » → "
            "« CSV UTF-8 (délimité par des virgules) »",
            path,
            line,
        ) from None


def _sniff_delimiter(text: str) -> str:
    """`;` (Excel in Belgium), `,` or tab: whichever the header line has most of."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """Every record with the line it starts on (a quoted cell may span several lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        rows.append((start, [cell.strip() for cell in row]))
        start = reader.line_num + 1
    return rows


def _fix_dropped_prefix(value: str) -> str | None:
    """What Excel removed from a phone typed as a number: the 0 of `056 39 16 20`, or the
    `+` of `+32 56 39 16 20` (read as a positive sign). None when nothing is missing."""
    if not _PHONE_DIGITS.match(value):
        return None
    number = None
    with contextlib.suppress(phonenumbers.NumberParseException):
        number = phonenumbers.parse(value, REGION)
    if number is not None and shortnumberinfo.is_valid_short_number_for_region(number, REGION):
        return None
    for prefix in ("0", "+") if value.startswith("32") else ("0",):
        try:
            parse_phone(prefix + value)
        except ValueError:
            continue
        return prefix
    return None


def load_contacts_csv(path: Path) -> tuple[ContactList, Path, list[Problem]]:
    """`contacts.csv` → ContactList; every problem of the file reported at its row.

    The date the list was checked comes from a `mis à jour` column (the oldest date
    given wins: the list is only as fresh as its stalest row) or from a line
    `mis à jour;13/09/2016` above the header. Never from the file's modification
    time: a copy or a checkout changes it, and the PDFs must not change with it.
    """
    rows = [(n, r) for n, r in _csv_rows(decode_csv(read_bytes(path), path)) if any(r)]
    if not rows:
        raise FlyerError(
            "le fichier est vide ; la première ligne doit nommer les colonnes "
            f"({CSV_HEADERS_SHOWN})", path, 1)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    updated: tuple[int, str] | None = None
    # A `mis à jour;13/09/2016` line above the header.
    if CSV_COLUMNS.get(normalise_header(rows[0][1][0])) == "updated" and not any(
        CSV_COLUMNS.get(normalise_header(cell)) in ("name", "phone") for cell in rows[0][1]
    ):
        line, cells = rows.pop(0)
        value = next((c for c in cells[1:] if c), "")
        updated = (line, value)
        if not rows:
            raise FlyerError("aucune ligne d'en-tête après la date", path, line)
    header_line, headers = rows.pop(0)
    columns: dict[int, str] = {}
    shown: dict[str, str] = {}
    for index, header in enumerate(headers):
        key = CSV_COLUMNS.get(normalise_header(header))
        if key is None:
            if not header and all(index >= len(r) or not r[index] for _, r in rows):
                continue  # an empty column Excel added at the edge of the table
            close = difflib.get_close_matches(normalise_header(header), list(CSV_COLUMNS),
                                              n=1, cutoff=0.6)
            hint = (f"vouliez-vous dire « {close[0]} » ?" if close
                    else f"colonnes possibles : {CSV_HEADERS_SHOWN}")
            what = f"colonne inconnue « {header} »" if header else (
                f"la colonne {index + 1} n'a pas de titre")
            problems.append(Problem(f"{what} ; {hint}", path, header_line))
            continue
        if key in shown:
            problems.append(Problem(
                f"les colonnes « {shown[key]} » et « {header} » disent la même chose ; "
                "gardez-en une seule", path, header_line))
            continue
        columns[index] = key
        shown[key] = header
    for needed, label in (("name", "nom"), ("phone", "téléphone")):
        if needed not in shown:
            problems.append(Problem(
                f"colonne « {label} » introuvable dans la ligne d'en-tête ; colonnes "
                f"trouvées : {', '.join(h for h in headers if h) or 'aucune'}",
                path, header_line))
    if "name" not in shown or "phone" not in shown:
        raise FlyerError(problems=problems)  # rows cannot be read without these columns
    # Other header problems are reported together with the rows' problems.
    if "updated" in shown and updated is not None:
        problems.append(Problem(
            f"deux dates de mise à jour (ligne {updated[0]} et colonne « {shown['updated']} ») ;"
            " gardez-en une seule", path, header_line))
    contacts: list[dict[str, Any]] = []
    lines: Lines = {(): header_line, ("contacts",): header_line}
    dates: list[tuple[dt.date, int]] = []
    for number, (line, cells) in enumerate(rows):
        contact: dict[str, Any] = {}
        loc = ("contacts", number)
        lines[loc] = line
        for index, key in columns.items():
            value = " ".join(cells[index].split()) if index < len(cells) else ""
            if not value:
                continue
            if key == "updated":
                try:
                    dates.append((parse_date(value), line))
                except ValueError as exc:
                    problems.append(Problem(str(exc), path, line, shown[key]))
                continue
            if key == "phone":
                if _EXCEL_FLOAT.match(value):
                    problems.append(Problem(
                        f"« {value} » : Excel a transformé le numéro en nombre ; "
                        "mettez la colonne au format « Texte » et retapez le numéro",
                        path, line, shown[key]))
                    continue
                prefix = _fix_dropped_prefix(value)
                if prefix is not None:
                    warnings.append(Problem(
                        f"« {value} » : le « {prefix} » du début manquait (Excel l'enlève), "
                        f"le numéro imprimé sera « {prefix}{value} »", path, line, shown[key]))
                    value = prefix + value
            if key.startswith("description."):
                contact.setdefault("description", {})[key.split(".")[1]] = value
                lines[(*loc, "description")] = line
                continue
            contact[key] = value
            lines[(*loc, key)] = line
        contacts.append(contact)
    data: dict[str, Any] = {"contacts": contacts}
    if updated is not None:
        data["updated"] = updated[1] or None
        lines[("updated",)] = updated[0]
    elif dates:
        oldest = min(dates)
        data["updated"] = oldest[0]
        lines[("updated",)] = oldest[1]
    labels = {key.split(".")[0]: header for key, header in shown.items()}
    try:
        result: ContactList = validate(ContactList, data, path, lines, labels=labels)
    except FlyerError as exc:
        # A cell already reported above (an Excel float, a bad date) is not "empty" too.
        said = {(p.line, p.field) for p in problems}
        date_said = any(p.field == shown.get("updated") for p in problems)
        problems.extend(p for p in exc.problems if (p.line, p.field) not in said
                        and not (date_said and p.message.startswith("date de vérification")))
    if problems:
        raise FlyerError(problems=sorted(problems, key=lambda p: p.line or 0))
    return result, path, warnings


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
    contacts_file = data_dir / "contacts.yaml"
    contacts_warnings: list[Problem] = []
    try:
        contacts, contacts_file, contacts_warnings = load_contacts(data_dir)
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
    campaign.sources = [contacts_file, *(data_dir / f"letter.{x}.md" for x in letters)]
    campaign.warnings = contacts_warnings + _warnings(
        campaign, data_dir, contacts_file, today or dt.date.today())
    return campaign


def _warnings(
    campaign: Campaign, data_dir: Path, contacts_file: Path, today: dt.date
) -> list[Problem]:
    warnings: list[Problem] = []
    updated = campaign.contacts.updated
    if (today - updated).days > STALE_AFTER_DAYS:
        warnings.append(Problem(
            f"les coordonnées datent du {updated:%d/%m/%Y} : vérifiez-les avant d'imprimer",
            contacts_file))
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
                "(le texte français sera imprimé)", contacts_file))
    return warnings

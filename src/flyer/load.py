"""Reading `data/` into the model, and mapping every mistake back to its file and line.

YAML is composed, not constructed: every scalar stays the string the person typed
(PyYAML's resolver would turn `056331247` into an octal integer and `NO` into False),
duplicated keys and aliases are refused, and each value's line is remembered so that
a validation error can point at it. A YAML syntax error is reported where the mistake
is (the line a quote opens, the line missing its `- `), not where PyYAML gave up.

The contacts come from `contacts.yaml`, `contacts.csv` or `contacts.xlsx` (one of them);
the tables are read by `spreadsheet.py`. The French names, spreadsheet headers and
examples of the contact fields are declared on the model (`model.shown_as`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from flyer.errors import FlyerError, Problem
from flyer.files import MAX_DATA_BYTES, read_bytes
from flyer.model import (
    LANG_CODE,
    Campaign,
    Contact,
    ContactList,
    ItemError,
    Letter,
    check_not_future,
    field_texts,
    parse_date,
)
from flyer.spreadsheet import (
    Row,
    match_columns,
    overflow,
    phone_cell,
    read_table,
)
from flyer.spreadsheet import (
    normalise_header as normalise_header,
)

STALE_AFTER_DAYS = 365
# Deeper than any real data file; PyYAML's composer recurses once per level and a file
# nested thousands deep would end in RecursionError.
MAX_YAML_DEPTH = 50
LETTER_NAME = re.compile(r"^letter\.([a-z]{2,3}(?:-[a-z0-9]{2,8})?)\.md$")
CONTACT_FILES = ("contacts.yaml", "contacts.csv", "contacts.xlsx")
# Files people may have instead of the ones read, and what to do with each.
CONTACT_LOOKALIKES = {
    "contacts.yml": "renommez-le contacts.yaml",
    "contacts.ods": "ouvrez-le dans LibreOffice et faites « Fichier → Enregistrer sous → "
    "Classeur Excel (.xlsx) ou CSV UTF-8 »",
    "contacts.xls": "ouvrez-le dans Excel et faites « Fichier → Enregistrer sous → "
    "Classeur Excel (.xlsx) ou CSV UTF-8 »",
    "contacts.numbers": "dans Numbers, faites « Fichier → Exporter vers → Excel (.xlsx) »",
    "contacts.txt": "renommez-le contacts.csv s'il s'agit d'un export CSV",
}

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
    "expected a single document": "une ligne « --- » coupe le fichier en deux ; retirez-la "
    "(« --- » sert seulement à entourer l'en-tête d'une lettre)",
}
ITEM_LABELS = {"contacts": "service"}

# --- the contact fields' names and examples, from the model --------------------------------

_CONTACT_TEXTS = {**field_texts(ContactList), **field_texts(Contact)}
FIELD_LABELS = {name: text.label for name, text in _CONTACT_TEXTS.items()}
MISSING_EXAMPLES = {name: text.example for name, text in _CONTACT_TEXTS.items()
                    if text.example is not None}


def _csv_columns() -> tuple[dict[str, str], str]:
    """Normalised header → field key (`description.nl` for a text per language), and the
    headers suggested to a person, in the order of a spreadsheet's columns."""
    columns: dict[str, str] = {}
    shown: list[str] = []
    for name, text in [*field_texts(Contact).items(), *field_texts(ContactList).items()]:
        if name == "contacts":
            continue
        key = f"{name}.fr" if text.columns_by_lang is not None else name
        shown.append(text.columns[0])
        for column in text.columns:
            columns.setdefault(normalise_header(column), key)
        for lang, headers in (text.columns_by_lang or {}).items():
            shown.append(f"{text.columns[0]} {lang}")
            for column in (f"{text.columns[0]} {lang}", *headers):
                columns.setdefault(normalise_header(column), f"{name}.{lang}")
    return columns, ", ".join(shown)


CSV_COLUMNS, CSV_HEADERS_SHOWN = _csv_columns()
# Fields given as one text per language: a `<column> <lang>` header fills that language.
_PER_LANGUAGE = {normalise_header(text.columns[0]): name
                 for name, text in field_texts(Contact).items() if text.columns_by_lang}


def read_text(path: Path, limit: int = MAX_DATA_BYTES) -> str:
    """A data file's text, UTF-8 (with or without BOM), size-capped."""
    return decode_utf8(read_bytes(path, limit), path)


def decode_utf8(raw: bytes, path: Path) -> str:
    """A file's bytes as UTF-8 text (with or without BOM), or the line that is not."""
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
    data, lines, _ = parse_yaml_with_warnings(text, path, first_line)
    return data, lines


def parse_yaml_with_warnings(
    text: str, path: Path, first_line: int = 1
) -> tuple[Any, Lines, list[Problem]]:
    """`parse_yaml`, plus the warnings of the text (a `#` that cut a value short)."""
    offset = first_line - 1
    try:
        node = _compose(text, path, offset, _FAST_LOADER)
    except yaml.YAMLError:
        # libyaml found a mistake: the pure-Python parser says the same, with the context
        # the messages below read (and, with it, at the same line).
        node = _compose(text, path, offset, yaml.SafeLoader)
    lines: Lines = {}
    warnings: list[Problem] = []
    if node is None:
        return None, lines, warnings
    return _plain(node, (), lines, _Source(text, path, offset, warnings)), lines, warnings


# libyaml when PyYAML was built with it: the same YAML, parsed ~10 times faster.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, path: Path, offset: int, loader: Any) -> Any:
    """The YAML node tree of `text`, refusing aliases and runaway nesting first."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 + offset if event.start_mark else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise FlyerError(
                    "les ancres et alias YAML (& et *) ne sont pas acceptés ; "
                    "recopiez le texte à chaque endroit",
                    path,
                    line,
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise FlyerError(
                        f"plus de {MAX_YAML_DEPTH} niveaux imbriqués : ce n'est pas un fichier "
                        "de données flyer ; vérifiez l'indentation et les crochets « [ »",
                        path, line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.compose(text, Loader=loader)
    except FlyerError:
        raise
    except yaml.YAMLError as exc:
        if loader is not yaml.SafeLoader:
            raise
        error = exc  # only the pure-Python parser words its mistakes: said below
    except Exception:  # a parser fault on odd bytes: said like any YAML mistake
        if loader is not yaml.SafeLoader:
            raise yaml.YAMLError from None
        raise FlyerError("syntaxe YAML incorrecte ; vérifiez l'indentation et les guillemets",
                         path) from None
    if isinstance(error, yaml.MarkedYAMLError):
        line, message = _yaml_syntax(error, text)
        raise FlyerError(message, path, line + offset if line is not None else None) from None
    if isinstance(error, yaml.reader.ReaderError):
        # A control character (NUL, BEL…) pasted from another program.
        at = text[: error.position].count("\n") + 1 + offset
        code = (error.character if isinstance(error.character, int)
                else ord(error.character[:1] or " "))
        raise FlyerError(f"caractère invisible interdit (code U+{code:04X}) sur cette "
                         "ligne ; effacez-le et retapez le texte autour", path, at) from None
    raise FlyerError("syntaxe YAML incorrecte ; vérifiez l'indentation et les guillemets",
                     path)


# `key: 'L'Escale'`: a quote of the same kind inside the quoted text ends it early.
_QUOTE_INSIDE = re.compile(r"""^\s*(?:-\s+)?(?P<key>[^\s:#'"][^:#]*?):\s+"""
                           r"""(?P<q>['"])(?P<inner>(?:(?!(?P=q)).)*(?P=q)\S.*?)\s*$""")
_KEY_LINE = re.compile(r"^(?P<indent>\s*)[^\s:#'\"-][^:#]*:(\s|$)")


def _yaml_syntax(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """PyYAML's English diagnosis → (line, what to change in French), at the line where
    the mistake is rather than the line where PyYAML noticed it."""
    raw_lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    line = mark.line if mark is not None else None
    problem = exc.problem or exc.context or ""
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return exc.context_mark.line + 1, (
            "syntaxe YAML incorrecte : le guillemet ouvert sur cette ligne n'est jamais fermé ; "
            "ajoutez le guillemet fermant à la fin du texte")
    if line is not None and line < len(raw_lines):
        quoted = _QUOTE_INSIDE.match(raw_lines[line])
        if quoted is not None:
            key, quote, inner = quoted["key"], quoted["q"], quoted["inner"].rstrip()
            if inner.endswith(quote):
                inner = inner[:-1]
            if quote == "'":
                return line + 1, (
                    "syntaxe YAML incorrecte : une apostrophe à l'intérieur d'un texte entre "
                    f"apostrophes le coupe ; mettez le texte entre guillemets : "
                    f"{key}: \"{inner}\"")
            return line + 1, (
                "syntaxe YAML incorrecte : un guillemet « \" » à l'intérieur d'un texte entre "
                "guillemets le coupe ; mettez le texte entre apostrophes "
                f"({key}: '{inner}') ou utilisez « » dans le texte")
        opened = _unclosed_quote(text, line)
        if opened is not None:
            return opened + 1, (
                "syntaxe YAML incorrecte : le guillemet ouvert sur cette ligne n'est pas fermé "
                f"(YAML lit la suite jusqu'au guillemet suivant, ligne {line + 1}) ; ajoutez "
                "le guillemet fermant à la fin du texte")
        context = exc.context_mark
        key_line = _KEY_LINE.match(raw_lines[line])
        if (exc.context == "while parsing a block collection" and context is not None
                and key_line is not None and len(key_line["indent"]) == context.column):
            return line + 1, (
                "syntaxe YAML incorrecte : il manque sans doute « - » au début de cette ligne ; "
                "chaque service commence par « - name: … », aligné sous les autres « - »")
    if "'\\t'" in problem:
        return _line(line), ("une tabulation est utilisée pour décaler la ligne ; YAML "
                             "n'accepte que des espaces : remplacez la tabulation par des espaces")
    for english, french in YAML_PROBLEMS.items():
        if english in problem or english in (exc.context or ""):
            return _line(line), f"syntaxe YAML incorrecte : {french}"
    return _line(line), ("syntaxe YAML incorrecte ; vérifiez l'indentation et mettez entre "
                         "guillemets un texte qui contient « : » ou « # »")


def _line(zero_based: int | None) -> int | None:
    return zero_based + 1 if zero_based is not None else None


def _unclosed_quote(text: str, error_line: int) -> int | None:
    """The line where a quoted text opens that runs over several lines and ends on the
    line PyYAML stopped at: a quote left open, closed by the next value's opening quote."""
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if (isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
                    and token.start_mark.line != token.end_mark.line
                    and token.end_mark.line == error_line):
                return int(token.start_mark.line)
    except yaml.YAMLError:
        pass
    return None


class _Source:
    """The YAML text being turned into data, for what a node alone does not say."""

    def __init__(self, text: str, path: Path, offset: int, warnings: list[Problem]) -> None:
        self.text, self.path, self.offset, self.warnings = text, path, offset, warnings
        self._lines: list[str] | None = None

    def line(self, mark: yaml.Mark) -> int:
        return int(mark.line) + 1 + self.offset

    def comment_after(self, node: yaml.ScalarNode) -> str | None:
        """The comment on the line where an unquoted value ends (` # …`), if any.

        Read from the mark's line and column (libyaml's and PyYAML's agree on those)."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        mark = node.end_mark
        if mark.line >= len(self._lines):
            return None
        rest = self._lines[mark.line][mark.column:]
        match = re.match(r"\s+#(.*)$", rest)
        return match.group(1).strip() if match else None


def _plain(node: yaml.Node, loc: Location, lines: Lines, src: _Source) -> Any:
    lines.setdefault(loc, src.line(node.start_mark))
    if isinstance(node, yaml.ScalarNode):
        if not node.style and node.value:  # plain: None (PyYAML) or "" (libyaml)
            comment = src.comment_after(node)
            if comment is not None:
                # A warning, not an error: an end-of-line comment is legal YAML, and what
                # is left of the value is still valid data. But in « Bureau #2 » the
                # person meant the text, and the leaflet would print « Bureau ».
                kept = node.value if len(node.value) <= 40 else "…" + node.value[-39:]
                src.warnings.append(Problem(
                    f"le texte après « # » est ignoré (« {comment} ») : YAML le lit comme un "
                    f"commentaire, le texte imprimé s'arrête à « {kept} » ; s'il fait "
                    "partie du texte, mettez tout le texte entre guillemets (\"…\") ; si c'est "
                    "un commentaire, mettez-le sur sa propre ligne",
                    src.path, src.line(node.end_mark)))
        # An empty plain value (`email:`) means "not given"; everything else stays as typed.
        if not node.style and node.value in ("", "~", "null", "Null", "NULL"):
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*loc, i), lines, src) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_key: str | None = None
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = src.line(key_node.start_mark)
            if key is None:
                raise FlyerError("une clé doit être un simple mot", src.path, key_line)
            first_key = key if first_key is None else first_key
            if key in result:
                if loc and isinstance(loc[-1], int) and key == first_key:
                    # The key that starts each item, again in the same item: the next
                    # item lost its `- `.
                    item = ITEM_LABELS.get(str(loc[-2]), "élément") if len(loc) > 1 else (
                        "élément")
                    raise FlyerError(
                        f"la clé « {key} » apparaît deux fois dans le même {item} (déjà ligne "
                        f"{lines[(*loc, key)]}) : il manque sans doute « - » au début de cette "
                        f"ligne ; chaque {item} commence par « - {key}: … »",
                        src.path, key_line)
                raise FlyerError(
                    f"la clé « {key} » apparaît deux fois (déjà ligne {lines[(*loc, key)]}) ; "
                    "gardez-en une seule",
                    src.path,
                    key_line,
                )
            lines[(*loc, key)] = key_line
            result[key] = _plain(value_node, (*loc, key), lines, src)
        return result
    raise FlyerError("structure YAML inattendue", src.path, src.line(node.start_mark))


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
        # In file order: pydantic reports in the order of the model's fields.
        raise FlyerError(problems=sorted(problems, key=lambda p: p.line or 0)) from None


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
            if not isinstance(name, str):
                name = None
            elif len(name) > 40:
                name = name[:39] + "…"
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
        message = french_reason(err)
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
            column = _CONTACT_TEXTS["updated"].columns[0]
            message = (
                f"date de vérification introuvable ; ajoutez une colonne « {column} » "
                f"(13/09/2016) ou une première ligne « {column};13/09/2016 »")
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
    else:
        message = french_reason(err)
    return Problem(message, path, _line_for(loc, lines), _field_name(loc, data, labels) or None)


def french_reason(err: Any) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as what is wrong, in
    French: pydantic's own `msg` is English and never reaches a person."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        error = ctx.get("error")
        return str(error) if error is not None else "valeur refusée"
    if kind in ("string_type", "str_type"):
        return "doit être un texte simple, pas une liste ni un bloc de clés"
    if kind == "list_type":
        return "doit être une liste (une ligne « - » par élément)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "doit être un bloc de clés « clé: valeur »"
    if kind in ("too_short", "string_too_short"):
        return "ne peut pas être vide"
    if kind in ("too_long", "string_too_long"):
        limit = ctx.get("max_length")
        actual = ctx.get("actual_length")
        if actual is None and isinstance(err.get("input"), str | list):
            actual = len(err["input"])
        counted = f"{actual} caractères, " if actual is not None else ""
        return f"trop long ({counted}maximum {limit} caractères) ; raccourcissez le texte"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", " ou ")
        return f"valeur non reconnue ; valeurs possibles : {expected}"
    if kind == "missing":
        return "vide"
    if kind == "extra_forbidden":
        return "champ inconnu"
    if kind.startswith("date"):
        return "n'est pas une date ; écrivez-la 2016-09-13 ou 13/09/2016"
    if kind.startswith(("int", "float", "decimal")):
        return "doit être un nombre"
    if kind.startswith("bool"):
        return "doit valoir oui ou non (true ou false)"
    return "valeur refusée ; vérifiez ce qui est écrit"


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
    """The one contacts file of `data_dir`: `contacts.yaml`, `.csv` or `.xlsx`, never two."""
    present = [name for name in CONTACT_FILES
               if (data_dir / name).exists() or (data_dir / name).is_symlink()]
    if len(present) == 2:
        raise FlyerError(
            f"{present[0]} et {present[1]} sont tous les deux présents ; gardez-en un seul "
            "(supprimez ou renommez l'autre) pour savoir lequel imprimer",
            data_dir,
        )
    if len(present) > 2:
        raise FlyerError(
            f"{', '.join(present[:-1])} et {present[-1]} sont tous présents ; gardez-en un "
            "seul (supprimez ou renommez les autres) pour savoir lequel imprimer",
            data_dir,
        )
    if present:
        # A directory or a device of that name is refused when it is read (files.py).
        return data_dir / present[0]
    for name, advice in CONTACT_LOOKALIKES.items():
        if (data_dir / name).is_file():
            raise FlyerError(f"fichier des contacts introuvable ; {name} n'est pas lu : "
                             f"{advice}", data_dir / name)
    raise FlyerError(
        "fichier des contacts introuvable : ajoutez contacts.yaml, contacts.csv ou "
        "contacts.xlsx", data_dir
    )


def load_contacts(
    data_dir: Path, today: dt.date | None = None
) -> tuple[ContactList, Path, list[Problem]]:
    """`contacts.yaml`, `.csv` or `.xlsx` → (ContactList, the file read, warnings).

    `today` (default: the clock) is what the date the contacts were checked must not be
    after.
    """
    path = contacts_path(data_dir)
    today = today or dt.date.today()
    if path.suffix in (".csv", ".xlsx"):
        return load_contacts_table(path, today)
    data, lines, warnings = parse_yaml_with_warnings(read_text(path), path)
    contacts: ContactList = validate(ContactList, data, path, lines)
    try:
        check_not_future(contacts.updated, today)
    except ValueError as exc:
        raise FlyerError(str(exc), path, lines.get(("updated",)),
                         field=FIELD_LABELS["updated"]) from None
    return contacts, path, warnings


# --- contacts.csv / contacts.xlsx, as Excel writes them ---------------------------------

def _aliases(header: Row) -> dict[str, str]:
    """CSV_COLUMNS, plus `description de`, `description pt-br`… for any language code."""
    aliases = dict(CSV_COLUMNS)
    for index in range(len(header.cells)):
        words = normalise_header(header.text(index)).split(" ", 1)
        if len(words) == 2 and words[0] in _PER_LANGUAGE:
            lang = words[1].replace(" ", "-")
            if LANG_CODE.match(lang):
                aliases.setdefault(" ".join(words), f"{_PER_LANGUAGE[words[0]]}.{lang}")
    return aliases


def load_contacts_table(
    path: Path, today: dt.date | None = None
) -> tuple[ContactList, Path, list[Problem]]:
    """`contacts.csv` or `contacts.xlsx` → ContactList; every problem reported at its row.

    The date the list was checked comes from a `mis à jour` column (the oldest date
    given wins: the list is only as fresh as its stalest row) or from a line
    `mis à jour;13/09/2016` above the header. Never from the file's modification
    time: a copy or a checkout changes it, and the PDFs must not change with it.
    """
    today = today or dt.date.today()
    table = read_table(path)
    rows = list(table.rows)
    if not rows:
        raise FlyerError(
            "le fichier est vide ; la première ligne doit nommer les colonnes "
            f"({CSV_HEADERS_SHOWN})", path, 1)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    updated: tuple[int, Any] | None = None
    # A `mis à jour;13/09/2016` line above the header.
    first = rows[0]
    if CSV_COLUMNS.get(normalise_header(first.text(0))) == "updated" and not any(
        CSV_COLUMNS.get(normalise_header(first.text(i))) in ("name", "phone")
        for i in range(len(first.cells))
    ):
        rows.pop(0)
        value = next((c for c in first.cells[1:] if c), "")
        updated = (first.line, value)
        if not rows:
            raise FlyerError("aucune ligne d'en-tête après la date", path, first.line)
    header = rows.pop(0)
    columns = match_columns(table, header, _aliases(header), CSV_HEADERS_SHOWN, rows)
    problems.extend(columns.problems)
    shown = columns.shown
    for needed in ("name", "phone"):
        if needed not in shown:
            label = _CONTACT_TEXTS[needed].columns[0]
            problems.append(Problem(
                f"colonne « {label} » introuvable dans la ligne d'en-tête ; colonnes "
                f"trouvées : {', '.join(h for h in columns.headers if h) or 'aucune'}",
                path, header.line))
    if "name" not in shown or "phone" not in shown:
        raise FlyerError(problems=problems)  # rows cannot be read without these columns
    # Other header problems are reported together with the rows' problems.
    if "updated" in shown and updated is not None:
        problems.append(Problem(
            f"deux dates de mise à jour (ligne {updated[0]} et colonne « {shown['updated']} ») ;"
            " gardez-en une seule", path, header.line))
    contacts: list[dict[str, Any]] = []
    lines: Lines = {(): header.line, ("contacts",): header.line}
    dates: list[tuple[dt.date, int]] = []
    skipped = False
    for row in rows:
        spilled = overflow(table, row, columns, "une description")
        if spilled is not None:
            problems.append(spilled)
            if table.delimiter is not None:
                # The cells after the separator would land in the next columns (the Dutch
                # description, the date): nothing of this CSV row can be trusted. In a
                # workbook it is a note typed beside the table: the row itself is fine.
                skipped = True
                continue
        contact: dict[str, Any] = {}
        loc = ("contacts", len(contacts))
        lines[loc] = row.line
        for index, key in columns.fields.items():
            value = row.text(index)
            if not value:
                continue
            if key == "updated":
                try:
                    date = check_not_future(parse_date(row.cells[index]), today)
                except ValueError as exc:
                    problems.append(Problem(str(exc), path, row.line, shown[key]))
                else:
                    dates.append((date, row.line))
                continue
            if key == "phone":
                try:
                    value, fixed = phone_cell(value)
                except ValueError as exc:
                    problems.append(Problem(str(exc), path, row.line, shown[key]))
                    continue
                if fixed is not None:
                    warnings.append(Problem(fixed, path, row.line, shown[key]))
            if "." in key:
                field, lang = key.split(".", 1)
                contact.setdefault(field, {})[lang] = value
                lines[(*loc, field)] = row.line
                continue
            contact[key] = value
            lines[(*loc, key)] = row.line
        contacts.append(contact)
    data: dict[str, Any] = {"contacts": contacts}
    if updated is not None:
        data["updated"] = updated[1] or None
        lines[("updated",)] = updated[0]
        if updated[1]:
            try:
                check_not_future(parse_date(updated[1]), today)
            except ValueError as exc:
                problems.append(Problem(str(exc), path, updated[0]))
                del data["updated"]  # said once, not again as "not a date"
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
        date_said = any(p.field == shown.get("updated") or p.line == (updated or (0,))[0]
                        for p in problems)
        problems.extend(p for p in exc.problems if (p.line, p.field) not in said
                        and not ((date_said or skipped)
                                 and p.message.startswith("date de vérification"))
                        and not (skipped and p.line == header.line and p.field is None))
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
    return _load_letter(path, lang)[0]


def _load_letter(path: Path, lang: str) -> tuple[Letter, list[Problem]]:
    front, body, first_line = split_front_matter(read_text(path), path)
    data, lines, warnings = parse_yaml_with_warnings(front, path, first_line)
    if data is None:
        data = {}
    letter: Letter = validate(Letter, data, path, lines, lang=lang, body=body.strip())
    return letter, warnings


def available_languages(data_dir: Path) -> list[str]:
    """Languages that have a `letter.<lang>.md`, French first. Only that exact name
    counts: `letter.de.old.md` or `letter.fr.md.bak` are left alone."""
    langs = sorted(match.group(1) for p in data_dir.iterdir()
                   if (match := LETTER_NAME.match(p.name)))
    return sorted(langs, key=lambda lang: (lang != "fr", lang))


def load_campaign(
    data_dir: Path, langs: list[str] | None = None, today: dt.date | None = None
) -> Campaign:
    """All of `data/`: contacts and the letters of `langs` (default: every language found)."""
    if not data_dir.is_dir():
        raise FlyerError("dossier de données introuvable", data_dir)
    today = today or dt.date.today()
    known = available_languages(data_dir)
    wanted = langs or known
    problems: list[Problem] = []
    contacts: ContactList | None = None
    contacts_file = data_dir / "contacts.yaml"
    warnings: list[Problem] = []
    try:
        contacts, contacts_file, warnings = load_contacts(data_dir, today)
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
            letters[lang], letter_warnings = _load_letter(path, lang)
        except FlyerError as exc:
            problems.extend(exc.problems)
        else:
            warnings.extend(letter_warnings)
    if problems or contacts is None:
        raise FlyerError(problems=problems)
    campaign = Campaign(contacts=contacts, letters=letters)
    campaign.sources = [contacts_file, *(data_dir / f"letter.{x}.md" for x in letters)]
    campaign.warnings = warnings + _warnings(campaign, data_dir, contacts_file, today)
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

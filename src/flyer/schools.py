"""`--schools FILE.csv`: the list of schools, read and checked row by row.

Columns: `school` and `service` (required), `contact`, `phone`, `email` (the school's own
contact person, optional). A bad row — empty school name, a service that is not in
`contacts.yaml`, an invalid phone or email, a school listed twice — is set aside with its
line number and the reason, in French; the other rows go on to the batch. Only a file
that cannot be read as a list of schools at all (no header, missing column) is an error.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from flyer.errors import FlyerError, Problem
from flyer.load import MAX_DATA_BYTES
from flyer.model import School

COLUMNS = ("school", "service", "contact", "phone", "email")
REQUIRED = ("school", "service")
# Headers people type in a French spreadsheet, mapped to the column names.
ALIASES = {
    "ecole": "school", "école": "school", "etablissement": "school", "établissement": "school",
    "centre": "service", "cpms": "service",
    "personne de contact": "contact", "personne": "contact",
    "telephone": "phone", "téléphone": "phone", "tel": "phone", "tél": "phone", "gsm": "phone",
    "courriel": "email", "e-mail": "email", "mail": "email", "adresse": "email",
}
LABELS = {"school": "école", "service": "service", "contact": "contact",
          "phone": "téléphone", "email": "courriel"}


@dataclass(frozen=True)
class SchoolRow:
    """A row that passed every check, with the folder name its files go to."""

    line: int
    school: School
    slug: str


@dataclass(frozen=True)
class SetAside:
    """A row that will not be built, and why (the problem carries file and line)."""

    problem: Problem
    school: str


@dataclass
class SchoolList:
    rows: list[SchoolRow] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)


def slugify(name: str) -> str:
    """A folder name from a school name: ASCII, lower case, hyphens ("ecole-des-tilleuls")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].rstrip("-")


def read_csv_text(path: Path) -> str:
    """The file as text: UTF-8 (with or without the BOM Excel adds), else Windows-1252."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FlyerError(f"fichier des écoles illisible ({exc.strerror})", path) from None
    if len(raw) > MAX_DATA_BYTES:
        raise FlyerError(f"fichier trop gros ({len(raw) // 1000} ko, maximum "
                         f"{MAX_DATA_BYTES // 1000} ko)", path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel "CSV (séparateur : point-virgule)" on a Belgian Windows.
        return raw.decode("cp1252", errors="replace")


def _header(cells: list[str], path: Path) -> list[str]:
    names: list[str] = []
    for cell in cells:
        key = " ".join(cell.strip().lower().split())
        key = ALIASES.get(key, key)
        if key not in COLUMNS:
            close = difflib.get_close_matches(key, COLUMNS, n=1, cutoff=0.6)
            hint = f"vouliez-vous dire « {close[0]} » ?" if close else (
                "colonnes possibles : " + ", ".join(COLUMNS))
            raise FlyerError(f"colonne inconnue « {cell.strip()} » ; {hint}", path, 1)
        if key in names:
            raise FlyerError(f"la colonne « {key} » apparaît deux fois", path, 1)
        names.append(key)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise FlyerError("colonne obligatoire manquante : " + ", ".join(missing)
                         + " (première ligne : school;service;contact;phone;email)", path, 1)
    return names


def _why(exc: ValidationError) -> str:
    reasons = []
    for err in exc.errors():
        column = str(err["loc"][0]) if err["loc"] else ""
        label = LABELS.get(column, column)
        if err["type"] == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        elif err["type"] in ("too_short", "missing"):
            message = "vide"
        elif err["type"] == "string_too_long":
            message = f"trop long (maximum {err['ctx']['max_length']} caractères)"
        else:
            message = err["msg"]
        reasons.append(f"{label} : {message}")
    return " ; ".join(reasons)


def load_schools(path: Path, services: list[str]) -> SchoolList:
    """Every row of `path`, either accepted (with a unique slug) or set aside with why."""
    text = read_csv_text(path)
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FlyerError("fichier des écoles vide", path) from None
    except csv.Error as exc:
        raise FlyerError(f"CSV illisible ({exc})", path, 1) from None
    columns = _header(header, path)
    by_key = {" ".join(s.split()).casefold(): s for s in services}
    result = SchoolList()
    seen: dict[str, int] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FlyerError(f"CSV illisible ({exc})", path, reader.line_num) from None
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines Excel leaves at the end
        values: dict[str, str | None] = {
            name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)
        }
        raw_name = " ".join((values.get("school") or "").split())
        # An empty optional cell means "not given"; an empty required one is reported.
        values = {k: v if v or k in REQUIRED else None for k, v in values.items()}
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
            result.set_aside.append(SetAside(Problem(
                f"{len(cells)} cellules pour {len(columns)} colonnes ; un « {delimiter} » "
                "de trop dans un nom ? mettez ce nom entre guillemets", path, start), raw_name))
            continue
        service = values.get("service")
        if service is not None:
            values["service"] = by_key.get(" ".join(service.split()).casefold(), service)
        try:
            school = School.model_validate(values)
        except ValidationError as exc:
            result.set_aside.append(SetAside(Problem(_why(exc), path, start), raw_name))
            continue
        if school.service not in services:
            close = difflib.get_close_matches(school.service, services, n=2, cutoff=0.5)
            hint = (" ; vouliez-vous dire " + " ou ".join(f"« {c} »" for c in close) + " ?"
                    ) if close else " ; le nom doit être celui de contacts.yaml"
            result.set_aside.append(SetAside(Problem(
                f"« {school.service} » inconnu{hint}", path, start, "service"), raw_name))
            continue
        # Same folder name = same school, whatever the accents, case or punctuation.
        slug = slugify(school.school) or f"ecole-{start}"
        if slug in seen:
            result.set_aside.append(SetAside(Problem(
                f"« {school.school} » figure déjà ligne {seen[slug]} ; gardez une seule ligne",
                path, start, "école"), raw_name))
            continue
        seen[slug] = start
        result.rows.append(SchoolRow(start, school, slug))
    return result

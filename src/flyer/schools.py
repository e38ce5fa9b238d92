"""`--schools FILE.csv|.xlsx`: the list of schools, read and checked row by row.

Columns: `school` and `service` (required), `contact`, `phone`, `email` (the school's own
contact person, optional), or their French names (école, centre, téléphone, courriel…,
declared on `model.School`). The file is read by `spreadsheet.py` like the contacts: CSV
in any of Excel's encodings and separators, or the first sheet of an .xlsx. A bad row —
empty school name, a service that is not in the contacts, an invalid phone or email, a
school listed twice, cells spilling past the last column — is set aside with its line
number and the reason, in French; the other rows go on to the batch. Only a file that
cannot be read as a list of schools at all (no header, unknown or missing column) is an
error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from flyer.errors import FlyerError, Problem
from flyer.load import french_reason
from flyer.model import School, field_texts
from flyer.names import FolderNames, folder_name
from flyer.spreadsheet import match_columns, normalise_header, overflow, phone_cell, read_table

# A province's list has thousands of schools: more than a data file's 1 MB.
MAX_SCHOOLS_BYTES = 10_000_000
_TEXTS = field_texts(School)
COLUMNS = tuple(_TEXTS)
REQUIRED = tuple(name for name, info in School.model_fields.items() if info.is_required())
# Normalised header people type in a French or English spreadsheet → column name.
ALIASES = {normalise_header(column): name
           for name, text in _TEXTS.items() for column in (name, *text.columns)}
LABELS = {name: text.label for name, text in _TEXTS.items()}


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
    # Repairs made to rows that were kept (a phone's 0 put back): to show, not to refuse.
    warnings: list[Problem] = field(default_factory=list)


def slugify(name: str) -> str:
    """A folder name from a school or service name: see `names.folder_name`."""
    return folder_name(name)


def _why(exc: ValidationError) -> str:
    reasons = []
    for err in exc.errors():
        column = str(err["loc"][0]) if err["loc"] else ""
        label = LABELS.get(column, column)
        empty = err["type"] in ("too_short", "string_too_short", "missing")
        reasons.append(f"{label} : {'vide' if empty else french_reason(err)}")
    return " ; ".join(reasons)


def load_schools(path: Path, services: list[str]) -> SchoolList:
    """Every row of `path`, either accepted (with its own folder) or set aside with why."""
    table = read_table(path, MAX_SCHOOLS_BYTES)
    if not table.rows:
        raise FlyerError("fichier des écoles vide", path)
    header, *rows = table.rows
    columns = match_columns(table, header, ALIASES, ", ".join(COLUMNS), rows)
    if columns.problems:
        raise FlyerError(problems=columns.problems)
    missing = [c for c in REQUIRED if c not in columns.shown]
    if missing:
        raise FlyerError("colonne obligatoire manquante : " + ", ".join(missing)
                         + " (première ligne : " + ";".join(COLUMNS) + ")", path, header.line)
    by_key = {" ".join(s.split()).casefold(): s for s in services}
    result = SchoolList()
    folders = FolderNames(fallback="ecole")
    for row in rows:
        values: dict[str, str | None] = {name: row.text(i) for i, name in columns.fields.items()}
        raw_name = values.get("school") or ""
        spilled = overflow(table, row, columns, "un nom")
        if spilled is not None:
            result.set_aside.append(SetAside(spilled, raw_name))
            continue
        # An empty optional cell means "not given"; an empty required one is reported.
        values = {k: v if v or k in REQUIRED else None for k, v in values.items()}
        repaired = None
        phone = values.get("phone")
        if phone:
            try:
                values["phone"], repaired = phone_cell(phone)
            except ValueError as exc:
                result.set_aside.append(SetAside(Problem(
                    f"{LABELS['phone']} : {exc}", path, row.line), raw_name))
                continue
        service = values.get("service")
        if service is not None:
            values["service"] = by_key.get(" ".join(service.split()).casefold(), service)
        try:
            school = School.model_validate(values)
        except ValidationError as exc:
            result.set_aside.append(SetAside(Problem(_why(exc), path, row.line), raw_name))
            continue
        if school.service not in services:
            close = difflib.get_close_matches(school.service, services, n=2, cutoff=0.5)
            hint = (" ; vouliez-vous dire " + " ou ".join(f"« {c} »" for c in close) + " ?"
                    ) if close else " ; le nom doit être celui du fichier des contacts"
            result.set_aside.append(SetAside(Problem(
                f"« {school.service} » inconnu{hint}", path, row.line, "service"), raw_name))
            continue
        # The same name (whatever the case, accents or spacing) is the same school; two
        # different names always get two folders (names.py).
        assigned = folders.add(row.line, school.school)
        if assigned.same_as is not None:
            result.set_aside.append(SetAside(Problem(
                f"« {school.school} » figure déjà ligne {assigned.same_as} ; gardez une seule "
                "ligne", path, row.line, LABELS["school"]), raw_name))
            continue
        if repaired is not None:
            result.warnings.append(Problem(repaired, path, row.line, columns.shown["phone"]))
        result.rows.append(SchoolRow(row.line, school, assigned.folder))
    return result

"""The one reader of a person's table: `contacts.csv` / `contacts.xlsx` and the `--schools` list.

A CSV as Excel or LibreOffice writes it (`;`, `,` or tab; UTF-8 with or without BOM,
Windows-1252, UTF-16) and the first sheet of an `.xlsx` workbook come out the same: rows
of cells, each row with the number a person sees (the CSV line the record starts on, or
the spreadsheet's row number), so that every message can say `file:line`. Headers are
matched without case, accents or punctuation. What a spreadsheet does to a phone number
(the 0 it drops, 5.6E+8) is repaired or explained here, once, for both readers.

Another format (.ods, .xls, .numbers), or a workbook renamed `.csv`, gets the steps to
save it as one we read, in French.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import difflib
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from phonenumbers import shortnumberinfo

from flyer.errors import FlyerError, Problem
from flyer.files import MAX_DATA_BYTES, read_bytes
from flyer.model import REGION, parse_phone

Cell = str | dt.date

# Uncompressed size of a workbook's parts: a real list of thousands of schools is a few
# MB of XML; a "zip bomb" of 1 MB can unpack to gigabytes.
MAX_UNPACKED_BYTES = 50_000_000

SAVE_AS = ("ouvrez-le dans votre tableur et faites « Fichier → Enregistrer sous → "
           "Classeur Excel (.xlsx) ou CSV UTF-8 »")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
OTHER_FORMATS = {
    ".ods": "un classeur LibreOffice (.ods)", ".fods": "un classeur LibreOffice (.fods)",
    ".xls": "un classeur Excel ancien format (.xls)", ".xlsb": "un classeur Excel binaire (.xlsb)",
    ".numbers": "un classeur Numbers (.numbers)",
}
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
_EXCEL_FLOAT = re.compile(r"^\d+(?:[.,]\d+)?E\+?\d+$", re.IGNORECASE)
_PHONE_DIGITS = re.compile(r"^[1-9][0-9 ./\-]*$")


@dataclass(frozen=True)
class Row:
    """One row that is not blank, with the line (CSV) or row number (xlsx) people see."""

    line: int
    cells: tuple[Cell, ...]

    def text(self, index: int) -> str:
        """The cell at `index` as one line of text ('' past the end)."""
        return cell_text(self.cells[index]) if index < len(self.cells) else ""


@dataclass(frozen=True)
class Table:
    """A file's non-blank rows, and the separator a CSV used (None for a workbook)."""

    path: Path
    rows: list[Row]
    delimiter: str | None


@dataclass
class Columns:
    """A header row matched against a field table."""

    line: int
    headers: tuple[str, ...]
    fields: dict[int, str] = field(default_factory=dict)  # cell index → field key
    shown: dict[str, str] = field(default_factory=dict)  # field key → header as written
    problems: list[Problem] = field(default_factory=list)


def cell_text(cell: Cell) -> str:
    """A cell as one line of text: spaces collapsed, a date as 13/09/2016."""
    if isinstance(cell, dt.date):
        return f"{cell:%d/%m/%Y}"
    return " ".join(cell.split())


def normalise_header(header: str) -> str:
    """`Téléphone :`, `E-mail`, `description_NL` → `telephone`, `e mail`, `description nl`."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# --- reading ------------------------------------------------------------------------------

def read_table(path: Path, limit: int = MAX_DATA_BYTES) -> Table:
    """`path` (CSV or .xlsx, decided by its name and checked on its first bytes) → rows."""
    suffix = path.suffix.lower()
    if suffix in OTHER_FORMATS:
        raise FlyerError(f"ce fichier est {OTHER_FORMATS[suffix]}, que flyer ne lit pas ; "
                         f"{SAVE_AS}", path)
    raw = read_bytes(path, limit)
    if suffix in XLSX_SUFFIXES:
        if raw.startswith(_OLE2):
            raise FlyerError("ce classeur est protégé par un mot de passe ou enregistré dans "
                             f"l'ancien format Excel ; retirez le mot de passe, puis {SAVE_AS}",
                             path)
        if not raw.startswith(_ZIP):
            raise FlyerError("ce fichier n'est pas un classeur Excel, malgré son nom en .xlsx ; "
                             f"{SAVE_AS}", path)
        return Table(path, _xlsx_rows(raw, path), None)
    if raw.startswith(_ZIP):
        what = _zip_kind(raw)
        rename = (f" ; renommez-le en {path.stem}.xlsx, ou {SAVE_AS}"
                  if what == "un classeur Excel (.xlsx)" else f" ; {SAVE_AS}")
        raise FlyerError(f"ce fichier est {what}, pas un CSV, malgré son nom{rename}", path)
    if raw.startswith(_OLE2):
        raise FlyerError("ce fichier est un classeur Excel ancien format (.xls), pas un CSV, "
                         f"malgré son nom ; {SAVE_AS}", path)
    text = decode_text(raw, path)
    delimiter = sniff_delimiter(text)
    return Table(path, _csv_rows(text, delimiter, path), delimiter)


def _zip_kind(raw: bytes) -> str:
    """What a zip file a person calls a CSV really is."""
    with (contextlib.suppress(zipfile.BadZipFile, KeyError, OSError),
          zipfile.ZipFile(io.BytesIO(raw)) as archive):
        names = set(archive.namelist())
        if "xl/workbook.xml" in names:
            return "un classeur Excel (.xlsx)"
        if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype"):
            return "un classeur LibreOffice (.ods)"
        if "Index/Document.iwa" in names:
            return "un classeur Numbers"
    return "une archive ZIP"


def decode_text(raw: bytes, path: Path) -> str:
    """Excel's encodings: UTF-8 (with or without BOM), UTF-16 (« texte Unicode », either
    byte order), Windows-1252. A file mixing UTF-8 and Windows-1252 lines is refused at
    its first line that is not UTF-8: decoding it either way would print « Ã‰cole »."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FlyerError("fichier UTF-16 abîmé ; dans Excel, choisissez « Enregistrer sous »"
                             " → « CSV UTF-8 (délimité par des virgules) »", path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
    utf8_line = None
    if raw.startswith(codecs.BOM_UTF8):
        utf8_line = 1
    else:
        for number, chunk in enumerate(raw.split(b"\n"), start=1):
            if not chunk.isascii():
                with contextlib.suppress(UnicodeDecodeError):
                    chunk.decode("utf-8")
                    utf8_line = number
                    break
    if utf8_line is not None:
        raise FlyerError(
            f"le fichier mélange deux encodages : la ligne {utf8_line} est en UTF-8, celle-ci "
            "non (elle a sans doute été collée depuis un autre fichier) ; dans Excel, "
            "choisissez « Enregistrer sous » → « CSV UTF-8 (délimité par des virgules) » et "
            "vérifiez les accents de cette ligne", path, bad_line)
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


def sniff_delimiter(text: str) -> str:
    """`;` (Excel in Belgium), `,` or tab: whichever the first line has most of."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _csv_rows(text: str, delimiter: str, path: Path) -> list[Row]:
    """Every non-blank record with the line it starts on (a quoted cell may span lines)."""
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise FlyerError("le fichier contient des caractères nuls : ce n'est pas un CSV "
                         f"lisible ; {SAVE_AS}", path, line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit() // 1024
                message = (f"une cellule dépasse {limit} ko : un guillemet « \" » ouvert sur "
                           "cette ligne n'est sans doute jamais fermé ; fermez-le, ou "
                           "retirez-le")
            else:
                message = f"ligne illisible pour un CSV ; {SAVE_AS}"
            raise FlyerError(message, path, start) from None
        cells = tuple(cell.strip() for cell in record)
        if any(cells):
            rows.append(Row(start, cells))
        start = reader.line_num + 1
    return rows


def _xlsx_rows(raw: bytes, path: Path) -> list[Row]:
    """The first sheet of a workbook, by spreadsheet row number, with the values Excel
    shows (`data_only`: a formula's last computed value)."""
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            is_workbook = "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FlyerError(f"classeur abîmé ou incomplet ; {SAVE_AS}", path) from None
    if not is_workbook:
        raise FlyerError(f"ce fichier n'est pas un classeur Excel, malgré son nom ; {SAVE_AS}",
                         path)
    if unpacked > MAX_UNPACKED_BYTES:
        raise FlyerError(f"classeur trop gros une fois décompressé ({unpacked // 1_000_000} Mo, "
                         f"maximum {MAX_UNPACKED_BYTES // 1_000_000} Mo)", path)
    rows: list[Row] = []
    # openpyxl warns (UserWarning) about styles and extensions it ignores: nothing a
    # person can act on. Any exception it raises on a damaged file is a damaged file:
    # it raises KeyError, ValueError, TypeError, zipfile and XML errors alike.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            try:
                if not book.worksheets:
                    raise FlyerError("le classeur n'a aucune feuille de calcul", path)
                sheet = book.worksheets[0]
                # The stored dimensions may be wrong (some programs write A1:A1):
                # read the rows the sheet really has.
                sheet.reset_dimensions()
                for number, values in enumerate(
                        sheet.iter_rows(min_row=1, values_only=True), start=1):
                    cells = tuple(_xlsx_cell(value) for value in values)
                    if any(cells):
                        rows.append(Row(number, cells))
            finally:
                book.close()
        except FlyerError:
            raise
        except Exception:  # see above: a damaged file, whatever the exception
            raise FlyerError(f"classeur illisible ou abîmé ; {SAVE_AS}", path) from None
    return rows


def _xlsx_cell(value: object) -> Cell:
    """A cell's value as the text a CSV export would have, a date kept as a date."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value.is_integer():
        # A phone typed as a number: 56391620.0 is the 56391620 Excel shows.
        return str(int(value))
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    return str(value).strip()


# --- headers and rows ---------------------------------------------------------------------

def match_columns(table: Table, header: Row, aliases: Mapping[str, str], possible: str,
                  rows: list[Row]) -> Columns:
    """`header`'s cells → field keys through `aliases` (normalised header → key).

    Unknown, untitled or repeated columns become problems at the header's line; an
    untitled column that is empty in every row (Excel adds them at the table's edge)
    is ignored. `possible` lists the headers to suggest.
    """
    headers = tuple(header.text(i) for i in range(len(header.cells)))
    columns = Columns(header.line, headers)
    for index, title in enumerate(headers):
        key = aliases.get(normalise_header(title))
        if key is None:
            if not title and all(not row.text(index) for row in rows):
                continue
            close = difflib.get_close_matches(normalise_header(title), list(aliases),
                                              n=1, cutoff=0.6)
            hint = (f"vouliez-vous dire « {close[0]} » ?" if close
                    else f"colonnes possibles : {possible}")
            what = f"colonne inconnue « {title} »" if title else (
                f"la colonne {index + 1} n'a pas de titre")
            columns.problems.append(Problem(f"{what} ; {hint}", table.path, header.line))
            continue
        if key in columns.shown:
            columns.problems.append(Problem(
                f"les colonnes « {columns.shown[key]} » et « {title} » disent la même chose ; "
                "gardez-en une seule", table.path, header.line))
            continue
        columns.fields[index] = key
        columns.shown[key] = title
    return columns


def overflow(table: Table, row: Row, columns: Columns, what: str) -> Problem | None:
    """A row with filled cells past the header's last column: in a CSV, a separator typed
    inside a text that was not quoted (`what`: « un nom », « une description »)."""
    width = len(columns.headers)
    extra = [i for i in range(width, len(row.cells)) if row.text(i)]
    if not extra:
        return None
    if table.delimiter is not None:
        sep = "une tabulation" if table.delimiter == "\t" else f"un « {table.delimiter} »"
        return Problem(f"{len(row.cells)} cellules pour {width} colonnes ; {sep} de trop "
                       f"dans {what} ? mettez ce texte entre guillemets (\"…\")",
                       table.path, row.line)
    from openpyxl.utils import get_column_letter

    return Problem(f"cellule remplie hors du tableau (colonne {get_column_letter(extra[0] + 1)},"
                   " qui n'a pas de titre) ; donnez un titre à cette colonne ou videz la cellule",
                   table.path, row.line)


# --- what a spreadsheet does to phone numbers -------------------------------------------

def dropped_prefix(value: str) -> str | None:
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


def phone_cell(value: str) -> tuple[str, str | None]:
    """A phone cell as a spreadsheet left it → (the number to check, the French warning
    when a dropped 0 or + was put back). ValueError when Excel wrote it as 5.6391620E+8."""
    if _EXCEL_FLOAT.match(value):
        raise ValueError(f"« {value} » : Excel a transformé le numéro en nombre ; "
                         "mettez la colonne au format « Texte » et retapez le numéro")
    prefix = dropped_prefix(value)
    if prefix is None:
        return value, None
    fixed = prefix + value
    if value.isdigit():
        # A bare run of digits is what Excel made of a number cell; nobody typed it that
        # way, so it is printed grouped as Belgian numbers are (056 39 16 20), like its
        # neighbours, rather than as 056391620.
        style = (phonenumbers.PhoneNumberFormat.INTERNATIONAL if prefix == "+"
                 else phonenumbers.PhoneNumberFormat.NATIONAL)
        fixed = phonenumbers.format_number(phonenumbers.parse(fixed, REGION), style)
    return fixed, (f"« {value} » : le « {prefix} » du début manquait (Excel l'enlève), "
                   f"le numéro imprimé sera « {fixed} »")

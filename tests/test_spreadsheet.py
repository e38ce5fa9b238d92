"""One reader for every table a person gives: CSV in Excel's encodings and separators, the
first sheet of an .xlsx, and French advice for every other spreadsheet format."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from flyer.errors import FlyerError
from flyer.spreadsheet import phone_cell, read_table

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROWS = "nom;tél\nÉcole des Prés;056/39 16 20\n"


@pytest.mark.parametrize(("encoding", "bom"), [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1252", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
])
@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_csv_in_any_of_excels_encodings_and_separators_reads_the_same(
    tmp_path: Path, encoding: str, bom: bytes, separator: str
) -> None:
    path = tmp_path / "liste.csv"
    path.write_bytes(bom + ROWS.replace(";", separator).encode(encoding))
    table = read_table(path)
    assert [(row.line, row.cells) for row in table.rows] == [
        (1, ("nom", "tél")), (2, ("École des Prés", "056/39 16 20"))]
    assert table.delimiter == separator


def test_xlsx_first_sheet_by_row_number_with_numbers_and_dates_as_excel_shows_them() -> None:
    table = read_table(FIXTURES / "contacts_phone_as_number.xlsx")
    assert table.delimiter is None
    # Row 4 is blank: the rows keep the numbers the spreadsheet shows.
    assert [row.line for row in table.rows] == [1, 2, 3, 5]
    assert table.rows[1].cells[1] == "56391620"  # an integer cell
    assert table.rows[2].cells[1] == "56391601"  # a float cell, 56391601.0
    assert table.rows[1].cells[5] == dt.date(2026, 9, 13)  # a datetime cell
    assert table.rows[2].cells[5] == dt.date(2026, 10, 1)  # its time of day dropped
    assert "Ceci n'est pas lu" not in str(table.rows)  # the second sheet


@pytest.mark.parametrize(("typed", "fixed"), [
    # A bare run of digits (a number cell) is printed grouped; a typed grouping is kept.
    ("56391620", "056 39 16 20"), ("474810891", "0474 81 08 91"), ("25551234", "02 555 12 34"),
    ("3256391620", "+32 56 39 16 20"), ("56/39 16 20", "056/39 16 20"),
    ("056/39 16 20", "056/39 16 20"), ("0474810891", "0474810891"), ("112", "112"),
])
def test_phone_cells_get_back_what_excel_dropped(typed: str, fixed: str) -> None:
    value, warning = phone_cell(typed)
    assert value == fixed
    assert (warning is None) == (typed == fixed)
    assert warning is None or f"le numéro imprimé sera « {fixed} »" in warning


def test_phone_cell_in_scientific_notation_is_explained() -> None:
    with pytest.raises(ValueError, match="Excel a transformé le numéro en nombre"):
        phone_cell("5.6391620E+8")


@pytest.mark.parametrize(("name", "words"), [
    ("ecoles.ods", ["LibreOffice (.ods)", "Fichier → Enregistrer sous → Classeur Excel (.xlsx) "
                                          "ou CSV UTF-8"]),
    ("ecoles.xls", ["ancien format (.xls)", "Enregistrer sous"]),
    ("ecoles.numbers", ["Numbers", "Enregistrer sous"]),
])
def test_other_spreadsheet_formats_say_how_to_save_them(
    tmp_path: Path, name: str, words: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 anything")
    with pytest.raises(FlyerError) as caught:
        read_table(path)
    for word in words:
        assert word in str(caught.value)


def test_xlsx_renamed_csv_is_recognised_not_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    shutil.copy(FIXTURES / "schools_french_headers.xlsx", path)
    with pytest.raises(FlyerError) as caught:
        read_table(path)
    message = str(caught.value)
    assert "classeur Excel (.xlsx)" in message and "renommez-le en ecoles.xlsx" in message
    assert "PK" not in message


def test_damaged_xlsx_is_a_french_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes((FIXTURES / "contacts_phone_as_number.xlsx").read_bytes()[:2000])
    with pytest.raises(FlyerError, match="classeur abîmé"):
        read_table(path)


def test_mixed_utf8_and_cp1252_is_refused_at_the_first_line_not_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_bytes("école;service\nÉcole A;CPMS\n".encode()
                     + "École B;CPMS\n".encode("cp1252") + "École C;CPMS\n".encode())
    with pytest.raises(FlyerError) as caught:
        read_table(path)
    assert caught.value.line == 3
    assert "mélange deux encodages" in str(caught.value)
    assert "CSV UTF-8" in str(caught.value)


def test_cp1252_only_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_bytes("école;service\nÉcole A;CPMS\n".encode("cp1252"))
    assert read_table(path).rows[1].cells == ("École A", "CPMS")


def test_cell_over_the_csv_field_limit_is_a_french_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    big = "x" * (csv.field_size_limit() + 10)
    path.write_text(f"nom;tél\nA;112\nB;\"{big}\n", encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        read_table(path)
    assert caught.value.line == 3
    assert "guillemet" in str(caught.value) and "jamais fermé" in str(caught.value)

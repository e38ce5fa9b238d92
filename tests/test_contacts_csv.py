"""`contacts.csv` as Excel exports it builds the same documents as `contacts.yaml`."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from flyer.build import BuildOptions, BuildResult, build
from flyer.errors import FlyerError
from flyer.load import load_contacts, normalise_header

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
EXCEL = ROOT / "tests/fixtures/contacts_excel_cp1252.csv"


@pytest.fixture(scope="module")
def csv_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """The shipped data with contacts.yaml replaced by the Excel export."""
    base = tmp_path_factory.mktemp("csv-build")
    data = base / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "contacts.yaml").unlink()
    shutil.copy(EXCEL, data / "contacts.csv")
    out = base / "out"
    return out, build(BuildOptions(data=data, layouts=ROOT / "layouts", out=out))


def test_excel_fixture_is_what_excel_writes() -> None:
    raw = EXCEL.read_bytes()
    assert b"\r\n" in raw and b";" in raw.split(b"\r\n")[0]
    assert "Téléphone".encode("cp1252") in raw  # Windows-1252, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_excel_export_builds_the_same_leaflet_as_yaml(
    csv_build: tuple[Path, BuildResult], seed_build: tuple[Path, BuildResult]
) -> None:
    csv_out, _ = csv_build
    yaml_out, _ = seed_build
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf"):
        assert pdfread.text(csv_out / name) == pdfread.text(yaml_out / name), name
        assert pdfread.link_uris(csv_out / name) == pdfread.link_uris(yaml_out / name), name
    csv_codes = pdfread.qr_payloads(csv_out / "leaflet-fr.pdf", dpi=150)
    assert csv_codes == pdfread.qr_payloads(yaml_out / "leaflet-fr.pdf", dpi=150)
    assert sum(len(page) for page in csv_codes) == 10
    assert "056/39 16 01" in pdfread.text(csv_out / "leaflet-fr.pdf")


def test_dropped_leading_zero_is_fixed_with_a_warning(
    csv_build: tuple[Path, BuildResult],
) -> None:
    _, result = csv_build
    fixed = [w for w in result.warnings if "« 0 » du début manquait" in w.message]
    assert len(fixed) == 1
    assert fixed[0].line == 3 and fixed[0].field == "Téléphone"
    assert "« 056/39 16 01 »" in fixed[0].message
    assert any("datent du 13/09/2016" in w.message and w.path and w.path.name == "contacts.csv"
               for w in result.warnings)


@pytest.mark.parametrize(("header", "normal"), [
    ("Téléphone", "telephone"), ("TÉL.", "tel"), ("E-mail", "e mail"), ("Courriel :", "courriel"),
    ("description_NL", "description nl"), ("\ufeffNom", "nom"), ("Mis à jour le", "mis a jour le"),
])
def test_headers_match_without_case_accents_or_punctuation(header: str, normal: str) -> None:
    assert normalise_header(header) == normal


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    (tmp_path / "contacts.csv").write_bytes(text.encode(encoding))
    return tmp_path


def test_comma_utf8_bom_english_headers_and_dutch_descriptions(tmp_path: Path) -> None:
    data = _write(tmp_path, 'Name,Phone,Email,Description,Description NL,Updated\r\n'
                  '"Parents & Ados, Mouscron",056/39 16 20,a@ecole.be,"Écoute, aide",Hulp,'
                  '2024-01-31\r\n', "utf-8-sig")
    contacts, path, warnings = load_contacts(data)
    assert path.name == "contacts.csv" and warnings == []
    contact = contacts.contacts[0]
    assert contact.name == "Parents & Ados, Mouscron"
    assert contact.description == {"fr": "Écoute, aide", "nl": "Hulp"}
    assert str(contacts.updated) == "2024-01-31"


def test_date_line_above_the_header_and_oldest_row_date(tmp_path: Path) -> None:
    data = _write(tmp_path, "mis à jour;13/09/2016;;\nnom;tél;courriel\nA;112;\n")
    contacts, _, _ = load_contacts(data)
    assert str(contacts.updated) == "2016-09-13"
    assert contacts.contacts[0].phone.uri == "tel:112"  # a short number keeps no zero
    data = _write(tmp_path, "nom;tél;date\nA;056/39 16 20;01/03/2020\nB;0474/81 08 91;13/09/2016\n")
    contacts, _, _ = load_contacts(data)
    assert str(contacts.updated) == "2016-09-13"  # the stalest row decides


def test_every_csv_mistake_at_once_with_its_row(tmp_path: Path) -> None:
    data = _write(tmp_path, "Nom;Tél;E-mail;Descripton;Mis à jour\r\n"
                  "A;05639162;Jean <a@b.be>;x;13/09/2016\r\n"
                  ";056/39 16 20;;;13/09/2016\r\n"
                  'C;5.6391620E+8;c@d.be;"deux\r\nlignes";32/13/2016\r\n'
                  "D;0474/81 08 91;mailto:d@e.be;;13/09/2016\r\n", "cp1252")
    with pytest.raises(FlyerError) as caught:
        load_contacts(data)
    found = [(p.line, p.field, p.message) for p in caught.value.problems]
    assert [(line, field) for line, field, _ in found] == [
        (1, None), (2, "Tél"), (2, "E-mail"), (3, "Nom"), (4, "Tél"), (4, "Mis à jour"),
        (6, "E-mail")]  # row 4 spans two lines: D starts on line 6
    messages = [m for _, _, m in found]
    assert "vouliez-vous dire « description » ?" in messages[0]
    assert "cellule vide ; remplissez la colonne « Nom »" in messages[3]
    assert "Excel a transformé le numéro en nombre" in messages[4]
    assert "retirez « mailto: »" in messages[6]


@pytest.mark.parametrize(("text", "words"), [
    ("", ["le fichier est vide", "nom, téléphone"]),
    ("nom;courriel;date\nA;a@b.be;2016-09-13\n", ["colonne « téléphone » introuvable"]),
    ("name,phone\nA,056/39 16 20\n", ["date de vérification introuvable", "mis à jour"]),
])
def test_unusable_csv_says_what_to_add(tmp_path: Path, text: str, words: list[str]) -> None:
    with pytest.raises(FlyerError) as caught:
        load_contacts(_write(tmp_path, text))
    message = str(caught.value)
    assert caught.value.line == 1
    for word in words:
        assert word in message


def test_undecodable_bytes_are_named_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_bytes(b"nom;tel;date\nA\x81;056/39 16 20;2016-09-13\n")
    with pytest.raises(FlyerError) as caught:
        load_contacts(tmp_path)
    assert caught.value.line == 2
    assert "CSV UTF-8" in str(caught.value)


def test_same_service_twice_points_at_both_rows(tmp_path: Path) -> None:
    data = _write(tmp_path, "nom;tel;date\nA;056/39 16 20;2016-09-13\nB;112;2016-09-13\n"
                  "a;056/39 16 22;2016-09-13\n")
    with pytest.raises(FlyerError) as caught:
        load_contacts(data)
    assert caught.value.line == 4
    assert "ce service est déjà ligne 2" in str(caught.value)


def test_plus_excel_took_for_a_sign_is_restored(tmp_path: Path) -> None:
    data = _write(tmp_path, "nom;tel;date\nA;3256391620;2016-09-13\nB;474810891;2016-09-13\n")
    contacts, _, warnings = load_contacts(data)
    assert [c.phone.text for c in contacts.contacts] == ["+32 56 39 16 20", "0474 81 08 91"]
    assert [c.phone.uri for c in contacts.contacts] == ["tel:+3256391620", "tel:+32474810891"]
    assert [(w.line, "« +32" in w.message or "« 0474" in w.message) for w in warnings] == [
        (2, True), (3, True)]


# --- contacts.xlsx: the same reader, the same messages ---------------------------------

TODAY = dt.date(2026, 11, 29)
FIXTURES = ROOT / "tests/fixtures"


def test_xlsx_with_the_csvs_cells_gives_the_same_contacts(tmp_path: Path) -> None:
    from openpyxl import Workbook

    csv_contacts, _, csv_warnings = load_contacts(_write(
        tmp_path, EXCEL.read_bytes().decode("cp1252"), "cp1252"), TODAY)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in EXCEL.read_bytes().decode("cp1252").splitlines():
        sheet.append(line.split(";"))
    xlsx_dir = tmp_path / "xlsx"
    xlsx_dir.mkdir()
    book.save(xlsx_dir / "contacts.xlsx")
    xlsx_contacts, path, xlsx_warnings = load_contacts(xlsx_dir, TODAY)
    assert path.name == "contacts.xlsx"
    assert xlsx_contacts == csv_contacts
    assert [(w.line, w.field, w.message) for w in xlsx_warnings] == [
        (w.line, w.field, w.message) for w in csv_warnings]


def test_xlsx_phones_stored_as_numbers_get_their_zero_back_at_their_row(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "contacts_phone_as_number.xlsx", tmp_path / "contacts.xlsx")
    contacts, _, warnings = load_contacts(tmp_path, TODAY)
    assert [c.phone.text for c in contacts.contacts] == ["056 39 16 20", "056 39 16 01", "112"]
    assert [(w.line, w.field) for w in warnings] == [(2, "Téléphone"), (3, "Téléphone")]
    assert "« 0 » du début manquait" in warnings[0].message
    assert contacts.updated == dt.date(2026, 9, 13)  # the oldest date cell
    assert contacts.contacts[0].description == {"fr": "Écoute, aide", "nl": "Hulp"}


def test_xlsx_mistake_is_reported_at_its_spreadsheet_row(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "contacts_bad_phone_row_7.xlsx", tmp_path / "contacts.xlsx")
    with pytest.raises(FlyerError) as caught:
        load_contacts(tmp_path, TODAY)
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{tmp_path / 'contacts.xlsx'}:7: tél : « 056/39 16 2 »")


def test_unquoted_separator_in_a_description_is_refused_at_its_line(tmp_path: Path) -> None:
    data = _write(tmp_path, "nom;tél;description;description nl;date\n"
                  "A;056/39 16 20;Écoute;Hulp;13/09/2016\n"
                  "B;056/39 16 21;Écoute; aide;Hulp;13/09/2016\n")
    with pytest.raises(FlyerError) as caught:
        load_contacts(data, TODAY)
    [problem] = caught.value.problems
    assert problem.line == 3
    assert "6 cellules pour 5 colonnes" in problem.message
    assert "« ; » de trop dans une description" in problem.message


def test_mixed_encodings_in_contacts_csv_are_refused_not_printed_garbled(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_bytes(
        "nom;tél;date\nÉcoute;056/39 16 20;13/09/2016\n".encode()
        + "Médiation;056/39 16 21;13/09/2016\n".encode("cp1252"))
    with pytest.raises(FlyerError) as caught:
        load_contacts(tmp_path, TODAY)
    assert caught.value.line == 3 and "mélange deux encodages" in str(caught.value)


def test_future_date_in_a_row_is_refused_with_todays_date(tmp_path: Path) -> None:
    data = _write(tmp_path, "nom;tél;date\nA;056/39 16 20;13/09/2016\nB;112;31/12/2099\n")
    with pytest.raises(FlyerError) as caught:
        load_contacts(data, TODAY)
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (3, "date")
    assert "dans le futur" in problem.message and "29/11/2026" in problem.message


def test_description_column_in_any_language(tmp_path: Path) -> None:
    data = _write(tmp_path, "nom;tél;description;Description DE;Beschrijving;date\n"
                  "A;112;Écoute;Zuhören;Luisteren;13/09/2016\n")
    contacts, _, _ = load_contacts(data, TODAY)
    assert contacts.contacts[0].description == {"fr": "Écoute", "de": "Zuhören",
                                                 "nl": "Luisteren"}

"""Reading data/: the shipped seed, strings kept as typed, errors at their line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from flyer.errors import FlyerError
from flyer.load import load_campaign, parse_yaml, parse_yaml_with_warnings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A verbatim copy of the client's text (shared/seed/000_22a54502d16eebae.txt).
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_client_text.txt"

SEED_ORDER = [
    "CPMS Libre Mouscron 1", "CPMS Libre Mouscron 2", "CPMS Provincial (ICET)",
    "CPMS CF (Artem)", "CPMS Spécialisé (Tremplin)", "Service de Médiation Scolaire",
    "La Passerelle", "Le Décllic", "Le pôle Psycho-social de la Police",
    "Le Pôle égalité des chances",
]


def test_shipped_contacts_are_the_seed_services_in_order() -> None:
    campaign = load_campaign(ROOT / "data", ["fr"])
    contacts = campaign.contacts.contacts
    assert [c.name for c in contacts] == SEED_ORDER
    assert all(c.email for c in contacts)
    assert contacts[0].phone.uri == "tel:+3256391620"
    assert str(campaign.contacts.updated) == "2016-09-13"


def test_shipped_data_reproduces_every_word_of_the_seed() -> None:
    import re

    seed = SEED.read_text(encoding="utf-8")
    campaign = load_campaign(ROOT / "data", ["fr"])
    letter = campaign.letters["fr"]
    shipped = " ".join([letter.title, letter.headline, letter.body])
    for contact in campaign.contacts.contacts:
        shipped += " ".join(["", contact.name, contact.phone.text, contact.email or "",
                             contact.describe("fr")])
    words = re.findall(r"[\w'’]+", re.sub(r"<[^>]+>", " ", seed))
    shipped_words = set(re.findall(r"[\w'’]+", shipped))
    missing = [w for w in words if w not in shipped_words and w.lower() not in
               {"services", "contacts", "mailto", "b", "i", "a", "href", "br"}]
    assert missing == []


def test_yaml_scalars_stay_strings_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    data, lines = parse_yaml("phone: 056331247\nflag: NO\ntime: 9:30\nn: +3256391620\n", path)
    assert data == {"phone": "056331247", "flag": "NO", "time": "9:30", "n": "+3256391620"}
    assert lines[("time",)] == 3


def test_duplicated_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    with pytest.raises(FlyerError) as info:
        parse_yaml("name: a\nphone: '1'\nname: b\n", tmp_path / "x.yaml")
    assert info.value.line == 3
    assert "déjà ligne 1" in str(info.value)


def test_every_error_of_the_file_is_reported_at_its_line(data_copy: Path) -> None:
    path = data_copy / "contacts.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('phone: "056/39 16 01"', 'phone: "05639160"', 1)
    text = text.replace("email: egalite@mouscron.be", "emial: egalite@mouscron.be", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlyerError) as info:
        load_campaign(data_copy, ["fr"])
    problems = info.value.problems
    assert len(problems) == 2
    lines = text.splitlines()
    phone, unknown = problems
    assert phone.path == path and "05639160" in lines[phone.line - 1]
    assert "n'est pas un numéro belge valide" in phone.message
    assert "emial" in lines[unknown.line - 1]
    assert "vouliez-vous dire « email »" in unknown.message


# --- YAML mistakes, at the line of the mistake ------------------------------------------

def _contacts_error(data_copy: Path, edit: str, new: str) -> tuple[int | None, str]:
    path = data_copy / "contacts.yaml"
    text = path.read_text(encoding="utf-8")
    assert edit in text
    path.write_text(text.replace(edit, new, 1), encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy, ["fr"])
    [problem] = caught.value.problems
    return problem.line, problem.message


def _line_of(data_copy: Path, needle: str) -> int:
    lines = (data_copy / "contacts.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_unclosed_quote_is_reported_where_it_opens(data_copy: Path) -> None:
    opened = _line_of(data_copy, '"056/34 60 83"')
    line, message = _contacts_error(data_copy, 'phone: "056/34 60 83"', 'phone: "056/34 60 83')
    assert line == opened
    assert "guillemet ouvert sur cette ligne n'est pas fermé" in message


def test_unclosed_quote_at_the_end_of_the_file_is_reported_where_it_opens(tmp_path: Path) -> None:
    with pytest.raises(FlyerError) as caught:
        parse_yaml('updated: 2016-09-13\ncontacts:\n  - name: A\n    phone: "056\n\n',
                   tmp_path / "c")
    assert caught.value.line == 4
    assert "n'est jamais fermé" in str(caught.value)


def test_apostrophe_inside_single_quotes_says_to_use_double_quotes(data_copy: Path) -> None:
    at = _line_of(data_copy, "name: La Passerelle")
    line, message = _contacts_error(data_copy, "name: La Passerelle", "name: 'L'Escale'")
    assert line == at
    assert "apostrophe" in message and "name: \"L'Escale\"" in message


def test_missing_dash_before_a_service_is_named(data_copy: Path) -> None:
    at = _line_of(data_copy, "- name: La Passerelle")
    line, message = _contacts_error(data_copy, "- name: La Passerelle", "  name: La Passerelle")
    assert line == at
    assert "il manque sans doute « - » au début de cette ligne" in message


def test_missing_dash_under_the_dashes_is_named(tmp_path: Path) -> None:
    with pytest.raises(FlyerError) as caught:
        parse_yaml('contacts:\n  - name: A\n    phone: "112"\n  name: B\n  phone: "113"\n',
                   tmp_path / "c")
    assert caught.value.line == 4
    assert "il manque sans doute « - »" in str(caught.value)


def test_yaml_nested_thousands_deep_is_a_french_error_not_a_recursion(tmp_path: Path) -> None:
    for text in ("a: " + "[" * 5000 + "]" * 5000 + "\n",
                 "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "x\n"):
        with pytest.raises(FlyerError) as caught:
            parse_yaml(text, tmp_path / "deep.yaml")
        assert "niveaux imbriqués" in str(caught.value)
        assert caught.value.line is not None


def test_hash_in_an_unquoted_value_is_a_warning_at_its_line(data_copy: Path) -> None:
    path = data_copy / "contacts.yaml"
    text = path.read_text(encoding="utf-8")
    old = "peuvent intervenir en classe."
    path.write_text(text.replace(old, "peuvent intervenir en classe. Bureau #2, rez.", 1),
                    encoding="utf-8")
    campaign = load_campaign(data_copy, ["fr"])
    [warning] = [w for w in campaign.warnings if "#" in w.message]
    assert warning.path == path and warning.line == _line_of(data_copy, "Bureau #2")
    assert "le texte après « # » est ignoré" in warning.message
    assert "entre guillemets" in warning.message
    # The rest of the file is valid: the description stops at « Bureau ».
    [contact] = [c for c in campaign.contacts.contacts if "Bureau" in c.describe("fr")]
    assert contact.describe("fr").endswith("Bureau")


def test_quoted_hash_and_comment_lines_give_no_warning(tmp_path: Path) -> None:
    _, _, warnings = parse_yaml_with_warnings(
        '# commentaire\nname: "Bureau #2"  # vraiment un commentaire\nn: a#b\n', tmp_path / "c")
    assert warnings == []


# --- files read safely ----------------------------------------------------------------

@pytest.mark.parametrize("target", ["/dev/zero", "dir", "fifo"])
def test_letter_that_is_not_a_regular_file_is_refused_before_reading(
    data_copy: Path, target: str
) -> None:
    import os

    letter = data_copy / "letter.nl.md"
    letter.unlink()
    if target == "dir":
        letter.mkdir()
    elif target == "fifo":
        os.mkfifo(letter)
    else:
        letter.symlink_to(target)
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy)
    [problem] = caught.value.problems
    assert problem.path == letter
    assert "pas un fichier" in problem.message


def test_symlink_to_a_regular_file_is_read(data_copy: Path) -> None:
    real = data_copy / "lettre-nl-version-2.txt"
    (data_copy / "letter.nl.md").rename(real)
    (data_copy / "letter.nl.md").symlink_to(real.name)
    assert "nl" in load_campaign(data_copy).letters


def test_only_exact_letter_names_are_letters(data_copy: Path) -> None:
    for leftover in ("letter.de.old.md", "letter.fr.md.bak", "letter.EN.md", "letter..md"):
        (data_copy / leftover).write_text("x", encoding="utf-8")
    (data_copy / "letter.pt-br.md").write_text(
        (data_copy / "letter.fr.md").read_text(encoding="utf-8"), encoding="utf-8")
    from flyer.load import available_languages

    assert available_languages(data_copy) == ["fr", "nl", "pt-br"]
    assert sorted(load_campaign(data_copy).letters) == ["fr", "nl", "pt-br"]


# --- which contacts file ---------------------------------------------------------------

def test_contacts_xlsx_is_a_contacts_file_and_any_two_are_refused(data_copy: Path) -> None:
    from flyer.load import contacts_path

    shutil.copy(FIXTURES / "contacts_phone_as_number.xlsx", data_copy / "contacts.xlsx")
    with pytest.raises(FlyerError, match=r"contacts\.yaml et contacts\.xlsx sont tous les deux"):
        contacts_path(data_copy)
    (data_copy / "contacts.csv").write_text("x", encoding="utf-8")
    with pytest.raises(FlyerError,
                       match=r"contacts\.yaml, contacts\.csv et contacts\.xlsx sont tous présents"):
        contacts_path(data_copy)
    (data_copy / "contacts.yaml").unlink()
    (data_copy / "contacts.csv").unlink()
    assert contacts_path(data_copy) == data_copy / "contacts.xlsx"


def test_contacts_in_another_spreadsheet_format_says_how_to_save_it(data_copy: Path) -> None:
    (data_copy / "contacts.yaml").rename(data_copy / "contacts.ods")
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy, ["fr"])
    assert "Enregistrer sous → Classeur Excel (.xlsx) ou CSV UTF-8" in str(caught.value)


# --- dates -----------------------------------------------------------------------------

def test_check_date_in_the_future_is_refused_with_todays_date(data_copy: Path) -> None:
    path = data_copy / "contacts.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "updated: 2016-09-13", "updated: 2099-12-31"), encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy, ["fr"], today=dt.date(2026, 11, 29))
    [problem] = caught.value.problems
    assert problem.line == _line_of(data_copy, "updated: 2099")
    assert "31/12/2099 est dans le futur" in problem.message
    assert "la date du jour, 29/11/2026" in problem.message


ENGLISH = re.compile(r"\b(should|found|expected|while|allowed|Input|Value|or|field)\b")


@pytest.mark.parametrize(("name", "text"), [
    ("letter.fr.md", "---\nreview: maybe\ntitle: T\nheadline: H\ncall_to_action: C\n---\nB\n"),
    ("letter.fr.md", "---\ntitle: " + "x" * 500 + "\nheadline: H\ncall_to_action: C\n---\nB\n"),
    ("contacts.yaml", "updated: [1]\ncontacts:\n  - name: [a]\n    phone: {a: b}\n"),
    ("contacts.yaml", "updated: 2016-09-13\ncontacts: [\n"),
    ("contacts.yaml", "updated: 2016-09-13\ncontacts:\n  - name: A\x00\n"),
])
def test_every_load_message_is_french(data_copy: Path, name: str, text: str) -> None:
    (data_copy / name).write_text(text, encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy, ["fr"])
    for problem in caught.value.problems:
        assert problem.line is not None, problem
        assert not ENGLISH.search(problem.message), problem


def test_huge_letter_is_refused_by_its_size_before_reading(data_copy: Path) -> None:
    import os
    import time

    letter = data_copy / "letter.nl.md"
    os.truncate(letter, 3_000_000_000)  # sparse: takes no room on the disk
    start = time.perf_counter()
    with pytest.raises(FlyerError) as caught:
        load_campaign(data_copy)
    assert time.perf_counter() - start < 1
    [problem] = caught.value.problems
    assert problem.path == letter and "fichier trop gros" in problem.message

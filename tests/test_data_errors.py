"""Hand-edited data: every mistake is a French message at its file and line, exit 2,
all of a file's mistakes at once, no traceback, and `output/` left exactly as it was."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer.cli import app
from flyer.errors import FlyerError
from flyer.load import load_campaign

ROOT = Path(__file__).resolve().parent.parent
HEAD = "updated: 2016-09-13\ncontacts:\n"
OK = '  - name: A\n    phone: "056/39 16 20"\n'

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)

# name → (contacts.yaml text or bytes, [(line, words the message must contain), ...])
BAD_CONTACTS: dict[str, tuple[str | bytes, list[tuple[int | None, list[str]]]]] = {
    "duplicate_key": (HEAD + OK + '    phone: "056/39 16 21"\n',
                      [(5, ["« phone » apparaît deux fois", "déjà ligne 4", "gardez-en une"])]),
    "unknown_key": (HEAD + OK + "    emial: a@b.be\n",
                    [(5, ["service n°1 (A)", "clé inconnue « emial »",
                          "vouliez-vous dire « email »"])]),
    "invalid_phone": (HEAD + '  - name: A\n    phone: "05639162"\n',
                      [(4, ["téléphone", "« 05639162 »", "n'est pas un numéro belge valide",
                            "9 chiffres"])]),
    "phone_without_trunk_zero": (HEAD + "  - name: A\n    phone: 56 39 16 20\n",
                                 [(4, ["il manque le 0 du début", "« 056 39 16 20 »"])]),
    "email_with_display_name": (HEAD + OK + '    email: "Jean Dupont <jean@ecole.be>"\n',
                                [(5, ["courriel", "contient un nom",
                                      "écrivez seulement l'adresse"])]),
    "email_with_mailto": (HEAD + OK + "    email: mailto:jean@ecole.be\n",
                          [(5, ["retirez « mailto: »", "« jean@ecole.be »"])]),
    "two_addresses": (HEAD + OK + "    email: a@ecole.be; b@ecole.be\n",
                      [(5, ["plusieurs adresses", "une seule adresse"])]),
    "email_with_space": (HEAD + OK + "    email: jean dupont@ecole.be\n",
                         [(5, ["contient une espace"])]),
    "missing_name": (HEAD + '  - phone: "056/39 16 20"\n',
                     [(3, ["service n°1", "« name » (nom) manque", "name: Nom du service"])]),
    "empty_file": ("", [(1, ["le fichier est vide", "updated, contacts"])]),
    "tab_indented": (HEAD + '  - name: A\n\tphone: "056/39 16 20"\n',
                     [(4, ["tabulation", "remplacez la tabulation par des espaces"])]),
    "yaml_syntax_error": (HEAD + '  - name: Accueil: 9 h\n    phone: "056/39 16 20"\n',
                          [(3, ["syntaxe YAML incorrecte", "« : » de trop",
                                "entre guillemets"])]),
    "windows_1252": ((HEAD + "  - name: Médiation\n" + '    phone: "056/39 16 20"\n'
                      ).encode("cp1252"),
                     [(3, ["n'est pas en UTF-8", "enregistrez-le en « UTF-8 »"])]),
    "alias_bomb": (BILLION_LAUGHS, [(1, ["ancres et alias", "recopiez le texte"])]),
    "missing_updated": ("contacts:\n" + OK,
                        [(1, ["« updated » manque", "updated: 2016-09-13"])]),
    "misspelt_top_level_key": ("updated: 2016-09-13\ncontact:\n" + OK,
                               [(2, ["clé inconnue « contact »",
                                     "vouliez-vous dire « contacts »"])]),
    "same_service_twice": (HEAD + OK + '  - name: a\n    phone: "056/39 16 21"\n',
                           [(5, ["service n°2 (a)", "déjà ligne 3", "une seule fois"])]),
    # Several mistakes in one file: all of them, in file order, each at its own line.
    "several_mistakes": (
        HEAD + '  - name: A\n    phone: "05639162"\n    email: "x <a@b.be>"\n'
        '  - phone: "112"\n  - name: C\n    phone: "056/39 16 20"\n    emial: c@b.be\n',
        [(4, ["« 05639162 »"]), (5, ["contient un nom"]), (6, ["service n°2", "name"]),
         (9, ["service n°3 (C)", "emial", "email"])]),
    # YAML mistakes at the line of the mistake, named for what they are.
    "unclosed_quote": (HEAD + '  - name: A\n    phone: "056/39 16 20\n'
                       '  - name: B\n    phone: "056/39 16 21"\n',
                       [(4, ["guillemet ouvert sur cette ligne n'est pas fermé"])]),
    "apostrophe_in_single_quotes": (HEAD + "  - name: 'L'Escale'\n    phone: \"112\"\n",
                                    [(3, ["apostrophe", "name: \"L'Escale\""])]),
    "missing_dash": (HEAD + OK + '    name: B\n    phone: "056/39 16 21"\n',
                     [(5, ["il manque sans doute « - » au début de cette ligne"])]),
    "nested_too_deep": ("updated: " + "[" * 5000 + "]" * 5000 + "\n",
                        [(1, ["niveaux imbriqués"])]),
    "future_check_date": ("updated: 2099-12-31\ncontacts:\n" + OK,
                          [(1, ["dans le futur", "la date du jour"])]),
    "name_too_long": (HEAD + "  - name: " + "x" * 300 + '\n    phone: "112"\n',
                      [(3, ["nom : trop long (300 caractères, maximum 120 caractères)"])]),
    "short_number_with_country_code": (HEAD + '  - name: A\n    phone: "+32 112"\n',
                                       [(4, ["écrivez seulement « 112 »"])]),
    "control_character": (HEAD + '  - name: A\x07\n    phone: "112"\n',
                          [(3, ["caractère invisible interdit (code U+0007)"])]),
    "second_document": (HEAD + OK + "---\nx: 1\n",
                        [(5, ["une ligne « --- » coupe le fichier en deux"])]),
}


def _hash_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous_output(tmp_path: Path, seed_build: tuple[Path, object]) -> Path:
    """An output folder holding a previous, good build."""
    out = tmp_path / "output"
    shutil.copytree(seed_build[0], out)
    return out


def run_cli(data: Path, out: Path) -> tuple[int, str, float]:
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["build", "--data", str(data), "--layouts",
                                      str(ROOT / "layouts"), "--out", str(out)])
    return result.exit_code, result.stderr, time.perf_counter() - start


@pytest.mark.parametrize("case", sorted(BAD_CONTACTS))
def test_bad_contacts_give_french_message_at_line_and_leave_output_untouched(
    case: str, data_copy: Path, previous_output: Path
) -> None:
    content, expected = BAD_CONTACTS[case]
    path = data_copy / "contacts.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = _hash_tree(previous_output)

    code, stderr, seconds = run_cli(data_copy, previous_output)

    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert seconds < 5, f"{seconds:.1f} s to refuse {case}"
    assert _hash_tree(previous_output) == before
    lines = stderr.strip().splitlines()
    assert "rien n'a été écrit" in lines[0]
    problems = lines[1:]
    assert len(problems) == len(expected), stderr
    for problem, (line, words) in zip(problems, expected, strict=True):
        assert problem.startswith(f"{path}:{line}: "), problem
        for word in words:
            assert word in problem, (word, problem)


def test_both_yaml_and_csv_is_a_clear_error(data_copy: Path, previous_output: Path) -> None:
    shutil.copy(ROOT / "tests/fixtures/contacts_excel_cp1252.csv", data_copy / "contacts.csv")
    before = _hash_tree(previous_output)
    code, stderr, _ = run_cli(data_copy, previous_output)
    assert code == 2
    assert "contacts.yaml et contacts.csv sont tous les deux présents" in stderr
    assert "gardez-en un seul" in stderr
    assert _hash_tree(previous_output) == before


def test_alias_bomb_is_refused_before_expansion(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(FlyerError) as caught:
        load_campaign(tmp_path, ["fr"])
    assert time.perf_counter() - start < 0.5
    assert caught.value.problems[0].line == 1


def test_values_yaml_would_convert_stay_as_typed(data_copy: Path) -> None:
    """`056331247` (octal for PyYAML 1.1), `NO` (False) and `9:30` (570) stay strings."""
    (data_copy / "contacts.yaml").write_text(
        HEAD + "  - name: NO\n    phone: 056331247\n    description: 9:30\n"
        "  - name: Urgences\n    phone: 112\n    email: off@ecole.be\n", encoding="utf-8")
    contacts = load_campaign(data_copy, ["fr"]).contacts.contacts
    assert contacts[0].name == "NO"
    assert contacts[0].phone.text == "056331247"
    assert contacts[0].phone.uri == "tel:+3256331247"
    assert contacts[0].description == {"fr": "9:30"}
    assert contacts[1].phone.uri == "tel:112"

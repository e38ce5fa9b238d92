"""The command line: help, the summary table, and user errors as exit 2 without traceback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _tree_hash(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_help_lists_build_and_its_options() -> None:
    assert runner.invoke(app, ["--help"]).exit_code == 0
    result = runner.invoke(app, ["build", "--help"])
    assert result.exit_code == 0
    for option in ("--data", "--layouts", "--out"):
        assert option in result.output


def test_bad_phone_gives_exit_2_file_and_line_and_leaves_output_alone(
    data_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "leaflet-fr.pdf").write_bytes(b"previous build")
    before = _tree_hash(out)
    contacts = data_copy / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8").replace('"056/34 60 83"', '"05634608"')
    contacts.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "05634608" in row)
    result = runner.invoke(app, ["build", "--data", str(data_copy), "--layouts",
                                 str(ROOT / "layouts"), "--out", str(out)])
    assert result.exit_code == 2
    assert f"contacts.yaml:{line}: service n°7 (La Passerelle), téléphone" in result.output
    assert "Traceback" not in result.output
    assert _tree_hash(out) == before


def test_missing_data_folder_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "nope"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "introuvable" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.allow_weasyprint_warnings
def test_a_css_mistake_in_a_layout_is_a_warning_naming_the_file(
        layouts_copy: Path, tmp_path: Path) -> None:
    base = layouts_copy / "base.css"
    base.write_text(base.read_text(encoding="utf-8") + "\n.card { colr: red; }\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["build", "--layouts", str(layouts_copy), "--lang", "fr",
                                 "--out", str(tmp_path / "out")], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    line = len(base.read_text(encoding="utf-8").splitlines())
    assert f"Attention : {base}:{line}: propriété CSS inconnue, règle ignorée : colr: red" in flat


def test_lang_and_for_accept_any_case_and_spaces(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--lang", " FR ", "--for", "  la PASSERELLE ",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "for" / "la-passerelle" / "letter-fr.pdf").is_file()
    assert not list(tmp_path.rglob("*-nl.pdf"))


def test_a_bad_date_gets_a_french_message_with_an_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--date", "31/02/2026", "--out", str(tmp_path)])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "--date" in flat and "31/02/2026" in flat and "par exemple 13/09/2016" in flat
    assert "Traceback" not in result.output and not any(tmp_path.iterdir())


def test_from_another_folder_flyer_says_where_it_looked_and_what_to_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["build"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert f"cherché dans {tmp_path / 'layouts'}" in flat and "--layouts" in flat


def test_date_today_is_today(tmp_path: Path) -> None:
    import datetime as dt

    from flyer.cli import parse_cli_date

    assert parse_cli_date(" Aujourd'hui ") == dt.date.today()
    assert parse_cli_date("01/12/2026") == dt.date(2026, 12, 1)

"""`flyer check` and the preflight the build runs on its own output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer.build import BuildOptions, BuildResult, build
from flyer.check import check_pdf, operations
from flyer.cli import app
from flyer.errors import FlyerError
from flyer.qr import mailto_uri, qr_data_uri

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf", "flyer-fr.pdf"]
runner = CliRunner()


def _failed(results: list) -> dict[str, str]:
    return {r.label: r.found for r in results if not r.ok}


def test_tokenizer_skips_strings_and_reads_operands() -> None:
    stream = (b"BT /F1 12 Tf (a rg \\) (nested) RG) Tj [(x) -20 <00ff>] TJ ET\n"
              b"0.1 0.2 0.3 rg /Cs1 cs .5 scn q 1 0 0 1 -4.5 +3 cm /Im0 Do Q")
    ops = list(operations(stream))
    assert [op for _, op in ops] == [b"BT", b"Tf", b"Tj", b"TJ", b"ET", b"rg", b"cs", b"scn",
                                     b"q", b"cm", b"Do", b"Q"]
    assert ops[5][0] == [0.1, 0.2, 0.3]
    assert ops[6][0] == ["/Cs1"] and ops[7][0] == [0.5]
    assert ops[9][0] == [1, 0, 0, 1, -4.5, 3]


@pytest.mark.parametrize("name", NAMES)
def test_press_files_pass_every_press_check_including_qr_decoding(
        profiles_build: tuple[Path, BuildResult], name: str) -> None:
    results = check_pdf(profiles_build[0] / "press" / name, name, "press", render=True)
    assert not _failed(results), _failed(results)
    labels = {r.label for r in results}
    assert {"Fond perdu (BleedBox)", "Profil de sortie (output intent)", "Version PDF/X",
            "Espaces de couleur", "Codes QR lus à la résolution d'impression"} <= labels


@pytest.mark.parametrize("name", NAMES)
def test_web_files_pass_every_web_check(
        profiles_build: tuple[Path, BuildResult], name: str) -> None:
    results = check_pdf(profiles_build[0] / "web" / name, name, "web", render=False)
    assert not _failed(results), _failed(results)
    assert {"Balisage (PDF/UA)", "Langue (/Lang)", "Titres dans l'ordre",
            "Tableau des contacts", "Texte de remplacement des images"} <= {
        r.label for r in results}


def test_cli_check_passes_the_office_set_with_the_profile_guessed(
        seed_build: tuple[Path, BuildResult]) -> None:
    out = seed_build[0]
    files = sorted(str(p) for p in out.glob("*.pdf"))
    assert len(files) == 12  # six files in French, six in Dutch
    result = runner.invoke(app, ["check", *files], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "ÉCHEC" not in result.output and "contrôles réussis" in result.output


def test_cli_check_press_on_the_office_poster_fails_and_says_why(
        seed_build: tuple[Path, BuildResult]) -> None:
    poster = seed_build[0] / "poster-fr.pdf"
    result = runner.invoke(app, ["check", "--profile", "press", str(poster)],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 1
    failed = _failed(check_pdf(poster, "poster-fr.pdf", "press", render=False))
    assert "RVB" in failed["Espaces de couleur"]  # RGB
    assert failed["Fond perdu (BleedBox)"].startswith("0.0 mm")  # no bleed
    assert failed["Profil de sortie (output intent)"] == "aucun"  # no output intent
    assert failed["Version PDF/X"] == "aucune"
    for words in ("Espaces de couleur", "RVB", "Fond perdu", "Profil de sortie", "ÉCHEC"):
        assert words in result.output


def test_cli_check_web_on_the_office_leaflet_fails_on_tagging(
        seed_build: tuple[Path, BuildResult]) -> None:
    failed = _failed(check_pdf(seed_build[0] / "leaflet-fr.pdf", "l", "web", render=False))
    assert {"Balisage (PDF/UA)", "Tableau des contacts"} <= set(failed)


def test_a_qr_code_too_small_to_scan_fails_the_render_check(tmp_path: Path) -> None:
    from weasyprint import HTML

    email = "cpms.libre.mouscron@skynet.be"
    html = (f'<html lang="fr"><body style="font-size: 12pt"><p>{email}</p>'
            f'<img src="{qr_data_uri(mailto_uri(email))}" alt="QR" '
            'style="width: 6mm; height: 6mm"></body></html>')
    pdf = HTML(string=html).write_pdf()
    failed = _failed(check_pdf(pdf, "tiny.pdf", "office", render=True))
    assert "adresse sans code lisible" in failed["Codes QR lus à la résolution d'impression"]


def test_text_too_close_to_the_trim_fails_the_safe_zone_check() -> None:
    from weasyprint import HTML

    html = ('<html lang="fr"><head><style>@page { size: A4; margin: 2mm }</style></head>'
            '<body style="font-size: 12pt"><p>Au bord de la coupe</p></body></html>')
    results = check_pdf(HTML(string=html).write_pdf(), "edge.pdf", "office", render=True)
    row = next(r for r in results if r.label == "Texte loin de la coupe (TrimBox)")
    assert not row.ok and float(row.found.split()[0]) < 5


def test_build_refuses_to_write_press_files_with_an_rgb_colour(
        layouts_copy: Path, tmp_path: Path) -> None:
    press_css = layouts_copy / "press.css"
    press_css.write_text(press_css.read_text(encoding="utf-8")
                         + "\n.card .name { color: #c00000; }\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out,
                           profiles=("press",), langs=("fr",)))
    message = str(caught.value)
    assert "Espaces de couleur" in message and "RVB" in message
    assert not out.exists()


def test_a_plain_build_never_decodes_qr_codes(tmp_path: Path) -> None:
    """Decoding every code needs a render of every page: only with --check. (The text
    checks read pdfium's character boxes on every build: cheap, and they catch text run
    off the page.)"""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from flyer.build import BuildOptions, build\n"
        f"build(BuildOptions(data=Path({str(ROOT / 'data')!r}), cache=False, "
        f"layouts=Path({str(ROOT / 'layouts')!r}), out=Path({str(tmp_path)!r})))\n"
        "print(sorted(m for m in ('zxingcpp',) if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout
    assert (tmp_path / "leaflet-a5-2up-fr.pdf").is_file()


def test_cli_build_rejects_an_unknown_profile_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--profile", "imprimeur", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "profil « imprimeur » inconnu" in result.output
    assert not any(tmp_path.iterdir())


def test_build_check_accepts_an_address_repeated_on_the_front_for_the_readers_contact(
        tmp_path: Path) -> None:
    """--for prints the contact's address on page 1; its code is on page 2: that is fine."""
    result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path,
                                highlight="La Passerelle", check=True))
    qr_rows = [r for r in result.checks if r.label.startswith("Codes QR")]
    # Five files × fr, nl: leaflet, letter, poster, A5 and its sheets (a bundle is checked
    # for what merging could break; its parts' codes were each read already).
    assert len(qr_rows) == 10 and all(r.ok for r in qr_rows)
    leaflet = next(r for r in qr_rows if r.file.endswith("/leaflet-fr.pdf"))
    assert "p.2" in leaflet.found and "mailto:" in leaflet.found


# `flyer check` as a person reads it ------------------------------------------------------
def test_passing_files_give_one_line_each_and_a_total(
        seed_build: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch) -> None:
    out = seed_build[0]
    monkeypatch.chdir(out.parent)
    result = runner.invoke(app, ["check", out.name], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 13  # 12 files, one line each, and the total
    assert lines[0].startswith(f"prêt  {out.name}/")  # paths relative to where it is run
    assert "10 adresses sur 10 ont leur code" in result.output
    assert lines[-1] == "12 fichier(s), " + lines[-1].split(", ", 1)[1]
    verbose = runner.invoke(app, ["check", "--verbose", out.name], env={"COLUMNS": "250"})
    total = int(verbose.output.split("12 fichier(s), ")[1].split()[0])
    assert "Tous les contrôles" in verbose.output
    assert verbose.output.count("│ OK ") == total  # one row per check of every file


def test_failures_come_first_and_name_which_school_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """Two schools' leaflet-fr.pdf must be told apart: the path is relative, not a name."""
    out = tmp_path / "out"
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out, langs=("fr",),
                       schools=ROOT / "data/examples/schools.csv"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "--profile", "press", "out/schools"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith("ÉCHEC out/schools/") and "/leaflet-fr.pdf" in first


def test_a_quoted_glob_is_expanded_as_windows_cmd_passes_it(
        seed_build: tuple[Path, BuildResult]) -> None:
    pattern = str(seed_build[0] / "poster-*.pdf")
    result = runner.invoke(app, ["check", pattern], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2 fichier(s)" in result.output


def test_a_missing_file_gets_the_closest_names_and_exit_2(
        seed_build: tuple[Path, BuildResult]) -> None:
    result = runner.invoke(app, ["check", str(seed_build[0] / "leaflet-fr.pfd")],
                           env={"COLUMNS": "300"})
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "fichier introuvable ; vouliez-vous dire" in flat and "leaflet-fr.pdf" in flat
    assert "Errno" not in flat and "FileNotFoundError" not in flat


def test_an_unknown_profile_lists_the_choices_and_writes_nothing_said(
        seed_build: tuple[Path, BuildResult]) -> None:
    result = runner.invoke(app, ["check", "--profile", "imprimeur",
                                 str(seed_build[0] / "poster-fr.pdf")])
    assert result.exit_code == 2
    assert "office, press, web" in result.output
    assert "rien n'a été écrit" not in result.output


def test_addresses_broken_over_two_lines_are_still_found() -> None:
    """The layout breaks a long address after its @ or before a dot: the check that every
    printed address has its code must still see it."""
    from flyer.check import printed_addresses

    text = ("Tél. 056/34 60 83\r\nlapasserellemouscron@\r\ngmail.com\r\nLe pôle\r\n"
            "secretariat.prevention\r\n.familles@mouscron.be\r\nfin. Autre ligne\r\n"
            "dir.cpms.cf.taumat@psec\u200b.cfwb.be")
    assert printed_addresses(text) == ["lapasserellemouscron@gmail.com",
                                       "secretariat.prevention.familles@mouscron.be",
                                       "dir.cpms.cf.taumat@psec.cfwb.be"]


def test_links_the_plan_made_are_not_validated_again_and_others_are(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker checks the links flyer made from validated addresses without the e-mail
    validator (30 ms to load); a link it did not make is validated as before."""
    from weasyprint import HTML

    import flyer.check
    from flyer.check import CheckResult, Expect

    validated: list[str] = []
    slow = flyer.check._mailto_ok
    monkeypatch.setattr(flyer.check, "_mailto_ok",
                        lambda uri: validated.append(uri) or slow(uri))
    good, odd = "mailto:cpms.libre.mouscron@skynet.be", "mailto:deux@adresses@exemple.be"
    pdf = HTML(string=f'<html lang="fr"><body><a href="{good}">a</a> <a href="{odd}">b</a>'
                      '</body></html>').write_pdf()

    def links(made: frozenset[str]) -> CheckResult:
        return next(r for r in check_pdf(pdf, "l.pdf", "office", Expect(made_links=made),
                                         render=False) if r.label.startswith("Liens"))

    row = links(frozenset({good}))
    assert validated == [odd]  # the plan's link was not validated again
    assert not row.ok and odd in row.found  # the other one was, and is refused
    validated.clear()
    links(frozenset())
    assert validated == [good, odd]

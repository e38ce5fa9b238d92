"""The sandboxed, autoescaped, strict Jinja environment, and the layouts' fixed texts."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from flyer.errors import FlyerError
from flyer.templates import fill, load_strings, make_environment, render_html


def test_undefined_variable_fails_loudly_with_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "leaflet.html").write_text("<p>ok</p>\n<p>{{ letter.titel }}</p>\n",
                                           encoding="utf-8")
    env = make_environment(tmp_path)
    with pytest.raises(FlyerError) as info:
        render_html(env, "leaflet.html", {"letter": {"title": "x"}})
    assert info.value.path == tmp_path / "leaflet.html"
    assert info.value.line == 2
    assert "titel" in str(info.value)


def test_values_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "poster.html").write_text("{{ name }}", encoding="utf-8")
    html = render_html(make_environment(tmp_path), "poster.html",
                       {"name": "Parents & Ados <12-18 ans> {{ config }}"})
    assert html == "Parents &amp; Ados &lt;12-18 ans&gt; {{ config }}"


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    (tmp_path / "poster.html").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    with pytest.raises(FlyerError, match=r"interdite|inconnue"):
        render_html(make_environment(tmp_path), "poster.html", {})


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "letter.html").write_text("a\nb\n{% if %}\n", encoding="utf-8")
    with pytest.raises(FlyerError) as info:
        render_html(make_environment(tmp_path), "letter.html", {})
    assert info.value.line == 3


def test_shipped_strings_exist_for_french() -> None:
    strings = load_strings(Path(__file__).resolve().parent.parent / "layouts", "fr")
    assert strings["qr_alt"].format(email="a@b.be") == "Code QR : écrire à a@b.be"


# --- i18n texts: only plain {name} fields ----------------------------------------------

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"


@pytest.mark.parametrize(("fixture", "shown"), [
    ("i18n_fr_qr_alt_huge_width.yaml", "« {email:>30000000} » n'est pas permis"),
    ("i18n_fr_qr_alt_python_internals.yaml", "« {email.__class__.__mro__} » n'est pas permis"),
])
def test_i18n_text_with_format_spec_or_attribute_is_refused_at_load(
    layouts_copy: Path, fixture: str, shown: str,
) -> None:
    """str.format would have obeyed both, outside the sandbox: 4 GB of spaces, or Python
    internals in the alt text of the web PDFs."""
    fr = layouts_copy / "i18n" / "fr.yaml"
    shutil.copy(HOSTILE / fixture, fr)
    start = time.perf_counter()
    with pytest.raises(FlyerError) as info:
        load_strings(layouts_copy, "fr")
    assert time.perf_counter() - start < 0.5
    assert str(info.value) == (
        f"{fr}:8: qr_alt : {shown} : un champ est un nom seul entre accolades, sans « . », "
        "« [ », « : » ni « ! » ; champs permis : {email}")
    assert "<class" not in str(info.value)


def test_fill_replaces_plain_fields_and_doubled_braces() -> None:
    assert fill("Code QR : écrire à {email}", {"email": "a@b.be"}) == (
        "Code QR : écrire à a@b.be")
    assert fill("{{date}} = {date}", {"date": "13/09/2016"}) == "{date} = 13/09/2016"
    # A value is inserted as typed, never read as a field itself.
    assert fill("{email}", {"email": "{date}@x.be"}) == "{date}@x.be"


@pytest.mark.parametrize(("text", "said"), [
    ("Écrire à {mail}", "le champ {mail} n'existe pas ici ; champs permis : {email}"),
    ("Écrire à {email", "accolade seule : un champ s'écrit {nom}"),
    ("Écrire à email}", "accolade seule"),
    ("Écrire à {email!r}", "« {email!r} » n'est pas permis"),
    ("Écrire à {email[0]}", "« {email[0]} » n'est pas permis"),
    ("Écrire à {0}", "« {0} » n'est pas permis"),
])
def test_fill_refuses_anything_but_the_allowed_names(text: str, said: str) -> None:
    with pytest.raises(FlyerError) as info:
        fill(text, {"email": "a@b.be"}, Path("layouts/i18n/fr.yaml"), "qr_alt", 8)
    assert str(info.value).startswith("layouts/i18n/fr.yaml:8: qr_alt : ")
    assert said in str(info.value)


def test_every_wrong_text_is_reported_at_once_with_its_line(layouts_copy: Path) -> None:
    fr = layouts_copy / "i18n" / "fr.yaml"
    text = fr.read_text(encoding="utf-8")
    text = text.replace("qr_hint: Scannez le code pour écrire un courriel.",
                        "qr_hint: Scannez le code ({date}).")
    text = text.replace("updated: Coordonnées vérifiées le {date}",
                        "updated: Coordonnées vérifiées le {jour}")
    fr.write_text(text, encoding="utf-8")
    with pytest.raises(FlyerError) as info:
        load_strings(layouts_copy, "fr")
    assert [(p.line, p.field) for p in info.value.problems] == [
        (9, "qr_hint"), (10, "updated")]
    assert "ce texte n'a pas de champ" in info.value.problems[0].message
    assert "champs permis : {date}" in info.value.problems[1].message


def test_missing_text_that_flyer_reads_is_named(layouts_copy: Path) -> None:
    fr = layouts_copy / "i18n" / "fr.yaml"
    fr.write_text("\n".join(line for line in fr.read_text(encoding="utf-8").splitlines()
                            if not line.startswith(("qr_alt:", "updated:"))),
                  encoding="utf-8")
    with pytest.raises(FlyerError, match="textes manquants : qr_alt, updated ;") as info:
        load_strings(layouts_copy, "fr")
    assert info.value.path == fr


def test_text_that_is_not_a_string_names_its_line(layouts_copy: Path) -> None:
    fr = layouts_copy / "i18n" / "fr.yaml"
    fr.write_text(fr.read_text(encoding="utf-8").replace(
        "qr_hint: Scannez le code pour écrire un courriel.", "qr_hint:\n  - Scannez"),
        encoding="utf-8")
    with pytest.raises(FlyerError, match="chaque ligne doit être « clé: texte »") as info:
        load_strings(layouts_copy, "fr")
    assert (info.value.line, info.value.problems[0].field) == (9, "qr_hint")


def test_i18n_file_that_is_a_fifo_or_a_device_is_refused(layouts_copy: Path) -> None:
    fr = layouts_copy / "i18n" / "fr.yaml"
    fr.unlink()
    os.mkfifo(fr)  # nobody writes: reading it would wait forever
    with pytest.raises(FlyerError, match="pas un fichier"):
        load_strings(layouts_copy, "fr")
    fr.unlink()
    fr.symlink_to("/dev/zero")
    with pytest.raises(FlyerError, match="lien vers un fichier hors du dossier"):
        load_strings(layouts_copy, "fr")


def test_huge_i18n_file_is_refused_before_reading(layouts_copy: Path) -> None:
    with (layouts_copy / "i18n" / "fr.yaml").open("wb") as file:
        file.truncate(3_000_000_000)  # sparse
    with pytest.raises(FlyerError, match="fichier trop gros"):
        load_strings(layouts_copy, "fr")

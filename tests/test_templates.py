"""The sandboxed, autoescaped, strict Jinja environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer.errors import FlyerError
from flyer.templates import load_strings, make_environment, render_html


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

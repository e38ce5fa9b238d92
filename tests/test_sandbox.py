"""The bounded sandbox: a hostile layout pack's costly template ends fast, with a French
error naming the template and line; what layouts legitimately do still works.

The attacks named in the fixtures (tests/fixtures/hostile/poster_*.html) each ran for
minutes, took gigabytes or ended in a traceback before the sandbox was bounded.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flyer import sandbox
from flyer.cli import app
from flyer.errors import FlyerError
from flyer.templates import make_environment, render_html

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests/fixtures/hostile"
FAST = 0.5  # seconds; each attack ends in a few milliseconds


def _refusal(layouts: Path, source: str, name: str = "poster.html") -> tuple[FlyerError, float]:
    (layouts / name).write_text(source, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(FlyerError) as caught:
        render_html(make_environment(layouts), name, {})
    return caught.value, time.perf_counter() - start


def _said(error: FlyerError) -> str:
    return str(error).replace("\u00a0", " ")


@pytest.mark.parametrize(("fixture", "said"), [
    ("poster_nested_loops.html", "(range() de 100 000 nombres ; maximum 10 000)"),
    ("poster_nested_loops_small_ranges.html", "plus de 50 000 tours de boucle"),
    ("poster_string_repeat.html", "(chaîne de 100 000 000 caractères ; maximum 100 000)"),
    ("poster_power_tower.html", "nombre d'environ 100 000 001 chiffres"),
    ("poster_huge_range.html", "range() de 1 000 000 000 nombres"),
])
def test_costly_template_is_refused_fast_naming_file_and_line(
    layouts_copy: Path, fixture: str, said: str,
) -> None:
    source = (HOSTILE / fixture).read_text(encoding="utf-8")
    error, elapsed = _refusal(layouts_copy, source)
    assert elapsed < FAST
    assert error.path == layouts_copy / "poster.html"
    assert error.line == 3
    assert _said(error).startswith(
        f"{layouts_copy / 'poster.html'}:3: opération trop coûteuse dans le modèle (")
    assert said in _said(error)


@pytest.mark.parametrize(("fixture", "said"), [
    ("poster_lipsum.html", "variable inconnue dans le modèle : 'lipsum' is undefined"),
    ("poster_division_by_zero.html", "division par zéro dans le modèle"),
])
def test_python_error_in_a_template_is_a_flyer_error_at_its_line(
    layouts_copy: Path, fixture: str, said: str,
) -> None:
    error, elapsed = _refusal(layouts_copy, (HOSTILE / fixture).read_text(encoding="utf-8"))
    assert elapsed < FAST
    assert (error.path, error.line) == (layouts_copy / "poster.html", 3)
    assert said in _said(error)


BOMB = ("{% set a = ['x' * 90000] %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
        "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{% set d = [c,c,c,c,c,c,c,c,c,c] %}\n")


@pytest.mark.parametrize(("source", "said"), [
    # One long string held 10 000 times: cheap to build, 900 MB to print.
    (BOMB + "{{ d }}", "liste ou dictionnaire de plus de 2 000 000 caractères"),
    (BOMB + "{{ d ~ '' }}", "de plus de 2 000 000 caractères"),
    (BOMB + "{{ d|string }}", "de plus de 2 000 000 caractères"),
    (BOMB + "{{ d == [d] }}", "de plus de 2 000 000 caractères"),
    ("{% set t = ('x' * 90000,) %}{% set u = (t,t,t,t,t,t,t,t,t,t) %}"
     "{% set v = (u,u,u,u,u,u,u,u,u,u) %}{% set w = (v,v,v,v,v,v,v,v,v,v) %}\n{{ {w: 1} }}",
     "liste ou dictionnaire de plus de 2 000 000 caractères"),  # a key is hashed
    ("\n{% set s = 'a' * 99999 %}{{ [s] * 99999 }}", "liste de plus de 2 000 000 caractères"),
    ("\n{{ '{:>100000000}'.format(1) }}", "largeur de 100 000 000 ; maximum 100 000"),
    ("\n{{ '{:{}}'.format(1, 100000000) }}", "largeur de 100 000 000"),
    ("\n{{ '%100000000s' % 'a' }}", "largeur de 100 000 000"),
    ("\n{{ '%100000000s'|format('a') }}", "largeur de 100 000 000"),
    ("\n{{ 'a'.center(10**9) }}", "argument de center() : 1 000 000 000"),
    ("\n{{ 'a'|center(1000000000) }}", "largeur de 1 000 000 000"),
    ("\n{{ (1).to_bytes(10**9, 'big') }}", "argument de to_bytes() : 1 000 000 000"),
    ("\n{{ range(10000)|join('x' * 99999) }}", "texte de 999 900 001 caractères"),
    ("\n{{ ('x' * 99999).join(range(10000)|map('string')) }}", "texte de 999 928 891"),
    ("\n{{ ('a' * 99999).replace('', 'b' * 99999) }}", "texte de 9 999 999 999 caractères"),
    ("\n{{ ('a' * 99999)|replace('a', 'b' * 99999) }}", "texte de 9 999 800 001 caractères"),
    ("\n{{ ('\\t' * 99999).expandtabs(99999) }}", "texte de 9 999 900 000 caractères"),
    ("\n{{ ('a' * 99999).translate({97: 'b' * 99999}) }}", "texte de 9 999 800 001"),
    ("\n{{ ('a\\n' * 50000)|indent('x' * 99999) }}", "texte de 5 000 149 999 caractères"),
    ("\n{{ ('a ' * 50000)|wordwrap(1, wrapstring='x' * 99999) }}", "caractères"),
    ("\n{{ [1]|batch(10**9, 0)|list }}", "taille des paquets de 1 000 000 000"),
    ("\n{{ [1]|slice(10**9)|list }}", "nombre de parts de 1 000 000 000"),
    ("\n{{ [[1]]|tojson(indent=100000) }}", "indentation de 100 000 ; maximum 16"),
    ("\n{{ range(5000)|map('string')|map('list')|sum(start=[]) }}", "somme qui recopie"),
    ("\n{{ 2**1000 * 2**1000 }}", "nombre d'environ 603 chiffres ; maximum 309"),
    ("\n{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
     "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "le modèle lit ou produit plus de 20 000 000 caractères"),
    ("\n{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
     "{% set ns.s = ns.s + ns.s %}{% endfor %}", "texte de 2 097 152 caractères"),
    # The template's own text, repeated by a loop into a variable nobody prints.
    ("\n{% set x %}{% for i in range(10000) %}" + "y" * 10_000 + "{% endfor %}{% endset %}",
     "le modèle lit ou produit plus de 20 000 000 caractères"),
    # Reading a long list again and again: a method, a slice, a comparison.
    ("{% set big = (range(10000)|list) * 3 %}\n{% for i in range(10000) %}"
     "{{ big.count(-1) }}{% endfor %}", "le modèle lit ou produit plus de 20 000 000"),
    ("{% set big = (range(10000)|list) * 3 %}\n{% for i in range(10000) %}"
     "{{ big[1:]|length }}{% endfor %}", "le modèle lit ou produit plus de 20 000 000"),
    ("{% set big = (range(10000)|list) * 3 %}\n{% for i in range(10000) %}"
     "{{ -1 in big }}{% endfor %}", "le modèle lit ou produit plus de 20 000 000"),
    # Filters that run Python for each word (urlize: 0.8 µs a character).
    ("\n{{ ('a.be ' * 19000)|urlize }}", "texte de plus de 25 000 caractères pour le filtre "
     "urlize"),
    ("\n{{ ('ab ' * 30000)|title }}", "texte de plus de 40 000 caractères pour le filtre title"),
    ("\n{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}"
     "{{ m(40) }}", "plus de 50 000 tours de boucle, appels ou filtres"),
])
def test_every_costly_operation_is_refused_before_the_work(
    tmp_path: Path, source: str, said: str,
) -> None:
    error, elapsed = _refusal(tmp_path, source)
    assert elapsed < FAST, source
    assert error.path == tmp_path / "poster.html"
    assert error.line == 2
    assert "opération trop coûteuse dans le modèle (" in _said(error)
    assert said in _said(error)


def test_template_including_itself_twice_ends_fast(tmp_path: Path) -> None:
    error, elapsed = _refusal(
        tmp_path, "x\n{% include 'poster.html' %}{% include 'poster.html' %}")
    assert elapsed < FAST
    assert error.path == tmp_path / "poster.html"
    assert error.line == 2


@pytest.mark.parametrize("source", [
    "{% macro m() %}\n{{ m() }}{% endmacro %}{{ m() }}",
    "{% for x in [1] recursive %}\n{{ loop(range(10)) }}{{ loop(range(10)) }}{% endfor %}",
])
def test_template_calling_itself_is_a_clear_error(tmp_path: Path, source: str) -> None:
    error, elapsed = _refusal(tmp_path, source)
    assert elapsed < FAST
    assert error.path == tmp_path / "poster.html"
    assert error.line in (1, 2)  # wherever Python's recursion limit cut it
    assert "appels imbriqués trop profonds" in str(error)


@pytest.mark.parametrize("source", [
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",  # Python's recursion limit, compiling
    "{{ 1" + "0" * 5000 + " }}",  # Python's 4 300-digit limit, reading the number
])
def test_template_that_cannot_compile_is_a_flyer_error(tmp_path: Path, source: str) -> None:
    error, elapsed = _refusal(tmp_path, source)
    assert elapsed < FAST
    assert error.path == tmp_path / "poster.html"


def test_a_render_that_runs_too_long_is_stopped_by_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backstop for a cost the counts misjudge: here, no time at all is allowed."""
    monkeypatch.setattr(sandbox, "MAX_RENDER_SECONDS", 0.0)
    error, _ = _refusal(tmp_path, "{% for i in range(3) %}{{ i }}{% endfor %}")
    assert (error.path, error.line) == (tmp_path / "poster.html", 1)
    assert "le modèle calcule depuis plus de 0 secondes" in str(error)


def test_what_layouts_use_still_works(tmp_path: Path) -> None:
    (tmp_path / "_part.html").write_text(
        "{% macro card(c) %}<b>{{ c.name }}</b>{{ caller() }}{% endmacro %}", encoding="utf-8")
    (tmp_path / "poster.html").write_text(
        "{% from '_part.html' import card %}"
        "{% set ns = namespace(total=0) %}{% set sep = joiner(', ') %}"
        "{% set row = cycler('odd', 'even') %}"
        "{% for pair in contacts|batch(2) %}{% for c in pair %}"
        "{{ sep() }}{% call card(c) %}{{ row.next() }}{{ loop.index }}/{{ loop.length }}"
        "{% endcall %}{% set ns.total = ns.total + 1 %}{% endfor %}{% endfor %}"
        "|{{ ns.total }}|{{ range(3)|join('-') }}|{{ '%.1f'|format(2.25) }}"
        "|{{ '{} à {}'.format('a', 'b') }}|{{ 'x' * 3 ~ 2**10 }}|{{ 7 // 2 }}{{ 7 % 2 }}"
        "|{{ dict(a=1)|tojson }}|{{ contacts|map(attribute='name')|sort|first }}"
        "|{% for item in [[1, [2]]] recursive %}{{ item }}{% endfor %}"
        "|{% if 'B' in contacts|map(attribute='name') %}B{% endif %}"
        "|{% include '_static.html' %}",
        encoding="utf-8")
    (tmp_path / "_static.html").write_text("fin & <b>", encoding="utf-8")
    contacts = [{"name": name} for name in "CAB"]
    html = render_html(make_environment(tmp_path), "poster.html", {"contacts": contacts})
    assert html == ("<b>C</b>odd1/2, <b>A</b>even2/2, <b>B</b>odd1/1|3|0-1-2|2.2|a à b"
                    '|xxx1024|31|{"a": 1}|A|[1, [2]]|B|fin & <b>')


def test_a_list_of_three_hundred_services_is_within_budget(tmp_path: Path) -> None:
    (tmp_path / "poster.html").write_text(
        "{% for pair in contacts|batch(2) %}{% for c in pair %}"
        "<img src=\"{{ c.qr_src }}\" alt=\"{{ c.qr_alt }}\">{{ c.name }}"
        "{% endfor %}{% endfor %}", encoding="utf-8")
    contacts = [{"name": f"Service {i}", "qr_src": "data:image/svg+xml," + "x" * 3400,
                 "qr_alt": "Code QR"} for i in range(300)]
    html = render_html(make_environment(tmp_path), "poster.html", {"contacts": contacts})
    assert html.count("<img") == 300


# --- reading templates --------------------------------------------------------------

def test_template_not_in_utf8_names_file_and_line(layouts_copy: Path) -> None:
    shutil.copy(HOSTILE / "poster_latin1.html", layouts_copy / "poster.html")
    with pytest.raises(FlyerError) as caught:
        render_html(make_environment(layouts_copy), "poster.html", {})
    assert (caught.value.path, caught.value.line) == (layouts_copy / "poster.html", 2)
    assert "n'est pas en UTF-8" in str(caught.value)


def test_template_that_is_a_fifo_is_refused_without_reading(layouts_copy: Path) -> None:
    poster = layouts_copy / "poster.html"
    poster.unlink()
    os.mkfifo(poster)  # nobody writes: reading it would wait forever
    start = time.perf_counter()
    with pytest.raises(FlyerError, match="pas un fichier") as caught:
        render_html(make_environment(layouts_copy), "poster.html", {})
    assert caught.value.path == poster
    assert time.perf_counter() - start < FAST


def test_template_linked_to_a_device_is_refused(layouts_copy: Path) -> None:
    poster = layouts_copy / "poster.html"
    poster.unlink()
    poster.symlink_to("/dev/zero")
    with pytest.raises(FlyerError, match="lien vers un fichier hors du dossier"):
        render_html(make_environment(layouts_copy), "poster.html", {})


def test_huge_template_is_refused_before_reading(layouts_copy: Path) -> None:
    with (layouts_copy / "poster.html").open("wb") as file:
        file.truncate(3_000_000_000)  # sparse: 3 GB that take no room on disk
    start = time.perf_counter()
    with pytest.raises(FlyerError, match="fichier trop gros"):
        render_html(make_environment(layouts_copy), "poster.html", {})
    assert time.perf_counter() - start < FAST


# --- through the command line -------------------------------------------------------

@pytest.mark.parametrize("fixture", ["poster_string_repeat.html", "poster_power_tower.html"])
def test_build_with_costly_poster_exits_2_naming_it(
    tmp_path: Path, layouts_copy: Path, fixture: str,
) -> None:
    shutil.copy(HOSTILE / fixture, layouts_copy / "poster.html")
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["build", "--data", str(ROOT / "data"), "--layouts",
                                      str(layouts_copy), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    assert f"{layouts_copy / 'poster.html'}:3: opération trop coûteuse" in result.stderr
    assert time.perf_counter() - start < 60  # the leaflet and letter are laid out first
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.pdf"))


# Every hostile layout of the issue, through the command line, as a person would run it.
ATTACKS = {
    "poster_nested_loops.html": "poster.html",
    "poster_string_repeat.html": "poster.html",
    "poster_power_tower.html": "poster.html",
    "poster_lipsum.html": "poster.html",
    "poster_division_by_zero.html": "poster.html",
    "poster_huge_range.html": "poster.html",
    "poster_latin1.html": "poster.html",
    "i18n_fr_qr_alt_huge_width.yaml": "i18n/fr.yaml",
    "i18n_fr_qr_alt_python_internals.yaml": "i18n/fr.yaml",
}


@pytest.mark.parametrize("fixture", sorted(ATTACKS))
def test_every_hostile_layout_ends_fast_with_exit_2_naming_its_file(
    tmp_path: Path, layouts_copy: Path, fixture: str,
) -> None:
    target = layouts_copy / ATTACKS[fixture]
    shutil.copy(HOSTILE / fixture, target)
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["build", "--data", str(ROOT / "data"), "--layouts",
                                      str(layouts_copy), "--out", str(tmp_path / "out")])
    assert time.perf_counter() - start < 60
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    assert str(target) in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.allow_weasyprint_warnings
def test_an_svg_bomb_in_a_poster_ends_fast_with_exit_2_naming_it(
    tmp_path: Path, layouts_copy: Path,
) -> None:
    shutil.copy(HOSTILE / "svg_use_bomb.svg", layouts_copy / "bomb.svg")
    poster = layouts_copy / "poster.html"
    poster.write_text(poster.read_text(encoding="utf-8").replace(
        "{% block body %}", '{% block body %}<img src="bomb.svg" alt="">'), encoding="utf-8")
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["build", "--data", str(ROOT / "data"), "--layouts",
                                      str(layouts_copy), "--out", str(tmp_path / "out")])
    assert time.perf_counter() - start < 60
    assert result.exit_code == 2, result.output
    flat = " ".join(result.stderr.split())
    assert f"{poster}: ressource refusée" in flat and "bomb.svg" in flat
    assert not (tmp_path / "out").exists()

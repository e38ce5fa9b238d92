"""The Jinja environment over `layouts/`, `render_html()`, and the layouts' fixed texts
(`layouts/i18n/<lang>.yaml`: `load_strings()` and `fill()`).

A layout pack can arrive by email: it is hostile input. The environment is sandboxed and
bounded (`sandbox.BoundedEnvironment`: no Python internals, no costly operation),
autoescaped (a service called `Parents & Ados <12-18 ans>` prints as typed) and strict
(a misspelt variable is an error, not an empty string on paper). Templates and i18n
files are read only if they are small regular UTF-8 files inside `layouts/`. The i18n
texts are filled by `fill()`, which knows only plain `{name}` fields: `{email.__class__}`
or `{email:>30000000}` (which str.format would obey, outside the sandbox) is an error
as soon as the file is loaded.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flyer.errors import FlyerError, Problem
from flyer.files import read_bytes
from flyer.load import decode_utf8, parse_yaml, read_text
from flyer.sandbox import BoundedEnvironment, TemplateTooCostly

# A template or i18n file; the shipped ones are under 10 kB. Checked before reading, as
# data files are: a FIFO or a device named like a template can neither hang nor flood it.
MAX_LAYOUT_BYTES = 1_000_000


# --- reading layouts/ ------------------------------------------------------------------

def _inside(path: Path, root: Path, what: str = "ce fichier") -> None:
    if not path.resolve().is_relative_to(root.resolve()):
        raise FlyerError(f"{what} est un lien vers un fichier hors du dossier de mise en "
                         "page ; remplacez le lien par le fichier lui-même", path)


class LayoutLoader(jinja2.FileSystemLoader):
    """Templates from `layouts/` only: small regular UTF-8 files, no symlink out of it.

    Jinja refuses `../` in template names but follows symlinks, and reads a file whole
    before anyone can look at it: `_contacts.html -> /etc/passwd` would print that file,
    and a FIFO would hang the read.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        root = Path(self.searchpath[0])
        path = root.joinpath(*split_template_path(template))
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        _inside(path, root, "ce modèle")
        source = decode_utf8(read_bytes(path, MAX_LAYOUT_BYTES), path)
        mtime = os.path.getmtime(path)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(path) == mtime
            except OSError:
                return False

        return source, str(path), uptodate


def make_environment(layouts: Path) -> BoundedEnvironment:
    return BoundedEnvironment(
        loader=LayoutLoader(str(layouts)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs; a cache that cannot be read or written costs
    time, never a build."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError, ValueError, EOFError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiling the layouts' templates with the sandbox's hooks is a tenth of a second per
    process: compiled once per template source, flyer and sandbox, in the cache folder."""
    import hashlib

    from flyer import __version__, sandbox
    from flyer.cache import cache_folder

    code = hashlib.sha256(Path(sandbox.__file__).read_bytes()).hexdigest()[:12]
    folder = cache_folder() / f"templates-{__version__}-{jinja2.__version__}-{code}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _QuietBytecodeCache(str(folder))


# --- the fixed texts of the layouts ----------------------------------------------------

# The `{fields}` each text may use; every other text has none.
STRING_FIELDS: dict[str, tuple[str, ...]] = {"qr_alt": ("email",), "updated": ("date",)}
# The texts flyer's code fills itself (context.py); a text only a template uses is
# checked when it renders (StrictUndefined names it and its line).
REQUIRED_STRINGS = tuple(STRING_FIELDS)

_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _allowed(values: Mapping[str, str]) -> str:
    if not values:
        return "ce texte n'a pas de champ ; pour afficher une accolade, écrivez {{ ou }}"
    return "champs permis : " + ", ".join(f"{{{name}}}" for name in values)


def fill(text: str, values: Mapping[str, str], path: Path | None = None,
         key: str | None = None, line: int | None = None) -> str:
    """`text` with each `{name}` replaced by `values[name]`; `{{` and `}}` print a brace.

    Only plain names: str.format would also obey `{email.__class__.__mro__}` (Python
    internals in the PDF) and `{email:>30000000}` (gigabytes), and these texts come with
    the layout pack, outside the template sandbox.
    """
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            message = ("accolade seule : un champ s'écrit {nom} ; pour afficher une "
                       "accolade, écrivez {{ ou }}")
        elif name in values:
            return values[name]
        elif _NAME.fullmatch(name):
            message = f"le champ {{{name}}} n'existe pas ici ; {_allowed(values)}"
        else:
            shown = name if len(name) <= 60 else name[:57] + "…"
            message = (f"« {{{shown}}} » n'est pas permis : un champ est un nom seul entre "
                       f"accolades, sans « . », « [ », « : » ni « ! » ; {_allowed(values)}")
        raise FlyerError(message, path, line, field=key)

    return _BRACES.sub(replace, text)


def _read_strings(layouts: Path, path: Path, lang: str) -> tuple[dict[str, str],
                                                                 dict[str, int]]:
    if not os.path.lexists(path):
        raise FlyerError(f"textes de la mise en page introuvables pour « {lang} »", path)
    _inside(path, layouts)
    data, lines = parse_yaml(read_text(path, MAX_LAYOUT_BYTES), path)
    if not isinstance(data, dict):
        raise FlyerError("chaque ligne doit être « clé: texte »", path, 1)
    for key, value in data.items():
        if not isinstance(value, str):
            raise FlyerError("chaque ligne doit être « clé: texte » (le texte sur la même "
                             "ligne, entre guillemets s'il contient « : »)", path,
                             lines.get((key,)), field=key)
    return data, {key: lines[(key,)] for key in data if (key,) in lines}


def load_strings(layouts: Path, lang: str) -> dict[str, str]:
    """The fixed texts of the layouts in `lang` (`layouts/i18n/<lang>.yaml`), every one
    checked: its `{fields}` (STRING_FIELDS), and none missing (French has them all)."""
    path = layouts / "i18n" / f"{lang}.yaml"
    data, lines = _read_strings(layouts, path, lang)
    required = set(REQUIRED_STRINGS)
    fallback = layouts / "i18n" / "fr.yaml"
    if lang != "fr" and os.path.lexists(fallback):
        base, _ = _read_strings(layouts, fallback, "fr")
        required |= set(base)
    problems: list[Problem] = []
    missing = sorted(required - set(data))
    if missing:
        problems.append(Problem(f"textes manquants : {', '.join(missing)} ; ajoutez une "
                                "ligne « clé: texte » pour chacun", path))
    for key, text in data.items():
        try:
            fill(text, dict.fromkeys(STRING_FIELDS.get(key, ()), ""), path, key,
                 lines.get(key))
        except FlyerError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FlyerError(problems=problems)
    return data


# --- rendering -------------------------------------------------------------------------

def _template_line(exc: BaseException, layouts: Path) -> tuple[Path | None, int | None]:
    """The template file and line where a render error happened, from the traceback."""
    tb = exc.__traceback__
    found: tuple[Path | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") and Path(filename).is_relative_to(layouts):
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


_PYTHON_ERRORS: dict[type[BaseException], str] = {
    ZeroDivisionError: "division par zéro dans le modèle",
    OverflowError: "nombre trop grand dans le modèle",
    RecursionError: "appels imbriqués trop profonds dans le modèle (un modèle ou une macro "
                    "qui s'appelle lui-même ?)",
    MemoryError: "mémoire épuisée par le modèle",
}


def render_html(
    env: ImmutableSandboxedEnvironment, template: str, context: dict[str, Any]
) -> str:
    """`layouts/<template>` (a file name such as `leaflet.html`) filled with `context`."""
    name = template
    layouts = Path(env.loader.searchpath[0])  # type: ignore[union-attr]
    try:
        compiled = _compile(env, name, layouts)
        return str(compiled.render(context))
    except jinja2.TemplateNotFound as exc:
        raise FlyerError(f"modèle introuvable : {exc.name}", layouts / name) from None
    except jinja2.TemplateSyntaxError as exc:
        raise FlyerError(f"erreur de syntaxe dans le modèle : {exc.message}",
                         Path(exc.filename) if exc.filename else layouts / name,
                         exc.lineno) from None
    except TemplateTooCostly as exc:
        where, line = _template_line(exc, layouts)
        raise FlyerError(f"opération trop coûteuse dans le modèle ({exc})",
                         where or layouts / name, line) from None
    except SecurityError as exc:
        where, line = _template_line(exc, layouts)
        raise FlyerError(_forbidden(str(exc)), where or layouts / name, line) from None
    except jinja2.UndefinedError as exc:
        where, line = _template_line(exc, layouts)
        message = exc.message or ""
        # The sandbox answers `''.__class__` with an undefined value, not a SecurityError.
        text = (_forbidden(message) if "unsafe" in message
                else f"variable inconnue dans le modèle : {message}")
        raise FlyerError(text, where or layouts / name, line) from None
    except FlyerError:
        raise
    except Exception as exc:
        where, line = _template_line(exc, layouts)
        known = _python_error(exc)
        if where is None and known is None:
            raise  # not the template's doing: a bug of flyer, with its traceback
        raise FlyerError(known or f"erreur dans le modèle : {exc}",
                         where or layouts / name, line) from None


def _compile(env: ImmutableSandboxedEnvironment, name: str, layouts: Path) -> jinja2.Template:
    """The compiled template; what its syntax errors do not cover (an expression nested
    thousands of levels deep, a 5 000-digit number) becomes a FlyerError too."""
    try:
        return env.get_template(name)
    except (jinja2.TemplateError, FlyerError):
        raise
    except Exception as exc:
        raise FlyerError(_python_error(exc) or f"modèle impossible à lire : {exc}",
                         layouts / name) from None


def _python_error(exc: Exception) -> str | None:
    return next((text for kind, text in _PYTHON_ERRORS.items() if isinstance(exc, kind)),
                None)


def _forbidden(detail: str) -> str:
    return (f"opération interdite dans le modèle ({detail}) ; un modèle ne peut qu'afficher "
            "les variables fournies par flyer (letter, contacts, t…)")

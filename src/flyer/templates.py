"""The sandboxed Jinja environment over `layouts/`, and `render_html()`.

Sandboxed (a layout pack received by email cannot reach Python internals), autoescaped
(a service called `Parents & Ados <12-18 ans>` prints as typed) and strict (a misspelt
variable is an error, not an empty string on paper).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flyer.errors import FlyerError
from flyer.load import parse_yaml, read_text


class LayoutLoader(jinja2.FileSystemLoader):
    """Templates from `layouts/` only: a symlink pointing out of it is refused.

    Jinja already refuses `../` in template names, but follows symlinks: a layout pack
    with `_contacts.html -> /etc/passwd` would print that file.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        root = Path(self.searchpath[0]).resolve()
        if not Path(filename).resolve().is_relative_to(root):
            raise FlyerError(
                "ce modèle est un lien vers un fichier hors du dossier de mise en page ; "
                "remplacez le lien par le fichier lui-même", Path(filename))
        return source, filename, uptodate


def make_environment(layouts: Path) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=LayoutLoader(str(layouts)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def load_strings(layouts: Path, lang: str) -> dict[str, str]:
    """The fixed texts of the layouts in `lang` (`layouts/i18n/<lang>.yaml`)."""
    path = layouts / "i18n" / f"{lang}.yaml"
    if not path.is_file():
        raise FlyerError(f"textes de la mise en page introuvables pour « {lang} »", path)
    if not path.resolve().is_relative_to(layouts.resolve()):
        raise FlyerError("ce fichier est un lien vers un fichier hors du dossier de mise en "
                         "page ; remplacez le lien par le fichier lui-même", path)
    data, _ = parse_yaml(read_text(path), path)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise FlyerError("chaque ligne doit être « clé: texte »", path, 1)
    fallback = layouts / "i18n" / "fr.yaml"
    if lang != "fr" and fallback.is_file():
        base, _ = parse_yaml(read_text(fallback), fallback)
        missing = sorted(set(base) - set(data))
        if missing:
            raise FlyerError(f"textes manquants : {', '.join(missing)}", path)
    return data


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


def render_html(
    env: ImmutableSandboxedEnvironment, template: str, context: dict[str, Any]
) -> str:
    """`layouts/<template>` (a file name such as `leaflet.html`) filled with `context`."""
    name = template
    layouts = Path(env.loader.searchpath[0])  # type: ignore[union-attr]
    try:
        return str(env.get_template(name).render(context))
    except jinja2.TemplateNotFound as exc:
        raise FlyerError(f"modèle introuvable : {exc.name}", layouts / name) from None
    except jinja2.TemplateSyntaxError as exc:
        raise FlyerError(f"erreur de syntaxe dans le modèle : {exc.message}",
                         Path(exc.filename) if exc.filename else layouts / name,
                         exc.lineno) from None
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
    except (TypeError, ValueError, AttributeError) as exc:
        where, line = _template_line(exc, layouts)
        if where is None or isinstance(exc, FlyerError):
            raise
        raise FlyerError(f"erreur dans le modèle : {exc}", where, line) from None


def _forbidden(detail: str) -> str:
    return (f"opération interdite dans le modèle ({detail}) ; un modèle ne peut qu'afficher "
            "les variables fournies par flyer (letter, contacts, t…)")

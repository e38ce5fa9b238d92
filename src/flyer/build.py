"""`build()`: the only module that knows every stage of the pipeline.

data/ → load (model) → context → HTML → PDF → bundle → files in `out/`, written
under temporary names and renamed into place only when every document succeeded.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flyer.bundle import merge_pdfs
from flyer.context import DOCUMENTS, make_context
from flyer.errors import FlyerError, Problem
from flyer.load import load_campaign
from flyer.render import Renderer, build_date, has_fast_subsetting, pdf_identifier
from flyer.templates import load_strings, make_environment, render_html

EXPECTED_PAGES = {"leaflet": 2, "letter": 2, "poster": 1}


@dataclass(frozen=True)
class BuildOptions:
    data: Path = Path("data")
    layouts: Path = Path("layouts")
    out: Path = Path("output")
    langs: tuple[str, ...] = ()  # empty: every language with a letter
    highlight: str | None = None  # --for: a service shown first as the reader's contact


@dataclass(frozen=True)
class Written:
    path: Path
    pages: int
    size: int


@dataclass
class BuildResult:
    written: list[Written] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def build(options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Render every document of every language into `options.out`, all or nothing."""
    say = progress or (lambda _message: None)
    for folder, label in ((options.layouts, "mise en page"), (options.data, "données")):
        if not folder.is_dir():
            raise FlyerError(f"dossier de {label} introuvable", folder)
    say("Lecture des données")
    campaign = load_campaign(options.data, list(options.langs) or None)
    names = [c.name for c in campaign.contacts.contacts]
    if options.highlight is not None and options.highlight not in names:
        raise FlyerError(_unknown_service(options.highlight, names), campaign.sources[0])
    result = BuildResult(warnings=list(campaign.warnings))
    env = make_environment(options.layouts)
    renderer = Renderer(options.layouts, options.data)
    date = build_date(campaign.contacts.updated)
    files: dict[str, bytes] = {}
    pages: dict[str, int] = {}
    for lang in campaign.letters:
        strings = load_strings(options.layouts, lang)
        parts: list[tuple[str, bytes]] = []
        for document in DOCUMENTS:
            say(f"Mise en page : {document}-{lang}.pdf")
            context = make_context(campaign, lang, document, strings,
                                   highlight=options.highlight)
            html = render_html(env, document, context)
            rendered = renderer.render_document(html)
            name = f"{document}-{lang}.pdf"
            files[name] = renderer.write_pdf(rendered, name, date, source=html)
            parts.append((strings[f"document_{document}"], files[name]))
            pages[name] = len(rendered.pages)
            expected = EXPECTED_PAGES[document]
            if len(rendered.pages) != expected:
                result.warnings.append(Problem(
                    _overflow_message(document, expected, len(rendered.pages), len(names)),
                    options.out / name))
        say(f"Assemblage : flyer-{lang}.pdf")
        name = f"flyer-{lang}.pdf"
        files[name] = merge_pdfs(parts, campaign.letters[lang].title, pdf_identifier(name, parts))
        pages[name] = sum(pages[f"{document}-{lang}.pdf"] for document in DOCUMENTS)
    result.warnings.extend(Problem(f"WeasyPrint : {m}") for m in dict.fromkeys(renderer.warnings))
    result.warnings.extend(
        Problem(f"des caractères absents de la police du modèle ont été imprimés avec "
                f"« {family} », une police de cet ordinateur ; vérifiez les caractères "
                "spéciaux des données (émojis, autres alphabets)", options.out / name)
        for name, family in renderer.fallbacks)
    if not has_fast_subsetting():
        result.hints.append(
            "libharfbuzz-subset est absent : le rendu des polices est environ 3× plus lent "
            "(Debian/Ubuntu : sudo apt install libharfbuzz-subset0)")
    for path in write_atomically(options.out, files):
        result.written.append(Written(path, pages[path.name], path.stat().st_size))
    return result


DOCUMENT_LABELS = {"leaflet": "le dépliant", "letter": "la lettre", "poster": "l'affiche"}


def _overflow_message(document: str, expected: int, actual: int, services: int) -> str:
    def pages(n: int) -> str:
        return f"{n} page" + ("s" if n > 1 else "")

    label = DOCUMENT_LABELS.get(document, document)
    if actual < expected:
        return f"{label} devait faire {pages(expected)} et n'en fait que {actual}"
    # The poster prints the services but not the letter's body.
    what = "la liste" if document == "poster" else "la lettre ou la liste"
    fix = "la liste" if document == "poster" else "la lettre ou les descriptions"
    return (f"{label} devait tenir sur {pages(expected)} et en fait {actual} : {what} "
            f"des {services} services est trop longue ; rien n'est coupé, la suite passe sur "
            f"les pages suivantes. Pour revenir à {pages(expected)}, raccourcissez {fix}")


def _unknown_service(name: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    hint = ("services proches : " + ", ".join(f"« {c} »" for c in close)) if close else (
        "services connus : " + ", ".join(f"« {c} »" for c in names))
    return f"service « {name} » inconnu ; {hint}"


def write_atomically(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file under a temporary name, then rename them all into place.

    If anything fails before the renames, the temporary files are removed and `folder`
    is exactly as it was.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlyerError(f"impossible de créer le dossier de sortie ({exc.strerror})",
                         folder) from None
    staged: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():
            fd, staged_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            staged.append((Path(staged_name), folder / name))
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OSError):
            raise FlyerError(f"écriture impossible ({exc.strerror})", folder) from None
        raise
    for tmp, target in staged:
        tmp.replace(target)
    return [target for _, target in staged]

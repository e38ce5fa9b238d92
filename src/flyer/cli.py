"""The command line: options in, one call to `build()`, a French report out.

A `FlyerError` becomes a message naming the file and line, and exit status 2, here
and nowhere else.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flyer.errors import FlyerError

if TYPE_CHECKING:
    from flyer.build import BuildResult

app = typer.Typer(
    help="Transforme une lettre et une liste de contacts en documents prêts à imprimer.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def reports_user_errors(func: F) -> F:
    """Turn a `FlyerError` into its message on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlyerError as exc:
            count = len(exc.problems)
            title = "Erreur" if count <= 1 else f"{count} erreurs"
            err.print(f"[bold red]{title} — rien n'a été écrit.[/]")
            for problem in exc.problems:
                err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("Interrompu — aucun fichier à moitié écrit.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


# Options shared by `build` and `watch`.
DataDir = Annotated[Path, typer.Option(help="Dossier des données.")]
LayoutsDir = Annotated[Path, typer.Option(help="Dossier des modèles de mise en page.")]
OutDir = Annotated[Path, typer.Option("--out", help="Dossier où écrire les PDF.")]
Lang = Annotated[str, typer.Option(
    help="Langue : fr, nl… ou « all » pour toutes celles qui ont une lettre.")]


@app.callback()
def _root() -> None:
    """flyer : dépliants, lettres et affiches prêts à imprimer."""


def _size(size: int) -> str:
    return f"{size / 1024:.0f} Kio" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} Mio"


@app.command()
@reports_user_errors
def build(
    data: DataDir = Path("data"),
    layouts: LayoutsDir = Path("layouts"),
    out_dir: OutDir = Path("output"),
    lang: Lang = "all",
    for_: Annotated[str | None, typer.Option(
        "--for", help="Nom d'un service à mettre en avant comme « Votre contact » ; "
        "les fichiers vont dans OUT/for/<service>/.")] = None,
    schools: Annotated[Path | None, typer.Option(
        help="Fichier CSV des écoles (school;service;contact;phone;email) : un dépliant "
        "par école dans OUT/schools/<école>/, et schools-<langue>.pdf pour l'imprimeur.")
    ] = None,
    profile: Annotated[str, typer.Option(
        help="office (imprimante de l'école), press (imprimeur : PDF/X-4, CMJN, fond perdu), "
             "web (site : PDF/UA accessible) ou all.")] = "office",
    check: Annotated[bool, typer.Option(
        "--check", help="Contrôle aussi chaque page rendue : codes QR lus, taille du texte.")
    ] = False,
    icc: Annotated[Path | None, typer.Option(
        help="Profil ICC CMJN de l'imprimeur pour --profile press (par défaut : "
             "ISO Coated v2 / FOGRA39 fourni).")] = None,
) -> None:
    """Produit le dépliant, la lettre, l'affiche et le dossier complet, par langue."""
    from flyer.build import BuildOptions
    from flyer.build import build as run_build
    from flyer.profiles import PROFILES

    profiles = PROFILES if profile == "all" else tuple(
        x.strip() for x in profile.split(",") if x.strip())
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown or not profiles:
        raise FlyerError(f"profil « {', '.join(unknown) or profile} » inconnu ; profils : "
                         f"{', '.join(PROFILES)} ou all")

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    langs = () if lang == "all" else tuple(x.strip() for x in lang.split(",") if x.strip())
    options = BuildOptions(data=data, layouts=layouts, out=out_dir, langs=langs,
                           highlight=for_, profiles=profiles, check=check, icc=icc,
                           schools=schools)
    if schools is None:
        with err.status("Préparation…") as status:
            result = run_build(options, progress=lambda message: status.update(message + "…"))
    else:
        with _progress_bar() as bar:
            task = bar.add_task("Préparation…", total=None)
            result = run_build(
                options,
                progress=lambda message: bar.update(task, description=message + "…"),
                tick=lambda done, total: bar.update(task, completed=done, total=total))
    _report(result)
    if result.set_aside:
        raise typer.Exit(1)


def _progress_bar() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("reste"), TimeRemainingColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


# A batch of a few hundred schools lists only the rows set aside, and a count of the others.
MAX_SCHOOL_ROWS = 30


def _report(result: BuildResult) -> None:
    """Warnings, then the files written (or, for --schools, one line per school)."""
    for warning in result.warnings:
        err.print(f"[yellow]Attention :[/] {escape(str(warning))}", highlight=False, soft_wrap=True)
    for hint in result.hints:
        err.print(f"[dim]Conseil : {escape(hint)}[/]", soft_wrap=True)
    if result.schools:
        _report_schools(result)
        return
    table = Table(title="Fichiers écrits", title_justify="left")
    table.add_column("fichier")
    table.add_column("pages", justify="right")
    table.add_column("taille", justify="right")
    for written in result.written:
        table.add_row(str(written.path), str(written.pages), _size(written.size))
    out.print(table)
    if result.checks:
        files = len({c.file for c in result.checks})
        out.print(f"Contrôle : {len(result.checks)} vérifications sur {files} fichiers, "
                  "toutes réussies.")


@app.command("check")
@reports_user_errors
def check_command(
    files: Annotated[list[Path], typer.Argument(help="Fichiers PDF à contrôler.")],
    profile: Annotated[str | None, typer.Option(
        help="office, press ou web ; par défaut, deviné d'après le fichier "
             "(PDF/X → press, PDF/UA → web).")] = None,
) -> None:
    """Contrôle des PDF avant impression ou publication ; code 1 si un contrôle échoue."""
    from flyer.check import PROFILES, check_files

    # pypdf logs what it repairs in a damaged file; the table already says it failed.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if profile is not None and profile not in PROFILES:
        raise FlyerError(f"profil « {profile} » inconnu ; profils : {', '.join(PROFILES)}")
    results = check_files(files, profile)
    table = Table(title=f"Contrôle ({profile or 'profil deviné'})", title_justify="left",
                  show_lines=False)
    table.add_column("fichier", overflow="fold")
    table.add_column("contrôle")
    table.add_column("résultat")
    table.add_column("trouvé", overflow="fold")
    table.add_column("attendu", overflow="fold")
    for r in results:
        verdict = "[green]OK[/]" if r.ok else "[bold red]ÉCHEC[/]"
        table.add_row(Path(r.file).name, r.label, verdict, r.found, r.expected)
    out.print(table)
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"[bold red]{len(failed)} contrôle(s) échoué(s)[/] sur {len(results)}.")
        raise typer.Exit(1)
    out.print(f"{len(results)} contrôles réussis.")


def _report_schools(result: BuildResult) -> None:
    built = [s for s in result.schools if s.built]
    table = Table(title=f"Écoles : {len(built)} construites, {len(result.set_aside)} écartées",
                  title_justify="left")
    table.add_column("ligne", justify="right")
    table.add_column("école")
    table.add_column("résultat")
    table.add_column("fichiers ou raison")
    shown = result.schools if len(result.schools) <= MAX_SCHOOL_ROWS else result.set_aside
    for school in shown:
        if school.built:
            folder = school.files[0].parent if school.files else Path()
            table.add_row(str(school.line), escape(school.school), "[green]construite[/]",
                          escape(f"schools/{folder.name}/ ({len(school.files)} PDF)"))
        else:
            table.add_row(str(school.line), escape(school.school or "—"), "[red]écartée[/]",
                          escape(school.why or ""))
    if len(shown) < len(result.schools):
        table.add_row("", f"… et {len(built)} autres", "[green]construites[/]", "")
    out.print(table)
    merged = [w for w in result.written if w.path.name.startswith("schools-")]
    if merged:
        files = Table(title="Pour l'imprimeur", title_justify="left")
        files.add_column("fichier")
        files.add_column("pages", justify="right")
        files.add_column("taille", justify="right")
        for written in merged:
            files.add_row(str(written.path), str(written.pages), _size(written.size))
        out.print(files)
    if result.set_aside:
        err.print(f"[bold yellow]{len(result.set_aside)} ligne(s) écartée(s)[/] : corrigez-les "
                  "dans le fichier des écoles puis relancez (les autres sont construites).")
        for school in result.set_aside:  # unwrapped, "file:line: why", to copy or grep
            err.print(f"{result.schools_file}:{school.line}: {school.why}", markup=False,
                      highlight=False, soft_wrap=True)


@app.command()
@reports_user_errors
def watch(
    data: DataDir = Path("data"),
    layouts: LayoutsDir = Path("layouts"),
    out_dir: OutDir = Path("output"),
    lang: Lang = "all",
    for_: Annotated[str | None, typer.Option(
        "--for", help="Nom d'un service à mettre en avant comme « Votre contact ».")] = None,
) -> None:
    """Reconstruit les PDF à chaque modification d'un fichier de data/ ou layouts/."""
    from flyer.build import BuildOptions
    from flyer.watch import watch as run_watch

    for folder, label in ((layouts, "mise en page"), (data, "données")):
        if not folder.is_dir():
            raise FlyerError(f"dossier de {label} introuvable", folder)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    langs = () if lang == "all" else tuple(x.strip() for x in lang.split(",") if x.strip())
    options = BuildOptions(data=data, layouts=layouts, out=out_dir, langs=langs, highlight=for_)
    run_watch(options, lambda message: err.print(message, markup=False, highlight=False,
                                                 soft_wrap=True))
    err.print("Arrêté.")


@app.command()
@reports_user_errors
def serve(
    data: DataDir = Path("data"),
    layouts: LayoutsDir = Path("layouts"),
    out_dir: OutDir = Path("output"),
    host: Annotated[str, typer.Option(
        help="Adresse d'écoute. Par défaut, cet ordinateur seulement ; toute autre adresse "
             "demande un mot de passe (FLYER_PASSWORD ou --password-file).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute.")] = 8000,
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Ne pas ouvrir le navigateur.")] = False,
    password_file: Annotated[Path | None, typer.Option(
        help="Fichier qui contient le mot de passe (sinon : variable FLYER_PASSWORD).")
    ] = None,
) -> None:
    """Ouvre flyer dans le navigateur : services, lettre, documents à imprimer."""
    import contextlib

    from flyer.web.server import ServeConfig, read_password, run

    config = ServeConfig(data=data, layouts=layouts, out=out_dir, host=host, port=port,
                         password=read_password(password_file), open_browser=not no_browser)
    # Ctrl-C: uvicorn finishes the requests under way, then gives the signal back.
    # (Plain print, flushed: the address must reach a terminal or a pipe at once.)
    with contextlib.suppress(KeyboardInterrupt):
        run(config, say=lambda message: print(message, flush=True))
    print("Arrêté.", file=sys.stderr, flush=True)


def main() -> None:
    """Console entry point."""
    sys.exit(app())

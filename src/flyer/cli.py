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
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flyer.errors import FlyerError

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


@app.callback()
def _root() -> None:
    """flyer : dépliants, lettres et affiches prêts à imprimer."""


def _size(size: int) -> str:
    return f"{size / 1024:.0f} Kio" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} Mio"


@app.command()
@reports_user_errors
def build(
    data: Annotated[Path, typer.Option(help="Dossier des données.")] = Path("data"),
    layouts: Annotated[Path, typer.Option(help="Dossier des modèles de mise en page.")] = Path(
        "layouts"),
    out_dir: Annotated[Path, typer.Option("--out", help="Dossier où écrire les PDF.")] = Path(
        "output"),
    lang: Annotated[str, typer.Option(
        help="Langue : fr, nl… ou « all » pour toutes celles qui ont une lettre.")] = "all",
    for_: Annotated[str | None, typer.Option(
        "--for", help="Nom d'un service à mettre en avant comme « Votre contact ».")] = None,
) -> None:
    """Produit le dépliant, la lettre, l'affiche et le dossier complet, par langue."""
    from flyer.build import BuildOptions
    from flyer.build import build as run_build

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    langs = () if lang == "all" else tuple(x.strip() for x in lang.split(",") if x.strip())
    options = BuildOptions(data=data, layouts=layouts, out=out_dir, langs=langs,
                           highlight=for_)
    with err.status("Préparation…") as status:
        result = run_build(options, progress=lambda message: status.update(message + "…"))
    for warning in result.warnings:
        err.print(f"[yellow]Attention :[/] {escape(str(warning))}", highlight=False, soft_wrap=True)
    for hint in result.hints:
        err.print(f"[dim]Conseil : {escape(hint)}[/]", soft_wrap=True)
    table = Table(title="Fichiers écrits", title_justify="left")
    table.add_column("fichier")
    table.add_column("pages", justify="right")
    table.add_column("taille", justify="right")
    for written in result.written:
        table.add_row(str(written.path), str(written.pages), _size(written.size))
    out.print(table)


def main() -> None:
    """Console entry point."""
    sys.exit(app())

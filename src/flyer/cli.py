"""The command line: options in, one call to the pipeline, a French report out.

A `FlyerError` becomes a message naming the file and line, and exit status 2, here and
nowhere else. Start-up is kept short (`flyer --help`): rich, WeasyPrint and the pipeline
are imported inside the commands that use them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from flyer.errors import FlyerError

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import Console

    from flyer.build import BuildResult
    from flyer.check import CheckResult

app = typer.Typer(
    help="Transforme une lettre et une liste de contacts en documents prêts à imprimer.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def out() -> Console:
    return _console(False)


def err() -> Console:
    return _console(True)


def reports_user_errors(func: F) -> F:
    """A `FlyerError` → its problems on stderr and exit 2; Ctrl-C → what was written."""
    return _reporting(func, writes=True)


def reports_check_errors(func: F) -> F:
    """`reports_user_errors` for a command that writes nothing (`flyer check`)."""
    return _reporting(func, writes=False)


def _reporting(func: F, writes: bool) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flyer.write import interrupt_message

        try:
            return func(*args, **kwargs)
        except FlyerError as exc:
            show_problems(exc, writes)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:
            err().print(interrupt_message(exc))
            raise typer.Exit(130) from None
        except (typer.Exit, SystemExit):
            raise
        except Exception as exc:  # a bug in flyer: said plainly, details kept in a file
            where = _save_traceback(exc)
            err().print("[bold red]Erreur inattendue de flyer[/] (ce n'est pas une erreur "
                        "dans vos fichiers) : rien n'a été écrit.", soft_wrap=True)
            err().print(f"Les détails techniques sont dans {where} ; joignez ce fichier à "
                        "votre demande d'aide.", markup=False, soft_wrap=True)
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def show_problems(exc: FlyerError, writes: bool = True) -> None:
    count = len(exc.problems)
    title = "Erreur" if count <= 1 else f"{count} erreurs"
    err().print(f"[bold red]{title} — rien n'a été écrit.[/]" if writes
                else f"[bold red]{title} :[/]")
    for problem in exc.problems:
        err().print(str(problem), markup=False, highlight=False, soft_wrap=True)


def _save_traceback(exc: BaseException) -> Path:
    import tempfile
    import traceback

    from flyer.cache import cache_folder

    folder = cache_folder() / "errors"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    path = folder / "flyer-erreur.txt"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


# Options shared by `build` and `watch`.
DataDir = Annotated[Path, typer.Option(help="Dossier des données.")]
LayoutsDir = Annotated[Path, typer.Option(help="Dossier des modèles de mise en page.")]
OutDir = Annotated[Path, typer.Option("--out", help="Dossier où écrire les PDF.")]
Lang = Annotated[str, typer.Option(
    help="Langue : fr, nl… ou « all » pour toutes celles qui ont une lettre.")]
For = Annotated[str | None, typer.Option(
    "--for", help="Nom d'un service à mettre en avant comme « Votre contact » ; il remplit "
    "aussi la ligne « Service » de la lettre. Les fichiers vont dans OUT/for/<service>/.")]
Person = Annotated[str | None, typer.Option(
    help="Personne de contact imprimée dans le cadre de la lettre (« Mme Dupont »).")]
DateOption = Annotated[str | None, typer.Option(
    "--date", help="Date imprimée dans le cadre de la lettre : 01/12/2026, 2026-12-01 ou "
    "aujourd'hui.")]


@app.callback()
def _root() -> None:
    """flyer : dépliants, lettres et affiches prêts à imprimer."""


def _size(size: int) -> str:
    return f"{size / 1024:.0f} Kio" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} Mio"


def _split(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _langs(value: str) -> tuple[str, ...]:
    return () if value.strip().lower() in ("all", "") else _split(value)


# `--date aujourd'hui`: the letter handed out today, without looking up the date.
TODAY_WORDS = ("aujourd'hui", "aujourdhui", "aujourd’hui", "today", "vandaag")


def parse_cli_date(value: str | None) -> dt.date | None:
    """`--date` as people type it (the data's own date reader, or « aujourd'hui »); a
    mistake gets an example."""
    if value is None or not value.strip():
        return None
    import datetime as dt

    from flyer.model import parse_date

    if value.strip().casefold() in TODAY_WORDS:
        return dt.date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise FlyerError(f"--date : {exc}") from None


@app.command()
@reports_user_errors
def build(
    data: DataDir = Path("data"),
    layouts: LayoutsDir = Path("layouts"),
    out_dir: OutDir = Path("output"),
    lang: Lang = "all",
    for_: For = None,
    person: Person = None,
    date: DateOption = None,
    schools: Annotated[Path | None, typer.Option(
        help="Liste des écoles (CSV ou Excel .xlsx : school;service;contact;phone;email) : "
             "un dépliant par école dans OUT/schools/<école>/, et schools-<langue>.pdf pour "
             "l'imprimeur.")] = None,
    profile: Annotated[str, typer.Option(
        help="office (imprimante de l'école), press (imprimeur : PDF/X-4, CMJN, fond perdu), "
             "web (site : PDF/UA accessible) ou all ; voir layouts/profiles.yaml.")
    ] = "office",
    check: Annotated[bool, typer.Option(
        "--check", help="Contrôle aussi chaque page rendue : codes QR lus et mesurés.")
    ] = False,
    icc: Annotated[Path | None, typer.Option(
        help="Profil ICC CMJN de l'imprimeur pour --profile press (par défaut : "
             "ISO Coated v2 / FOGRA39 fourni).")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Refait toutes les mises en page, même celles qui n'ont pas "
        "changé.")] = False,
) -> None:
    """Produit le dépliant, la lettre, l'affiche et le dossier complet, par langue."""
    from flyer import pool
    from flyer.files import changed_since_last_build

    # When something will most likely be rendered, the workers' fork server loads
    # WeasyPrint while the data is read and the plan made (flyer.pool); a rebuild with
    # nothing changed starts none.
    sources = [data, layouts, *(p for p in (schools, icc) if p is not None)]
    if no_cache or changed_since_last_build(out_dir, sources):
        pool.prestart(schools=schools is not None)
    from flyer.build import BuildOptions
    from flyer.build import build as run_build

    options = BuildOptions(data=data, layouts=layouts, out=out_dir, langs=_langs(lang),
                           highlight=for_, person=person, date=parse_cli_date(date),
                           profiles=_split(profile) or ("office",), check=check, icc=icc,
                           schools=schools, cache=not no_cache)
    _quiet_libraries()
    with _display(bar=schools is not None) as (say, tick):
        result = run_build(options, progress=say, tick=tick)
    _report(result)
    if not result.complete:
        raise typer.Exit(1)


def _quiet_libraries() -> None:
    """WeasyPrint's and pypdf's own log lines reach the person through the report, worded;
    never raw, in English, on the terminal."""
    import logging

    for name in ("weasyprint", "fontTools", "pypdf", "flyer.fetch", "watchfiles"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())


@contextmanager
def _display(bar: bool) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """What the build is doing, on one line redrawn in place (a bar for --schools).

    Redrawn by hand, never by rich's refresh thread: the render workers are forked, and
    no thread may run when they are.
    """
    console = err()
    if not console.is_terminal:
        yield (lambda _m: None), (lambda _d, _t: None)
        return
    from rich.live import Live
    from rich.text import Text

    message = ["Préparation"]
    counts = [0, 0]  # done, total

    def view() -> Text:
        line = f"{message[0]}…"
        done, total = counts
        if bar and total:
            width = 30
            filled = int(width * done / total)
            line += f"  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        return Text(line)

    with Live(view(), console=console, auto_refresh=False, transient=True) as live:
        def say(text: str) -> None:
            message[0] = text
            live.update(view(), refresh=True)

        def tick(done: int, total: int) -> None:
            counts[:] = [done, total]
            live.update(view(), refresh=True)

        yield say, tick


# A batch of a few hundred schools lists only the rows set aside, and a count of the others.
MAX_SCHOOL_ROWS = 30


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _report(result: BuildResult) -> None:
    """Warnings, then the files written (or, for --schools, one line per school)."""
    from rich.markup import escape
    from rich.table import Table

    if result.recovered:
        err().print(f"Une production interrompue a été terminée ({result.recovered} "
                    "fichier(s) mis en place).")
    for warning in result.warnings:
        err().print(f"[yellow]Attention :[/] {escape(str(warning))}", soft_wrap=True)
    for hint in result.hints:
        err().print(f"[dim]Conseil : {escape(hint)}[/]", soft_wrap=True)
    if result.schools:
        _report_schools(result)
    else:
        table = Table(title="Fichiers écrits", title_justify="left")
        table.add_column("fichier")
        table.add_column("pages", justify="right")
        table.add_column("taille", justify="right")
        for written in result.written:
            table.add_row(escape(_relative(written.path)), str(written.pages),
                          _size(written.size))
        out().print(table)
    for path in result.removed:
        out().print(f"Retiré (n'est plus produit) : {escape(_relative(path))}")
    for path, why in result.skipped:
        err().print(f"[bold red]Non écrit :[/] {escape(_relative(path))} — {escape(why)}",
                    soft_wrap=True)
    if result.checks or result.school_checks:
        files = len({c.file for c in result.checks}) + result.school_files
        total = len(result.checks) + result.school_checks
        out().print(f"Contrôle : {total} vérifications sur {files} fichiers, "
                    "toutes réussies.")
    if result.cached and not result.rendered:
        out().print("Rien n'a changé depuis la dernière production : fichiers repris tels "
                    "quels.")


def _report_schools(result: BuildResult) -> None:
    from rich.markup import escape
    from rich.table import Table

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
    out().print(table)
    merged = [w for w in result.written if w.document == "schools"]
    if merged:
        files = Table(title="Pour l'imprimeur", title_justify="left")
        files.add_column("fichier")
        files.add_column("pages", justify="right")
        files.add_column("taille", justify="right")
        for written in merged:
            files.add_row(escape(_relative(written.path)), str(written.pages),
                          _size(written.size))
        out().print(files)
    if result.set_aside:
        err().print(f"[bold yellow]{len(result.set_aside)} ligne(s) écartée(s)[/] : corrigez-les "
                    "dans le fichier des écoles puis relancez (les autres sont construites).")
        for school in result.set_aside:  # unwrapped, "file:line: why", to copy or grep
            err().print(f"{result.schools_file}:{school.line}: {school.why}", markup=False,
                        highlight=False, soft_wrap=True)


@app.command("check")
@reports_check_errors
def check_command(
    files: Annotated[list[Path], typer.Argument(
        help="Fichiers PDF ou dossiers à contrôler (les PDF qu'ils contiennent).")],
    profile: Annotated[str | None, typer.Option(
        help="Profil attendu (office, press, web… voir layouts/profiles.yaml) ; par défaut, "
             "deviné d'après le fichier (PDF/X → press, PDF/UA → web).")] = None,
    layouts: LayoutsDir = Path("layouts"),
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Affiche chaque contrôle de chaque fichier.")] = False,
) -> None:
    """Contrôle des PDF avant impression ou publication ; code 1 si un contrôle échoue."""
    from flyer.check import check_files, expand_paths

    _quiet_libraries()
    paths = expand_paths(files)
    registry = _registry_if_any(layouts)
    if profile is not None:
        choices = list(registry.profiles) if registry is not None else ["office", "press", "web"]
        wanted = profile.strip().lower()
        if wanted not in choices:
            raise FlyerError(f"profil « {profile} » inconnu ; profils possibles : "
                             f"{', '.join(choices)}")
        profile = wanted
    results = check_files(paths, profile, registry)
    _report_checks(results, paths, verbose)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def _registry_if_any(layouts: Path) -> Any:
    from flyer.documents import load_registry

    if not (layouts / "profiles.yaml").is_file():
        return None
    return load_registry(layouts)


def _report_checks(results: list[CheckResult], paths: list[Path], verbose: bool) -> None:
    """Failures first, each with its file; then one line per file and a total."""
    from rich.markup import escape
    from rich.table import Table

    failed = [r for r in results if not r.ok]
    for r in failed:
        err().print(f"[bold red]ÉCHEC[/] {escape(_relative(Path(r.file)))} — {escape(r.label)} : "
                    f"trouvé {escape(r.found)} ; attendu {escape(r.expected)}", soft_wrap=True)
    if verbose:
        table = Table(title="Tous les contrôles", title_justify="left")
        for column in ("fichier", "contrôle", "résultat", "trouvé", "attendu"):
            table.add_column(column, overflow="fold")
        for r in results:
            table.add_row(escape(_relative(Path(r.file))), escape(r.label),
                          "[green]OK[/]" if r.ok else "[bold red]ÉCHEC[/]", escape(r.found),
                          escape(r.expected))
        out().print(table)
    by_file: dict[str, list[CheckResult]] = {}
    for r in results:
        by_file.setdefault(r.file, []).append(r)
    for file, rows in by_file.items():
        bad = sum(1 for r in rows if not r.ok)
        qr = next((r.found.split(" — ")[0] for r in rows
                   if r.label.startswith("Codes QR") and r.ok), "")
        verdict = "[green]prêt[/]" if not bad else f"[bold red]{bad} échec(s)[/]"
        extra = f" ; {escape(qr)}" if qr else ""
        out().print(f"{verdict}  {escape(_relative(Path(file)))} — {len(rows)} contrôles"
                    f"{extra}", soft_wrap=True)
    total_bad = len(failed)
    if total_bad:
        err().print(f"[bold red]{total_bad} contrôle(s) échoué(s)[/] sur {len(results)}, "
                    f"dans {len({r.file for r in failed})} fichier(s) sur {len(by_file)}.")
    else:
        out().print(f"{len(by_file)} fichier(s), {len(results)} contrôles réussis : prêt.")


@app.command()
@reports_user_errors
def watch(
    data: DataDir = Path("data"),
    layouts: LayoutsDir = Path("layouts"),
    out_dir: OutDir = Path("output"),
    lang: Lang = "all",
    for_: For = None,
    person: Person = None,
    date: DateOption = None,
) -> None:
    """Reconstruit les PDF à chaque modification d'un fichier de data/ ou layouts/."""
    from flyer.build import BuildOptions
    from flyer.watch import watch as run_watch

    options = BuildOptions(data=data, layouts=layouts, out=out_dir, langs=_langs(lang),
                           highlight=for_, person=person, date=parse_cli_date(date))
    _quiet_libraries()
    run_watch(options, lambda message: err().print(message, markup=False, soft_wrap=True))
    err().print("Arrêté.")


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
    import signal

    # SIGTERM (a service manager, `kill`) stops like Ctrl-C: workers stopped, nothing
    # half-written, the staged files removed.
    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        pool = sys.modules.get("flyer.pool")
        if pool is not None and pool.workers_were_killed():
            # Everything is cleaned up and said by now; waiting for a thread that cannot
            # end (see workers_were_killed) would leave flyer hanging after Ctrl-C.
            pool.exit_now(code)
        from flyer import lifetime

        if isinstance(exc.code, int | None) and lifetime.may_leave_now():
            lifetime.leave(code)  # without Python's teardown: 0.15 to 0.35 s
        raise

"""Opening a person's data file safely, and saying in French why a file could not be used.

A data file is read only if it is a regular file no bigger than its cap, checked on the
open file descriptor BEFORE anything is read: a `letter.fr.md` that is a link to
`/dev/zero` would otherwise fill the memory, and a FIFO would block the build forever.
A symbolic link to a regular file is followed (people link a shared contacts file).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from flyer.errors import FlyerError

MAX_DATA_BYTES = 1_000_000

# OSError.strerror is English ("File exists"); these are what a person can act on.
_OS_ERRORS = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EACCES: "accès refusé ; vérifiez les droits sur ce fichier ou ce dossier, "
    "ou fermez le programme qui l'utilise",
    errno.EPERM: "opération non permise ; vérifiez les droits sur ce fichier ou ce dossier",
    errno.EEXIST: "un fichier ou un dossier de ce nom existe déjà ; renommez-le ou "
    "supprimez-le, puis recommencez",
    errno.ENOTDIR: "un fichier porte le nom d'un dossier attendu ; renommez ce fichier",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOSPC: "le disque est plein ; libérez de la place et recommencez",
    errno.EROFS: "le disque est en lecture seule ; choisissez un autre dossier de sortie",
    errno.ENAMETOOLONG: "nom de fichier trop long ; raccourcissez le nom du dossier",
    errno.EBUSY: "fichier occupé ; fermez le programme qui l'a ouvert (lecteur PDF, Excel) "
    "et recommencez",
    errno.ETXTBSY: "fichier occupé ; fermez le programme qui l'a ouvert et recommencez",
    errno.EMFILE: "trop de fichiers ouverts ; recommencez",
    errno.EXDEV: "le dossier de sortie est sur un autre disque que le dossier temporaire",
    errno.EIO: "erreur de lecture ou d'écriture du disque",
    errno.ENOTEMPTY: "le dossier n'est pas vide ; videz-le ou choisissez-en un autre",
    errno.ELOOP: "lien symbolique qui tourne en rond",
}
if hasattr(errno, "EDQUOT"):
    _OS_ERRORS[errno.EDQUOT] = "quota disque dépassé ; libérez de la place et recommencez"


def os_error_message(exc: OSError) -> str:
    """What went wrong with a file, in French (the system's own text is English)."""
    known = _OS_ERRORS.get(exc.errno) if exc.errno is not None else None
    if known is not None:
        return known
    return f"erreur système n°{exc.errno}" if exc.errno is not None else "erreur système"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words a person understands (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "c'est un dossier, pas un fichier"
    if stat.S_ISFIFO(mode):
        return "c'est un tube (FIFO), pas un fichier"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "c'est un périphérique, pas un fichier"
    if stat.S_ISSOCK(mode):
        return "c'est une prise réseau (socket), pas un fichier"
    return "ce n'est pas un fichier ordinaire"


def read_bytes(path: Path, limit: int = MAX_DATA_BYTES) -> bytes:
    """A data file's bytes: refused (FlyerError) unless a regular file of at most `limit`."""
    try:
        before = os.stat(path)
    except FileNotFoundError:
        broken = path.is_symlink()
        raise FlyerError("fichier introuvable" + (
            " (c'est un lien vers un fichier qui n'existe pas)" if broken else ""), path) from None
    except OSError as exc:
        raise FlyerError(f"fichier illisible : {os_error_message(exc)}", path) from None
    # Checked before opening: opening a FIFO waits for a writer.
    kind = _kind(before.st_mode)
    if kind is not None:
        raise FlyerError(f"{kind} ; remplacez-le par un vrai fichier", path)
    try:
        # O_NONBLOCK: if a FIFO was swapped in since the stat, open does not wait for it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FlyerError(f"fichier illisible : {os_error_message(exc)}", path) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        kind = _kind(info.st_mode)
        if kind is not None:
            raise FlyerError(f"{kind} ; remplacez-le par un vrai fichier", path)
        if info.st_size > limit:
            raise FlyerError(
                f"fichier trop gros ({info.st_size // 1000} ko, maximum {limit // 1000} ko)", path)
        # At most limit + 1 bytes, whatever the file does while it is read.
        raw = file.read(limit + 1)
    if len(raw) > limit:
        raise FlyerError(f"fichier trop gros (plus de {limit // 1000} ko)", path)
    return raw


def visible_files(folder: Path) -> Iterator[Path]:
    """Every file below `folder` a build may read, in a stable order: hidden files and
    folders (`.history/`, an editor's `.swp`, a build's `.serve/`) excluded."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            yield path


def changed_since_last_build(out: Path, sources: list[Path]) -> bool:
    """Whether a source (a file, or any file in a folder) is newer than the last build
    into `out` (its manifest, flyer.write): a guess at whether a build will have
    anything to render, to start the workers early; the keys decide what is rendered."""
    from flyer.write import MANIFEST

    try:
        built = (out / MANIFEST).stat().st_mtime
    except OSError:
        return True  # never built there
    for source in sources:
        for path in visible_files(source) if source.is_dir() else [source]:
            try:
                if path.stat().st_mtime >= built:
                    return True
            except OSError:
                return True
    return False


def require_source_folders(data: Path, layouts: Path) -> None:
    """The layouts and data folders exist (every route checks this first: build, watch,
    serve), or a FlyerError says where flyer looked and what to do."""
    for folder, label, option in ((layouts, "mise en page", "--layouts"),
                                  (data, "données", "--data")):
        if not folder.is_dir():
            raise FlyerError(
                f"dossier de {label} introuvable (cherché dans {folder.resolve()}) ; lancez "
                f"flyer depuis le dossier du projet, ou indiquez le dossier avec {option}",
                folder)

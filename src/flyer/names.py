"""Folder names from the names people give: a school, a service (`--for`).

A folder name is ASCII, lower case, hyphenated ("Cœur" → "coeur"), at most 60
characters, never empty, never a name Windows reserves (CON, NUL, COM1…), and the same
for the same name on every run. Two different names never share a folder: a name cut at
60 characters carries a short hash of the whole name, a name with no letter or digit
("😀", "!!!") becomes `<fallback>-<hash>`, and `FolderNames` gives `-2`, `-3`… to two
names that still come out the same ("École n°3" and "École n 3").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from slugify import slugify

MAX_LENGTH = 60
# "n° 3" reads "n 3", not "ndeg 3" (Unidecode spells the degree sign out); & is "et".
_REPLACEMENTS = [["°", ""], ["º", ""], ["&", " et "]]
# Windows refuses these as file or folder names, with any extension, in any case.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def identity(name: str) -> str:
    """What makes two names the same name: case, accents and spacing do not count."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(text.split())


def _short_hash(name: str, length: int = 8) -> str:
    return hashlib.sha256(identity(name).encode("utf-8")).hexdigest()[:length]


def folder_name(name: str, fallback: str = "service") -> str:
    """`name` as a folder name (see the module docstring); `fallback` starts the name of a
    folder whose name has no letter or digit to keep."""
    slug = slugify(name, replacements=_REPLACEMENTS)
    if not slug:
        return f"{fallback}-{_short_hash(name)}"
    if len(slug) > MAX_LENGTH:
        # Cut, then tell apart two long names that share their first 51 characters.
        slug = f"{slug[:MAX_LENGTH - 9].rstrip('-')}-{_short_hash(name)}"
    if _RESERVED.match(slug):
        slug = f"{slug}-{_short_hash(name, 4)}"
    return slug


@dataclass(frozen=True)
class Assigned:
    """A name's folder, or the line of an earlier row with the same name (`same_as`)."""

    line: int
    name: str
    folder: str
    same_as: int | None = None


class FolderNames:
    """Gives each new name its own folder, in the order the names come."""

    def __init__(self, fallback: str = "service") -> None:
        self._fallback = fallback
        self._by_identity: dict[str, Assigned] = {}
        self._used: set[str] = set()

    def add(self, line: int, name: str) -> Assigned:
        """The folder for `name` at `line`: a name seen before (same identity) is a
        duplicate, with the first one's folder and line; another name never gets a
        folder already given."""
        key = identity(name)
        first = self._by_identity.get(key)
        if first is not None:
            return Assigned(line, name, first.folder, same_as=first.line)
        base = folder_name(name, self._fallback)
        folder, number = base, 1
        while folder in self._used:
            number += 1
            suffix = f"-{number}"
            folder = base[: MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        self._used.add(folder)
        assigned = Assigned(line, name, folder)
        self._by_identity[key] = assigned
        return assigned


def unique_folder_names(items: Iterable[tuple[int, str]], fallback: str = "service"
                        ) -> list[Assigned]:
    """Each (line, name) with its folder; a repeated name points at its first line."""
    names = FolderNames(fallback)
    return [names.add(line, name) for line, name in items]

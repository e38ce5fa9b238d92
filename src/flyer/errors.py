"""The one exception type for a user's mistake, and the problems it carries.

Anything a person can fix by editing a file or an option is raised as a `FlyerError`,
where it is found; the CLI turns it into a French message and exit status 2 in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one file."""

    message: str
    path: Path | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"{self.field} : " if self.field else ""
        return f"{where}{field}{self.message}"


class FlyerError(ValueError):
    """A mistake in the user's data, layouts or options; carries every problem found."""

    def __init__(
        self,
        message: str | None = None,
        path: Path | None = None,
        line: int | None = None,
        *,
        field: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.problems: list[Problem] = list(problems or [])
        if message is not None:
            self.problems.insert(0, Problem(message, path, line, field))
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in a worker process and re-raised in the parent: keep every problem.
        return (_rebuild, (self.problems,))

    @property
    def path(self) -> Path | None:
        return self.problems[0].path if self.problems else None

    @property
    def line(self) -> int | None:
        return self.problems[0].line if self.problems else None


def french_number(number: int) -> str:
    """1 000 000 as French writes it in a message, with no-break spaces."""
    return f"{number:,}".replace(",", "\u00a0")


def _rebuild(problems: list[Problem]) -> FlyerError:
    return FlyerError(problems=problems)

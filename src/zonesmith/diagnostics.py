"""Diagnostics: what zonesmith says about a site, with the place it concerns.

Every problem found while loading or validating a site becomes a
:class:`Diagnostic` carrying a rule id, a severity and a source position, and
is printed as ``path:line:col: error|warning: [rule-id] message``, the format
editors and CI understand (as named-checkzone prints ``file:line: message``).
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in a source file: 1-based line and column."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{max(self.column, 1)}"

    def __reduce__(self) -> tuple[type[Position], tuple[str, int, int]]:
        # Pickled by its constructor: unpickling thousands of positions (see
        # zonesmith.output.cache) is then one call each instead of a setstate loop.
        return Position, (self.path, self.line, self.column)

    def shifted(self, columns: int) -> Position:
        """The position ``columns`` characters further on the same line."""
        return Position(self.path, self.line, self.column + columns)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    position: Position
    severity: Severity
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.severity.value}: [{self.rule}] {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.position.path,
            "line": self.position.line,
            "column": self.position.column,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
        }

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(position: Position, rule: str, message: str) -> Diagnostic:
    return Diagnostic(position, Severity.ERROR, rule, _one_line(message))


def warning(position: Position, rule: str, message: str) -> Diagnostic:
    return Diagnostic(position, Severity.WARNING, rule, _one_line(message))


def _one_line(message: str) -> str:
    """The message with line ends and other control characters escaped: a hostile name
    it quotes must not start a line that looks like another diagnostic."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by file, line and column, with exact repeats removed.

    A shared record set included by many zones reports the same problem once.
    """
    unique = dict.fromkeys(diagnostics)
    return sorted(
        unique,
        key=lambda d: (d.position.path, d.position.line, d.position.column, d.rule, d.message),
    )


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    diagnostics = list(diagnostics)
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


SHOWN_PER_FILE = 100
"""Diagnostics printed per file; the rest are counted in one line (``--json`` has them all)."""


def capped(
    diagnostics: Iterable[Diagnostic], per_file: int = SHOWN_PER_FILE
) -> Iterator[Diagnostic | str]:
    """What to print: the first ``per_file`` diagnostics of each file, then, in place of
    that file's others, one line saying how many there are.

    A zone of half a million bad records is then a screenful, not 50 MB of text.
    """
    diagnostics = list(diagnostics)
    totals = Counter(d.position.path for d in diagnostics)
    if max(totals.values(), default=0) <= per_file:
        yield from diagnostics
        return
    errors = Counter(d.position.path for d in diagnostics if d.is_error)
    shown: Counter[str] = Counter()
    shown_errors: Counter[str] = Counter()
    for diagnostic in diagnostics:
        path = diagnostic.position.path
        count = shown[path] = shown[path] + 1
        if count > per_file:
            continue
        yield diagnostic
        shown_errors[path] += diagnostic.is_error
        if count == per_file and totals[path] > count:
            more_errors = errors[path] - shown_errors[path]
            more = totals[path] - count
            yield (
                f"{path}: and {more} more ({_plural(more_errors, 'error')}, "
                f"{_plural(more - more_errors, 'warning')}) not shown; --json lists them all"
            )


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.as_json() for d in diagnostics], indent=2)


class SiteError(Exception):
    """Raised when a site cannot go further because of errors already reported."""

    def __init__(
        self, diagnostics: list[Diagnostic], skipped_checks: list[tuple[str, str]] | None = None
    ):
        super().__init__(summary(diagnostics))
        self.diagnostics = diagnostics
        #: (checker, server) of the server checks a build did not run (not installed)
        self.skipped_checks = skipped_checks or []

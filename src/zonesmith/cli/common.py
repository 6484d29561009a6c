"""What every command shares: the console, the JSON report, common options."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zonesmith.diagnostics import Diagnostic, capped

if TYPE_CHECKING:
    from rich.console import Console


REPORT_URL = "the zonesmith issue tracker"
EXIT_ERRORS = 1
EXIT_INTERNAL = 70  # EX_SOFTWARE


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    # soft_wrap: a diagnostic stays on one line, as editors and CI expect.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


class Report:
    """Where a command tells the user what happened.

    Styled by Rich on a terminal. Piped (CI logs, editors) it writes the
    same lines as plain text, without importing Rich at all: a rebuild
    should cost little more than starting Python.
    """

    def __init__(self) -> None:
        self.console = _console() if sys.stdout.isatty() else None

    def line(self, text: str) -> None:
        if self.console is None:
            click.echo(text)
        else:
            from rich.markup import escape

            self.console.print(escape(text))

    def diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        """The diagnostics, at most SHOWN_PER_FILE per file (see diagnostics.capped)."""
        if self.console is None:
            for diagnostic in capped(diagnostics):
                click.echo(str(diagnostic))
            return
        from rich.markup import escape

        for diagnostic in capped(diagnostics):
            if isinstance(diagnostic, str):
                self.console.print(escape(diagnostic))
                continue
            colour = "red" if diagnostic.is_error else "yellow"
            text = escape(str(diagnostic))
            severity = diagnostic.severity.value
            text = text.replace(f": {severity}: ", f": [bold {colour}]{severity}[/]: ", 1)
            self.console.print(text)


def _json(payload: object) -> None:
    # Written as it is encoded: the JSON of half a million diagnostics is
    # never held as one string.
    out = click.get_text_stream("stdout")
    batch: list[str] = []
    for chunk in json.JSONEncoder(indent=2).iterencode(payload):
        batch.append(chunk)
        if len(batch) >= 65536:
            out.write("".join(batch))
            batch.clear()
    batch.append("\n")
    out.write("".join(batch))


site_argument = click.argument(
    "site", type=click.Path(file_okay=False, path_type=Path), default=".", required=False
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
no_cache_option = click.option(
    "--no-cache",
    is_flag=True,
    help="Read and check every zone again instead of reusing what the last run "
    "worked out for unchanged zones (kept in SITE/.zonesmith/cache).",
)

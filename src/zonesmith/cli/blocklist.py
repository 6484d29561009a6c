"""The ``blocklist`` commands and their terminal output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zonesmith.cli.common import _console, json_option, site_argument
from zonesmith.diagnostics import Diagnostic
from zonesmith.pipeline import check_site

if TYPE_CHECKING:
    from rich.console import Console

    from zonesmith.blocklists.update import UpdateResult


def update_command(site_path: Path, *, as_json: bool, console: Console) -> int:
    """``zonesmith blocklist update``: returns the exit status.

    0 when every blocklist was compiled from all its sources (a source that
    failed but has a last good copy counts); 1 when the site has errors or a
    source has no usable copy at all.
    """

    site, diagnostics = check_site(site_path)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        _print_failure(errors, as_json, console, site_path)
        return 1
    if not site.blocklists:
        if as_json:
            console.out(json.dumps({"ok": True, "blocklists": []}, indent=2), highlight=False)
        else:
            console.print("no blocklists in this site: declare them under blocklists")
        return 0
    show_progress = console.is_terminal and not as_json
    with contextlib.ExitStack() as stack:
        callback = None
        if show_progress:
            callback = _progress(stack, console)
        # Fetching is imported only by the command that fetches.
        from zonesmith.blocklists.update import update_site

        try:
            result = update_site(site, progress=callback)
        except OSError as exc:
            from zonesmith.blocklists.store import cache_root
            from zonesmith.site.files import os_failure

            failure = os_failure(exc, "update the blocklists", cache_root(site))
            _print_failure([failure], as_json, console, site_path, "")
            return 1
    if as_json:
        payload = {
            "ok": result.ok,
            "blocklists": [r.as_json() for r in result.lists],
            "diagnostics": [d.as_json() for d in result.diagnostics],
        }
        console.out(json.dumps(payload, indent=2), highlight=False)
    else:
        for diagnostic in result.diagnostics:
            console.out(str(diagnostic), highlight=False)
        _print_report(result, console)
    return 0 if result.ok else 1


def _print_failure(
    errors: list[Diagnostic],
    as_json: bool,
    console: Console,
    site: Path,
    why: str = "the site has errors; ",
) -> None:
    if as_json:
        payload = {"ok": False, "diagnostics": [d.as_json() for d in errors]}
        console.out(json.dumps(payload, indent=2), highlight=False)
        return
    for diagnostic in errors:
        console.out(str(diagnostic), highlight=False)
    console.out(f"{site}: {why}no blocklist was updated", highlight=False)


def _progress(stack: contextlib.ExitStack, console: Console) -> Callable[[str, int, int], None]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = stack.enter_context(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        )
    )
    tasks: dict[str, int] = {}
    labels = {"fetch": "fetching sources", "compile": "compiling lists"}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    return update


def _print_report(result: UpdateResult, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    for report in result.lists:
        state = "changed" if report.changed else "unchanged"
        if not report.complete:
            state += ", INCOMPLETE"
        console.print(
            f"[bold]{escape(report.name)}[/]: {report.names:,} names blocked, "
            f"{report.exceptions:,} exceptions ({state})"
        )
        if console.is_terminal:
            table = Table(box=None, pad_edge=False, show_edge=False)
            for column in ("source", "status", "HTTP", "read", "kept", "skipped", "time", "note"):
                justify = "right" if column in ("read", "kept", "skipped", "time") else "left"
                table.add_column(column, justify=justify)  # type: ignore[arg-type]
            for s in report.sources:
                table.add_row(
                    escape(s.source),
                    _status_markup(s.status),
                    str(s.http_status or ""),
                    f"{s.names_read:,}",
                    f"{s.names_kept:,}",
                    f"{s.skipped_lines:,}",
                    f"{s.seconds:.1f} s",
                    escape(s.note),
                )
            console.print(table)
        else:
            for s in report.sources:
                http = f" HTTP {s.http_status}" if s.http_status else ""
                note = f" ({s.note})" if s.note else ""
                console.out(
                    f"  {s.source}: {s.status}{http}, read {s.names_read}, kept {s.names_kept}, "
                    f"skipped {s.skipped_lines} lines, {s.seconds:.1f} s{note}",
                    highlight=False,
                )


def _status_markup(status: str) -> str:
    colour = {"failed": "red", "cached": "yellow"}.get(status)
    return f"[{colour}]{status}[/]" if colour else status


@click.group()
def blocklist() -> None:
    """Resolver blocklists: fetch, parse and compile."""


@blocklist.command("update")
@site_argument
@json_option
def blocklist_update(site: Path, as_json: bool) -> None:
    """Fetch every blocklist source (conditional GET) and compile the lists."""
    sys.exit(update_command(site, as_json=as_json, console=_console()))

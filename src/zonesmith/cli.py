"""The ``zonesmith`` command line."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zonesmith import __version__
from zonesmith.build import build_site, check_site
from zonesmith.cache import ZoneCache
from zonesmith.diagnostics import Diagnostic, SiteError, capped, summary

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
    same lines as plain text, without importing Rich at all: a rebuild is
    measured in tenths of a second.
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zonesmith")
def cli() -> None:
    """DNS as code for people who run their own name servers."""


@cli.command()
@site_argument
@json_option
@no_cache_option
def check(site: Path, as_json: bool, no_cache: bool) -> None:
    """Load and validate SITE; exit 1 on any error."""
    cache = ZoneCache(None if no_cache else site)
    loaded, diagnostics = check_site(site, cache)
    failed = any(d.is_error for d in diagnostics)
    cache.save(loaded.zones, collect=not failed)
    if as_json:
        _json({"ok": not failed, "diagnostics": [d.as_json() for d in diagnostics]})
    else:
        report = Report()
        report.diagnostics(diagnostics)
        report.line(f"{site}: {summary(diagnostics)}")
    sys.exit(EXIT_ERRORS if failed else 0)


@cli.command()
@site_argument
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: SITE/out). Replaced whole, atomically.",
)
@click.option("--no-server-checks", is_flag=True, help="Do not run named-checkconf and the like.")
@json_option
@no_cache_option
def build(
    site: Path, out: Path | None, no_server_checks: bool, as_json: bool, no_cache: bool
) -> None:
    """Check SITE, compile it and write OUT/<server>/ for every server."""
    out = out if out is not None else site / "out"
    report = Report()
    try:
        cache = ZoneCache(None if no_cache else site)
        result = build_site(site, out, server_checks=not no_server_checks, cache=cache)
    except SiteError as exc:
        _skipped_notice(exc.skipped_checks)
        if as_json:
            _json(
                {
                    "ok": False,
                    "diagnostics": [d.as_json() for d in exc.diagnostics],
                    "skipped_checks": _skipped_json(exc.skipped_checks),
                }
            )
        else:
            report.diagnostics(exc.diagnostics)
            report.line(f"{site}: {summary(exc.diagnostics)}; nothing was written")
        sys.exit(EXIT_ERRORS)
    _skipped_notice(result.skipped_checks)
    if as_json:
        _json(
            {
                "ok": True,
                "out": str(result.out),
                "servers": result.servers,
                "diagnostics": [d.as_json() for d in result.diagnostics],
                "skipped_checks": _skipped_json(result.skipped_checks),
            }
        )
        return
    report.diagnostics(result.diagnostics)
    for server in result.servers:
        report.line(f"wrote {out / server}/")
    if not result.servers:
        report.line("no server to build: declare servers in zonesmith.yaml")
    report.line(f"{site}: {summary(result.diagnostics)}")


def _skipped_notice(skipped: list[tuple[str, str]]) -> None:
    """One sentence on stderr naming the server checks a build could not run."""
    if not skipped:
        return
    servers: dict[str, list[str]] = {}
    for checker, server in skipped:
        servers.setdefault(checker, []).append(server)
    checks = "; ".join(f"{checker} for {', '.join(names)}" for checker, names in servers.items())
    click.echo(
        f"zonesmith: server checks skipped, their checker is not installed: {checks}", err=True
    )


def _skipped_json(skipped: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"checker": checker, "server": server} for checker, server in skipped]


@cli.group()
def blocklist() -> None:
    """Resolver blocklists: fetch, parse and compile."""


@blocklist.command("update")
@site_argument
@json_option
def blocklist_update(site: Path, as_json: bool) -> None:
    """Fetch every blocklist source (conditional GET) and compile the lists."""
    from zonesmith import blocklists

    sys.exit(blocklists.update_command(site, as_json=as_json, console=_console()))


# --------------------------------------------------------------------------
# import / export (zonesmith.importers)

site_option = click.option(
    "--site",
    "site_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The site folder to write (created if missing).",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "zone"]),
    default="yaml",
    show_default=True,
    help="Write each zone as zones/<zone>.yaml or as a master file zones/<zone>.zone.",
)
force_option = click.option("--force", is_flag=True, help="Overwrite existing site files.")


def _report_import(result, as_json: bool, verb: str = "imported") -> None:
    if as_json:
        _json(result.as_json())
    else:
        report = Report()
        report.diagnostics(result.diagnostics)
        for path in result.written:
            report.line(f"wrote {result.site / path}")
        for note in result.notes:
            report.line(note)
        state = verb if result.written else "nothing written"
        report.line(f"{result.site}: {state}; {summary(result.diagnostics)}")
    sys.exit(0 if result.ok else EXIT_ERRORS)


@cli.group("import")
def import_group() -> None:
    """Turn master files, AXFR, named.conf or octoDNS YAML into a site."""


@import_group.command("zonefile")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@site_option
@format_option
@click.option("--origin", help="The zone of the file (default: $ORIGIN, SOA owner, file name).")
@force_option
@json_option
def import_zonefile(
    files: tuple[Path, ...], site_dir: Path, fmt: str, origin: str | None, force: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """Master files FILE... into the site: one zone per file."""
    from zonesmith import importers

    result = importers.import_zonefiles(list(files), site_dir, fmt, origin, force)
    _report_import(result, as_json)


@import_group.command("axfr")
@click.argument("server")
@click.argument("zones", nargs=-1, required=True)
@site_option
@click.option("--port", type=click.IntRange(1, 65535), default=53, show_default=True)
@click.option("--key", help="TSIG key for the transfer, as NAME:ALGORITHM:SECRET-FILE.")
@format_option
@force_option
@json_option
def import_axfr(
    server: str, zones: tuple[str, ...], site_dir: Path, port: int, key: str | None, fmt: str,
    force: bool, as_json: bool,
) -> None:  # fmt: skip
    """ZONE... transferred (AXFR) from SERVER into the site."""
    from zonesmith import importers

    result = importers.import_axfr(server, list(zones), site_dir, port, key, fmt, force)
    _report_import(result, as_json)


@import_group.command("named-conf")
@click.argument("file", type=click.Path(path_type=Path))
@site_option
@format_option
@force_option
@json_option
def import_named_conf(file: Path, site_dir: Path, fmt: str, force: bool, as_json: bool) -> None:
    """A BIND configuration FILE (views, zones, keys) and its zone files into the site."""
    from zonesmith import importers

    _report_import(importers.import_named_conf(file, site_dir, fmt, force), as_json)


@import_group.command("octodns")
@click.argument("config", type=click.Path(path_type=Path))
@site_option
@format_option
@force_option
@json_option
def import_octodns(config: Path, site_dir: Path, fmt: str, force: bool, as_json: bool) -> None:
    """An octoDNS CONFIG and its YamlProvider zone files into the site."""
    from zonesmith import importers

    _report_import(importers.import_octodns(config, site_dir, fmt, force), as_json)


@cli.group("export")
def export_group() -> None:
    """Write the site out in foreign formats."""


@export_group.command("octodns")
@site_argument
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for octodns.yaml and zones/<zone>.yaml.",
)
@click.option("--view", help="The view to export (default: the first); octoDNS has no views.")
@force_option
@json_option
def export_octodns(site: Path, out: Path, view: str | None, force: bool, as_json: bool) -> None:
    """SITE's records as an octoDNS configuration with YamlProvider zone files."""
    from zonesmith import importers

    _report_import(importers.export_octodns(site, out, view, force), as_json, "exported")


def main() -> None:
    """Entry point: never shows a traceback for a problem of zonesmith's own."""
    # A build makes millions of small objects and no garbage cycles worth the
    # trouble in a short-lived process; the cycle collector would only rescan
    # them again and again (a third of the time of a million-record build).
    gc.disable()
    code: int | str | None = 0
    try:
        cli()
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        code = 130
    except OSError as exc:  # the operating system's refusal, not a bug of zonesmith
        from zonesmith.build import os_failure

        click.echo(str(os_failure(exc, "finish the command")), err=True)
        code = EXIT_ERRORS
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("ZONESMITH_DEBUG"):
            import traceback

            traceback.print_exc()
        click.echo(
            f"zonesmith: internal error: {type(exc).__name__}: {exc}\n"
            f"This is a bug in zonesmith. Please report it to {REPORT_URL} with the command "
            "you ran; set ZONESMITH_DEBUG=1 to see the details.",
            err=True,
        )
        code = EXIT_INTERNAL
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    # Every file is closed by now. Leaving without freeing the model object by
    # object saves a tenth of a second on ten thousand zones, and more on a
    # million records, which is what a rebuild is measured in.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)

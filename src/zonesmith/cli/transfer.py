"""The ``import`` and ``export`` commands (site from and to other formats)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from zonesmith.cli.common import EXIT_ERRORS, Report, _json, json_option, site_argument
from zonesmith.diagnostics import summary

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


@click.group("import")
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


@click.group("export")
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

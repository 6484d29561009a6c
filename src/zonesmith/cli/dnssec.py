"""``dnssec ds``: the DS and DNSKEY records of the site's signed zones, for a parent elsewhere."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from zonesmith.cli.common import EXIT_ERRORS, _json, json_option


@click.group()
def dnssec() -> None:
    """DNSSEC of the site's signed zones."""


@dnssec.command()
@click.argument("zone", required=False)
@click.option(
    "--site",
    "site",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The site folder (default: the current folder).",
)
@click.option(
    "--digest",
    type=click.Choice(["sha256", "sha384"], case_sensitive=False),
    default="sha256",
    help="The DS digest type (default sha256).",
)
@json_option
def ds(zone: str | None, site: Path, digest: str, as_json: bool) -> None:
    """Print the DS and DNSKEY records of the SEP keys of each signed zone (or ZONE), read
    from its live signer: what the parent (a registrar) needs."""
    from zonesmith.cli.deploy import failures
    from zonesmith.deploy.dnssec_ds import signed_zone_ds

    with failures(as_json) as pool:
        results = signed_zone_ds(site, pool, zone, digest.upper())
    problems = [result.problem for result in results if result.problem]
    if as_json:
        _json({"ok": not problems, "zones": [asdict(result) for result in results]})
    else:
        for result in results:
            for line in (*result.ds, *result.dnskeys):
                click.echo(line)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(EXIT_ERRORS)

"""The ``check`` and ``build`` commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zonesmith.cli.common import (
    EXIT_ERRORS,
    Report,
    _json,
    json_option,
    no_cache_option,
    site_argument,
)
from zonesmith.diagnostics import Diagnostic, SiteError, summary
from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import build_site, check_site_in_full
from zonesmith.rules.mail import not_checked
from zonesmith.rules.mail.outside import not_answered

if TYPE_CHECKING:
    from zonesmith.lookups import Online


def online_options(command: Callable) -> Callable:
    """--online and --resolver: look up the names outside the site the mail rules follow."""
    command = click.option(
        "--resolver",
        metavar="ADDRESS[@PORT]",
        envvar="ZONESMITH_RESOLVER",
        help="The resolver --online asks (default: the system's; env ZONESMITH_RESOLVER).",
    )(command)
    return click.option(
        "--online",
        is_flag=True,
        help="Look up in DNS the names outside the site that SPF and DMARC records follow.",
    )(command)


def _online(online: bool, resolver: str | None) -> Online | None:
    """How to look up names outside the site, or None (offline)."""
    if not online:
        return None
    from zonesmith.lookups import Online, parse_resolver  # (only online: it loads the resolver)

    if not resolver:
        return Online()
    try:
        return Online(parse_resolver(resolver))
    except ValueError as problem:
        raise click.BadParameter(f"{problem} (ADDRESS[@PORT])", param_hint="--resolver") from None


@click.command()
@site_argument
@json_option
@no_cache_option
@online_options
def check(site: Path, as_json: bool, no_cache: bool, online: bool, resolver: str | None) -> None:
    """Load and validate SITE; exit 1 on any error."""
    cache = ZoneCache(None if no_cache else site)
    checked = check_site_in_full(site, cache, online=_online(online, resolver))
    diagnostics = checked.diagnostics
    failed = any(d.is_error for d in diagnostics)
    cache.save(checked.site.zones, collect=not failed)
    if as_json:
        _json(
            {
                "ok": not failed,
                "diagnostics": [d.as_json() for d in diagnostics],
                "switched_off": [d.as_json() for d in checked.switched_off],
                "not_checked": (
                    not_checked(checked.site)
                    if checked.outside is None
                    else not_answered(checked.outside)
                ),
            }
        )
    else:
        report = Report()
        report.diagnostics(diagnostics)
        report.line(f"{site}: {summary(diagnostics)}{_switched(checked.switched_off)}")
    sys.exit(EXIT_ERRORS if failed else 0)


@click.command()
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
@online_options
def build(
    site: Path,
    out: Path | None,
    no_server_checks: bool,
    as_json: bool,
    no_cache: bool,
    online: bool,
    resolver: str | None,
) -> None:
    """Check SITE, compile it and write OUT/<server>/ for every server."""
    out = out if out is not None else site / "out"
    report = Report()
    try:
        cache = ZoneCache(None if no_cache else site)
        result = build_site(
            site,
            out,
            server_checks=not no_server_checks,
            cache=cache,
            online=_online(online, resolver),
        )
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
                "switched_off": [d.as_json() for d in result.switched_off],
                "skipped_checks": _skipped_json(result.skipped_checks),
            }
        )
        return
    report.diagnostics(result.diagnostics)
    for server in result.servers:
        report.line(f"wrote {out / server}/")
    if not result.servers:
        report.line("no server to build: declare servers in zonesmith.yaml")
    report.line(f"{site}: {summary(result.diagnostics)}{_switched(result.switched_off)}")


def _switched(off: list[Diagnostic]) -> str:
    """How many findings the site's switches dropped, for the summary line."""
    return f"; {len(off)} finding{'' if len(off) == 1 else 's'} switched off" if off else ""


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

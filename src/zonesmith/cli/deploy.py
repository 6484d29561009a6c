"""plan, apply, status and rollback: the deploy commands and everything they print."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from zonesmith.cli.common import EXIT_ERRORS, Report, _json, json_option, site_argument
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.plan import Plan, ServerPlan
from zonesmith.deploy.transport import Transport, close_all
from zonesmith.diagnostics import SiteError
from zonesmith.model import DEFAULT_VIEW

EXIT_CHANGES = 2


class DeployReport(Report):
    """A Report that colours diff lines on a terminal."""

    def styled(self, text: str, style: str | None) -> None:
        if self.console is None or style is None:
            self.line(text)
            return
        from rich.markup import escape

        self.console.print(f"[{style}]{escape(text)}[/]")

    def diff_line(self, text: str) -> None:
        style = None
        if text.startswith("+") and not text.startswith("+++"):
            style = "green"
        elif text.startswith("-") and not text.startswith("---"):
            style = "red"
        self.styled(f"      {text}", style)

    def plan(self, plan: Plan) -> None:
        for server in plan.servers:
            if server.changed or server.down or server.restart:
                self.server(server)
        for gate in plan.gates:
            self.styled(f"gate {gate.gate}: {gate.why} (pass --ack {gate.ack})", "bold yellow")
        changed = [s.server for s in plan.servers if s.changed]
        zones = {(z.view, z.zone) for s in plan.servers for z in s.zones}
        if changed:
            self.line(
                f"Plan: {len(changed)} server(s) change ({', '.join(changed)}), "
                f"{len(zones)} zone(s), {len(plan.gates)} gate(s)."
            )
        else:
            self.line("Nothing to do: every server has the build.")

    def server(self, server: ServerPlan) -> None:
        where = "this machine" if server.where == "local" else server.where
        self.styled(
            f"{server.server} ({server.software} {server.role}, {where}:{server.path})", "bold"
        )
        if server.down:
            self.styled(f"  {server.down}: apply installs its files and reloads nothing", "yellow")
        for zone in server.zones:
            serial = f"serial {zone.old_serial or '-'} -> {zone.new_serial or '-'}"
            self.line(f"  zone {_zone_name(zone.zone, zone.view)}: {zone.kind}, {serial}")
            for line in zone.drift:
                self.styled(f"    drift: {line}", "yellow")
            for line in zone.lines:
                self.diff_line(line)
        from zonesmith.deploy.gates import signing_note

        for signing in server.signed:
            note = signing_note(server.server, signing)
            if note is not None:
                self.styled(f"  dnssec: {note}", "yellow" if signing.changes else None)
        for change in server.files:
            self.line(f"  file {change.path}: {change.kind}")
            for line in change.diff:
                self.diff_line(line)
        for command in server.commands:
            self.line(f"  run: {' '.join(command.argv)}  # {command.why}")
        if server.restart:
            self.styled(f"  restart needed (apply never restarts): {server.restart}", "yellow")


def _zone_name(zone: str, view: str) -> str:
    """A zone as the user knows it: its view named where the site has views."""
    return zone if view == DEFAULT_VIEW else f"{zone} (view {view})"


@contextmanager
def failures(as_json: bool) -> Iterator[dict[str, Transport]]:
    """One pool of connections; a SiteError or DeployError is said in one sentence, exit 1."""
    pool: dict[str, Transport] = {}
    try:
        yield pool
    except SiteError as problem:
        if as_json:
            _json({"ok": False, "diagnostics": [str(d) for d in problem.diagnostics]})
        else:
            Report().diagnostics(problem.diagnostics)
        sys.exit(EXIT_ERRORS)
    except DeployError as problem:
        if as_json:
            _json({"ok": False, "error": str(problem)})
        else:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_ERRORS)
    finally:
        close_all(pool)


@click.command()
@site_argument
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan to this file, for `apply --plan`.",
)
@json_option
def plan(site: Path, output: Path | None, as_json: bool) -> None:
    """Show what a deploy would change on each server. Exit 0: nothing; 2: changes; 1: error."""
    from zonesmith.deploy.planner import make_plan

    with failures(as_json) as pool:
        planned = make_plan(site, pool)
    result = planned.plan
    if output is not None:
        result.write(output)
    if as_json:
        _json({"changed": result.changed, "plan": result.to_json()})
    else:
        DeployReport().plan(result)
    sys.exit(EXIT_CHANGES if result.changed else 0)


ack_option = click.option(
    "--ack",
    "acks",
    multiple=True,
    metavar="GATE:ZONE",
    help="Pass a gate for a zone, e.g. --ack apex-ns:example.org.",
)
yes_option = click.option(
    "--yes", is_flag=True, help="Apply without asking (needed off a terminal)."
)


def _confirm(plan: Plan, yes: bool, acks: tuple[str, ...]) -> str | None:
    """Why apply must not go on, or None. Gates first: --yes does not pass them."""
    from zonesmith.deploy.gates import refusal, unacknowledged

    interactive = sys.stdin.isatty()
    pending = unacknowledged(plan.gates, acks)
    if pending and not interactive:
        return refusal(pending) + "\nnothing was changed"
    for gate in pending:
        typed = click.prompt(
            f"gate {gate.gate}: {gate.why}. Type {gate.ack} to go on",
            default="",
            show_default=False,
        )
        if typed.strip() != gate.ack:
            return f"gate {gate.gate} not acknowledged; nothing was changed"
    if yes:
        return None
    if not interactive:
        return "apply needs --yes when it does not run on a terminal; nothing was changed"
    if click.prompt("Type yes to apply", default="", show_default=False).strip() != "yes":
        return "apply cancelled; nothing was changed"
    return None


def stale(loaded: Plan, fresh: Plan) -> str | None:
    """Why a plan file no longer describes the site and servers, or None."""
    if loaded.build_digest != fresh.build_digest:
        return "stale plan: the site changed since the plan was made; make a new plan"
    now = {server.server: server.fingerprint for server in fresh.servers}
    for server in loaded.servers:
        if now.get(server.server) != server.fingerprint:
            return f"stale plan: {server.server} changed since the plan was made; make a new plan"
    return None


def run_apply(
    site: Path,
    plan_file: Path | None,
    yes: bool,
    acks: tuple[str, ...],
    as_json: bool,
    make: Callable[[dict[str, Transport]], object] | None = None,
    break_lock: bool = False,
) -> None:
    """apply and rollback: plan (or load one), show, confirm, apply, report."""
    from zonesmith.deploy.apply import apply_rounds
    from zonesmith.deploy.planner import make_plan

    report = DeployReport()
    with failures(as_json) as pool:
        if plan_file is not None:
            loaded = Plan.read(plan_file)
            pinned = {
                (zone, view): (serial, digest) for zone, view, serial, digest in loaded.serials
            }
            planned = make_plan(site, pool, pinned=pinned)
            problem = stale(loaded, planned.plan)
            if problem:
                raise DeployError(problem)
            planned.plan = loaded
        else:
            planned = make(pool) if make is not None else make_plan(site, pool)  # type: ignore[assignment]
        plan_value = planned.plan  # type: ignore[attr-defined]
        if not as_json:
            report.plan(plan_value)
        if not plan_value.changed:
            if as_json:
                _json({"ok": True, "changed": False, "plan": plan_value.to_json()})
            return
        refused = _confirm(plan_value, yes, acks)
        if refused:
            raise DeployError(refused)
        applied = apply_rounds(
            planned,  # type: ignore[arg-type]
            site,
            pool,
            break_lock,
            second_round=plan_file is None and make is None,
            acks=acks,
        )
    second = applied.second
    if as_json:
        report_json = {
            "ok": applied.ok,
            "changed": True,
            "problem": applied.problem,
            "servers": {name: asdict(o) for name, o in applied.outcomes.items()},
            "plan": plan_value.to_json(),
        }
        if applied.rounds:
            report_json["rounds"] = applied.rounds
        if second is not None:
            report_json["round2"] = {name: asdict(o) for name, o in second.outcomes.items()}
        _json(report_json)
    else:
        for outcome in applied.outcomes.values():
            _outcome(report, outcome)
        for line in applied.rounds:
            report.styled(line, "bold")
        for outcome in second.outcomes.values() if second is not None else ():
            if outcome.state != "not started" or not applied.ok:
                _outcome(report, outcome)
        if applied.ok:
            report.line("Applied: every server serves the change.")
        else:
            click.echo(f"error: apply stopped: {applied.problem}", err=True)
    if not applied.ok:
        sys.exit(EXIT_ERRORS)


def _outcome(report: DeployReport, outcome: object) -> None:
    """One server's line after an apply."""
    state, detail = outcome.state, outcome.detail  # type: ignore[attr-defined]
    style = "green" if state in ("applied", "unchanged") else "yellow"
    report.styled(f"{outcome.server}: {state}{': ' + detail if detail else ''}", style)  # type: ignore[attr-defined]


@click.command()
@site_argument
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply exactly this plan (from `plan -o`); refused if anything changed since.",
)
@yes_option
@ack_option
@click.option(
    "--break-lock",
    is_flag=True,
    help="Break a stale lock (its deploy is gone); a lock a running deploy holds stays.",
)
@json_option
def apply(
    site: Path,
    plan_file: Path | None,
    yes: bool,
    acks: tuple[str, ...],
    break_lock: bool,
    as_json: bool,
) -> None:
    """Deploy the site to its servers: install, reload, verify."""
    run_apply(site, plan_file, yes, acks, as_json, break_lock=break_lock)


def _rough(seconds: float) -> str:
    """``130`` -> ``'2m'``: the largest unit of which there is at least one, rounded down."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


@click.command()
@site_argument
@json_option
def status(site: Path, as_json: bool) -> None:
    """Per zone and server: the serial served, the serial expected, and a state."""
    from zonesmith.deploy.status import site_status

    with failures(as_json) as pool:
        rows = site_status(site, pool)
    bad = [row for row in rows if not row.ok]
    if as_json:
        _json({"ok": not bad, "zones": [asdict(row) for row in rows]})
    else:
        report = DeployReport()
        names = [_zone_name(row.zone, row.view) for row in rows]
        width = max((len(name) for name in names), default=4)
        report.line(f"{'zone':<{width}}  {'server':<8} {'served':>10} {'expected':>10}  state")
        for name, row in zip(names, rows, strict=True):
            refresh = ""
            if row.refreshed is not None and row.expire is not None:
                refresh = f"  refreshed {_rough(row.refreshed)} ago / expire {_rough(row.expire)}"
            report.styled(
                f"{name:<{width}}  {row.server:<8} {row.served or '-':>10} "
                f"{row.expected or '-':>10}  {row.state}{refresh}",
                None if row.ok else "red",
            )
        for name, row in zip(names, rows, strict=True):
            if row.state == "expired":
                click.echo(
                    f"not ok: {name} on {row.server}: expired (last refreshed "
                    f"{_rough(row.refreshed or 0)} ago, SOA expire {_rough(row.expire or 0)})",
                    err=True,
                )
            elif not row.ok:
                click.echo(f"not ok: {name} on {row.server}: {row.state}", err=True)
    if bad:
        sys.exit(EXIT_ERRORS)


@click.command()
@site_argument
@click.option(
    "--to",
    "to",
    metavar="DEPLOY",
    help="Undo this deploy (its id in deploy-journal.jsonl) and every later one; "
    "default: the last deploy.",
)
@yes_option
@ack_option
@json_option
def rollback(site: Path, to: str | None, yes: bool, acks: tuple[str, ...], as_json: bool) -> None:
    """Put back what was live before a deploy, as a new deploy with serials above the live ones."""
    from zonesmith.deploy.planner import make_plan
    from zonesmith.deploy.rollback import chosen_deploy, rolled_back

    def make(pool: dict[str, Transport]) -> object:
        deploy = chosen_deploy(site, to)
        return make_plan(
            site,
            pool,
            kind="rollback",
            rework=lambda build, targets, seen: rolled_back(deploy, build, targets, seen),
        )

    run_apply(site, None, yes, acks, as_json, make)

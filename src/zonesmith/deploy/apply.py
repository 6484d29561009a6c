"""Applying a plan: rank by rank, per server lock, stage, check, swap, reload, verify, restore."""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from zonesmith.compile.live_keys import parent_in_site
from zonesmith.compile.serials import STATE_FILE, serial_gt
from zonesmith.deploy import journal, remote_sh
from zonesmith.deploy.build import ServerFiles, zone_key
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.gates import unacknowledged
from zonesmith.deploy.install import Target
from zonesmith.deploy.keys import keys_after_apply
from zonesmith.deploy.observe import Question
from zonesmith.deploy.plan import Plan, ServerPlan
from zonesmith.deploy.planner import Planned, make_plan, transfer_key, tsig_for
from zonesmith.deploy.transport import Transport
from zonesmith.deploy.verify import (
    Expect,
    primary_matches,
    signed_primary_matches,
    wait_for_serials,
)
from zonesmith.drivers import OutputFile
from zonesmith.drivers.command import Command
from zonesmith.own_files import write_atomically


@dataclass
class Outcome:
    """Where one server stands after an apply."""

    server: str
    state: str = "not started"  # unchanged, applied, restored, failed, not started
    release: str = ""  # the release copy of what was live before
    detail: str = ""


@dataclass
class Applied:
    ok: bool
    outcomes: dict[str, Outcome]
    problem: str | None = None
    journal: dict = field(default_factory=dict)
    #: what the second round did or why it did not run (see apply_rounds)
    rounds: list[str] = field(default_factory=list)
    #: the second round's apply, when there was one
    second: Applied | None = None


def run_command(target: Target, command: Command) -> None:
    """Run one reload command in the server's folder; a failure is a DeployError."""
    done = target.transport.run(
        remote_sh.sh(remote_sh.IN_FOLDER, target.path, *command.argv), timeout=command.timeout
    )
    if not done.ok:
        raise DeployError(f"{target.name}: {command.why} failed: {done.message()}")


def install(
    target: Target, entry: ServerFiles, plan: ServerPlan, outcome: Outcome, break_lock: bool
) -> None:
    """Lock, stage, check on the target, swap and reload one server (restored on failure)."""
    if not plan.files:
        outcome.state = "unchanged"
        return
    driver, build = entry.driver, entry.build
    holder = target.holder() if break_lock else None
    if holder is not None and holder.stale() is not None:
        target.break_lock()  # the user said so; a lock still held by a live deploy stays
    with target.lock(journal.who()):
        if entry.folders:
            folders = [f"{target.path}/{folder}" for folder in entry.folders]
            target.transport.run(["mkdir", "-p", "--", *folders], timeout=60)
        staged = target.staging_folder()
        config = driver.render_check_config(build, staged)
        extra = {f"{driver.config_name}.check": OutputFile(config, 0o600)}
        check = driver.check_command(build, staged)
        target.stage(entry.files, extra, staged)
        if entry.folders:
            folders = [f"{staged}/{folder}" for folder in entry.folders]
            target.transport.run(["mkdir", "-p", "--", *folders], timeout=60)
        done = target.check(check, staged)
        if not done.ok:
            raise DeployError(
                f"{target.name}: {check.why} refused the staged files ({done.message()}); "
                "the server is untouched"
            )
        outcome.release = target.swap(staged)
        if plan.down is not None:
            # Nothing to reload: the files are in place for when it starts.
            outcome.state = "installed"
            outcome.detail = f"{plan.down}: the files are in place; start it"
            return
        try:
            for command in plan.commands:
                run_command(target, command)
        except DeployError:
            restore(target, plan, outcome)
            raise
    outcome.state = "applied"
    if plan.restart:
        outcome.detail = f"restart it to finish (apply never restarts): {plan.restart}"


def restore(target: Target, plan: ServerPlan, outcome: Outcome) -> None:
    """Put the release copy back and reload it; the outcome says how that went."""
    if not outcome.release:
        return
    try:
        target.restore(outcome.release)
        for command in plan.commands:
            with contextlib.suppress(DeployError):
                run_command(target, command)
        outcome.state = "restored"
    except DeployError as problem:
        outcome.state = "failed"
        outcome.detail = f"{outcome.detail}; restoring {outcome.release} failed: {problem}"


def expectations(
    planned: Planned, plan: ServerPlan, signed: Mapping[str, int] | None = None
) -> list[tuple[Expect, ServerFiles]]:
    """What a server of the plan must serve once applied; ``signed`` (zone_key -> the
    serial its signer was verified serving) raises a signed zone's serial to the signer's."""
    entry = planned.build.servers[plan.server]
    server = entry.server
    found = []
    for change in plan.zones:
        skip = plan.down is not None or plan.role == "resolver"
        if skip or change.kind == "removed" or change.new_serial is None:
            continue
        key = zone_key(change.view, change.zone)
        serial = change.new_serial
        signer = (signed or {}).get(key)
        if signer is not None and serial_gt(signer, serial):
            serial = signer
        tsig = tsig_for(planned.build.site, server, change.view, planned.secrets)
        question = Question(key, change.zone, tsig)
        found.append((Expect(server.name, server.address, server.port, question, serial), entry))
    return found


def verify_rank(
    planned: Planned, rank: list[ServerPlan], timeout: float, signed: dict[str, int] | None = None
) -> dict[str, str]:
    """server -> why it does not serve its part of the plan (empty: all good).

    ``signed`` (zone_key -> serial) gets the serial each signed zone's primary is
    verified serving, and gives it to the ranks after (its secondaries)."""
    signed = {} if signed is None else signed
    deadline = time.monotonic() + timeout
    wanted = [pair for plan in rank for pair in expectations(planned, plan, signed)]
    problems = wait_for_serials([want for want, _ in wanted], planned.targets, timeout)
    for want, entry in wanted:
        if entry.server.role != "primary" or want.server in problems:
            continue
        view, _, _ = want.question.key.partition("/")
        key = transfer_key(planned.build.site, entry.server, view, planned.secrets)
        if key is None:
            problems[want.server] = f"{want.server}: no deploy key to verify its zones with"
            continue
        # Signed as the installed files say (a rollback's may differ from the site).
        pair = (view, want.question.zone)
        signings = planned.plan.server(want.server).signed
        signed_now = any(s.after is not None for s in signings if (s.view, s.zone) == pair)
        files = {rel: f for rel, f in entry.files.items() if f.zone is not None}
        for output in files.values():
            zone = output.zone
            if zone is None or (zone.view, zone.text_name) != (view, want.question.zone):
                continue
            target = planned.targets[want.server]
            if signed_now:
                problem, serial = signed_primary_matches(
                    want, target, key, output.content, zone.origin, deadline
                )
                if serial is not None:
                    signed[want.question.key] = serial
            else:
                problem = primary_matches(want, target, key, output.content, zone.origin)
            if problem:
                problems[want.server] = problem
    return problems


def lost_keys(planned: Planned) -> str | None:
    """Why apply must not start: a zone the last deploy left signed, still signed in the
    build, whose signer's key store no longer holds its keys (see :func:`keys_gone`)."""
    signers = [plan for plan in planned.plan.servers if any(s.keys_kept for s in plan.signed)]

    def check(plan: ServerPlan) -> str | None:
        return keys_gone(planned.targets[plan.server], planned.build.servers[plan.server], plan)

    with ThreadPoolExecutor(max_workers=max(len(signers), 1)) as threads:
        found = list(threads.map(check, signers))
    return next((why for why in found if why), None)


_SHOWN = {"bind": "BIND", "knot": "Knot"}


def keys_gone(target: Target, entry: ServerFiles, plan: ServerPlan) -> str | None:
    """Why a zone ``plan``'s server signed at the last deploy, and still signs, has no keys
    on its host, in one sentence; None when every such zone has them. All the zones of
    the server are checked in one run of ``sh``, the driver's tests on its standard input."""
    tests = [
        (signing, test)
        for signing in plan.signed
        if signing.keys_kept
        and signing.before is not None
        and (
            test := entry.driver.key_store_check(
                entry.build, signing.zone, signing.view, signing.before
            )
        )
        is not None
    ]
    if not tests:
        return None
    script = 'cd "$1" || exit 1\n' + "".join(
        f"{shlex.join(test.argv)} >/dev/null 2>&1 || echo {number}\n"
        for number, (_, test) in enumerate(tests)
    )
    done = target.transport.run(
        ["sh", "-s", target.path],
        input=script.encode(),
        timeout=max(test.timeout for _, test in tests) + len(tests),
    )
    if not done.ok:
        raise DeployError(f"{target.name}: the check of its DNSSEC keys failed: {done.message()}")
    lost = done.stdout.decode("utf-8", "replace").split()
    if not lost:
        return None
    signing, test = tests[int(lost[0])]
    return (
        f"{signing.zone} was signed by {plan.server} at the last deploy, but its "
        f"keys are gone from {test.why.removeprefix('the ')} on "
        f"{target.transport.host}: {_SHOWN.get(plan.software, plan.software)} would make "
        "new keys and "
        "validating resolvers would fail the zone until the parent's DS is "
        "replaced; restore the key folder from a backup, or unsign the zone and "
        f"pass --ack dnssec:{signing.zone}. Nothing was installed"
    )


def apply_plan(planned: Planned, root: Path, break_lock: bool = False) -> Applied:
    """Apply ``planned`` rank by rank; the first failure stops the rollout."""
    plan = planned.plan
    timeout = planned.build.site.deploy.verify_timeout
    outcomes = {server.server: Outcome(server.server) for server in plan.servers}
    problem = lost_keys(planned)
    signed: dict[str, int] = {}
    for rank in [] if problem else plan.ranks():
        with ThreadPoolExecutor(max_workers=max(len(rank), 1)) as threads:
            futures = {
                server.server: threads.submit(
                    install,
                    planned.targets[server.server],
                    planned.build.servers[server.server],
                    server,
                    outcomes[server.server],
                    break_lock,
                )
                for server in rank
            }
        failed = []
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                if not isinstance(error, DeployError):
                    raise error
                outcomes[name].detail = str(error)
                if outcomes[name].state == "not started":
                    outcomes[name].state = "failed" if outcomes[name].release else "untouched"
                failed.append(str(error))
        if not failed:
            for name, why in verify_rank(planned, rank, timeout, signed).items():
                outcome = outcomes[name]
                outcome.detail = why
                outcome.state = "failed"
                restore(planned.targets[name], plan.server(name), outcome)
                failed.append(why)
        if failed:
            problem = failed[0]
            break
        for server in rank:
            if server.zones and outcomes[server.server].state == "unchanged":
                outcomes[server.server].state = "verified"  # took the zones by transfer
    ok = problem is None
    if ok and planned.build.state.changed:
        write_atomically(root / STATE_FILE, planned.build.state.text().encode())
    if ok and planned.keys is not None and planned.keys.changed:
        planned.keys.save()
    entry = journal.append(root, journal_entry(plan, outcomes, ok))
    return Applied(ok, outcomes, problem, entry)


def journal_entry(plan: Plan, outcomes: dict[str, Outcome], ok: bool) -> dict:
    """What the journal keeps of an apply: per server its state, files and serials."""
    servers = {}
    for server in plan.servers:
        outcome = outcomes[server.server]
        if not server.changed and outcome.state in ("not started", "unchanged"):
            continue
        servers[server.server] = {
            "state": outcome.state,
            "release": outcome.release,
            "files": {f.path: f.kind for f in server.files},
            "zones": {
                zone_key(z.view, z.zone): [z.kind, z.old_serial, z.new_serial] for z in server.zones
            },
        }
    return {"kind": plan.kind, "ok": ok, "build": plan.build_digest, "servers": servers}


def apply_rounds(
    planned: Planned,
    root: Path,
    pool: dict[str, Transport],
    break_lock: bool = False,
    second_round: bool = True,
    acks: tuple[str, ...] = (),
) -> Applied:
    """Apply ``planned``; then, if the signers' keys are not those the build used (a zone
    signed for the first time has keys only once its signer loaded it), one more round
    gives the parents in the site their children's DS: planned anew, applied when it
    needs no acknowledgement beyond ``acks`` (``second_round``: else only said)."""
    applied = apply_plan(planned, root, break_lock)
    if not applied.ok or planned.keys is None:
        return applied
    site = planned.build.site
    down = {server.server for server in planned.plan.servers if server.down}
    live = keys_after_apply(
        planned.build,
        planned.targets,
        lambda server, view: transfer_key(site, server, view, planned.secrets),
        planned.keys,
        down,
        site.deploy.verify_timeout,
    )
    if live.keys == planned.keys.keys:
        return applied
    if not second_round:
        applied.rounds.append(
            "the signers' keys changed during this apply: run plan and apply again to give "
            "the parents in the site their DS"
        )
        return applied
    again = make_plan(root, pool)
    parents = [
        f"round 2: {parent.text} gets the DS of {child.text}"
        for child in site.zones
        if site.policy_of(child) is not None
        and live.keys.get(child.text) != planned.keys.keys.get(child.text)
        and (parent := parent_in_site(site, child)) is not None
    ]
    applied.rounds = parents or ["round 2: the signers' new keys reach the site's servers"]
    pending = unacknowledged(again.plan.gates, acks)
    if pending:
        needed = " ".join(f"--ack {gate.ack}" for gate in pending)
        applied.rounds.append(f"round 2 needs {needed}: run apply again with it")
        return applied
    if again.plan.changed:
        applied.second = apply_plan(again, root, break_lock)
        applied.ok = applied.second.ok
        applied.problem = applied.second.problem
    elif again.keys is not None and again.keys.changed:
        again.keys.save()
    return applied

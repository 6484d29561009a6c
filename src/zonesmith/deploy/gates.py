"""Gates: changes ``--yes`` does not pass, found in a plan and passed by ``--ack GATE:ZONE``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zonesmith.deploy.plan import Gate, ServerPlan, Signing, ZoneChange

GATES = ("apex-ns", "zone-delete", "mass-change", "drift", "dnssec")
#: Zones with fewer RRsets than this never trip the mass-change gate.
MASS_CHANGE_MINIMUM = 10


def zone_gates(server: str, change: ZoneChange, threshold: float) -> list[Gate]:
    """The gates one zone's change on one server trips."""
    zone = change.zone
    found = []
    if change.kind == "removed":
        found.append(Gate("zone-delete", zone, server, f"{zone} leaves {server}"))
    if change.kind == "drift":
        why = change.drift[0] if change.drift else f"{zone} on {server} is not the last deploy's"
        found.append(Gate("drift", zone, server, f"{why}; apply would overwrite it"))
    if change.apex_ns:
        found.append(Gate("apex-ns", zone, server, f"the NS RRset at the apex of {zone} changes"))
    total, changed = change.rrsets_total, change.rrsets_changed
    if total >= MASS_CHANGE_MINIMUM and changed >= threshold * total:
        share = round(100 * changed / total)
        found.append(
            Gate(
                "mass-change",
                zone,
                server,
                f"{changed} of the {total} RRsets of {zone} change ({share} %)",
            )
        )
    return found


def signing_note(server: str, signing: Signing) -> str | None:
    """What a change of a zone's signing means and the safe order to do it in (the
    plan shows it; the dnssec gate says it), or None when its signing does not change."""
    zone, before, after = signing.zone, signing.before, signing.after
    if signing.first:
        return f"{zone} is signed by {server} ({after})" if after else None
    if before == after:
        return None
    if before is None:
        return (
            f"{zone} becomes signed by {server} ({after}): {server} publishes its keys and "
            "signs first; add the parent's DS only after every secondary serves the signed "
            "zone (zonesmith adds it for a parent in the site; for a parent elsewhere "
            f"`zonesmith dnssec ds {zone}` prints it)"
        )
    if after is None:
        return (
            f"{zone} stops being signed by {server}: first remove its DS at the parent and "
            "wait the DS TTL, then unsign (validating resolvers fail a zone whose parent "
            "still has a DS for it)"
        )
    return (
        f"{zone} changes algorithm on {server} from {before} to {after}: {server} rolls "
        "to the new algorithm; replace the parent's DS once the new key is active"
    )


def signer_move_note(zone: str, old: str, new: str, algorithm: str | None) -> str:
    """What moving a signed zone to another signer means, and the safe ways to do it."""
    return (
        f"the signer of {zone} moves from {old} to {new} ({algorithm}): {new} makes new "
        f"keys the parent's DS does not name, so validating resolvers fail {zone} until the "
        f"parent has {new}'s DS and the old one has expired from caches; either copy {old}'s "
        f"key files into {new}'s key folder before this apply (it then signs with the same "
        "keys), or unsign the zone first (remove the DS, wait its TTL), move it, and sign "
        "it again"
    )


def _moved_signers(servers: Sequence[ServerPlan]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(view, zone) -> (old signer, new signer, algorithm) where the server that signed a
    zone at the last deploy stops signing it and another signs it for the first time."""
    stopped: dict[tuple[str, str], str] = {}
    started: dict[tuple[str, str], tuple[str, str]] = {}
    for server in servers:
        for signing in server.signed:
            pair = (signing.view, signing.zone)
            if signing.before is not None and signing.after is None and not signing.first:
                stopped[pair] = server.server
            elif signing.first and signing.after is not None:
                started[pair] = (server.server, signing.after)
    return {pair: (stopped[pair], *started[pair]) for pair in stopped.keys() & started.keys()}


def gates_of(servers: Sequence[ServerPlan], threshold: float) -> tuple[Gate, ...]:
    """Every gate a plan trips, one per gate and zone (the first server that trips it)."""
    found: dict[tuple[str, str], Gate] = {}
    for (_, zone), (old, new, algorithm) in sorted(_moved_signers(servers).items()):
        gate = Gate("dnssec", zone, new, signer_move_note(zone, old, new, algorithm))
        found.setdefault((gate.gate, gate.zone), gate)
    for server in servers:
        for zone in server.zones:
            for gate in zone_gates(server.server, zone, threshold):
                found.setdefault((gate.gate, gate.zone), gate)
        for signing in server.signed:
            note = signing_note(server.server, signing)
            if signing.changes and note is not None:
                gate = Gate("dnssec", signing.zone, server.server, note)
                found.setdefault((gate.gate, gate.zone), gate)
    return tuple(found.values())


def unacknowledged(gates: Iterable[Gate], acks: Iterable[str]) -> list[Gate]:
    """The gates no ``--ack`` passes."""
    given = {ack.strip().lower().rstrip(".") for ack in acks}
    return [gate for gate in gates if gate.ack.lower().rstrip(".") not in given]


def refusal(gates: Sequence[Gate]) -> str:
    """One sentence per gate, naming the flag that passes it."""
    return "\n".join(
        f"gate {gate.gate}: {gate.why}; pass --ack {gate.ack} to go on" for gate in gates
    )

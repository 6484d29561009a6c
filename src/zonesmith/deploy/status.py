"""Status: per zone and server, the serial served against the serial the last deploy made,
and a secondary's last refresh against its SOA expire where the control channel tells it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zonesmith.compile.fleet import ServedZone
from zonesmith.compile.serials import SerialState, serial_gt
from zonesmith.deploy.build import ServerFiles, build_for_deploy, checked_site, signed_policy
from zonesmith.deploy.planner import observe_fleet, target_for
from zonesmith.deploy.transport import Transport
from zonesmith.pipeline import read_secrets


@dataclass(frozen=True)
class ZoneStatus:
    zone: str
    view: str
    server: str
    served: int | None
    expected: int | None
    state: str  # ok, lagging, drift, expired, not served, server down
    #: seconds since a secondary last refreshed the zone, where its control channel says
    refreshed: float | None = None
    expire: int | None = None

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def site_status(root: Path, pool: dict[str, Transport]) -> list[ZoneStatus]:
    """Every zone on every server that serves it, with its state."""
    site = checked_site(root)
    secrets = read_secrets(site)
    deployed = SerialState.load(Path(site.root))
    build = build_for_deploy(site)
    releases = site.deploy.releases

    targets = {
        name: target_for(entry.server, pool, releases) for name, entry in build.servers.items()
    }
    observed = observe_fleet(build, targets, secrets)
    found = []
    for name, entry in build.servers.items():
        seen = observed[name]
        edited = {
            f.zone.view + "/" + f.zone.text_name
            for rel, f in entry.files.items()
            if f.zone is not None and rel in seen.hand_edited()
        }
        for key, (served, compiled) in entry.zones.items():
            last = deployed.serials.get(served.zone.text, {}).get(served.view)
            expected = int(last["serial"]) if last else (compiled.serial if compiled else None)  # type: ignore[call-overload]
            serial = seen.served.get(key)
            # A signer raises a signed zone's serial as it re-signs: above the build's is ok.
            above = expected is not None and serial is not None and serial_gt(serial, expected)
            signed = signed_policy(site, served) is not None
            if seen.down is not None:
                state = "server down"
            elif serial is None:
                state = "not served"
            elif key in edited or (above and not signed):
                state = "drift"
            elif expected is not None and serial != expected and not above:
                state = "lagging"
            else:
                state = "ok"
            refreshed = None
            expire = compiled.soa.expire if compiled is not None else None
            if seen.down is None and serial is not None and served.data is None and expire:
                refreshed = _since_refresh(entry, targets[name].transport, served, expire)
                if refreshed is not None and refreshed > expire and state != "drift":
                    state = "expired"
            found.append(
                ZoneStatus(
                    served.text_name, served.view, name, serial, expected, state, refreshed, expire
                )
            )
    return found


def _since_refresh(
    entry: ServerFiles, transport: Transport, served: ServedZone, expire: int
) -> float | None:
    """Seconds since the secondary last refreshed the zone, or None where it does not say."""
    command = entry.driver.zone_state_command(entry.build, served.view, served.zone.text)
    if command is None:
        return None
    done = transport.run(command.argv, timeout=command.timeout)
    if not done.ok:
        return None
    now = datetime.now(UTC)
    last = entry.driver.last_refresh(done.stdout.decode("utf-8", "replace"), expire, now)
    return None if last is None else max(0.0, (now - last).total_seconds())

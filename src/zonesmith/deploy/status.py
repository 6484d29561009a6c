"""Status: per zone and server, the serial served against the serial the last deploy made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zonesmith.compile.serials import SerialState, serial_gt
from zonesmith.deploy.build import build_for_deploy, checked_site
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
    state: str  # ok, lagging, drift, not served, server down

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
            if seen.down is not None:
                state = "server down"
            elif serial is None:
                state = "not served"
            elif key in edited or (expected is not None and serial_gt(serial, expected)):
                state = "drift"
            elif expected is not None and serial != expected:
                state = "lagging"
            else:
                state = "ok"
            found.append(ZoneStatus(served.text_name, served.view, name, serial, expected, state))
    return found

"""Plan: what a deploy will do, as a value that prints, and serializes to JSON and back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zonesmith.deploy.errors import DeployError
from zonesmith.drivers.command import Command

PLAN_VERSION = 1
RANKS = {"primary": 0, "secondary": 1, "resolver": 2}


@dataclass(frozen=True)
class FileChange:
    path: str
    kind: str  # added, changed, removed
    diff: tuple[str, ...] = ()  # secrets masked


@dataclass(frozen=True)
class ZoneChange:
    zone: str
    view: str
    kind: str  # added, removed, changed, drift (served content is not the last deploy's)
    old_serial: int | None = None
    new_serial: int | None = None
    lines: tuple[str, ...] = ()  # RRset +/- lines (on the primary)
    drift: tuple[str, ...] = ()  # what differs from the last deploy
    rrsets_changed: int = 0  # RRsets added, changed or removed
    rrsets_total: int = 0  # RRsets live before
    apex_ns: bool = False  # the apex NS RRset changes


@dataclass(frozen=True)
class Signing:
    """A zone a signer signs now or signed at the last deploy: its algorithm before and
    after (None: unsigned), and whether the server served it before (``first``: no)."""

    zone: str
    view: str
    before: str | None
    after: str | None
    first: bool = False

    @property
    def changes(self) -> bool:
        """Signed, unsigned or its algorithm changed, on a zone served before."""
        return not self.first and self.before != self.after

    @property
    def keys_kept(self) -> bool:
        """Signed at the last deploy and still signed: its keys must still be there."""
        return self.before is not None and self.after is not None and not self.first


@dataclass(frozen=True)
class Gate:
    """A change ``--yes`` does not pass: it needs ``--ack GATE:ZONE``."""

    gate: str  # apex-ns, zone-delete, mass-change, drift, dnssec
    zone: str
    server: str
    why: str

    @property
    def ack(self) -> str:
        return f"{self.gate}:{self.zone}"


@dataclass(frozen=True)
class ServerPlan:
    server: str
    software: str
    role: str
    where: str  # "local" or the ssh URL
    path: str
    fingerprint: str  # of what was observed
    files: tuple[FileChange, ...] = ()
    zones: tuple[ZoneChange, ...] = ()
    commands: tuple[Command, ...] = ()
    restart: str | None = None  # why a restart is needed (apply never restarts)
    down: str | None = None  # the server did not answer
    #: the zones this server signs, or signed at the last deploy
    signed: tuple[Signing, ...] = ()

    @property
    def rank(self) -> int:
        return RANKS.get(self.role, 3)

    @property
    def changes_files(self) -> bool:
        return bool(self.files)

    @property
    def changed(self) -> bool:
        return bool(self.files or self.zones)


@dataclass(frozen=True)
class Plan:
    site: str
    build_digest: str
    servers: tuple[ServerPlan, ...]
    gates: tuple[Gate, ...] = ()
    #: (zone, view, serial, content digest) of every zone: applying the plan
    #: later compiles the same serials, whatever the date.
    serials: tuple[tuple[str, str, int, str], ...] = ()
    kind: str = "apply"  # or "rollback"
    version: int = field(default=PLAN_VERSION)

    @property
    def changed(self) -> bool:
        return any(server.changed for server in self.servers)

    def server(self, name: str) -> ServerPlan:
        return next(plan for plan in self.servers if plan.server == name)

    def ranks(self) -> list[list[ServerPlan]]:
        """Primaries, then secondaries, then resolvers."""
        ranks: dict[int, list[ServerPlan]] = {}
        for server in self.servers:
            ranks.setdefault(server.rank, []).append(server)
        return [ranks[rank] for rank in sorted(ranks)]

    # ------------------------------------------------------------- JSON

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version {data.get('version')!r}, expected {PLAN_VERSION}")
        servers = tuple(
            ServerPlan(
                **{
                    **server,
                    "files": tuple(
                        FileChange(**{**f, "diff": tuple(f["diff"])}) for f in server["files"]
                    ),
                    "zones": tuple(
                        ZoneChange(**{**z, "lines": tuple(z["lines"]), "drift": tuple(z["drift"])})
                        for z in server["zones"]
                    ),
                    "commands": tuple(
                        Command(**{**c, "argv": tuple(c["argv"])}) for c in server["commands"]
                    ),
                    "signed": tuple(Signing(**s) for s in server.get("signed", ())),
                }
            )
            for server in data["servers"]
        )
        return cls(
            site=data["site"],
            build_digest=data["build_digest"],
            servers=servers,
            gates=tuple(Gate(**gate) for gate in data["gates"]),
            serials=tuple(tuple(entry) for entry in data["serials"]),  # type: ignore[misc]
            kind=data["kind"],
            version=data["version"],
        )

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def read(cls, path: Path) -> Plan:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except OSError as problem:
            raise DeployError(f"{path}: cannot read the plan file ({problem.strerror})") from None
        except (ValueError, KeyError, TypeError) as problem:
            raise DeployError(f"{path}: not a zonesmith plan file ({problem})") from None

"""Zone serials: the state file, and serials that only move forward (RFC 1982)."""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path

from zonesmith.diagnostics import Position, SiteError, error

STATE_FILE = "zonesmith.state"


def serial_gt(a: int, b: int) -> bool:
    """True when serial ``a`` is greater than ``b`` in RFC 1982 sequence space."""
    return a != b and ((a > b and a - b < 2**31) or (a < b and b - a > 2**31))


def next_serial(previous: int | None, today: datetime.date) -> int:
    """The serial after ``previous``: today's YYYYMMDD00 if that is later, else previous + 1."""
    dated = int(today.strftime("%Y%m%d")) * 100
    if previous is None:
        return dated
    incremented = (previous + 1) % 2**32
    return dated if serial_gt(dated, previous) else incremented


def build_date() -> datetime.date:
    """Today in UTC, or the date of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
    return datetime.datetime.now(datetime.UTC).date()


@dataclass
class SerialState:
    """The serial and content digest of every zone in every view, kept in the site.

    It lives in the site (``zonesmith.state``, meant to be committed) rather
    than in the output, so serials keep moving forward when the output tree
    is deleted or the build runs on another machine.
    """

    path: Path
    serials: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    #: Whether a serial or digest changed since the file was read.
    changed: bool = False

    @classmethod
    def load(cls, root: Path) -> SerialState:
        path = root / STATE_FILE
        if not path.exists():
            return cls(path)
        position = Position(str(path), 1, 1)
        try:
            data = json.loads(path.read_text())
            serials = data["serials"]
            for views in serials.values():
                for entry in views.values():
                    int(entry["serial"])
                    str(entry["digest"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            if isinstance(exc, RecursionError):  # JSON nested deeper than Python recurses
                exc = ValueError("nested too deeply")
            elif isinstance(exc, OSError):
                exc = ValueError(exc.strerror or exc)
            raise SiteError(
                [
                    error(
                        position,
                        "bad-state",
                        f"cannot read the serial state ({exc}); restore it from git. Deleting it "
                        "restarts serials at today's date, which may be lower than the live ones",
                    )
                ]
            ) from None
        return cls(path, serials)

    def serial_for(self, zone: str, view: str, digest: str, today: datetime.date) -> int:
        """The serial of ``zone`` in ``view`` whose content has ``digest``, kept in the state.

        The same serial as last time while the content is the same, the next
        one (see next_serial) when it changed.
        """
        entry = self.serials.get(zone, {}).get(view)
        if entry is not None and entry["digest"] == digest:
            serial = int(entry["serial"])  # type: ignore[call-overload]
            if serial == entry["serial"]:
                return serial  # as recorded: nothing changes
        else:
            previous = int(entry["serial"]) if entry is not None else None  # type: ignore[call-overload]
            serial = next_serial(previous, today)
        self.serials.setdefault(zone, {})[view] = {"serial": serial, "digest": digest}
        self.changed = True
        return serial

    def raise_floor(self, zone: str, view: str, served: int) -> bool:
        """Make the next serial of ``zone`` in ``view`` go above ``served`` (RFC 1982).

        Deploy calls this with what a server serves: after a hand edit or a
        restored backup it may be ahead of the state, and a serial that does
        not move past it would never reach the secondaries. Whether it raised.
        """
        entry = self.serials.get(zone, {}).get(view)
        if entry is not None and not serial_gt(served, int(entry["serial"])):  # type: ignore[call-overload]
            return False
        # No digest matches "": the zone then gets the serial after ``served``.
        self.serials.setdefault(zone, {})[view] = {"serial": served, "digest": ""}
        self.changed = True
        return True

    def pin(self, zone: str, view: str, serial: int, digest: str) -> None:
        """Record ``serial`` for ``digest``: a plan's serials, so applying it gives its bytes."""
        self.serials.setdefault(zone, {})[view] = {"serial": serial, "digest": digest}
        self.changed = True

    def text(self) -> str:
        """The state as JSON, one line per zone: an edited zone is a one-line diff.

        Formatted here rather than by json.dumps per zone, whose Python-level
        wrapper would run once per zone at every rebuild; strings go through json's own
        escaping, so the file is what json.dumps would write.
        """
        quote = encode_basestring_ascii

        def entry_text(view: str, entry: dict[str, object]) -> str:
            digest, serial = quote(str(entry["digest"])), int(entry["serial"])  # type: ignore[call-overload]
            return f'{quote(view)}: {{"digest": {digest}, "serial": {serial}}}'

        lines = []
        for zone, views in sorted(self.serials.items()):
            if len(views) == 1:  # most zones: one view, or none declared
                [(view, entry)] = views.items()
                entries = entry_text(view, entry)
            else:
                entries = ", ".join(entry_text(view, views[view]) for view in sorted(views))
            lines.append(f"  {quote(zone)}: {{{entries}}}")
        serials = "{\n" + ",\n".join(lines) + "\n }" if lines else "{}"
        return f'{{\n "serials": {serials},\n "version": 1\n}}\n'

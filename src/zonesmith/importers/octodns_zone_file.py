"""One octoDNS YamlProvider zone file: its records, read into a zone's RRsets."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.importers.content import ContentBuilder, RRKey, T
from zonesmith.importers.octodns_records import octodns_to_rdata
from zonesmith.importers.yaml_positions import (
    key_position,
    load_yaml_with_positions,
    value_position,
)
from zonesmith.site.files import display_path

#: octoDNS types with no DNS record behind them (provider features).
_NOT_DNS = {
    "ALIAS": "an ALIAS is a provider feature with no DNS record; "
    "write the addresses (A/AAAA) or a CNAME below the apex instead",
    "URLFWD": "URL forwarding is a provider feature with no DNS record",
}


class ZoneFileReader:
    """Reads the records of a zone file into a :class:`ContentBuilder`, reporting what it drops."""

    def __init__(self, report: list[Diagnostic]):
        self.report = report

    def warn(self, position: Position, message: str, rule: str = "not-carried-over") -> None:
        self.report.append(warning(position, rule, message))

    def read(
        self, path: Path, origin: dns.name.Name, provider: dict, builder: ContentBuilder,
        seen: dict[RRKey, str], source: str,
    ) -> None:  # fmt: skip
        data = load_yaml_with_positions(path, self.report)
        top = Position(display_path(path), 1, 1)
        if data is None:
            return
        if not isinstance(data, dict):
            self.report.append(
                error(top, "bad-octodns", "an octoDNS zone file must be a mapping of record names")
            )
            return
        for name, entries in data.items():
            name_at = key_position(data, name, top)
            try:
                owner = (
                    dns.name.from_text(str(name), origin) if str(name) not in ("", "@") else origin
                )
            except dns.exception.DNSException as exc:
                self.report.append(error(name_at, "bad-name", f"'{name}': {exc}"))
                continue
            for entry in entries if isinstance(entries, list) else [entries]:
                self.read_record(entry, owner, name_at, provider, builder, seen, source)

    def read_record(
        self, entry: object, owner: dns.name.Name, name_at: Position, provider: dict,
        builder: ContentBuilder, seen: dict[RRKey, str], source: str,
    ) -> None:  # fmt: skip
        at = value_position(entry, name_at)
        if not isinstance(entry, dict) or "type" not in entry:
            self.report.append(error(at, "bad-octodns", f"the record of '{owner}' needs a type"))
            return
        rtype = str(entry["type"]).upper()
        octodns = entry.get("octodns") or {}
        if isinstance(octodns, dict) and octodns.get("ignored"):
            self.warn(at, f"{owner} {rtype} is marked ignored for octoDNS; not carried over")
            return
        for key in entry:
            if key in ("geo", "dynamic"):
                self.warn(
                    key_position(entry, key, at),
                    f"{owner} {rtype}: '{key}' rules are not "
                    "carried over; the record's plain values are",
                )
            elif key == "octodns":
                self.warn(
                    key_position(entry, key, at),
                    f"{owner} {rtype}: octodns settings "
                    f"({', '.join(map(str, octodns))}) are not carried over",
                )
            elif key not in ("type", "ttl", "value", "values"):
                self.warn(key_position(entry, key, at), f"{owner} {rtype}: unknown key '{key}'")
        if rtype in _NOT_DNS:
            self.warn(at, f"{owner} {rtype} is not carried over: {_NOT_DNS[rtype]}")
            return
        try:
            T.from_text(rtype)
        except dns.rdatatype.UnknownRdatatype:
            self.report.append(error(at, "unknown-type", f"unknown record type '{rtype}'"))
            return
        values = entry.get("values", entry.get("value"))
        if values is None:
            self.report.append(error(at, "bad-octodns", f"{owner} {rtype} has no value(s)"))
            return
        values = values if isinstance(values, list) else [values]
        try:
            ttl = int(entry.get("ttl", provider["default_ttl"]))
        except (TypeError, ValueError):
            self.report.append(error(at, "bad-ttl", f"{owner} {rtype}: ttl must be a number"))
            return
        key = (owner, T.from_text(rtype))
        if key in seen:
            if seen[key] != source and provider["replace"]:
                builder.records.pop(key, None)  # populate_should_replace: the later source wins
            else:
                self.report.append(
                    error(
                        at,
                        "duplicate-record",
                        f"{owner} {rtype} is given twice (octoDNS refuses this too)",
                    )
                )
                return
        seen[key] = source
        for value in values:
            try:
                rdata = octodns_to_rdata(rtype, value, origin=builder.origin)
            except Exception as exc:  # noqa: BLE001 - dnspython raises many kinds for bad data
                self.report.append(
                    error(
                        value_position(value, at),
                        "bad-rdata",
                        f"{owner} {rtype}: invalid value {value!r}: {exc}",
                    )
                )
                continue
            builder.add(owner, ttl, rdata, value_position(value, at))

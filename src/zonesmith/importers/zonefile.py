"""Master files into a site: which zone a file holds, and its records."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import dns.exception
import dns.name

from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.importers.content import (
    FALLBACK_TTL,
    ContentBuilder,
    ImportedSite,
    ImportedZone,
    ImportResult,
)
from zonesmith.importers.site_writer import write_site
from zonesmith.model import DEFAULT_VIEW
from zonesmith.model import Record as MasterRecord
from zonesmith.site.files import display_path
from zonesmith.site.masterfile.reader import read_masterfile


def guess_origin(path: Path) -> dns.name.Name | None:
    """The origin a master file declares: its first ``$ORIGIN``, or an absolute SOA owner."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        stripped = line.split(";", 1)[0] if '"' not in line else line
        tokens = stripped.split()
        if not tokens:
            continue
        head = tokens[0].upper()
        if head == "$ORIGIN" and len(tokens) > 1 and tokens[1].endswith("."):
            with contextlib.suppress(dns.exception.DNSException):
                return dns.name.from_text(tokens[1])
            return None
        if head.startswith("$"):
            continue
        if line[:1].isspace():
            continue
        # The first record: its owner is the origin when it is an absolute SOA owner.
        if "SOA" in (t.upper() for t in tokens[1:4]) and tokens[0].endswith("."):
            with contextlib.suppress(dns.exception.DNSException):
                return dns.name.from_text(tokens[0])
        return None
    return None


def origin_from_file_name(path: Path) -> dns.name.Name | None:
    """``db.example.com`` or ``example.com.zone`` -> ``example.com.``."""
    stem = path.name
    for suffix in (".zone", ".db", ".txt", ".hosts", ".dns", ".signed"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem.lower().startswith("db."):
        stem = stem[3:]
    if not stem or "." not in stem.strip("."):
        return None
    try:
        return dns.name.from_text(stem.rstrip(".") + ".")
    except dns.exception.DNSException:
        return None


def zone_from_records(
    origin: dns.name.Name,
    records: Iterable[MasterRecord],
    position: Position,
    report: list[Diagnostic],
    view: str = DEFAULT_VIEW,
) -> ImportedZone:
    builder = ContentBuilder(origin, report)
    for record in records:
        builder.add(record.name, record.ttl, record.rdata, record.position)
    zone = ImportedZone(origin, position, {view: builder.content()}, builder.soa)
    if builder.soa is None:
        report.append(warning(position, "no-soa", f"zone '{zone.text}' has no SOA record"))
    return zone


def read_zone_file(
    path: Path, origin: dns.name.Name, report: list[Diagnostic], view: str = DEFAULT_VIEW
) -> ImportedZone:
    display = display_path(path)
    records, diagnostics = read_masterfile(path, origin, FALLBACK_TTL, display_path=display)
    report.extend(diagnostics)
    return zone_from_records(origin, records, Position(display, 1, 1), report, view)


def import_zonefiles(
    files: list[Path], root: Path, fmt: str = "yaml", origin: str | None = None, force: bool = False
) -> ImportResult:
    """``zonesmith import zonefile``: master files into a site."""
    imported = ImportedSite("zonesmith import zonefile", [display_path(f) for f in files])
    report = imported.diagnostics
    if origin is not None and len(files) > 1:
        report.append(
            error(
                Position(display_path(files[1])),
                "origin-ambiguous",
                "--origin names the zone of one file; import files of other zones "
                "without it (their $ORIGIN or SOA owner is used) or one at a time",
            )
        )
        return write_site(imported, root, fmt, force)
    seen: dict[dns.name.Name, str] = {}
    for path in files:
        display = display_path(path)
        if not path.is_file():
            report.append(error(Position(display), "unreadable-file", "no such file"))
            continue
        zone_origin = _origin_for(path, origin, report)
        if zone_origin is None:
            continue
        if zone_origin in seen:
            report.append(
                error(
                    Position(display),
                    "duplicate-zone",
                    f"zone '{zone_origin}' is also read from {seen[zone_origin]}; "
                    "import one file per zone",
                )
            )
            continue
        seen[zone_origin] = display
        imported.zones.append(read_zone_file(path, zone_origin, report))
    imported.zones.sort(key=lambda z: z.origin)
    return write_site(imported, root, fmt, force)


def _origin_for(path: Path, given: str | None, report: list[Diagnostic]) -> dns.name.Name | None:
    display = display_path(path)
    if given is not None:
        try:
            return dns.name.from_text(given.rstrip(".") + ".")
        except dns.exception.DNSException as exc:
            report.append(error(Position(display), "bad-name", f"--origin '{given}': {exc}"))
            return None
    found = guess_origin(path)
    if found is not None:
        return found
    found = origin_from_file_name(path)
    if found is None:
        report.append(
            error(
                Position(display, 1, 1),
                "no-origin",
                "cannot tell which zone this file is: it has no $ORIGIN, no SOA with an "
                "absolute owner, and its name is not a domain; give --origin example.com",
            )
        )
        return None
    if found == dns.name.root:
        return None
    report.append(
        warning(
            Position(display, 1, 1),
            "origin-from-file-name",
            f"no $ORIGIN or absolute SOA owner in the file; the zone is taken to be "
            f"'{found.to_text(omit_final_dot=True)}' from the file name (give --origin to choose)",
        )
    )
    return found

"""The zones of zonesmith.yaml and the records read from their files and sets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

from zonesmith import presentation
from zonesmith.declared import RecordSpec, ZoneSource
from zonesmith.diagnostics import Diagnostic, Position
from zonesmith.model import (
    Defaults,
    Record,
    RuleSwitch,
    View,
    Zone,
)
from zonesmith.site.files import SITE_FILE, ZONES_DIR, _list_folder, display_path
from zonesmith.site.flat_yaml import read_flat_zone
from zonesmith.site.limits import MAX_ZONE_BYTES
from zonesmith.site.values import (
    MAX_TTL,
    describe_name_error,
    shown,
    unsafe_owner,
)
from zonesmith.site.yaml_nodes import SourceFile, yaml
from zonesmith.site.zone_records import _FAST_TYPE_CODES, parse_record_text


def _records_context(
    zone: Zone, ttl: int, sets: dict[str, list[RecordSpec]], set_digests: dict[str, str]
) -> str:
    """Besides its file's content, what a zone's records are made from, as a digest.

    Its file's path (positions name it), its name, its default TTL and the
    records of the sets it includes, in order; worked out once, when
    zonesmith.yaml is read, so a rebuild only adds the file's digest.
    """
    used_sets = []
    for include in zone.includes:
        specs = sets.get(include.name)
        if specs is not None and include.name not in set_digests:
            set_digests[include.name] = hashlib.blake2b(repr(specs).encode()).hexdigest()
        used_sets.append((include.name, set_digests.get(include.name)))
    # A digest: the declarations keep one per zone, and are read at every run.
    context = repr((zone.source_path, zone.origin, ttl, used_sets))
    return hashlib.blake2b(context.encode(), digest_size=16).hexdigest()


#: A zone name dnspython would write back exactly as given (no escapes).
_PLAIN_ZONE_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?")


def _zone_name(text: str) -> tuple[dns.name.Name, str]:
    """A zone's name and its absolute text; raises dns.exception.DNSException.

    dnspython reads a name character by character; ten thousand plain zone
    names are split on dots instead.
    """
    if _PLAIN_ZONE_NAME.fullmatch(text):
        absolute = text if text[-1] == "." else f"{text}."
        labels = [label.encode() for label in absolute.split(".")]
        return dns.name.Name(labels), absolute  # checks label and name length
    name = dns.name.from_text(text)
    return name, name.to_text()


class ZonesSection:
    """``zones:`` and the records of each zone, from its file and the sets it includes."""

    def declare_zones(
        self,
        source: SourceFile,
        node: yaml.Node | None,
        defaults: Defaults,
        views: tuple[View, ...],
        sets: dict[str, list[RecordSpec]],
    ) -> list[tuple[tuple, ZoneSource]]:
        """The zones zonesmith.yaml declares, without records (as Zone.arguments), and
        where their records come from."""
        # Over 80 lines: Each zone's entry checked field by field where it is written, then its
        # file found in the listing.
        zones = []
        all_views = tuple(view.name for view in views)
        zones_dir = self.root / ZONES_DIR
        listing = _list_folder(zones_dir)
        if listing is not None:
            names, files, folded = listing

            def is_file(name: str) -> bool:
                # A file listed as named, or perhaps under another case if the file
                # system ignores case: only then is it worth asking the system.
                return name in files or (name in folded and (zones_dir / name).is_file())

        else:
            names = None

            def is_file(name: str) -> bool:
                return (zones_dir / name).is_file()

        declared: set[str] = set()
        set_digests: dict[str, str] = {}
        for name, (key_node, value_node) in self.mapping(source, node, None, "zones").items():
            where = f"zone '{name}'"
            try:
                origin, origin_text = _zone_name(name)
            except dns.exception.DNSException as exc:
                self.error(
                    source.at(key_node), "bad-name", f"{where}: {describe_name_error(name, exc)}"
                )
                continue
            if not self.config_name(source.at(key_node), f"zone {shown(name)}", origin_text):
                continue
            file_stem = (
                origin_text[:-1] if origin_text != "." else origin.to_text(omit_final_dot=True)
            ).lower()
            declared.add(file_stem)
            entries = self.mapping(
                source,
                value_node,
                ("include", "views", "reverse-of", "ttl", "soa", "servers", "dnssec"),
                where,
            )
            zone_servers = (
                self.references(source, entries["servers"][1], f"{where} servers")
                if "servers" in entries
                else None
            )
            includes = (
                self.references(source, entries["include"][1], f"{where} include")
                if "include" in entries
                else ()
            )
            reverse_of = (
                self.references(source, entries["reverse-of"][1], f"{where} reverse-of")
                if "reverse-of" in entries
                else ()
            )
            view_refs = (
                self.references(source, entries["views"][1], f"{where} views")
                if "views" in entries
                else ()
            )
            zone_views = (
                # `views: []` is a zone in no view (reported), never one in every view
                tuple(r.name for r in view_refs if r.name in all_views)
                if "views" in entries
                else all_views
            )
            ttl = defaults.ttl
            zone_ttl = None
            if "ttl" in entries:
                zone_ttl = self.duration(source, entries["ttl"][1], f"{where} ttl", ttl=True)
                ttl = zone_ttl if zone_ttl is not None else ttl
            soa = None
            if "soa" in entries:
                soa = self.load_soa(source, entries["soa"][1], defaults.soa, f"{where} soa")

            yaml_name = f"{file_stem}.yaml"
            master_name = f"{file_stem}.zone"
            yaml_file = is_file(yaml_name)
            master_file = is_file(master_name)
            if yaml_file and master_file:
                yaml_shown, master_shown = (
                    display_path(zones_dir / yaml_name),
                    display_path(zones_dir / master_name),
                )
                self.error(
                    Position(master_shown, 1, 1),
                    "duplicate-zone-source",
                    f"{where} is given both as {yaml_shown} and as {master_shown}; "
                    "keep one of them",
                )
                yaml_file = master_file = False
            path = (
                zones_dir / (yaml_name if yaml_file else master_name)
                if yaml_file or master_file
                else None
            )
            zone = Zone(
                name=origin,
                views=zone_views,
                records=(),
                position=source.at(key_node),
                source_path=display_path(path) if path is not None else None,
                includes=includes,
                reverse_of=reverse_of,
                view_refs=view_refs,
                ttl=zone_ttl,
                soa=soa,
                servers=zone_servers,
                origin=origin_text,
                dnssec=(
                    self.policy_reference(source, entries["dnssec"][1], f"{where} dnssec")
                    if "dnssec" in entries
                    else defaults.dnssec
                ),
            )
            context = _records_context(zone, ttl, sets, set_digests)
            source_of_records = ZoneSource(str(path) if path else None, master_file, ttl, context)
            zones.append((zone.arguments(), source_of_records))
        if names is not None:
            # As Path.suffix and Path.stem read them, without a Path for each file.
            paths = (
                zones_dir / name
                for name in sorted(names)
                if name.endswith((".yaml", ".zone"))
                and len(name) > 5
                and name[:-5].lower() not in declared
            )
        else:
            paths = sorted(zones_dir.iterdir()) if zones_dir.is_dir() else []
        for path in paths:
            if path.suffix in (".yaml", ".zone") and path.stem.lower() not in declared:
                self.warning(
                    Position(display_path(path), 1, 1),
                    "undeclared-zone-file",
                    f"zone file for '{path.stem}' is not used: add '{path.stem}: {{}}' "
                    f"under zones in {SITE_FILE}",
                )
        return zones

    def read_zone(
        self,
        zone: Zone,
        source: ZoneSource,
        sets: dict[str, list[RecordSpec]],
        data: bytes | None = None,
    ) -> tuple[tuple[Record, ...], list[Diagnostic], tuple[RuleSwitch, ...]]:
        """A declared zone's records, from its file (``data``: its content, if already
        read) and the sets it includes, what reading them reported, and the rules its
        file switches off beside its records."""
        reported = len(self.diagnostics)
        self.rule_switches.clear()
        origin_text = zone.origin
        found: list[Record] = []
        if source.path is not None:
            path = Path(source.path)
            if source.master:
                found.extend(self.load_master(path, zone.name, source.ttl, data))
            else:
                where = f"zone {path.name[:-5]}"
                specs = self.zone_specs(path, zone.source_path or "", where, data)
                found.extend(self.materialize(specs, origin_text, source.ttl, "zone"))
        for include in zone.includes:
            if include.name in sets:
                label = f"set {include.name}"
                found.extend(self.materialize(sets[include.name], origin_text, source.ttl, label))
        return tuple(found), self.taken_since(reported), self.take_switches()

    def load_master(
        self, path: Path, origin: dns.name.Name, ttl: int, data: bytes | None = None
    ) -> list[Record]:
        """A master file's records (``data``: its content, if already read)."""
        from zonesmith.site.masterfile.reader import read_masterfile

        records, diagnostics = read_masterfile(
            path,
            origin,
            ttl,
            display_path=display_path(path),
            data=data,
            root=self.real_root,
            switches=self.rule_switches,
        )
        self.diagnostics.extend(diagnostics)
        apex = origin.to_text().lower()
        soa = dns.rdatatype.SOA
        replaced = [r for r in records if r[2] == soa and r[0].lower() == apex]
        for record in replaced:
            self.warning(
                record.position,
                "soa-replaced",
                "the SOA of this file is replaced by the one the site supplies "
                "(defaults soa in zonesmith.yaml); remove it from the file",
            )
        # dnspython's text escapes every unsafe octet but these: a cheap first look.
        unsafe = [
            (r, problem)
            for r in records
            if ("\\" in r[0] or "'" in r[0] or "{" in r[0] or "}" in r[0])
            and (problem := unsafe_owner(r[0])) is not None
        ]
        for record, problem in unsafe:
            self.error(record.position, "bad-name", f"owner {shown(record[0])}: {problem}")
        if replaced or unsafe:
            dropped = {id(r) for r in replaced} | {id(r) for r, _ in unsafe}
            records = [r for r in records if id(r) not in dropped]
        return records

    def zone_specs(
        self, path: Path, display: str, where: str, data: bytes | None = None
    ) -> Iterator[RecordSpec]:
        """The records of a zone's YAML file, still as text.

        A flat file (owner: record, owner: [records], owner: then a list of
        records) is read line by line; any other file, and any line the fast
        reader is not sure of, goes to PyYAML, which reports what is wrong.
        ``data`` is the file's content, if already read.
        """
        data = self.read(path, display, MAX_ZONE_BYTES, "a zone file", data)
        if data is None:
            return iter(())
        flat = read_flat_zone(data, display)
        if flat is not None:
            specs, duplicates = flat
            for key, line, column, first_line in duplicates:
                self.error(
                    Position(display, line, column),
                    "duplicate-key",
                    f"'{key}' is given twice in {where} (first at line {first_line}); "
                    "merge the two entries",
                )
            return iter(specs)
        source, document = self.compose(path, display, data)
        return self.record_specs(source, document, where)

    def materialize(
        self,
        specs: Iterable[RecordSpec],
        origin_text: str,
        default_ttl: int,
        source_label: str,
    ) -> Iterator[Record]:
        """Records from their text form, each parsed relative to ``origin_text``.

        Plain records (a simple owner, ``[TTL] TYPE RDATA`` of a type the fast
        checks in :mod:`zonesmith.presentation` accept) are made here directly; any
        other goes through :meth:`record`, which reports what is wrong.
        """
        fast_types = _FAST_TYPE_CODES
        fast = presentation.fast
        absolute_name = presentation.absolute_name
        is_subdomain = presentation.is_subdomain
        last_owner = None
        owner = None
        for spec in specs:
            owner_text, _, _, text, line, column, spec_ttl, view, path = spec
            if owner_text is not last_owner:
                last_owner = owner_text
                owner = absolute_name(owner_text, origin_text)
                if (
                    owner is not None
                    and owner_text[-1] == "."
                    and not is_subdomain(owner, origin_text)
                ):
                    owner = None
            if owner is not None:
                # The forms TYPE RDATA and TTL TYPE RDATA, as parse_record_text reads them.
                head, _, rest = text.partition(" ")
                rdtype = fast_types.get(head)
                ttl = None
                if rdtype is None and head.isdigit() and head.isascii():
                    ttl = int(head)
                    if ttl <= MAX_TTL:
                        head, _, rest = rest.partition(" ")
                        rdtype = fast_types.get(head)
                if rdtype is not None:
                    data = fast(rdtype, rest.strip(), origin_text)
                    if data is not None:
                        if ttl is None:
                            ttl = spec_ttl if spec_ttl is not None else default_ttl
                        yield Record(
                            (owner, ttl, rdtype, data, view, path, line, column, source_label, None)
                        )
                        continue
            record = self.record(spec, origin_text, default_ttl, source_label)
            if record is not None:
                yield record

    def record(
        self, spec: RecordSpec, origin: str, default_ttl: int, source_label: str
    ) -> Record | None:
        """One record from its text form, or None after reporting what is wrong."""
        owner_text, owner_line, owner_column, text, line, column, spec_ttl, view, path = spec
        owner = self.owner_name(owner_text, Position(path, owner_line, owner_column), origin)
        if owner is None:
            return None
        position = Position(path, line, column)
        parsed = parse_record_text(text, position, origin, self.diagnostics.append)
        if parsed is None:
            return None
        ttl, rdtype, data, rdata = parsed
        if ttl is None:
            ttl = spec_ttl if spec_ttl is not None else default_ttl
        if rdtype == dns.rdatatype.SOA:
            self.warning(
                position,
                "soa-replaced",
                "an SOA given as a record is replaced by the one the site supplies; "
                "set SOA fields under defaults soa or the zone's soa in zonesmith.yaml",
            )
            return None
        return Record((owner, ttl, rdtype, data, view, path, line, column, source_label, rdata))

    def owner_name(self, text: str, position: Position, origin: str) -> str | None:
        """The absolute owner name of a record, or None after reporting why not."""
        try:
            owner = presentation.name_text(text, origin)
        except dns.exception.DNSException as exc:
            self.error(position, "bad-name", describe_name_error(text, exc))
            return None
        problem = unsafe_owner(owner)
        if problem is not None:
            self.error(position, "bad-name", f"owner {shown(text)}: {problem}")
            return None
        if not presentation.is_subdomain(owner, origin):
            self.error(
                position,
                "out-of-zone",
                f"'{text}' is outside zone '{origin}'; names ending in a dot are absolute, "
                "write it relative to the zone or move it to its own zone",
            )
            return None
        return owner

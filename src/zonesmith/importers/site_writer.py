"""The shared site writer: an :class:`ImportedSite` as site files, written and read back.

After writing, the site is loaded back with zonesmith's own loader and its
records compared with what was imported, so an import that would not round
trip is reported instead of left for the first build to find.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import dns.name
import dns.rdata
import yaml

from zonesmith.diagnostics import Diagnostic, Position, error, sort_diagnostics
from zonesmith.importers.content import (
    ImportedSite,
    ImportResult,
    RRKey,
    T,
    contact_text,
    format_duration,
    relative_text,
)
from zonesmith.importers.site_plan import SetPlan, SitePlan, ZonePlan
from zonesmith.site.files import (
    SITE_FILE,
    ZONES_DIR,
    display_path,
)

FORMATS = ("yaml", "zone")


# --------------------------------------------------------------------------
# YAML output: stable order, flow style for short values, quoting where needed


class _FlowList(list):
    pass


class _FlowMap(dict):
    pass


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap,
    lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", list(v.items()), flow_style=True),
)
FLOW_WIDTH = 90  # a value longer than this is written in block style


def dump_yaml(data: object, header: str = "") -> bytes:
    """YAML text in the order given; PyYAML quotes what would otherwise change meaning."""
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
    if text.strip() == "{}":
        text = "{}\n"
    return (header + text).encode()


def _flow_or_block_list(items: list[object]) -> list[object]:
    length = sum(len(str(i)) + 2 for i in items)
    if all(isinstance(i, str) for i in items) and length <= FLOW_WIDTH and len(items) <= 6:
        return _FlowList(items)
    return list(items)


def _flow_map(mapping: dict[str, object]) -> dict[str, object]:
    length = sum(len(k) + len(str(v)) + 4 for k, v in mapping.items())
    return _FlowMap(mapping) if length <= FLOW_WIDTH else dict(mapping)


# --------------------------------------------------------------------------
# Writing a site


class SiteWriter:
    """Turns an :class:`ImportedSite` into the files of a site, as :class:`SitePlan` lays it out."""

    def __init__(self, imported: ImportedSite, fmt: str = "yaml"):
        plan = SitePlan(imported, fmt)
        self.imported = imported
        self.diagnostics = plan.diagnostics
        self.plans = plan.plans
        self.default_ttl = plan.default_ttl
        self.default_soa = plan.default_soa
        self.sets = plan.sets

    # -- rendering -----------------------------------------------------------

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Relative path -> (content, mode) of every file of the site."""
        files: dict[str, tuple[bytes, int]] = {SITE_FILE: (self.site_file(), 0o644)}
        for plan in self.plans:
            stem = plan.zone.text.lower()
            if plan.format == "zone":
                files[f"{ZONES_DIR}/{stem}.zone"] = (self.master_file(plan), 0o644)
            else:
                files[f"{ZONES_DIR}/{stem}.yaml"] = (self.zone_yaml(plan), 0o644)
        for key in self.imported.keys:
            files[f"secrets/{key.name}.key"] = (f"{key.secret}\n".encode(), 0o600)
        return files

    def _header(self) -> str:
        sources = ", ".join(self.imported.sources) or "(nothing)"
        return f"# Written by `{self.imported.command}` from {sources}.\n"

    def site_file(self) -> bytes:
        data: dict[str, object] = {}
        defaults: dict[str, object] = {"ttl": format_duration(self.default_ttl)}
        if self.default_soa is not None:
            soa = self.default_soa
            defaults["soa"] = {
                "primary": soa.primary.to_text(),
                "contact": contact_text(soa.contact),
                "refresh": format_duration(soa.refresh),
                "retry": format_duration(soa.retry),
                "expire": format_duration(soa.expire),
                "negative-ttl": format_duration(soa.negative_ttl),
            }
        data["defaults"] = defaults
        if self.imported.keys:
            data["keys"] = {
                k.name: _FlowMap({"algorithm": k.algorithm, "secret-file": f"secrets/{k.name}.key"})
                for k in self.imported.keys
            }
        if self.imported.views:
            views: dict[str, object] = {}
            for v in self.imported.views:
                entry: dict[str, object] = {"clients": _flow_or_block_list(list(v.clients))}
                if v.key:
                    entry["key"] = v.key
                views[v.name] = _flow_map(entry)
            data["views"] = views
        if self.imported.servers:
            data["servers"] = {n: _flow_map(s) for n, s in self.imported.servers.items()}
        if self.sets:
            data["sets"] = {s.name: self.set_body(s) for s in self.sets}
        data["zones"] = {p.zone.text: self.zone_entry(p) for p in self.plans}
        return dump_yaml(data, self._header())

    def set_body(self, plan: SetPlan) -> dict[str, object]:
        plain_ttl = all(p.ttl == self.default_ttl for p in plan.zones)
        owners: dict[str, list[str]] = defaultdict(list)
        for rel, _rdtype, rrset in plan.rrsets:
            owner = "@" if rel == dns.name.empty else rel.to_text()
            prefix = "" if plain_ttl and rrset.ttl == self.default_ttl else f"{rrset.ttl} "
            for rdata in sorted(rrset.rdatas):
                owners[owner].append(f"{prefix}{T.to_text(rdata.rdtype)} {rdata.to_text()}")
        return {o: (t[0] if len(t) == 1 else _flow_or_block_list(t)) for o, t in owners.items()}

    def zone_entry(self, plan: ZonePlan) -> dict[str, object]:
        entry: dict[str, object] = {}
        if plan.includes:
            entry["include"] = _FlowList(plan.includes)
        if not plan.all_views:
            entry["views"] = _FlowList(plan.views)
        if plan.ttl != self.default_ttl:
            entry["ttl"] = format_duration(plan.ttl)
        soa = plan.zone.soa
        if soa is not None and self.default_soa is not None:
            differs: dict[str, object] = {}
            for name, value in soa.fields().items():
                if value != self.default_soa.fields()[name]:
                    if name == "primary":
                        differs[name] = soa.primary.to_text()
                    elif name == "contact":
                        differs[name] = contact_text(soa.contact)
                    else:
                        differs[name] = format_duration(value)  # type: ignore[arg-type]
            if differs:
                entry["soa"] = _flow_map(differs)
        return _flow_map(entry)

    def _record_text(self, rdata: dns.rdata.Rdata, ttl: int, plan: ZonePlan) -> str:
        prefix = "" if ttl == plan.ttl else f"{ttl} "
        text = rdata.to_text(origin=plan.zone.origin, relativize=True)
        return f"{prefix}{T.to_text(rdata.rdtype)} {text}"

    def zone_yaml(self, plan: ZonePlan) -> bytes:
        origin = plan.zone.origin
        names = sorted(
            {k[0] for k in plan.common} | {k[0] for c in plan.per_view.values() for k in c}
        )
        body: dict[str, object] = {}
        for name in names:
            common = [
                self._record_text(rdata, rrset.ttl, plan)
                for key, rrset in sorted(plan.common.items(), key=lambda kv: kv[0][1])
                if key[0] == name
                for rdata in sorted(rrset.rdatas)
            ]
            views = []
            for view, content in plan.per_view.items():
                texts = [
                    self._record_text(rdata, rrset.ttl, plan)
                    for key, rrset in sorted(content.items(), key=lambda kv: kv[0][1])
                    if key[0] == name
                    for rdata in sorted(rrset.rdatas)
                ]
                if texts:
                    views.append(_flow_map({"view": view, "records": _flow_or_block_list(texts)}))
            items: list[object] = [*common, *views]
            owner = relative_text(name, origin)
            body[owner] = items[0] if len(items) == 1 else _flow_or_block_list(items)
        header = f"# Zone {plan.zone.text}: its records; the SOA is in {SITE_FILE}.\n"
        return dump_yaml(body, self._header() + header)

    def master_file(self, plan: ZonePlan) -> bytes:
        origin = plan.zone.origin
        lines = [
            ";" + self._header().rstrip("\n")[1:],
            f"; Zone {plan.zone.text}: the SOA comes from {SITE_FILE}.",
            f"$ORIGIN {origin.to_text()}",
            f"$TTL {plan.ttl}",
        ]
        for (name, _rdtype), rrset in sorted(plan.common.items()):
            owner = relative_text(name, origin)
            ttl = "" if rrset.ttl == plan.ttl else f"{rrset.ttl}\t"
            for rdata in sorted(rrset.rdatas):
                rdata_text = rdata.to_text(origin=origin, relativize=True)
                lines.append(f"{owner}\t{ttl}IN\t{T.to_text(rdata.rdtype)}\t{rdata_text}")
        return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------
# Writing files, and checking that the site reads back the same


def write_site(imported: ImportedSite, root: Path, fmt: str, force: bool) -> ImportResult:
    """Write the site for ``imported`` into ``root`` and check it reads back the same."""
    result = ImportResult(root)
    result.diagnostics += imported.diagnostics
    if any(d.is_error for d in imported.diagnostics):
        result.diagnostics = sort_diagnostics(result.diagnostics)
        result.notes.append("nothing was written: fix the errors above first")
        return result
    if not imported.zones:
        result.diagnostics.append(
            error(Position(", ".join(imported.sources)), "nothing-to-import", "no zone to import")
        )
        return result
    writer = SiteWriter(imported, fmt)
    files = writer.files()
    result.diagnostics += writer.diagnostics
    conflicts = _conflicts(root, files)
    if conflicts and not force:
        for path in conflicts:
            result.diagnostics.append(
                error(
                    Position(display_path(root / path)),
                    "file-exists",
                    "the site already has this file; nothing was written "
                    "(use --force to overwrite it)",
                )
            )
        result.diagnostics = sort_diagnostics(result.diagnostics)
        return result
    for path in conflicts:
        if path not in files:  # the same zone in the other format
            (root / path).unlink()
    for relative, (content, mode) in sorted(files.items()):
        write_file(root / relative, content, mode)
        result.written.append(relative)
    if imported.keys:
        _note_gitignore(root, result)
    result.diagnostics = sort_diagnostics(result.diagnostics)
    result.diagnostics += verify_site(root, imported)
    return result


def _conflicts(root: Path, files: dict[str, tuple[bytes, int]]) -> list[str]:
    conflicts = []
    for relative in files:
        if (root / relative).exists():
            conflicts.append(relative)
        if relative.startswith(f"{ZONES_DIR}/"):
            stem, _, suffix = relative.rpartition(".")
            other = f"{stem}.{'zone' if suffix == 'yaml' else 'yaml'}"
            if (root / other).exists():
                conflicts.append(other)
    return sorted(set(conflicts))


def write_file(path: Path, content: bytes, mode: int) -> None:
    """Write through a temporary file, created with its final mode (secrets stay 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == 0o600:
        os.chmod(path.parent, 0o700)
    temporary = path.with_name(f".{path.name}.zonesmith-tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as stream:
        stream.write(content)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _note_gitignore(root: Path, result: ImportResult) -> None:
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        write_file(gitignore, b"secrets/\n", 0o644)
        result.written.append(".gitignore")
    elif "secrets" not in gitignore.read_text(errors="replace"):
        result.notes.append("add secrets/ to .gitignore: the TSIG secrets must stay out of git")


def _rrsets_of(records: Iterable) -> dict[RRKey, tuple[int, frozenset]]:
    grouped: dict[RRKey, tuple[int, set]] = {}
    for record in records:
        key = (record.name, record.rdtype)
        ttl, rdatas = grouped.get(key, (record.ttl, set()))
        rdatas.add(record.rdata)
        grouped[key] = (min(ttl, record.ttl), rdatas)
    return {k: (ttl, frozenset(r)) for k, (ttl, r) in grouped.items()}


def verify_site(root: Path, imported: ImportedSite) -> list[Diagnostic]:
    """Load the written site as ``zonesmith check`` would and compare it with what was read."""
    from zonesmith.pipeline import check_site

    site, diagnostics = check_site(root)
    problems = list(diagnostics)
    for zone in imported.zones:
        loaded = site.zones_by_name.get(zone.origin)
        where = Position(display_path(root / SITE_FILE))
        if loaded is None:
            problems.append(error(where, "round-trip", f"zone '{zone.text}' did not load back"))
            continue
        for view, content in zone.content.items():
            expected = {k: (r.ttl, r.rdatas) for k, r in content.items()}
            actual = _rrsets_of(loaded.records_in_view(view)) if view in loaded.views else {}
            if expected != actual:
                diff = sorted(set(expected.items()) ^ set(actual.items()), key=str)[:1]
                problems.append(
                    error(
                        where,
                        "round-trip",
                        f"zone '{zone.text}' (view {view}) reads back different records "
                        f"from what was imported (e.g. {diff[0][0][0]} "
                        f"{T.to_text(diff[0][0][1])}); this is a bug in zonesmith, please "
                        "report it",
                    )
                )
        soa = site.soa_for(loaded)
        if zone.soa is not None and soa is not None:
            got = (soa.primary, soa.contact, soa.refresh, soa.retry, soa.expire, soa.negative_ttl)
            want = tuple(zone.soa.fields().values())
            if got != want or site.ttl_for(loaded) != zone.soa.ttl:
                problems.append(
                    error(where, "round-trip", f"zone '{zone.text}' reads back another SOA")
                )
    return problems

"""The site's key state: the live DNSKEYs of its signed zones as last read from their signers.

``zonesmith.keys`` lives beside ``zonesmith.state`` in the site root (commit
it). A deploy reads each signed zone's DNSKEY set from its signer and records
it here; every build takes the DS records of a signed child zone whose parent
is in the site from it, so the parent carries the child's live DS without
copy and paste, and a plain ``build`` makes the same bytes a deploy would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS

from zonesmith.diagnostics import Position, SiteError, error
from zonesmith.model import Record, Site, Zone
from zonesmith.own_files import write_atomically

KEYS_FILE = "zonesmith.keys"

#: The DNSKEY flags of a key that signs the DNSKEY set (KSK or CSK): ZONE and SEP.
SEP_FLAGS = 257

#: Where the parent's live DS records say they come from (Record.source).
LIVE_SOURCE = "live keys"


def sep_keys(dnskeys: Iterable[dns.rdata.Rdata]) -> list[dns.rdtypes.ANY.DNSKEY.DNSKEY]:
    """The keys a parent's DS points at: ZONE and SEP set, not revoked (RFC 5011)."""
    return [key for key in dnskeys if key.flags & 0x181 == SEP_FLAGS]  # type: ignore[attr-defined]


def ds_of(
    zone: dns.name.Name, dnskeys: Iterable[dns.rdata.Rdata], digest: str = "SHA256"
) -> list[dns.rdtypes.ANY.DS.DS]:
    """The DS records of ``zone``'s SEP keys among ``dnskeys``, by key tag."""
    # Imported here: loading dns.dnssec loads every signing algorithm from cryptography,
    # which only a site with signed zones needs.
    import dns.dnssec

    found = [dns.dnssec.make_ds(zone, key, digest) for key in sep_keys(dnskeys)]
    return sorted(found, key=lambda ds: (ds.key_tag, ds.to_text()))


def _dnskey(text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, text)


@dataclass
class KeyState:
    """zone text -> view -> the DNSKEY rdatas (presentation text, sorted) its signer serves."""

    path: Path
    keys: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: Whether the keys differ from the file's.
    changed: bool = False

    @classmethod
    def load(cls, root: Path | str) -> KeyState:
        """The key state of the site at ``root`` (empty when there is none).

        A damaged file is one SiteError at its first line: the DS of the
        site's child zones would be guessed otherwise.
        """
        path = Path(root) / KEYS_FILE
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text())
            keys = {
                str(zone): {
                    str(view): sorted(_dnskey(text).to_text(chunksize=0) for text in texts)
                    for view, texts in views.items()
                }
                for zone, views in data["keys"].items()
            }
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
            dns.exception.DNSException,
        ) as exc:
            why = getattr(exc, "strerror", None) or exc
            if isinstance(exc, RecursionError):
                why = "nested too deeply"
            message = (
                f"cannot read the key state ({why}); restore it from git, or delete it: the "
                "next apply reads the signers' keys again"
            )
            raise SiteError([error(Position(str(path), 1, 1), "bad-state", message)]) from None
        return cls(path, keys)

    def dnskeys(self, zone: str, view: str) -> list[dns.rdata.Rdata]:
        """The DNSKEY rdatas recorded for ``zone`` (text, no trailing dot) in ``view``."""
        return [_dnskey(text) for text in self.keys.get(zone, {}).get(view, ())]

    def ds(self, zone: Zone, view: str, digest: str = "SHA256") -> list[dns.rdtypes.ANY.DS.DS]:
        """The DS records of ``zone``'s SEP keys in ``view`` (none while no keys are known)."""
        return ds_of(zone.name, self.dnskeys(zone.text, view), digest)

    def record(self, zone: str, view: str, dnskeys: Iterable[dns.rdata.Rdata]) -> None:
        """Note what ``zone``'s signer serves in ``view`` now."""
        texts = sorted(key.to_text(chunksize=0) for key in dnskeys)
        if self.keys.get(zone, {}).get(view) != texts:
            self.keys.setdefault(zone, {})[view] = texts
            self.changed = True

    def text(self) -> str:
        """The state as JSON in a stable order: a new key is a small diff."""
        return json.dumps({"keys": self.keys, "version": 1}, indent=1, sort_keys=True) + "\n"

    def save(self) -> None:
        """Write the state atomically (an OSError is the caller's to report)."""
        write_atomically(self.path, self.text().encode())
        self.changed = False


def parent_in_site(site: Site, child: Zone) -> Zone | None:
    """The closest zone of the site that encloses ``child`` (None: none does)."""
    name = child.name
    while name != dns.name.root:
        name = name.parent()
        found = site.zones_by_name.get(name)
        if found is not None:
            return found
    return None


def with_live_ds(site: Site, keys: KeyState) -> Site:
    """``site`` with each parent's DS for its signed in-site children taken from ``keys``.

    In every view the parent and the child share and the key state knows the
    child's keys, the parent carries the DS (SHA-256) of the child's SEP keys,
    with the parent's TTL; DS records written by hand for that child are
    dropped, because the signer's live keys are what validators check the DS
    against (a hand-written one is at best a copy, at worst a stale key). A
    child whose keys are not known yet keeps what the parent says (see the
    missing-ds rule). A parent changed here has no fingerprint: it is
    compiled at every build, like a zone whose records come from elsewhere. The site's
    ``live_ds`` holds the DS of every signed zone whose keys are known (a resolver's
    trust anchors).
    """
    if not keys.keys:
        return site
    live_ds = tuple(
        (zone.origin, view, texts)
        for zone in site.zones
        if site.policy_of(zone) is not None
        for view in zone.views
        if (texts := tuple(ds.to_text() for ds in keys.ds(zone, view)))
    )
    known = {(origin, view): texts for origin, view, texts in live_ds}
    added: dict[dns.name.Name, list[Record]] = {}
    for child in site.zones:
        parent = parent_in_site(site, child) if site.policy_of(child) is not None else None
        if parent is None:
            continue
        ttl = site.ttl_for(parent)
        for view in parent.views:
            for text in known.get((child.origin, view), ()) if view in child.views else ():
                ds = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, text)
                record = Record.new(
                    child.origin, ttl, dns.rdatatype.DS, text, view, child.position, LIVE_SOURCE, ds
                )
                added.setdefault(parent.name, []).append(record)
    zones = []
    for zone in site.zones:
        live = added.get(zone.name)
        if not live:
            zones.append(zone)
            continue
        replaced = {record.owner for record in live}
        kept = [
            r for r in zone.records if not (r.rdtype == dns.rdatatype.DS and r.owner in replaced)
        ]
        zones.append(zone.with_records((*kept, *_one_view_less(live, zone)), None))
    return replace(site, zones=tuple(zones) if added else site.zones, live_ds=live_ds)


def _one_view_less(live: list[Record], parent: Zone) -> list[Record]:
    """The live DS records, for every view (view None) where every view of the parent has
    the same: a zone with records for one view only is indexed once per view."""
    by_view: dict[str, set[tuple[str, str]]] = {}
    for record in live:
        by_view.setdefault(record.view or "", set()).add((record.owner, record.data))
    sets = list(by_view.values())
    if len(by_view) == len(parent.views) and all(s == sets[0] for s in sets):
        first = next(iter(by_view))
        return [
            Record((r.owner, r.ttl, r.rdtype, r.data, None, *r[5:]))
            for r in live
            if r.view == first
        ]
    return live

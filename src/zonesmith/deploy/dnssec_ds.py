"""A signed zone's DS and SEP DNSKEYs, from its live signer, for a parent outside the site."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dns.dnssec

from zonesmith.compile.live_keys import ds_of, sep_keys
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.keys import live_dnskeys, signers_in
from zonesmith.deploy.planner import target_for, transfer_key
from zonesmith.deploy.transport import Transport
from zonesmith.diagnostics import SiteError
from zonesmith.model import DEFAULT_VIEW
from zonesmith.pipeline import check_site, read_secrets
from zonesmith.site.control_secrets import read_control_secrets


@dataclass(frozen=True)
class ZoneDs:
    """One signed zone in one view: its DS and SEP DNSKEYs (presentation lines), or why not."""

    zone: str
    view: str
    signer: str
    ds: tuple[str, ...] = ()
    dnskeys: tuple[str, ...] = ()
    problem: str | None = None


def signed_zone_ds(
    root: Path, pool: dict[str, Transport], zone: str | None = None, digest: str = "SHA256"
) -> list[ZoneDs]:
    """The DS (``digest``) and DNSKEY records of the SEP keys of each signed zone of the
    site (or of ``zone``), read from its live signer on the signer's host.

    SiteError when the site has errors or ``zone`` is not a signed zone of it.
    """
    site, diagnostics = check_site(root)
    if any(d.is_error for d in diagnostics):
        raise SiteError(diagnostics)
    secrets = read_secrets(site) | read_control_secrets(site)
    wanted = None if zone is None else zone.rstrip(".").lower() or "."
    found = [
        (signed, view, server)
        for signed, view, server in signers_in(site)
        if wanted is None or signed.text.lower() == wanted
    ]
    if not found:
        what = "the site signs no zone" if wanted is None else f"'{zone}' is no signed zone of it"
        raise DeployError(f"{site.root}: {what} (dnssec: POLICY on a zone signs it)")
    results = []
    for signed, view, server in found:
        target = target_for(server, pool, site.deploy.releases)
        tsig = transfer_key(site, server, view, secrets)
        shown = signed.text if view == DEFAULT_VIEW else f"{signed.text} (view {view})"
        try:
            if tsig is None:
                raise DeployError(f"{server.name} has no deploy key to ask it with")
            keys = sep_keys(live_dnskeys(target, server, signed, tsig))
        except DeployError as problem:
            results.append(ZoneDs(signed.text, view, server.name, problem=f"{shown}: {problem}"))
            continue
        if not keys:
            why = f"{shown}: its signer {server.name} serves no keys for it yet (apply it first)"
            results.append(ZoneDs(signed.text, view, server.name, problem=why))
            continue
        owner = signed.origin
        ds = tuple(
            f"{owner} IN DS {r.key_tag} {r.algorithm} {r.digest_type} {r.digest.hex().upper()}"
            for r in ds_of(signed.name, keys, digest)
        )
        dnskeys = tuple(
            f"{owner} IN DNSKEY {key.to_text(chunksize=0)}"
            for key in sorted(keys, key=lambda k: dns.dnssec.key_id(k))
        )
        results.append(ZoneDs(signed.text, view, server.name, ds, dnskeys))
    return results

"""DnssecKey: one key of a signed zone as its signer tells it, read by the signer's driver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DnssecKey:
    """One key of a signed zone, as its signer tells it."""

    tag: int
    role: str  # KSK, ZSK or CSK
    algorithm: str  # its mnemonic, e.g. ECDSAP256SHA256
    #: the key's state in the signer's own words ("ready", "active"; BIND: what the key does)
    state: str
    #: the rest of what the signer says of it (its records' states, its timings)
    detail: str = ""

"""A compiled blocklist: its blocked names with the allowed ones taken out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def compile_names(
    blocked: dict[str, None] | set[str], allowed: dict[str, None] | set[str]
) -> tuple[list[str], list[str]]:
    """The names to block, in the order given, and the exceptions inside them, sorted.

    A blocked name below another blocked name is dropped (the parent covers
    it); a blocked name at or below an allowed name is dropped; an allowed
    name below a blocked name is an exception.
    """
    kept, exceptions, _ = _compile(blocked, allowed)
    return kept, exceptions


def _compile(
    blocked: dict[str, None] | set[str], allowed: dict[str, None] | set[str]
) -> tuple[list[str], list[str], set[str]]:
    """compile_names, and the set of blocked names it dropped (usually few)."""
    kept: list[str] = []
    dropped: list[str] = []
    keep, drop = kept.append, dropped.append
    if allowed:
        marks = {**dict.fromkeys(blocked), **dict.fromkeys(allowed)}
        for name in blocked:
            if name in allowed:
                drop(name)
                continue
            # Walk the proper ancestors that have two labels or more.
            _, _, parent = name.partition(".")
            while "." in parent:
                if parent in marks:
                    drop(name)
                    break
                _, _, parent = parent.partition(".")
            else:
                keep(name)
    else:
        # The hot loop: plain string operations and one hash lookup a label.
        for name in blocked:
            _, _, parent = name.partition(".")
            while "." in parent:
                if parent in blocked:
                    drop(name)
                    break
                _, _, parent = parent.partition(".")
            else:
                keep(name)
    gone = set(dropped)
    exceptions: list[str] = []
    for name in allowed:
        _, _, parent = name.partition(".")
        while "." in parent:
            if parent in blocked and parent not in gone:
                exceptions.append(name)
                break
            _, _, parent = parent.partition(".")
    exceptions.sort()
    return kept, exceptions, gone


@dataclass(frozen=True)
class CompiledBlocklist:
    """A blocklist ready to render: what a resolver driver is given."""

    name: str
    action: str  # nxdomain, null or sinkhole
    sinkhole: str | None
    rpz: bool
    #: Blocked names in source order, without the final dot; each blocks its subdomains.
    names: tuple[str, ...]
    #: Allowed names below blocked ones (with their subdomains), sorted.
    exceptions: tuple[str, ...]
    #: sha256 of the names and exceptions: changes exactly when the list does.
    digest: str

    @property
    def file_stem(self) -> str:
        return safe_stem(self.name)


def safe_stem(name: str) -> str:
    """A file name for a user's name: safe characters only, unique per name."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "list"
    if stem != name:
        stem += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return stem

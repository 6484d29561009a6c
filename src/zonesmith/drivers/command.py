"""Command: one program a deploy runs on a server's host, with why and how long it may take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A program run on the server's host as is (no shell), with its reason for the plan."""

    argv: tuple[str, ...]  # run on the server's host, as is (no shell)
    why: str  # one line for the plan: "reload zone example.com (view external)"
    timeout: float = 60

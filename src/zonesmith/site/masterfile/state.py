"""What the parts of the master-file reader share: its state, and how problems are worded."""

from __future__ import annotations

from dataclasses import dataclass

import dns.name


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reason(exc: BaseException) -> str:
    """dnspython's explanation, or the exception's name when it gives none."""
    text = str(exc).strip()
    if not text:
        text = (type(exc).__doc__ or type(exc).__name__).strip().splitlines()[0]
    return text.rstrip(".")


_NAME_REASONS: dict[type[BaseException], str] = {
    dns.name.EmptyLabel: "it has an empty label (two dots in a row, or a leading dot)",
    dns.name.LabelTooLong: "a label is longer than 63 octets",
    dns.name.NameTooLong: "the full name is longer than 255 octets",
    dns.name.BadEscape: "it has a bad escape (\\DDD must be 000 to 255)",
}


def _name_reason(exc: BaseException) -> str:
    for kind, reason in _NAME_REASONS.items():
        if isinstance(exc, kind):
            return reason
    return _reason(exc)


_BAD_OWNER = dns.name.Name([])  # marks "the previous owner was invalid": its records are dropped


@dataclass(slots=True)
class _State:
    """What a ``$INCLUDE`` saves and restores (as dnspython's reader does)."""

    origin: dns.name.Name
    last_name: dns.name.Name | str | None  # str: absolute text set by the fast path
    last_ttl: int | None  # last TTL written on a record
    default_ttl: int | None  # from $TTL

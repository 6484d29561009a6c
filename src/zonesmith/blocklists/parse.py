"""Blocklist formats (hosts, plain names, adblock, dnsmasq, RPZ) parsed into names."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from zonesmith.site.values import _HOSTS_NAMES, _LABELS, MAX_NAME, normalize_name

MAX_BYTES = 256 * 1024 * 1024  # a larger download (or decompressed gzip) is refused


_BLACKHOLES = frozenset(
    {"0.0.0.0", "127.0.0.1", "0", "::", "::0", "::1", "0:0:0:0:0:0:0:0", "0:0:0:0:0:0:0:1"}
)
_ADBLOCK_OPTIONS = frozenset({"important", "all", "document", "doc", "first-party", "1p"})
_RPZ_UNSUPPORTED = (".rpz-ip", ".rpz-nsdname", ".rpz-client-ip", ".rpz-nsip")


@dataclass
class ParsedList:
    """What one source holds: names to block, names to allow, and line counts.

    ``block`` and ``allow`` are dicts used as ordered sets: names come in a
    deterministic order (the common line shapes in source order, then the
    others), so compiled lists are deterministic without sorting a million names.
    """

    block: dict[str, None] = field(default_factory=dict)
    allow: dict[str, None] = field(default_factory=dict)
    lines: int = 0
    comments: int = 0
    #: Lines or entries that were skipped: junk, unsupported rules, invalid names.
    skipped: int = 0
    format: str = "list"


# The common line shapes, matched over the whole text at once: a name alone, a
# wildcard, a hosts line with one name, an AdBlock ``||name^``. What the
# expression takes is a valid name already (but for its total length); every
# other line is left between the matches and parsed in Python.
_FAST = re.compile(
    r"^[ \t]*(?:(?:0\.0\.0\.0|127\.0\.0\.1)[ \t]+|\|\||\*\.)?"
    r"(" + _LABELS + r")\.?\^?[ \t\r]*(?:\n|\Z)",
    re.MULTILINE,
)
_RPZ_SNIFF = re.compile(r"^\$origin[ \t]|^[^;\n]*[ \t]soa[ \t]", re.MULTILINE)


def parse_bytes(data: bytes) -> ParsedList:
    """Parse a source as downloaded or read: UTF-8 (bad bytes replaced), gzip accepted."""
    data = _gunzip(data)
    return parse_text(data.decode("utf-8", errors="replace"))


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BYTES)
    except zlib.error:
        return data
    if inflater.unconsumed_tail:
        raise ValueError(f"the gzip data unpacks to more than {MAX_BYTES >> 20} MiB")
    return out


def parse_text(text: str) -> ParsedList:
    """Parse one list in any of the supported formats; never raises on bad input."""
    text = text.lower()
    if _RPZ_SNIFF.search(text, 0, 65536):
        return _parse_rpz(text)
    result = ParsedList()
    result.lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    # split() with a group: [rest, name, rest, name, ..., rest]
    pieces = _FAST.split(text)
    found = pieces[1::2]
    if found and max(map(len, found)) > MAX_NAME:
        result.skipped += sum(1 for n in found if len(n) > MAX_NAME)
        found = [n for n in found if len(n) <= MAX_NAME]
    block = result.block = dict.fromkeys(found)
    for name in _HOSTS_NAMES:
        if name in block:
            del block[name]
            result.skipped += found.count(name)
    allow = result.allow
    formats = set()
    for rest in pieces[0::2]:
        if not rest:
            continue
        for raw in rest.split("\n"):
            kind = _parse_line(raw, block, allow)
            if kind is _BLANK:
                continue
            if kind is _COMMENT:
                result.comments += 1
            elif kind is _JUNK:
                result.skipped += 1
            else:
                formats.add(kind)
    result.format = _format_name(formats, found)
    return result


def _format_name(formats: set[str], found: list[str]) -> str:
    if found and not formats:
        return "list"
    return "+".join(sorted(formats)) if formats else "list"


_BLANK = "blank"
_COMMENT = "comment"
_JUNK = "junk"


def _parse_line(raw: str, block: dict[str, None], allow: dict[str, None]) -> str:
    """One line: adds what it names to ``block`` or ``allow``; returns its kind."""
    line = raw.strip()
    if not line:
        return _BLANK
    first = line[0]
    if first in "#;![":
        return _COMMENT
    if first == "|" or line.startswith("@@"):
        return _adblock(line, block, allow)
    if "##" in line or "#@#" in line or "#?#" in line or "#$#" in line:
        return _JUNK  # a cosmetic (page element) rule: nothing for DNS
    if "=/" in line:
        return _dnsmasq(line, block)
    hash_at = line.find("#")
    if hash_at >= 0:
        line = line[:hash_at].rstrip()
        if not line:
            return _COMMENT
    parts = line.split()
    if len(parts) == 1:
        name = normalize_name(parts[0])
        if name is None:
            return _JUNK
        block[name] = None
        return "domains"
    if parts[0] in _BLACKHOLES:
        kept = 0
        for token in parts[1:]:
            name = normalize_name(token)
            if name is not None:
                block[name] = None
                kept += 1
        return "hosts" if kept else _JUNK
    return _JUNK  # hosts lines for real addresses, and anything else


def _adblock(line: str, block: dict[str, None], allow: dict[str, None]) -> str:
    exception = line.startswith("@@")
    body = line[2:] if exception else line
    if not body.startswith("||"):
        return _JUNK  # |https://... and other URL rules
    body = body[2:]
    if "$" in body:
        body, _, options = body.partition("$")
        if any(o.strip() not in _ADBLOCK_OPTIONS for o in options.split(",")):
            return _JUNK  # $client, $dnstype, $denyallow, $badfilter...: not expressible
    if body.endswith("|"):
        body = body[:-1]
    if body.endswith("^"):
        body = body[:-1]
    name = normalize_name(body)
    if name is None:
        return _JUNK
    (allow if exception else block)[name] = None
    return "adblock"


def _dnsmasq(line: str, block: dict[str, None]) -> str:
    key, _, value = line.partition("=")
    key = key.strip()
    if key not in ("address", "local", "server"):
        return _JUNK
    parts = value.strip().split("/")
    if len(parts) < 3 or parts[0]:
        return _JUNK
    target = parts[-1].strip()
    if key == "server" and target not in ("", "#"):
        return _JUNK  # forwarding a domain elsewhere, not blocking it
    kept = 0
    for token in parts[1:-1]:
        name = normalize_name(token.strip())
        if name is not None:
            block[name] = None
            kept += 1
    return "dnsmasq" if kept else _JUNK


_RPZ_CLASSES = frozenset({"in", "ch", "hs", "cs", "any"})
_RPZ_TTL = re.compile(r"\d+[smhdw]?(?:\d+[smhdw])*")


def _parse_rpz(text: str) -> ParsedList:
    """An RPZ zone file: QNAME triggers become names to block or (passthru) to allow."""
    result = ParsedList(format="rpz")
    origin = ""
    depth = 0  # open parentheses
    owner = ""
    lines = text.split("\n")
    result.lines = len(lines) - (1 if text.endswith("\n") else 0)
    for raw in lines:
        line = raw.split(";", 1)[0]
        if not line.strip():
            if raw.strip():
                result.comments += 1
            continue
        if depth:
            depth = max(0, depth + line.count("(") - line.count(")"))
            continue
        depth = max(0, line.count("(") - line.count(")"))
        tokens = line.split()
        if tokens[0] == "$origin":
            origin = tokens[1].rstrip(".") if len(tokens) > 1 else ""
            continue
        if tokens[0].startswith("$"):
            continue  # $TTL; $INCLUDE is not followed
        if line[0] not in " \t":
            owner = tokens[0]
            tokens = tokens[1:]
        index = 0
        while index < len(tokens) and (
            tokens[index] in _RPZ_CLASSES or _RPZ_TTL.fullmatch(tokens[index])
        ):
            index += 1
        if index >= len(tokens):
            result.skipped += 1
            continue
        rdtype, rdata = tokens[index], tokens[index + 1 :]
        if rdtype == "soa":
            if owner.endswith(".") and not origin:
                origin = owner.rstrip(".")
            continue
        if rdtype in ("ns", "rrsig", "nsec", "nsec3", "dnskey") or owner == "@":
            continue
        trigger = owner
        if trigger.endswith("."):  # absolute: must end in the zone's name
            trigger = trigger[:-1]
            if origin and trigger.endswith("." + origin):
                trigger = trigger[: -len(origin) - 1]
            elif origin:
                result.skipped += 1
                continue
        elif origin and trigger.endswith("." + origin):
            trigger = trigger[: -len(origin) - 1]
        if trigger.endswith(_RPZ_UNSUPPORTED):
            result.skipped += 1  # address and name-server triggers: not expressible
            continue
        name = normalize_name(trigger)
        if name is None:
            result.skipped += 1
            continue
        target = rdata[0] if rdata else ""
        if rdtype == "cname" and target == "rpz-passthru.":
            result.allow[name] = None
        elif rdtype == "cname" and target == "rpz-tcp-only.":
            result.skipped += 1
        else:  # CNAME . (nxdomain), *. (nodata), rpz-drop., local data: all block
            result.block[name] = None
    return result


def looks_like_html(data: bytes) -> bool:
    """True for an HTML page (a login portal, an error page) instead of a list."""
    head = data[:4096].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or (
        b"<html" in head and b"<body" in data[:65536].lower()
    )


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:65536] and not data.startswith(b"\x1f\x8b")

"""Resolver blocklists: fetch, parse and compile.

``zonesmith blocklist update`` fetches every http(s) source of the site's
blocklists with a conditional GET into a cache under the site
(``.zonesmith/cache/blocklists/``, git-ignored), parses every source and
allowlist, and compiles each blocklist into a sorted list of names, stored in
the same cache. ``zonesmith build`` reads the compiled lists through
:func:`compiled_for` without touching the network.

Parsing accepts the formats found in the wild, line by line and mixed in one
file: hosts files (``0.0.0.0 name``, ``127.0.0.1 name``, several names per
line), plain domain lists, wildcard lists (``*.name``), AdBlock rules
(``||name^``, exceptions ``@@||name^``), dnsmasq (``address=/name/...``,
``local=/name/``, ``server=/name/``) and RPZ zone files. Comments and junk
are skipped and counted, never fatal. Names are lowercased, IDNA-encoded
(IDNA 2008 with UTS 46 mapping, as browsers do), validated and de-duplicated.

A blocked name blocks its subdomains too (an Unbound local zone does), so a
name below another blocked name is dropped. An allowed name, and everything
below it, is never blocked; when it lies below a blocked name it becomes an
exception (a transparent local zone) inside the blocked one.

The hot loop is built for a million names in well under three seconds: one
regular expression pulls the common line shapes (already validated) out of
the whole text at C speed, only the remaining lines go through Python code,
and the parent check walks labels with plain string operations and sets.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zonesmith import __version__
from zonesmith.cache import CACHE_ROOT, ensure_cache_folder, write_atomically
from zonesmith.diagnostics import Diagnostic, Position, SiteError, error, warning
from zonesmith.model import Blocklist, Server, Site

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    from rich.console import Console

#: The cache, relative to the site's root. It holds a ``.gitignore`` of its own.
CACHE_NAME = "blocklists"
CACHE_DIR = f"{CACHE_ROOT}/{CACHE_NAME}"
#: Bumped when the compiled format or the parsing rules change: recompiles everything.
FORMAT_VERSION = 1

MAX_BYTES = 256 * 1024 * 1024  # a larger download (or decompressed gzip) is refused
TIMEOUT = 30.0  # seconds per network operation of one request
#: Seconds one URL source may take in all (attempts, back-off, a slow body), by default;
#: a blocklist's ``deadline`` sets its own.
DEADLINE = 300
ATTEMPTS = 3  # requests per source at most, with back-off between them
BACKOFF = 1.0  # seconds before the second attempt, doubled for each further one
MAX_RETRY_AFTER = 60.0  # a server's Retry-After is honoured up to this
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: A source that shrinks below this fraction of its last good copy is refused.
SHRINK_LIMIT = 0.5
WORKERS = 4  # sources fetched at once

# --------------------------------------------------------------------------
# Names

# A name of two labels or more, lower case letters, digits, '-' and '_', each
# label 1-63 octets, the last one not all digits (an address is not a name).
_LABELS = r"(?:[a-z0-9_-]{1,63}\.)+(?=[a-z0-9_-]{0,62}[a-z_-])[a-z0-9_-]{1,63}"
_VALID = re.compile(_LABELS)
MAX_NAME = 253  # octets of a name in text form without the final dot (255 on the wire)

#: Names found in hosts files that are never blocked.
_HOSTS_NAMES = frozenset(
    {
        "localhost.localdomain",
        "local.localdomain",
        "localhost.local",
        "ip6-localhost.localdomain",
    }
)
_BLACKHOLES = frozenset(
    {"0.0.0.0", "127.0.0.1", "0", "::", "::0", "::1", "0:0:0:0:0:0:0:0", "0:0:0:0:0:0:0:1"}
)
_ADBLOCK_OPTIONS = frozenset({"important", "all", "document", "doc", "first-party", "1p"})
_RPZ_UNSUPPORTED = (".rpz-ip", ".rpz-nsdname", ".rpz-client-ip", ".rpz-nsip")


def normalize_name(token: str) -> str | None:
    """The blockable name that ``token`` (already lower case) stands for, or None.

    Strips a leading ``*.`` or ``.`` and a final dot, IDNA-encodes names with
    non-ASCII letters, and checks the result: two labels or more of letters,
    digits, ``-`` and ``_``, 63 octets a label, 253 in all, not an address.
    """
    name = token
    if name.startswith("*."):
        name = name[2:]
    elif name.startswith("."):
        name = name[1:]
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 4 * MAX_NAME:
        return None
    if not name.isascii():
        name = _idna(name)
        if name is None:
            return None
    if len(name) > MAX_NAME or not _VALID.fullmatch(name) or name in _HOSTS_NAMES:
        return None
    return name


def _idna(name: str) -> str | None:
    """IDNA 2008 with the UTS 46 mapping (what browsers send), else IDNA 2003."""
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        idna = None
    try:
        if idna is not None:
            return idna.encode(name, uts46=True).decode("ascii").lower()
        return name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


# --------------------------------------------------------------------------
# Parsing


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


# --------------------------------------------------------------------------
# Compiling


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


# --------------------------------------------------------------------------
# The cache


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def cache_root(site: Site) -> Path:
    return Path(site.root) / CACHE_DIR


class SourceCache:
    """The last good copy of every URL source, with what a conditional GET needs."""

    def __init__(self, root: Path):
        self.folder = root / "sources"

    def _stem(self, url: str) -> Path:
        return self.folder / hashlib.sha256(url.encode()).hexdigest()[:24]

    def body_path(self, url: str) -> Path:
        return self._stem(url).with_suffix(".list")

    def meta(self, url: str) -> dict[str, object] | None:
        try:
            meta = json.loads(self._stem(url).with_suffix(".json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != url:
            return None
        if not self.body_path(url).is_file():
            return None
        return meta

    def body(self, url: str) -> bytes | None:
        try:
            return self.body_path(url).read_bytes()
        except OSError:
            return None

    def store(self, url: str, body: bytes | None, meta: dict[str, object]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if body is not None:
            write_atomically(self.body_path(url), body)
        meta = {**meta, "url": url}
        write_atomically(self._stem(url).with_suffix(".json"), json.dumps(meta, indent=1).encode())


def _site_file(site: Site, relative: str) -> Path:
    return Path(site.root) / relative


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SourceData:
    """The bytes one source gives the compile, and where they came from."""

    source: str
    data: bytes | None
    sha256: str | None
    note: str = ""


def _local_data(site: Site, relative: str) -> SourceData:
    try:
        data = _site_file(site, relative).read_bytes()
    except OSError as exc:
        return SourceData(relative, None, None, f"cannot read: {exc.strerror}")
    return SourceData(relative, data, _sha256(data))


def _cached_data(cache: SourceCache, url: str) -> SourceData:
    meta = cache.meta(url)
    body = cache.body(url) if meta is not None else None
    if body is None:
        return SourceData(url, None, None, "never fetched: run zonesmith blocklist update")
    return SourceData(url, body, str(meta.get("sha256") or _sha256(body)))


def _fingerprint(blocklist: Blocklist, inputs: Iterable[SourceData]) -> str:
    description = {
        "format": FORMAT_VERSION,
        "sources": list(blocklist.sources),
        "allow": list(blocklist.allow),
        "allow_names": sorted(blocklist.allow_names),
        "inputs": [[s.source, s.sha256] for s in inputs],
    }
    return _sha256(json.dumps(description, sort_keys=True).encode())


class CompiledStore:
    """Compiled blocklists in the cache: names, exceptions and a description."""

    def __init__(self, root: Path):
        self.folder = root / "compiled"

    def _path(self, name: str, suffix: str) -> Path:
        return self.folder / f"{safe_stem(name)}{suffix}"

    def meta(self, name: str) -> dict[str, object] | None:
        try:
            meta = json.loads(self._path(name, ".json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("name") == name else None

    def load(self, name: str, fingerprint: str) -> tuple[list[str], list[str], str] | None:
        """Names, exceptions and digest of a list compiled from these inputs, or None."""
        meta = self.meta(name)
        if meta is None or meta.get("fingerprint") != fingerprint:
            return None
        try:
            names = _read_names(self._path(name, ".names"))
            exceptions = _read_names(self._path(name, ".allow"))
        except (OSError, UnicodeDecodeError):
            return None
        if len(names) != meta.get("names") or len(exceptions) != meta.get("exceptions"):
            return None
        return names, exceptions, str(meta.get("digest"))

    def store(
        self, name: str, fingerprint: str, names: list[str], exceptions: list[str], extra: dict
    ) -> str:
        names_bytes = "\n".join(names).encode()
        exceptions_bytes = "\n".join(exceptions).encode()
        digest = _digest(names_bytes, exceptions_bytes)
        write_atomically(self._path(name, ".names"), names_bytes)
        write_atomically(self._path(name, ".allow"), exceptions_bytes)
        meta = {
            "name": name,
            "fingerprint": fingerprint,
            "digest": digest,
            "names": len(names),
            "exceptions": len(exceptions),
            **extra,
        }
        write_atomically(self._path(name, ".json"), json.dumps(meta, indent=1).encode())
        return digest


def _read_names(path: Path) -> list[str]:
    text = path.read_text()
    return text.split("\n") if text else []


def _digest(names: bytes, exceptions: bytes) -> str:
    hasher = hashlib.sha256(names)
    hasher.update(b"\0")
    hasher.update(exceptions)
    return "sha256:" + hasher.hexdigest()


# --------------------------------------------------------------------------
# Compiling one blocklist from its sources


@dataclass
class SourceReport:
    """What happened to one source in an update, for people and for --json."""

    blocklist: str
    source: str
    kind: str  # url, file, allow
    #: fetched, not-modified, cached (the last good copy, after a failure), file, failed
    status: str
    http_status: int | None = None
    names_read: int = 0
    names_kept: int = 0
    skipped_lines: int = 0
    seconds: float = 0.0
    note: str = ""
    usable: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "blocklist": self.blocklist,
            "source": self.source,
            "kind": self.kind,
            "status": self.status,
            "http_status": self.http_status,
            "names_read": self.names_read,
            "names_kept": self.names_kept,
            "skipped_lines": self.skipped_lines,
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


@dataclass
class ListReport:
    name: str
    names: int = 0
    exceptions: int = 0
    changed: bool = False
    digest: str = ""
    seconds: float = 0.0
    complete: bool = True
    sources: list[SourceReport] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "names": self.names,
            "exceptions": self.exceptions,
            "changed": self.changed,
            "complete": self.complete,
            "digest": self.digest,
            "seconds": round(self.seconds, 3),
            "sources": [s.as_json() for s in self.sources],
        }


def compile_blocklist(
    blocklist: Blocklist,
    sources: list[SourceData],
    allows: list[SourceData],
    parsed: dict[str, ParsedList] | None = None,
) -> tuple[list[str], list[str], list[SourceReport]]:
    """Parse and compile one blocklist's inputs.

    ``parsed`` holds sources parsed already (by source), and receives the
    ones parsed here.
    """
    parsed = parsed if parsed is not None else {}
    blocked: dict[str, None] = {}
    allowed: dict[str, None] = dict.fromkeys(blocklist.allow_names)
    reports = []
    per_source: list[tuple[SourceReport, dict[str, None]]] = []
    for kind, inputs in (("source", sources), ("allow", allows)):
        for source in inputs:
            started = time.perf_counter()
            report = SourceReport(
                blocklist.name,
                source.source,
                "allow" if kind == "allow" else ("url" if is_url(source.source) else "file"),
                "file",
            )
            if source.data is None:
                report.status, report.usable, report.note = "failed", False, source.note
                reports.append(report)
                continue
            result = parsed.get(source.source)
            if result is None:
                result = _parse_checked(source.data)
                parsed[source.source] = result
            report.skipped_lines = result.skipped
            if kind == "allow":
                allowed.update(result.block)
                allowed.update(result.allow)
                report.names_read = len(result.block) + len(result.allow)
            else:
                if blocked:
                    blocked.update(result.block)
                else:
                    blocked = dict(result.block)
                allowed.update(result.allow)
                report.names_read = len(result.block)
                per_source.append((report, result.block))
            report.seconds = time.perf_counter() - started
            reports.append(report)
    names, exceptions, dropped = _compile(blocked, allowed)
    for report, names_of_source in per_source:
        # dict_keys & set walks the smaller side: the dropped names, usually few.
        report.names_kept = len(names_of_source) - len(names_of_source.keys() & dropped)
    for report in reports:
        if report.kind == "allow":
            report.names_kept = report.names_read
    return names, exceptions, reports


def _parse_checked(data: bytes) -> ParsedList:
    if looks_like_html(data) or looks_binary(data):
        result = ParsedList()
        result.skipped = data.count(b"\n") + 1
        return result
    try:
        return parse_bytes(data)
    except ValueError:
        return ParsedList(skipped=1)


def _inputs(
    site: Site, blocklist: Blocklist, cache: SourceCache
) -> tuple[list[SourceData], list[SourceData]]:
    sources = [
        _cached_data(cache, s) if is_url(s) else _local_data(site, s) for s in blocklist.sources
    ]
    allows = [_local_data(site, a) for a in blocklist.allow]
    return sources, allows


# --------------------------------------------------------------------------
# What build uses


_memo: dict[tuple[str, str, str], CompiledBlocklist] = {}
_memo_lock = threading.Lock()


def compiled_for(site: Site, server: Server) -> tuple[CompiledBlocklist, ...]:
    """The compiled blocklists of a resolver, in the order the server lists them.

    Reads the cache that ``blocklist update`` fills; a list whose inputs
    changed since (a local file was edited) is recompiled from the cached
    downloads and the local files, without the network. Raises SiteError
    when a URL source was never fetched or a file cannot be read.
    """
    by_name = {b.name: b for b in site.blocklists}
    root = cache_root(site)
    cache = SourceCache(root)
    store = CompiledStore(root)
    result = []
    problems: list[Diagnostic] = []
    for ref in server.blocklists:
        blocklist = by_name.get(ref.name)
        if blocklist is None:
            continue  # reported by the unknown-blocklist rule
        sources, allows = _inputs(site, blocklist, cache)
        missing = [s for s in sources + allows if s.data is None]
        if missing:
            for source in missing:
                problems.append(
                    error(
                        _position_of(blocklist, source.source),
                        "blocklist-not-fetched" if is_url(source.source) else "missing-file",
                        f"blocklist '{blocklist.name}': {source.source}: {source.note}",
                    )
                )
            continue
        fingerprint = _fingerprint(blocklist, sources + allows)
        key = (str(root), blocklist.name, fingerprint)
        with _memo_lock:
            memo = _memo.get(key)
        if memo is not None:
            result.append(_with_action(memo, blocklist))
            continue
        loaded = store.load(blocklist.name, fingerprint)
        if loaded is None:
            names, exceptions, _ = compile_blocklist(blocklist, sources, allows)
            try:
                ensure_cache_folder(site.root, CACHE_NAME)
                digest = store.store(blocklist.name, fingerprint, names, exceptions, {})
            except OSError:  # a build needs no cache: the list is compiled again next time
                digest = _digest("\n".join(names).encode(), "\n".join(exceptions).encode())
        else:
            names, exceptions, digest = loaded
        compiled = CompiledBlocklist(
            blocklist.name, "", None, False, tuple(names), tuple(exceptions), digest
        )
        with _memo_lock:
            _memo.clear()  # keep one list in memory at most between builds
            _memo[key] = compiled
        result.append(_with_action(compiled, blocklist))
    if problems:
        raise SiteError(problems)
    return tuple(result)


def _with_action(compiled: CompiledBlocklist, blocklist: Blocklist) -> CompiledBlocklist:
    return CompiledBlocklist(
        compiled.name,
        blocklist.action,
        blocklist.sinkhole,
        blocklist.rpz,
        compiled.names,
        compiled.exceptions,
        compiled.digest,
    )


def _position_of(blocklist: Blocklist, source: str) -> Position:
    for text, position in zip(blocklist.sources, blocklist.source_positions, strict=False):
        if text == source:
            return position
    for text, position in zip(blocklist.allow, blocklist.allow_positions, strict=False):
        if text == source:
            return position
    return blocklist.position


# --------------------------------------------------------------------------
# Fetching


@dataclass
class FetchResult:
    url: str
    status: str  # fetched, not-modified, cached, failed
    http_status: int | None = None
    note: str = ""
    parsed: ParsedList | None = None
    seconds: float = 0.0
    #: what the user must hear of even when the list is usable (a deadline, a redirect)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _sleep_until(seconds: float, ends: float) -> bool:
    """Sleep ``seconds`` if that ends before ``ends`` (a time.monotonic()); whether it did."""
    if time.monotonic() + seconds >= ends:
        return False
    _sleep(seconds)
    return True


def _retry_delay(headers: dict[str, str], attempt: int) -> float:
    delay = BACKOFF * 2**attempt
    value = str(headers.get("retry-after", "")).strip()
    if value.isdigit():
        delay = max(delay, min(float(value), MAX_RETRY_AFTER))
    return delay


#: status, body, headers (lower case names), and the URL the body came from
_Downloaded = tuple[int, bytes, dict[str, str], str]


def _download(
    client: httpx.Client, url: str, headers: dict[str, str], ends: float, stop: threading.Event
) -> _Downloaded:
    """One GET, redirects followed; the body is read up to MAX_BYTES, until ``ends``
    (a time.monotonic()) or until ``stop`` is set.
    """
    import httpx

    timeout = httpx.Timeout(max(0.001, min(TIMEOUT, ends - time.monotonic())))
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        found = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code != 200:
            return response.status_code, b"", found, str(response.url)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise _TooLarge
        chunks = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > MAX_BYTES:
                raise _TooLarge
            if stop.is_set() or time.monotonic() > ends:
                raise _DeadlinePassed
            chunks.append(chunk)
        return 200, b"".join(chunks), found, str(response.url)


def _download_by(
    client: httpx.Client, url: str, headers: dict[str, str], ends: float
) -> _Downloaded:
    """_download in a thread of its own, given up at ``ends`` (a time.monotonic()).

    A server can send its headers a byte at a time, each in time for the
    per-read timeout: only a watch from outside bounds the whole request. A
    request given up stops at its next read and is never used.
    """
    outcome: list[_Downloaded | BaseException] = []
    stop = threading.Event()

    def run() -> None:
        try:
            outcome.append(_download(client, url, headers, ends, stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name=f"fetch {url}", daemon=True)
    worker.start()
    worker.join(max(0.0, ends - time.monotonic()))
    if not outcome:
        stop.set()
        raise _DeadlinePassed
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


class _TooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


def _host(url: str) -> str:
    import httpx

    return httpx.URL(url).host


def fetch_source(
    client: httpx.Client, cache: SourceCache, url: str, deadline: float = DEADLINE
) -> FetchResult:
    """Fetch one URL with a conditional GET; store it if it is a plausible list.

    Keeps the last good copy when the server fails (after bounded retries
    with back-off), takes longer than ``deadline`` seconds in all, or sends
    something implausible: HTML, binary data, no names at all, or less than
    half the names of the last good copy.

    A redirect to another host is followed (lists move, e.g. to a CDN; what
    comes back is checked like any list) and reported as a warning, so the
    site's URL can be brought up to date; one from https to http is refused,
    which would let anyone on the path change the list.
    """
    import httpx

    started = time.perf_counter()
    ends = time.monotonic() + deadline
    meta = cache.meta(url)
    headers = {}
    if meta is not None:
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])

    warnings: list[tuple[str, str]] = []  # (rule, message) of what the user must hear of

    def done(result: FetchResult) -> FetchResult:
        result.seconds = time.perf_counter() - started
        result.warnings += warnings
        if result.status == "failed" and meta is not None:
            result.status = "cached"
            when = str(meta.get("fetched_at", "?"))[:10]
            result.note += f"; kept the last good copy (of {when})"
        return result

    def late() -> FetchResult:
        note = f"not done within its deadline of {deadline:g} s"
        result = done(FetchResult(url, "failed", None, note))
        result.warnings.append(("blocklist-deadline", f"{url}: {result.note}"))
        return result

    status, body, response_headers, final = 0, b"", {}, url
    last_problem = ""
    for attempt in range(ATTEMPTS):
        try:
            status, body, response_headers, final = _download_by(client, url, headers, ends)
        except _TooLarge:
            return done(FetchResult(url, "failed", 200, f"larger than {MAX_BYTES >> 20} MiB"))
        except _DeadlinePassed:
            return late()
        except httpx.HTTPError as exc:
            last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt + 1 < ATTEMPTS:
                if not _sleep_until(BACKOFF * 2**attempt, ends):
                    return late()
                continue
            return done(FetchResult(url, "failed", None, f"{last_problem} ({ATTEMPTS} attempts)"))
        if status in RETRY_STATUSES and attempt + 1 < ATTEMPTS:
            if not _sleep_until(_retry_delay(response_headers, attempt), ends):
                return late()
            continue
        break
    if _host(final) != _host(url):
        warnings.append(
            (
                "blocklist-redirect",
                f"{url} redirects to another host: {_host(url)} -> {_host(final)} ({final}); "
                "write the new URL in the site if the move is expected",
            )
        )
    if url.startswith("https://") and final.startswith("http://"):
        return done(FetchResult(url, "failed", status, f"redirected from https to {final}"))
    if status == 304 and meta is not None:
        cache.store(url, None, {**meta, "checked_at": _now()})
        return done(FetchResult(url, "not-modified", 304, "not modified"))
    if status != 200:
        return done(FetchResult(url, "failed", status, f"HTTP {status}"))
    content_type = str(response_headers.get("content-type", "")).lower()
    if "text/html" in content_type or looks_like_html(body):
        return done(FetchResult(url, "failed", status, "returned an HTML page, not a list"))
    if looks_binary(body):
        return done(FetchResult(url, "failed", status, "returned binary data, not a list"))
    try:
        parsed = parse_bytes(body)
    except ValueError as exc:
        return done(FetchResult(url, "failed", status, str(exc)))
    count = len(parsed.block) + len(parsed.allow)
    if count == 0:
        return done(FetchResult(url, "failed", status, "holds no names"))
    previous = int(meta.get("names", 0)) if meta is not None else 0  # type: ignore[call-overload]
    if previous and count < previous * SHRINK_LIMIT:
        return done(
            FetchResult(
                url,
                "failed",
                status,
                f"shrank from {previous} to {count} names (more than half); "
                f"delete {cache.body_path(url).with_suffix('.json')} to accept it",
            )
        )
    cache.store(
        url,
        body,
        {
            "etag": response_headers.get("etag"),
            "last_modified": response_headers.get("last-modified"),
            "sha256": _sha256(body),
            "names": count,
            "fetched_at": _now(),
            "checked_at": _now(),
            "http_status": status,
        },
    )
    return done(FetchResult(url, "fetched", status, "", parsed))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _client() -> httpx.Client:
    import httpx

    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(TIMEOUT),
        headers={"User-Agent": f"zonesmith/{__version__} (blocklist update)"},
    )


# --------------------------------------------------------------------------
# The update


@dataclass
class UpdateResult:
    lists: list[ListReport] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics) and all(
            report.complete for report in self.lists
        )


def update_site(
    site: Site,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    client: httpx.Client | None = None,
) -> UpdateResult:
    """Fetch every URL source of the site's blocklists and compile every blocklist.

    ``progress(stage, done, total)`` is told how far the work is.
    """
    root = cache_root(site)
    ensure_cache_folder(site.root, CACHE_NAME)
    cache = SourceCache(root)
    store = CompiledStore(root)
    urls = sorted({s for b in site.blocklists for s in b.sources if is_url(s)})
    fetched: dict[str, FetchResult] = {}
    if urls:
        own_client = client is None
        http = client or _client()
        try:
            import concurrent.futures  # only here: builds import this module too

            with concurrent.futures.ThreadPoolExecutor(min(WORKERS, len(urls))) as pool:
                futures = {
                    pool.submit(fetch_source, http, cache, url, _deadline(site, url)): url
                    for url in urls
                }
                for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    fetched[futures[future]] = future.result()
                    if progress:
                        progress("fetch", done, len(urls))
        finally:
            if own_client:
                http.close()
    result = UpdateResult()
    for url, fetch in sorted(fetched.items()):
        for rule_id, message in fetch.warnings:
            for blocklist in site.blocklists:
                if url in blocklist.sources:
                    result.diagnostics.append(
                        warning(_position_of(blocklist, url), rule_id, message)
                    )
    # Parsed sources, shared by the lists that use the same source.
    parsed = {u: f.parsed for u, f in fetched.items() if f.parsed is not None}
    for index, blocklist in enumerate(site.blocklists, 1):
        started = time.perf_counter()
        sources, allows = _inputs(site, blocklist, cache)
        names, exceptions, reports = compile_blocklist(blocklist, sources, allows, parsed)
        for report in reports:
            fetch = fetched.get(report.source) if report.kind == "url" else None
            if fetch is not None:
                report.http_status = fetch.http_status
                report.seconds += fetch.seconds
                report.note = "; ".join(n for n in (fetch.note, report.note) if n)
                report.status = fetch.status if report.usable else "failed"
        fingerprint = _fingerprint(blocklist, sources + allows)
        previous = store.meta(blocklist.name)
        digest = store.store(
            blocklist.name,
            fingerprint,
            names,
            exceptions,
            {"compiled_at": _now(), "sources": [r.as_json() for r in reports]},
        )
        result.lists.append(
            ListReport(
                blocklist.name,
                len(names),
                len(exceptions),
                previous is None or previous.get("digest") != digest,
                digest,
                time.perf_counter() - started,
                all(r.usable for r in reports),
                reports,
            )
        )
        if progress:
            progress("compile", index, len(site.blocklists))
    return result


def _deadline(site: Site, url: str) -> float:
    """The seconds fetching ``url`` may take: the longest deadline of the lists using it."""
    return max(b.deadline or DEADLINE for b in site.blocklists if url in b.sources)


def update_command(site_path: Path, *, as_json: bool, console: Console) -> int:
    """``zonesmith blocklist update``: returns the exit status.

    0 when every blocklist was compiled from all its sources (a source that
    failed but has a last good copy counts); 1 when the site has errors or a
    source has no usable copy at all.
    """
    from zonesmith.build import check_site

    site, diagnostics = check_site(site_path)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        _print_failure(errors, as_json, console, site_path)
        return 1
    if not site.blocklists:
        if as_json:
            console.out(json.dumps({"ok": True, "blocklists": []}, indent=2), highlight=False)
        else:
            console.print("no blocklists in this site: declare them under blocklists")
        return 0
    show_progress = console.is_terminal and not as_json
    with contextlib.ExitStack() as stack:
        callback = None
        if show_progress:
            callback = _progress(stack, console)
        try:
            result = update_site(site, progress=callback)
        except OSError as exc:
            from zonesmith.build import os_failure

            failure = os_failure(exc, "update the blocklists", cache_root(site))
            _print_failure([failure], as_json, console, site_path, "")
            return 1
    if as_json:
        payload = {
            "ok": result.ok,
            "blocklists": [r.as_json() for r in result.lists],
            "diagnostics": [d.as_json() for d in result.diagnostics],
        }
        console.out(json.dumps(payload, indent=2), highlight=False)
    else:
        for diagnostic in result.diagnostics:
            console.out(str(diagnostic), highlight=False)
        _print_report(result, console)
    return 0 if result.ok else 1


def _print_failure(
    errors: list[Diagnostic],
    as_json: bool,
    console: Console,
    site: Path,
    why: str = "the site has errors; ",
) -> None:
    if as_json:
        payload = {"ok": False, "diagnostics": [d.as_json() for d in errors]}
        console.out(json.dumps(payload, indent=2), highlight=False)
        return
    for diagnostic in errors:
        console.out(str(diagnostic), highlight=False)
    console.out(f"{site}: {why}no blocklist was updated", highlight=False)


def _progress(stack: contextlib.ExitStack, console: Console) -> Callable[[str, int, int], None]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = stack.enter_context(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        )
    )
    tasks: dict[str, int] = {}
    labels = {"fetch": "fetching sources", "compile": "compiling lists"}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    return update


def _print_report(result: UpdateResult, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    for report in result.lists:
        state = "changed" if report.changed else "unchanged"
        if not report.complete:
            state += ", INCOMPLETE"
        console.print(
            f"[bold]{escape(report.name)}[/]: {report.names:,} names blocked, "
            f"{report.exceptions:,} exceptions ({state})"
        )
        if console.is_terminal:
            table = Table(box=None, pad_edge=False, show_edge=False)
            for column in ("source", "status", "HTTP", "read", "kept", "skipped", "time", "note"):
                justify = "right" if column in ("read", "kept", "skipped", "time") else "left"
                table.add_column(column, justify=justify)  # type: ignore[arg-type]
            for s in report.sources:
                table.add_row(
                    escape(s.source),
                    _status_markup(s.status),
                    str(s.http_status or ""),
                    f"{s.names_read:,}",
                    f"{s.names_kept:,}",
                    f"{s.skipped_lines:,}",
                    f"{s.seconds:.1f} s",
                    escape(s.note),
                )
            console.print(table)
        else:
            for s in report.sources:
                http = f" HTTP {s.http_status}" if s.http_status else ""
                note = f" ({s.note})" if s.note else ""
                console.out(
                    f"  {s.source}: {s.status}{http}, read {s.names_read}, kept {s.names_kept}, "
                    f"skipped {s.skipped_lines} lines, {s.seconds:.1f} s{note}",
                    highlight=False,
                )


def _status_markup(status: str) -> str:
    colour = {"failed": "red", "cached": "yellow"}.get(status)
    return f"[{colour}]{status}[/]" if colour else status


__all__ = [
    "CompiledBlocklist",
    "ParsedList",
    "compile_blocklist",
    "compile_names",
    "compiled_for",
    "fetch_source",
    "normalize_name",
    "parse_bytes",
    "parse_text",
    "update_command",
    "update_site",
]


# --------------------------------------------------------------------------
# Response policy zones (for Unbound's rpz: and for BIND resolvers)


def rpz_zone_name(compiled: CompiledBlocklist) -> str:
    return f"{compiled.file_stem.lower().replace('_', '-')}.rpz.zonesmith."


def sinkhole_type(address: str) -> str:
    return "AAAA" if ipaddress.ip_address(address).version == 6 else "A"


def joined(names: list[str], head: str, tail: str) -> str:
    """``head + name + tail`` for every name, built in one join (a million names fast)."""
    if not names:
        return ""
    return head + (tail + head).join(names) + tail


def render_rpz(compiled: CompiledBlocklist, names: list[str]) -> str:
    """The list as an RPZ zone: QNAME triggers for each name and its subdomains."""
    if compiled.action == "sinkhole" and compiled.sinkhole:
        rdtype = sinkhole_type(compiled.sinkhole)
        actions = [f"{rdtype}\t{compiled.sinkhole}"]
    elif compiled.action == "null":
        actions = ["A\t0.0.0.0", "AAAA\t::"]
    else:
        actions = ["CNAME\t."]
    lines = [
        f"; blocklist {compiled.name}: {len(names)} names, {len(compiled.exceptions)} "
        f"exceptions ({compiled.digest}); generated by zonesmith, do not edit.",
        f"$ORIGIN {rpz_zone_name(compiled)}",
        "$TTL 300",
        "@\tSOA\tlocalhost. nobody.invalid. 1 3600 600 86400 300",
        "@\tNS\tlocalhost.",
        "",
    ]
    text = "\n".join(lines)
    for action in actions:
        text += joined(names, "", f"\t{action}\n")
        text += joined(names, "*.", f"\t{action}\n")
    exceptions = list(compiled.exceptions)
    text += joined(exceptions, "", "\tCNAME\trpz-passthru.\n")
    text += joined(exceptions, "*.", "\tCNAME\trpz-passthru.\n")
    return text


def deduplicated(lists: tuple[CompiledBlocklist, ...]) -> list[tuple[CompiledBlocklist, list]]:
    """Each list with the names no earlier list of the resolver already has."""
    seen: set[str] = set()
    result = []
    for index, compiled in enumerate(lists):
        names = list(compiled.names)
        if index:
            names = [n for n in names if n not in seen]
        if index + 1 < len(lists):
            seen.update(names)
        result.append((compiled, names))
    return result

"""Reading RFC 1035 master files (BIND's dialect) into the model, every problem at its line.

Why not ``dns.zone.from_text``: dnspython stops at the first problem and only
knows the line of it. zonesmith promises that every error names the file, line
and column and that one ``check`` run shows every problem, so this module has
its own tokenizer and directive handling and hands only the RDATA of each
record to dnspython (``dns.rdata.from_text``), which stays the authority on
what each record type's presentation format means.

The dialect is BIND's: ``;`` comments, parentheses spanning lines, quoted
strings with escapes, a blank owner repeating the previous owner, ``@``,
``$ORIGIN``, ``$TTL`` (with BIND units), ``$INCLUDE file [origin]`` and
``$GENERATE``. TTL and class may come in either order before the type.

A record with an error is reported and left out; reading always goes on with
the next record. Nothing here raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socket import AF_INET6, inet_ntop, inet_pton

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith import presentation
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.model import Record, RuleSwitch
from zonesmith.site.limits import (
    MAX_LINE_BYTES,
    MAX_ZONE_BYTES,
    ReadRefused,
    SiteFolder,
    read_bounded,
    real_root,
    size_text,
)
from zonesmith.site.masterfile.directives import DirectivesReader
from zonesmith.site.masterfile.records import RecordReader
from zonesmith.site.masterfile.state import _BAD_OWNER, _State
from zonesmith.site.masterfile.tokenizer import (
    _BLANK,
    _MAX_UNBALANCED_RESCANS,
    _TOKEN_RE,
    _NotFast,
    _plain_lines,
    _plain_owner,
    _regex_fields,
    _split_fields,
    _Token,
)
from zonesmith.site.values import MAX_TTL

# type mnemonic (upper or lower case) -> (type, its fast RDATA check)
_FAST_TYPE_CODES = {
    text: (t, presentation.CHECKERS[t])
    for t in presentation.CHECKERS
    for text in (dns.rdatatype.to_text(t), dns.rdatatype.to_text(t).lower())
}

# Shortcuts of the fast path for the RDATA most common in big zones, with the
# verdicts of zonesmith.presentation's checkers: an IPv4 address as zonesmith.presentation
# and dnspython write it (its own canonical form); an IPv6 address of hex
# digits and colons, written back by the C library; and TXT of quoted strings
# of printable ASCII without escapes, one space apart (its own canonical form).
# TXT in other forms goes to its checker; an address these refuse, to the
# tokenizer and dnspython. test_masterfile checks that all agree.
_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_TXT = dns.rdatatype.TXT
_HEX_COLON = "0123456789abcdefABCDEF:"
_OCTETS = frozenset(str(octet) for octet in range(256))
_CANONICAL_TXT = re.compile(r'"[ !#-\[\]-~]{0,255}"(?: "[ !#-\[\]-~]{0,255}")*')
_MAX_FAST_TXT = 8000  # longer TXT may not fit a message: dnspython measures it

_SURROGATE_RE = re.compile("[\udc80-\udcff]")


@dataclass(slots=True)
class _Entry:
    """One logical line: the tokens of a physical line, plus its parenthesised continuation."""

    tokens: list[_Token]
    has_owner: bool  # the line starts in column 1, so its first token is an owner or directive
    problems: list[Diagnostic] = field(default_factory=list)


def _fast_fields(text: str, plain: int) -> tuple[str | None, str | None, str, str]:
    """Owner (None: blank), TTL, type and RDATA of a one-line record; ``plain`` is
    the line's verdict of _plain_lines. Raises ValueError or IndexError on other shapes."""
    if not plain:
        return _regex_fields(text)
    # The usual shapes first, "owner IN type rdata" and "owner ttl IN type
    # rdata": splitting off the fields before the type leaves the RDATA as
    # written, quoted strings whole.
    parts = text.split(None, 3)
    if len(parts) < 4 or text[0] in _BLANK:
        return _split_fields(text)
    if parts[1] == "IN":
        owner_text, _, type_text, rdata_text = parts
        return owner_text, None, type_text, rdata_text.rstrip()  # CRLF files
    if parts[2] == "IN" and parts[1].isdigit():
        owner_text, ttl_text, _, rest = parts
        type_text, rdata_text = rest.split(None, 1)  # ValueError: 1 word
        return owner_text, ttl_text, type_text, rdata_text.rstrip()
    return _split_fields(text)


def _fast_rdata(
    rdtype: int, checker: Callable[[str, str], str | None], rdata_text: str, origin: str
) -> str:
    """The canonical RDATA of a fast-path record; raises _NotFast (or ValueError,
    OSError) for the tokenizer and dnspython to read it.

    The most common types are checked here, with the verdicts of their
    checkers in zonesmith.presentation (see _OCTETS); the others by those.
    """
    if rdtype is _A:
        a, b, c, d = rdata_text.split(".")  # ValueError: not 4 parts
        if not (a in _OCTETS and b in _OCTETS and c in _OCTETS and d in _OCTETS):
            raise _NotFast
        return rdata_text
    if rdtype is _AAAA:
        # other characters (an embedded IPv4 address): dnspython
        if rdata_text.strip(_HEX_COLON):
            raise _NotFast
        canonical = inet_ntop(AF_INET6, inet_pton(AF_INET6, rdata_text))
        if "." in canonical:
            raise _NotFast
        return canonical
    if rdtype is _TXT and len(rdata_text) <= _MAX_FAST_TXT and _CANONICAL_TXT.fullmatch(rdata_text):
        return rdata_text
    canonical = checker(rdata_text, origin)
    if canonical is None:
        raise _NotFast
    return canonical


def _tokenize(
    entry: _Entry, text: str, lineno: int, depth: int, opened: Position, display: str
) -> tuple[int, Position]:
    """Add the tokens of one physical line to ``entry``; returns the parenthesis
    depth after it and where the open '(' was opened."""
    tokens = entry.tokens
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "word":
            tokens.append(_Token(match.group(), lineno, match.start() + 1, False))
        elif kind == "quoted":
            tokens.append(_Token(match.group(), lineno, match.start() + 1, True))
        elif kind == "comment":
            break
        elif kind == "open":
            if depth == 0:
                opened = Position(display, lineno, match.start() + 1)
            depth += 1
        elif kind == "close":
            if depth == 0:
                entry.problems.append(
                    error(
                        Position(display, lineno, match.start() + 1),
                        "masterfile-syntax",
                        "unbalanced ')': no '(' is open",
                    )
                )
            else:
                depth -= 1
        else:  # unterminated
            entry.problems.append(
                error(
                    Position(display, lineno, match.start() + 1),
                    "masterfile-syntax",
                    "unterminated quoted string: a closing '\"' is missing "
                    "on this line (quoted strings cannot span lines)",
                )
            )
            break
    return depth, opened


class _Reader(DirectivesReader, RecordReader):
    def __init__(
        self,
        zone_origin: dns.name.Name,
        default_ttl: int,
        root: SiteFolder | None = None,
        max_bytes: int = MAX_ZONE_BYTES,
    ) -> None:
        self.zone_origin = zone_origin
        self.fallback_ttl = default_ttl
        self.warned_no_ttl = False
        self.records: list[Record] = []
        # $ORIGIN as a Name, then what _fast_context derives from it
        self._origin_cache: tuple[dns.name.Name, str, str, int, int, bool] | None = None
        self._zone_text = zone_origin.to_text()
        self.diagnostics: list[Diagnostic] = []
        self.state = _State(zone_origin, None, None, None)
        self.origin_changed = False  # for BIND's "record with inherited owner" warning
        self.stack: list[Path] = []
        self.root = root  # the real site folder: no file outside it is read
        self.max_bytes = max_bytes
        self.budget = max_bytes  # what the zone's files may still hold
        self.includes = 0  # $INCLUDEs read so far
        self.rule_switches: list[RuleSwitch] = []  # "; zonesmith: off RULE" comments

    # ----------------------------------------------------------------- files

    def read_file(
        self, path: Path, display: str, where: Position | None, data: bytes | None = None
    ) -> None:
        """Read one file; ``where`` is the $INCLUDE directive's position (None for the top).

        ``data`` is the file's content when the caller has read it already.
        """
        what = "included file" if where else "master file"
        try:
            content = read_bounded(
                path,
                self.budget,
                root=self.root,
                data=data,
                too_big=f"it is larger than the {size_text(self.max_bytes)} a zone's master "
                "file and its $INCLUDEs may hold together"
                if where is None
                else "it would take the zone's master file and its $INCLUDEs past the "
                f"{size_text(self.max_bytes)} they may hold together",
            )
        except ReadRefused as refused:
            self.diagnostics.append(
                error(
                    where or Position(display),
                    refused.rule or "include-missing",
                    f"cannot read {what} '{display}': {refused.reason}",
                )
            )
            return
        data = content.data
        self.budget -= len(data)
        for line in content.long_lines:
            self.diagnostics.append(
                error(
                    Position(display, line, 1),
                    "line-too-long",
                    f"line longer than {size_text(MAX_LINE_BYTES)}: no record is that long "
                    "(a record holds at most 65535 octets); the line is skipped",
                )
            )
        # Bytes that are not UTF-8 become \DDD escapes, so dnspython stores the
        # very octets of the file (as BIND would) instead of failing to encode.
        text = data.decode("utf-8", "surrogateescape")
        if not data.isascii() and _SURROGATE_RE.search(text):
            text = _SURROGATE_RE.sub(lambda m: f"\\{ord(m.group()) - 0xDC00:03d}", text)
        try:
            resolved = path.resolve()
        except OSError:
            resolved = path
        self.stack.append(resolved)
        lines = text.split("\n")
        plain = _plain_lines(text, lines)
        # Looked for in the whole text at once: most files have no switch at all.
        switched = (
            _switch_comments(text, lines, display, self.diagnostics) if _SWITCH in text else {}
        )
        # The lines hold all that is needed: a big file's text need not stay
        # in memory while its records are made.
        del data, text
        try:
            for entry in self._entries(lines, plain, display, switched):
                self._entry(entry, path, display)
        finally:
            self.stack.pop()
        for line, rules in switched.items():
            for rule, position in rules:
                self.rule_switches.append(RuleSwitch(rule, position, None, ((display, line, 0),)))

    def _entries(
        self,
        lines: list[str],
        plain: bytearray,
        display: str,
        switched: dict[int, list[tuple[str, Position]]],
    ) -> Iterator[_Entry]:
        """Logical lines of a file, with tokenizer problems attached; the switches of
        ``switched`` on a later line of a record spanning lines move to its first line.

        A plain one-line record (most lines of a big zone) never becomes an
        entry: the fast path below turns it into a record right away, without
        the tokenizer and, for the common types, without dnspython. Its owner
        and TTL are worked out in the loop, over 80 lines, because they read
        and change the state that the loop keeps in local variables; the
        fields and the RDATA are functions. The most common shape and RDATA
        are tried first. Anything unusual (escapes,
        units, other classes or types, names or RDATA the fast checks do not
        accept, warnings to give) raises _NotFast before any state changes,
        so the tokenizer sees the line as if the fast path did not exist and
        reports whatever is wrong.

        When a '(' is never closed, BIND gives up; we report it and read on
        from the next line that starts in column 1 after it, which is where
        the next record most likely begins.
        """
        start = 0
        rescans = 0
        count = len(lines)
        append = self.records.append
        fast_types = _FAST_TYPE_CODES
        zone_lower = self._zone_text.lower()
        below_zone = "." if zone_lower == "." else "." + zone_lower  # how names below end
        while True:
            depth = 0
            entry: _Entry | None = None
            opened = Position(display)
            resync: int | None = None
            size = 0  # text of the entry so far
            overlong = False  # the entry's text is past MAX_LINE_BYTES: reported, not kept
            # What the fast path reads of the reader's state. The caller handles
            # each entry yielded (a directive may change the origin or $TTL, an
            # $INCLUDE replaces the state), so this is read again after a yield.
            state, origin, suffix, label_limit, relative_limit, origin_in_zone = (
                self._fast_context()
            )
            default_ttl = state.default_ttl
            origin_changed = self.origin_changed
            for index in range(start, count):
                text = lines[index]
                if depth == 0 and text:
                    try:
                        owner_text, ttl_text, type_text, rdata_text = _fast_fields(
                            text, plain[index]
                        )
                        rdtype, checker = fast_types[type_text]  # KeyError: not a fast type

                        # -- owner, as absolute text
                        column = 1
                        if owner_text is None:
                            owner = state.last_name
                            if owner is None or owner is _BAD_OWNER or origin_changed:
                                raise _NotFast
                            if not isinstance(owner, str):
                                # set by the tokenizer, which also keeps names outside the zone
                                if not owner.is_subdomain(self.zone_origin):
                                    raise _NotFast
                                owner = owner.to_text()
                            column = len(text) - len(text.lstrip(_BLANK)) + 1
                        elif owner_text.isalnum() and len(owner_text) <= label_limit:
                            owner = owner_text + suffix  # "host42" needs no closer look
                        elif not _plain_owner(owner_text):
                            raise _NotFast
                        elif owner_text[-1] == ".":
                            # in the zone (presentation.is_subdomain, for names without escapes)
                            owner = owner_text
                            lower = owner.lower()
                            if len(owner) > 254 or not (
                                lower.endswith(below_zone) or lower == zone_lower
                            ):
                                raise _NotFast
                        elif owner_text == "@":
                            owner = origin
                            if not origin_in_zone:
                                raise _NotFast
                        elif len(owner_text) <= relative_limit:
                            owner = owner_text + suffix
                        else:
                            raise _NotFast

                        # -- TTL
                        if ttl_text is not None:
                            # int() refuses more than 4300 digits; the tokenizer reports those
                            if len(ttl_text) > 10:
                                raise _NotFast
                            ttl = int(ttl_text)
                            if ttl > MAX_TTL:
                                raise _NotFast
                        elif default_ttl is not None:
                            ttl = default_ttl
                        else:
                            ttl = self._implicit_ttl(display, index + 1, 1)

                        canonical = _fast_rdata(rdtype, checker, rdata_text, origin)
                    except (_NotFast, IndexError, KeyError, ValueError, OSError):
                        pass  # the tokenizer reads it
                    else:
                        if owner_text is not None:
                            state.last_name = owner
                            if origin_changed:
                                self.origin_changed = origin_changed = False
                        if ttl_text is not None:
                            state.last_ttl = ttl
                        append(
                            Record(
                                (
                                    owner,
                                    ttl,
                                    rdtype,
                                    canonical,
                                    None,
                                    display,
                                    index + 1,
                                    column,
                                    "zone",
                                    None,
                                )
                            )
                        )
                        continue
                first = text[:1]
                if depth == 0:
                    entry = _Entry([], bool(first) and not first.isspace() and first not in ";(")
                    resync = None
                    size = 0
                    overlong = False
                elif resync is None and first and not first.isspace() and first not in ";)":
                    resync = index
                assert entry is not None
                size += len(text)
                depth, opened = _tokenize(entry, text, index + 1, depth, opened, display)
                if depth and size > MAX_LINE_BYTES:
                    # Read on to the ')' without keeping what no record can hold.
                    if not overlong:
                        overlong = True
                        entry.problems.append(
                            error(
                                opened,
                                "record-too-long",
                                f"the record opened by this '(' runs over more than "
                                f"{size_text(MAX_LINE_BYTES)} of text, more than any record "
                                "can be (at most 65535 octets of data); it is skipped",
                            )
                        )
                    del entry.tokens[1:]
                if depth == 0 and (entry.tokens or entry.problems):
                    if switched and entry.tokens:
                        _move_switches(switched, entry.tokens[0].line, index + 1)
                    yield entry
                    state, origin, suffix, label_limit, relative_limit, origin_in_zone = (
                        self._fast_context()
                    )
                    default_ttl = state.default_ttl
                    origin_changed = self.origin_changed
            if depth == 0:
                return
            assert entry is not None
            entry.problems.append(
                error(
                    opened,
                    "masterfile-syntax",
                    "unbalanced '(': it is never closed with ')' before the end of the file",
                )
            )
            yield entry
            if resync is None or rescans >= _MAX_UNBALANCED_RESCANS:
                return
            start = resync
            rescans += 1

    def _entry(self, entry: _Entry, path: Path, display: str) -> None:
        tokens = entry.tokens
        if entry.problems:
            self.diagnostics.extend(entry.problems)
            if entry.has_owner and tokens and not tokens[0].text.startswith("$"):
                # Keep blank-owner records that follow attached to the right owner.
                name = self._name(tokens[0], display, report=False)
                self.state.last_name = name if name is not None else _BAD_OWNER
                self.origin_changed = False
            return
        if not tokens:
            return
        first = tokens[0]
        if entry.has_owner and first.text.startswith("$") and not first.quoted:
            self._directive(tokens, path, display)
        else:
            self._record(tokens, entry.has_owner, display)

    def _pos(self, token: _Token, display: str) -> Position:
        return Position(display, token.line, token.column)

    def _after(self, token: _Token, display: str) -> Position:
        return Position(display, token.line, token.column + len(token.text))

    def _fast_context(self) -> tuple[_State, str, str, int, int, bool]:
        """What the fast path needs to know of the state, derived from $ORIGIN once per change.

        The state; $ORIGIN as absolute text; the suffix that makes a relative
        name absolute; the longest single label and the longest relative name
        whose absolute forms fit in 255 octets (-1 when $ORIGIN lies outside
        the zone: no relative owner may then take the fast path); and whether
        $ORIGIN lies in the zone.
        """
        state = self.state
        origin = state.origin
        cache = self._origin_cache
        if cache is None or cache[0] is not origin:
            text = origin.to_text()
            suffix = "." if text == "." else "." + text
            in_zone = origin.is_subdomain(self.zone_origin)
            limit = 254 - len(suffix) if in_zone else -1
            cache = self._origin_cache = (origin, text, suffix, min(limit, 63), limit, in_zone)
        return (state, *cache[1:])


def read_masterfile(
    path: Path,
    origin: dns.name.Name,
    default_ttl: int,
    *,
    display_path: str | None = None,
    data: bytes | None = None,
    root: Path | SiteFolder | None = None,
    max_bytes: int = MAX_ZONE_BYTES,
    switches: list[RuleSwitch] | None = None,
) -> tuple[list[Record], list[Diagnostic]]:
    """Read a master file for zone ``origin``: its valid records and every problem found.

    ``default_ttl`` is used for records without a TTL when neither ``$TTL``
    nor an earlier record gave one (BIND would use the SOA minimum).
    ``display_path`` is what diagnostics show as the file name (default
    ``str(path)``); files it includes are shown relative to it. ``data`` is
    the file's content if the caller has read it already. ``root`` is the
    folder (the site) no file may be read outside of, the file itself
    included, links resolved; ``max_bytes`` bounds what the file and its
    includes may hold together. The rules its ``; zonesmith: off RULE`` comments
    switch off are added to ``switches``.
    """
    reader = _Reader(origin, default_ttl, None if root is None else real_root(root), max_bytes)
    display = display_path if display_path is not None else str(path)
    reader.read_file(Path(path), display, None, data)
    if switches is not None:
        switches.extend(reader.rule_switches)
    return reader.records, reader.diagnostics


#: What starts a switch in a comment: ``; zonesmith: off RULE [RULE ...]``.
_SWITCH = "zonesmith:"
_SWITCH_COMMENT = re.compile(r";[ \t]*zonesmith:[ \t]*(?P<words>.*?)[ \t\r]*$")
_SWITCH_WORD = re.compile(r"[^\s,]+")


def _switch_comments(
    text: str, lines: list[str], display: str, diagnostics: list[Diagnostic]
) -> dict[int, list[tuple[str, Position]]]:
    """The rules switched off by each line's ``; zonesmith: off RULE`` comment, with the
    position of each id; a comment of another shape is reported."""
    switched: dict[int, list[tuple[str, Position]]] = {}
    at = text.find(_SWITCH)
    index = last = 0
    while at >= 0:
        index += text.count("\n", last, at)
        last = at
        line = lines[index]
        comment = next((m for m in _TOKEN_RE.finditer(line) if m.lastgroup == "comment"), None)
        shape = _SWITCH_COMMENT.match(comment.group()) if comment is not None else None
        if comment is not None and shape is not None:
            start = comment.start() + shape.start("words")
            words = [
                (word.group(), start + word.start() + 1)
                for word in _SWITCH_WORD.finditer(shape["words"])
            ]
            if len(words) < 2 or words[0][0] != "off":
                diagnostics.append(
                    error(
                        Position(display, index + 1, comment.start() + 1),
                        "bad-switch",
                        "a zonesmith comment reads '; zonesmith: off RULE-ID [RULE-ID ...]'",
                    )
                )
            else:
                switched.setdefault(index + 1, []).extend(
                    (word, Position(display, index + 1, column)) for word, column in words[1:]
                )
        end = text.find("\n", at)
        at = text.find(_SWITCH, end + 1) if end >= 0 else -1
    return switched


def _move_switches(switched: dict[int, list[tuple[str, Position]]], first: int, last: int) -> None:
    """Switches on lines ``first``+1 to ``last`` (a record spanning lines) to ``first``,
    the line its records and their findings are at."""
    for line in range(first + 1, last + 1):
        moved = switched.pop(line, None)
        if moved is not None:
            switched.setdefault(first, []).extend(moved)

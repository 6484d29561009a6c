"""RFC 1035 master-file reader that keeps source positions and recovers from errors.

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

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import not_
from pathlib import Path
from socket import AF_INET6, inet_ntop, inet_pton
from typing import NamedTuple

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith import rdata as rdtext
from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.model import Record
from zonesmith.sitefiles import (
    MAX_LINE_BYTES,
    MAX_ZONE_BYTES,
    ReadRefused,
    read_bounded,
    real_root,
    size_text,
)

__all__ = ["read_masterfile", "parse_ttl", "MAX_TTL"]

MAX_TTL = 2**31 - 1
"""RFC 2181 section 8: TTLs are unsigned 31-bit values."""

_MAX_TTL_FIELD = 2**32 - 1  # what the 32-bit TTL field holds; BIND reads more as an error

MAX_INCLUDE_DEPTH = 20
"""BIND refuses deeper nesting too; deeper is almost always a file including itself."""

MAX_INCLUDES = 10000
"""``$INCLUDE``s one zone may read: bounds a tree of files each including the next ones twice."""

MAX_GENERATE = 65536
"""Records one ``$GENERATE`` may produce; a typo in a range must not eat all memory."""

_MAX_GENERATE_WIDTH = 127  # BIND formats each substitution into a 128-byte buffer
# A record must fit a 65535-octet message with a 12-octet header, a root owner
# and the 10 octets of type, class, TTL and length: 65512 octets of data at
# most. BIND 9.18, which loads what zonesmith writes, already refuses 65512
# ("ran out of space"), so the limit follows it.
_MAX_RDATA = 65511
_MAX_UNBALANCED_RESCANS = 20  # bounds the work spent recovering from unclosed '('


# --------------------------------------------------------------------------- tokens


class _Token(NamedTuple):
    text: str  # raw source text; quoted strings keep their quotes and escapes
    line: int
    column: int  # 1-based
    quoted: bool


# One pass of this over a line yields every token; the alternatives cover every
# character, so nothing is silently skipped. Tokenizing is per line because a
# quoted string may not span lines (as in BIND), which keeps lines independent.
_TOKEN_RE = re.compile(
    r"""
      [ \t\r\f\v]+
    | (?P<comment>;.*)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<quoted>"(?:[^"\\]|\\.)*")
    | (?P<unterminated>".*)
    | (?P<word>(?:[^ \t\r\f\v;()"\\]|\\.|\\$)+)
    """,
    re.VERBOSE,
)

# A record on one line in the plainest form: owner (or blank), TTL in seconds,
# class IN, a mnemonic type, and RDATA of plain words and quoted strings without
# escapes, then perhaps a comment. Most lines of big zones look like this; they
# skip the tokenizer and, for the common types, dnspython (see zonesmith.rdata
# and _Reader._entries). Lines without comments, parentheses or escapes (see
# _plain_lines) are split on whitespace instead, several times cheaper.
_FAST_WORD = r'(?:[^\s;()"\\]+|"[^"\\]*")'
_FAST_LABEL = r"[A-Za-z0-9_-]{1,63}"
_FAST_LINE = re.compile(
    rf"(?P<owner>@|(?:\*|{_FAST_LABEL})(?:\.{_FAST_LABEL})*\.?)?[ \t]+"
    r"(?:(?P<ttl>[0-9]+)[ \t]+)?(?:(?:IN|in)[ \t]+)?(?:(?P<ttl2>[0-9]+)[ \t]+)?"
    r"(?P<type>[A-Za-z][A-Za-z0-9]*)[ \t]+"
    rf"(?P<rdata>{_FAST_WORD}(?:[ \t]+{_FAST_WORD})*)[ \t\r]*(?:;.*)?"
)


# The tokenizer's whitespace (a line never holds "\n"). str.split() splits on
# more: \x1c-\x1f and non-ASCII spaces, which the tokenizer keeps inside words.
_BLANK = " \t\r\f\v"
# Characters that make splitting a line on whitespace go wrong: comments,
# parentheses, escapes, the separators \x1c-\x1f, and anything not ASCII
# (str.isdigit() and str.isalnum() accept more than the tokenizer reads as
# digits and labels). Quotes are handled by the split itself (_split_fields).
_UNSPLITTABLE = ";()\\\x1c\x1d\x1e\x1f"
# the same and any character not ASCII, as one class (searched faster than two)
_UNSPLITTABLE_RE = re.compile(r"[^\x00-\x1b !-'*-:<-\[\]-\x7f]")


class _NotFast(Exception):
    """The line is not for the fast path: the tokenizer reads it (never escapes _entries)."""


def _plain_lines(text: str, lines: list[str]) -> bytearray:
    """One flag per line: 1 if splitting it on whitespace finds its fields, 0 if
    it has a character of _UNSPLITTABLE_RE (the fast path then uses _FAST_LINE).

    Found without a Python loop over the lines: a big zone has few such lines
    (comments and SOA parentheses at the top, or none at all), so each such
    character is looked for in the whole text, at memory speed, and only the
    lines where it is found are marked. Only when such characters are on many
    lines is each line searched.
    """
    count = len(lines)
    found = [char for char in _UNSPLITTABLE if char in text]
    if sum(text.count(char) for char in found) > count // 8:
        return bytearray(map(not_, map(_UNSPLITTABLE_RE.search, lines)))
    plain = bytearray(map(str.isascii, lines)) if not text.isascii() else bytearray(b"\x01") * count
    for char in found:
        line = last = 0
        at = text.find(char)
        while at >= 0:
            line += text.count("\n", last, at)
            plain[line] = 0
            last = at
            at = text.find(char, at + 1)
    return plain


def _split_fields(text: str) -> tuple[str | None, str | None, str, str]:
    """Owner (None: blank), TTL, type and RDATA of a line split on whitespace.

    For lines without comments, parentheses, escapes or odd separators. A
    quoted string (TXT) may hold spaces, so it must follow the type and runs
    to the end of the line. Raises _NotFast or IndexError for other shapes.
    """
    quote = text.find('"')
    if quote < 0:
        parts = text.split()
        rdata = None
    elif quote and text[quote - 1] in " \t":
        parts = text[:quote].split()
        rdata = text[quote:].rstrip()
    else:
        raise _NotFast
    if text[0] in _BLANK:
        owner = None
        i = 0
    else:
        owner = parts[0]
        i = 1
    # TTL and class in either order
    ttl = None
    word = parts[i]
    if word == "IN" or word == "in":
        i += 1
        word = parts[i]
        if word.isdigit():
            ttl = word
            i += 1
            word = parts[i]
    elif word.isdigit():
        ttl = word
        i += 1
        word = parts[i]
        if word == "IN" or word == "in":
            i += 1
            word = parts[i]
    if rdata is None:
        rdata = " ".join(parts[i + 1 :])
        if not rdata:
            raise _NotFast
    elif len(parts) != i + 1:
        raise _NotFast  # words between the type and the quoted string
    return owner, ttl, word, rdata


def _regex_fields(text: str) -> tuple[str | None, str | None, str, str]:
    """Owner (None: blank), TTL, type and RDATA of any line, by _FAST_LINE; raises _NotFast."""
    match = _FAST_LINE.fullmatch(text)
    if match is None:
        raise _NotFast
    owner, ttl, ttl2, rdtype, rdata = match.groups()
    if ttl is None:
        ttl = ttl2
    elif ttl2 is not None:
        raise _NotFast
    return owner, ttl, rdtype, rdata


def _plain_owner(owner: str) -> bool:
    """Whether an owner name needs no escapes and has sound labels (else: slow path)."""
    if owner == "@":
        return True
    if not (owner.isascii() and owner.isprintable()) or "@" in owner or "$" in owner:
        return False
    if '"' in owner:  # the fast path's split leaves quotes to this check
        return False
    if owner[0] == "." or ".." in owner:
        return False
    return len(owner) <= 63 or all(len(label) <= 63 for label in owner.split("."))


# type mnemonic (upper or lower case) -> (type, its fast RDATA check)
_FAST_TYPE_CODES = {
    text: (t, rdtext.CHECKERS[t])
    for t in rdtext.CHECKERS
    for text in (dns.rdatatype.to_text(t), dns.rdatatype.to_text(t).lower())
}

# Shortcuts of the fast path for the RDATA most common in big zones, with the
# verdicts of zonesmith.rdata's checkers: an IPv4 address as zonesmith.rdata
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
_TTL_RE = re.compile(r"(?:\d+[wdhms])+|\d+", re.IGNORECASE)
_TTL_UNIT_RE = re.compile(r"(\d+)([wdhms])", re.IGNORECASE)
_TTL_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_RANGE_RE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
_MODIFIER_RE = re.compile(r"\{([+-]?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}")
_CLASS_RE = re.compile(r"(?:IN|CH|CHAOS|HS|HESIOD|NONE|ANY|CLASS\d+)", re.IGNORECASE)

_KNOWN_TYPES = sorted(
    t.name
    for t in dns.rdatatype.RdataType
    if not dns.rdatatype.is_metatype(t) and t != dns.rdatatype.NONE
)
_DIRECTIVES = ("$ORIGIN", "$TTL", "$INCLUDE", "$GENERATE")
_IN = dns.rdataclass.IN


@dataclass(slots=True)
class _Entry:
    """One logical line: the tokens of a physical line, plus its parenthesised continuation."""

    tokens: list[_Token]
    has_owner: bool  # the line starts in column 1, so its first token is an owner or directive
    problems: list[Diagnostic] = field(default_factory=list)


def parse_ttl(text: str) -> int:
    """A TTL in seconds or BIND units (``1h30m``, ``1W``, case-insensitive).

    Raises ValueError with a readable reason. As in BIND, units may repeat and
    are added up, but a bare number may not follow a unit (``1h30``).
    """
    if not _TTL_RE.fullmatch(text):
        raise ValueError(
            f"invalid TTL '{text}': use seconds or BIND units such as 300, 1h30m, 1d, 2w"
        )
    if text.isdigit():
        value = int(text)
    else:
        value = sum(int(n) * _TTL_UNITS[u.lower()] for n, u in _TTL_UNIT_RE.findall(text))
    if value > MAX_TTL:
        raise ValueError(f"TTL '{text}' ({value}s) is out of range 0..{MAX_TTL}")
    return value


def _unquote(token: _Token) -> str:
    """The contents of a quoted token, escapes kept (dnspython and BIND interpret them later)."""
    return token.text[1:-1] if token.quoted else token.text


def _unescape(text: str) -> str:
    """Master-file escapes resolved, for file names in ``$INCLUDE``."""
    return re.sub(
        r"\\(\d{3}|.)",
        lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1),
        text,
    )


def _join(tokens: list[_Token]) -> str:
    """The tokens as dnspython should see them: one space where the source had
    whitespace, a line break or a parenthesis, nothing where they touched.

    Touching matters: dnspython's SVCB parser accepts ``port="53"`` but not
    ``port= "53"``.
    """
    if len(tokens) == 1:
        return tokens[0].text
    parts: list[str] = []
    end = (0, 0)
    for token in tokens:
        if parts and (token.line, token.column) != end:
            parts.append(" ")
        parts.append(token.text)
        end = (token.line, token.column + len(token.text))
    return "".join(parts)


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


# --------------------------------------------------------------------------- $GENERATE


def _nibbles(value: int, width: int, upper: bool) -> str:
    """BIND's nibble format: hex digits least significant first, dot separated, padded to width."""
    digits = "0123456789ABCDEF" if upper else "0123456789abcdef"
    text = ""
    while True:
        text += digits[value & 0xF]
        value >>= 4
        if width > 0:
            width -= 1
        if width > 0 or value != 0:
            text += "."
            if width > 0:
                width -= 1
        if value == 0 and width == 0:
            return text


# A compiled template: literal text, or (offset, width, base) for a '$'.
_Template = list[str | tuple[int, int, str]]


def _compile_template(template: str) -> _Template:
    """Split a $GENERATE lhs/rhs once, so each iteration is only string joins.

    ``$`` is the iterator, ``${offset[,width[,base]]}`` modifies it, ``$$`` is
    a literal ``$``; a backslash escape (``\\$``) is copied unchanged, as BIND
    does, so the name or rdata parser reads it as a literal character.
    """
    parts: _Template = []
    literal: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c == "\\":
            literal.append(template[i : i + 2])
            i += 2
        elif c != "$":
            literal.append(c)
            i += 1
        elif template.startswith("$", i + 1):
            literal.append("$")
            i += 2
        else:
            i += 1
            offset, width, base = 0, 0, "d"
            if template.startswith("{", i):
                match = _MODIFIER_RE.match(template, i)
                if match is None:
                    raise ValueError(
                        f"bad modifier '{template[i:].split('}')[0]}}}': "
                        "expected ${offset[,width[,base]]} with base d, o, x, X, n or N"
                    )
                offset = int(match.group(1))
                if match.group(2) is not None:
                    width = int(match.group(2))
                    if width > _MAX_GENERATE_WIDTH:
                        raise ValueError(f"width {width} is larger than {_MAX_GENERATE_WIDTH}")
                base = match.group(3) or "d"
                i = match.end()
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((offset, width, base))
    if literal:
        parts.append("".join(literal))
    return parts


def _expand(template: _Template, counter: int) -> str:
    out: list[str] = []
    for part in template:
        if isinstance(part, str):
            out.append(part)
            continue
        offset, width, base = part
        value = counter + offset
        if not -(2**31) <= value < 2**31:
            raise ValueError(f"${{{offset}}} gives {value}, out of range (BIND counts in 32 bits)")
        if base == "d":
            out.append(format(value, base).zfill(width))
            continue
        # BIND writes the other bases from the unsigned 32-bit value, so a
        # negative offset wraps around (-976 in nibbles is 0.3.c.f.f.f.f.f).
        value &= 0xFFFFFFFF
        if base in "nN":
            out.append(_nibbles(value, width, base == "N"))
        else:
            out.append(format(value, base).zfill(width))
    return "".join(out)


# --------------------------------------------------------------------------- reader


_BAD_OWNER = dns.name.Name([])  # marks "the previous owner was invalid": its records are dropped


@dataclass(slots=True)
class _State:
    """What a ``$INCLUDE`` saves and restores (as dnspython's reader does)."""

    origin: dns.name.Name
    last_name: dns.name.Name | str | None  # str: absolute text set by the fast path
    last_ttl: int | None  # last TTL written on a record
    default_ttl: int | None  # from $TTL


class _Reader:
    def __init__(
        self,
        zone_origin: dns.name.Name,
        default_ttl: int,
        root: Path | None = None,
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
        # The lines hold all that is needed: a big file's text need not stay
        # in memory while its records are made.
        del data, text
        try:
            for entry in self._entries(lines, plain, display):
                self._entry(entry, path, display)
        finally:
            self.stack.pop()

    def _entries(self, lines: list[str], plain: bytearray, display: str) -> Iterator[_Entry]:
        """Logical lines of a file, with tokenizer problems attached.

        A plain one-line record (most lines of a big zone) never becomes an
        entry: the fast path below turns it into a record right away, without
        the tokenizer and, for the common types, without dnspython. It is
        written out in the loop, not as a method, because a call per line
        would add a tenth to the microsecond or two a line takes (a million
        records should load no slower than named-compilezone does it). The
        most common shape and RDATA are tried first. Anything unusual (escapes,
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
                        # -- fields: owner (None: blank), TTL, type and RDATA
                        if not plain[index]:
                            owner_text, ttl_text, type_text, rdata_text = _regex_fields(text)
                        else:
                            # The usual shapes first, "owner IN type rdata" and "owner
                            # ttl IN type rdata": splitting off the fields before the
                            # type leaves the RDATA as written, quoted strings whole.
                            parts = text.split(None, 3)
                            if len(parts) < 4 or text[0] in _BLANK:
                                owner_text, ttl_text, type_text, rdata_text = _split_fields(text)
                            elif parts[1] == "IN":
                                owner_text, _, type_text, rdata_text = parts
                                rdata_text = rdata_text.rstrip()  # CRLF files
                                ttl_text = None
                            elif parts[2] == "IN" and parts[1].isdigit():
                                owner_text, ttl_text, _, rest = parts
                                type_text, rdata_text = rest.split(None, 1)  # ValueError: 1 word
                                rdata_text = rdata_text.rstrip()
                            else:
                                owner_text, ttl_text, type_text, rdata_text = _split_fields(text)
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
                            # in the zone (rdtext.is_subdomain, for names without escapes)
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

                        # -- RDATA, canonical. The most common types are checked
                        # here without a call, with the verdicts of their checkers
                        # in zonesmith.rdata (see _OCTETS); the others by those.
                        if rdtype is _A:
                            a, b, c, d = rdata_text.split(".")  # ValueError: not 4 parts
                            if not (
                                a in _OCTETS and b in _OCTETS and c in _OCTETS and d in _OCTETS
                            ):
                                raise _NotFast
                            canonical = rdata_text
                        elif rdtype is _AAAA:
                            # other characters (an embedded IPv4 address): dnspython
                            if rdata_text.strip(_HEX_COLON):
                                raise _NotFast
                            canonical = inet_ntop(AF_INET6, inet_pton(AF_INET6, rdata_text))
                            if "." in canonical:
                                raise _NotFast
                        elif (
                            rdtype is _TXT
                            and len(rdata_text) <= _MAX_FAST_TXT
                            and _CANONICAL_TXT.fullmatch(rdata_text)
                        ):
                            canonical = rdata_text
                        else:
                            canonical = checker(rdata_text, origin)
                            if canonical is None:
                                raise _NotFast
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
                lineno = index + 1
                first = text[:1]
                if depth == 0:
                    entry = _Entry([], bool(first) and not first.isspace() and first not in ";(")
                    resync = None
                    size = 0
                    overlong = False
                elif resync is None and first and not first.isspace() and first not in ";)":
                    resync = index
                assert entry is not None
                tokens = entry.tokens
                size += len(text)
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
                    del tokens[1:]
                if depth == 0 and (tokens or entry.problems):
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

    # ----------------------------------------------------------------- entries

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

    def _name(
        self, token: _Token, display: str, *, report: bool = True, what: str = "name"
    ) -> dns.name.Name | None:
        text = token.text
        if token.quoted:
            if report:
                self.diagnostics.append(
                    error(
                        self._pos(token, display),
                        "bad-name",
                        f"invalid {what} {text}: a name cannot be a quoted string",
                    )
                )
            return None
        try:
            return dns.name.from_text(text, self.state.origin)
        except Exception as exc:  # dnspython raises several kinds; all mean "bad name"
            if report:
                self.diagnostics.append(
                    error(
                        self._pos(token, display),
                        "bad-name",
                        f"invalid {what} '{text}': {_name_reason(exc)}",
                    )
                )
            return None

    def _extra(self, tokens: list[_Token], after: str, display: str) -> None:
        if tokens:
            self.diagnostics.append(
                error(
                    self._pos(tokens[0], display),
                    "masterfile-syntax",
                    f"unexpected '{_short(tokens[0].text, 40)}' after {after}",
                )
            )

    # ----------------------------------------------------------------- directives

    def _directive(self, tokens: list[_Token], path: Path, display: str) -> None:
        head = tokens[0]
        word = head.text.upper()
        args = tokens[1:]
        where = self._pos(head, display)
        if word == "$ORIGIN":
            if not args:
                self._missing(head, display, "$ORIGIN needs a domain name")
                return
            name = self._name(args[0], display, what="$ORIGIN")
            self._extra(args[1:], "the $ORIGIN name", display)
            if name is not None:
                self.state.origin = name
                self.origin_changed = True
        elif word == "$TTL":
            if not args:
                self._missing(head, display, "$TTL needs a TTL, e.g. $TTL 1h")
                return
            ttl = self._ttl(args[0], display)
            self._extra(args[1:], "the $TTL value", display)
            if ttl is not None:
                self.state.default_ttl = ttl
        elif word == "$INCLUDE":
            self._include(head, args, path, display)
        elif word == "$GENERATE":
            self._generate(head, args, display)
        else:
            close = difflib.get_close_matches(word, _DIRECTIVES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.diagnostics.append(
                error(
                    where,
                    "masterfile-syntax",
                    f"unknown directive '{head.text}': expected one of "
                    f"{', '.join(_DIRECTIVES)}{hint}",
                )
            )

    def _missing(self, token: _Token, display: str, message: str) -> None:
        self.diagnostics.append(error(self._after(token, display), "masterfile-syntax", message))

    def _ttl(self, token: _Token, display: str) -> int | None:
        text = _unquote(token)
        try:
            return parse_ttl(text)
        except ValueError as exc:
            if (
                text.isascii()
                and text.isdigit()
                and len(text) <= 10
                and int(text) <= _MAX_TTL_FIELD
            ):
                # RFC 2181 8: a TTL with the top bit set is read as zero; BIND does so, warning.
                self.diagnostics.append(
                    warning(
                        self._pos(token, display),
                        "ttl-over-max",
                        f"TTL {text} is larger than {MAX_TTL} (2^31-1); it is read as 0, "
                        "as BIND does (RFC 2181 section 8)",
                    )
                )
                return 0
            self.diagnostics.append(error(self._pos(token, display), "bad-ttl", str(exc)))
            return None

    def _include(self, head: _Token, args: list[_Token], path: Path, display: str) -> None:
        where = self._pos(head, display)
        if not args:
            self._missing(head, display, "$INCLUDE needs a file name")
            return
        file_text = _unescape(_unquote(args[0]))
        origin = self.state.origin
        if len(args) > 1:
            name = self._name(args[1], display, what="$INCLUDE origin")
            if name is None:
                return
            origin = name
        self._extra(args[2:], "the $INCLUDE origin", display)
        # Relative to the including file, so a site reads the same from any working directory.
        target = Path(file_text)
        if not target.is_absolute():
            shown = str(Path(display).parent / file_text)
            target = path.parent / target
        else:
            shown = file_text
        try:
            resolved = target.resolve()
        except OSError:
            resolved = target
        if resolved in self.stack:
            self.diagnostics.append(
                error(where, "include-loop", f"'{shown}' includes itself (directly or indirectly)")
            )
            return
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            self.diagnostics.append(
                error(
                    where,
                    "include-depth",
                    f"$INCLUDE nested more than {MAX_INCLUDE_DEPTH} levels deep",
                )
            )
            return
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            if self.includes == MAX_INCLUDES + 1:  # once: the rest are skipped alike
                self.diagnostics.append(
                    error(
                        where,
                        "include-depth",
                        f"more than {MAX_INCLUDES} $INCLUDEs in one zone; "
                        "this one and any after it are skipped",
                    )
                )
            return
        saved = _State(
            self.state.origin, self.state.last_name, self.state.last_ttl, self.state.default_ttl
        )
        saved_changed = self.origin_changed
        self.state.origin = origin
        self.origin_changed = False
        try:
            self.read_file(target, shown, where)
        finally:
            # RFC 1035 5.1: an included file never changes the including file's origin.
            self.state = saved
            self.origin_changed = saved_changed

    # ----------------------------------------------------------------- records

    def _ttl_class(
        self, tokens: list[_Token], i: int, display: str
    ) -> tuple[int, int | None, bool]:
        """Read the optional TTL and class (either order) from ``tokens[i:]``.

        Returns the index of the type token, the explicit TTL (or None) and
        whether everything read was valid.
        """
        ttl: int | None = None
        seen_ttl = seen_class = False
        ok = True
        n = len(tokens)
        while i < n and not (seen_ttl and seen_class):
            token = tokens[i]
            if token.quoted:
                break
            text = token.text
            if not seen_ttl and text[0].isdigit():
                seen_ttl = True
                ttl = self._ttl(token, display)
                ok = ok and ttl is not None
            elif not seen_class and _CLASS_RE.fullmatch(text):
                seen_class = True
                try:
                    rdclass = dns.rdataclass.from_text(text)
                except Exception:
                    rdclass = None
                if rdclass != _IN:
                    ok = False
                    shown = dns.rdataclass.to_text(rdclass) if rdclass is not None else text
                    self.diagnostics.append(
                        error(
                            self._pos(token, display),
                            "bad-class",
                            f"class {shown} is not supported: zone data must be class IN",
                        )
                    )
            else:
                break
            i += 1
        return i, ttl, ok

    def _type(
        self, token: _Token, display: str, first_is_type: bool
    ) -> dns.rdatatype.RdataType | None:
        text = token.text
        rdtype: dns.rdatatype.RdataType | None
        try:
            rdtype = None if token.quoted else dns.rdatatype.from_text(text)
        except Exception:
            rdtype = None
        if rdtype is not None and not dns.rdatatype.is_metatype(rdtype) and rdtype != 0:
            return rdtype
        if rdtype is not None:
            message = f"'{text}' is a query or meta type and cannot appear in zone data"
        else:
            message = f"unknown record type '{text}'"
            close = difflib.get_close_matches(text.upper(), _KNOWN_TYPES, n=3, cutoff=0.6)
            if close:
                message += f"; did you mean {' or '.join(close)}?"
            if first_is_type:
                if text.startswith("$"):
                    message += " (directives must start in column 1)"
                else:
                    message += (
                        f" (the line starts with whitespace, so '{text}' is read as a type; "
                        "an owner name must start in column 1)"
                    )
        self.diagnostics.append(error(self._pos(token, display), "unknown-type", message))
        return None

    def _record(self, tokens: list[_Token], has_owner: bool, display: str) -> None:
        state = self.state
        first = tokens[0]
        position = self._pos(first, display)
        ok = True
        if has_owner:
            name = self._name(first, display, what="owner name")
            state.last_name = name if name is not None else _BAD_OWNER
            self.origin_changed = False
            ok = name is not None
            i = 1
        else:
            name = self._last_name()
            i = 0
            if name is None:
                self.diagnostics.append(
                    error(
                        position,
                        "masterfile-syntax",
                        "first record has no owner: the line starts with whitespace, which "
                        "repeats the previous owner, but there is none yet",
                    )
                )
                state.last_name = _BAD_OWNER  # report once, not for each following line
                ok = False
            elif name is _BAD_OWNER:
                ok = False  # already reported at the owner
            elif self.origin_changed:
                self.origin_changed = False
                self.diagnostics.append(
                    warning(
                        position,
                        "inherited-owner",
                        f"record with inherited owner '{name}' right after $ORIGIN "
                        f"{state.origin}; write the owner explicitly to avoid surprises",
                    )
                )
        if ok and name is not None and not name.is_subdomain(self.zone_origin):
            self.diagnostics.append(
                error(
                    position,
                    "out-of-zone",
                    f"'{name}' is outside zone '{self.zone_origin}'",
                )
            )
            ok = False

        i, ttl, ttl_ok = self._ttl_class(tokens, i, display)
        ok = ok and ttl_ok
        if i >= len(tokens):
            self._missing(tokens[-1], display, "record type missing")
            return
        type_token = tokens[i]
        rdtype = self._type(type_token, display, first_is_type=(i == 0))
        if rdtype is None:
            return
        rest = tokens[i + 1 :]
        text = _join(rest)
        at = self._pos(rest[0], display) if rest else self._after(type_token, display)
        parsed = self._rdata(rdtype, text, at)
        if parsed is None or not ok or name is None:
            return
        if ttl is not None:
            state.last_ttl = ttl
        else:
            ttl = self._implicit_ttl(display, position.line, position.column)
        canonical, rdata = parsed
        self.records.append(
            Record.new(name.to_text(), ttl, rdtype, canonical, None, position, "zone", rdata)
        )

    def _origin_text(self) -> str:
        """The current $ORIGIN as absolute text (cached: it rarely changes)."""
        return self._fast_context()[1]

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

    def _last_name(self) -> dns.name.Name | None:
        """The previous owner; the fast path keeps it as text until a slow line needs it."""
        last = self.state.last_name
        if isinstance(last, str):
            last = self.state.last_name = dns.name.from_text(last)
        return last

    def _implicit_ttl(self, display: str, line: int, column: int) -> int:
        """$TTL, else the last TTL written on a record (RFC 1035 5.1), else the caller's default.

        BIND would fall back to the SOA minimum; the caller passes that role
        in as ``default_ttl``. Where it is used, the first time, a warning says
        so (BIND warns too), since a file converted from BIND changes TTLs there.
        """
        state = self.state
        if state.default_ttl is not None:
            return state.default_ttl
        if state.last_ttl is not None:
            return state.last_ttl
        if not self.warned_no_ttl:
            self.warned_no_ttl = True
            self.diagnostics.append(
                warning(
                    Position(display, line, column),
                    "no-ttl",
                    f"no TTL given and no $TTL before this record: the site's default TTL "
                    f"{self.fallback_ttl} is used (BIND would use the SOA minimum); "
                    "start the file with $TTL",
                )
            )
        return self.fallback_ttl

    def _rdata(
        self, rdtype: dns.rdatatype.RdataType, text: str, at: Position, *, report: bool = True
    ) -> tuple[str, dns.rdata.Rdata | None] | None:
        """Canonical text and, when dnspython was needed, the object; None if invalid."""
        try:
            # Only long text or lists of names can exceed RDLENGTH; measuring
            # every record would cost a third of the parse time.
            if len(text) > 8000 or rdtype == dns.rdatatype.HIP:
                rdata = dns.rdata.from_text(
                    _IN, rdtype, text, origin=self.state.origin, relativize=False
                )
                rdtext.check(rdata)
                size = len(rdata.to_wire())
                if size > _MAX_RDATA:
                    raise ValueError(
                        f"the data is {size} octets, more than the {_MAX_RDATA} "
                        "that fit in a DNS message"
                    )
                return rdata.to_text(), rdata
            return rdtext.parse(rdtype, text, self._origin_text())
        except Exception as exc:  # dnspython raises many kinds; each means "bad rdata"
            if report:
                self.diagnostics.append(self._bad_rdata(rdtype, text, at, exc))
            return None

    @staticmethod
    def _bad_rdata(
        rdtype: dns.rdatatype.RdataType, text: str, at: Position, exc: BaseException
    ) -> Diagnostic:
        kind = dns.rdatatype.to_text(rdtype)
        return error(at, "bad-rdata", f"invalid {kind} data '{_short(text)}': {_reason(exc)}")

    # ----------------------------------------------------------------- $GENERATE

    def _generate(self, head: _Token, args: list[_Token], display: str) -> None:
        """``$GENERATE start-stop[/step] lhs [ttl] [class] type rhs``, as in BIND."""
        usage = "$GENERATE needs: start-stop[/step] lhs [ttl] [class] type rhs"
        if len(args) < 4:
            at = self._pos(args[-1], display) if args else self._after(head, display)
            self.diagnostics.append(error(at, "masterfile-syntax", usage))
            return
        range_token, lhs_token = args[0], args[1]
        match = _RANGE_RE.fullmatch(range_token.text)
        if match is None:
            self.diagnostics.append(
                error(
                    self._pos(range_token, display),
                    "masterfile-syntax",
                    f"bad $GENERATE range '{range_token.text}': expected start-stop[/step]",
                )
            )
            return
        start, stop = int(match.group(1)), int(match.group(2))
        step = int(match.group(3)) if match.group(3) else 1
        if start > stop or step < 1:
            self.diagnostics.append(
                error(
                    self._pos(range_token, display),
                    "masterfile-syntax",
                    f"bad $GENERATE range '{range_token.text}': start must not exceed stop "
                    "and step must be at least 1",
                )
            )
            return
        ok = True
        i, ttl, ttl_ok = self._ttl_class(args, 2, display)
        ok = ok and ttl_ok
        if i >= len(args) - 1:
            self.diagnostics.append(error(self._pos(args[-1], display), "masterfile-syntax", usage))
            return
        type_token, rhs_token = args[i], args[i + 1]
        rdtype = self._type(type_token, display, first_is_type=False)
        if rdtype is None:
            return
        if len(args) > i + 2:
            self.diagnostics.append(
                error(
                    self._pos(args[i + 2], display),
                    "masterfile-syntax",
                    f"unexpected '{_short(args[i + 2].text, 40)}' after the $GENERATE "
                    "right-hand side; quote the rdata if it has spaces",
                )
            )
            return
        templates: list[_Template] = []
        for token in (lhs_token, rhs_token):
            try:
                templates.append(_compile_template(_unquote(token)))
            except ValueError as exc:
                self.diagnostics.append(
                    error(self._pos(token, display), "masterfile-syntax", f"$GENERATE: {exc}")
                )
                ok = False
        count = (stop - start) // step + 1
        if count > MAX_GENERATE:
            self.diagnostics.append(
                error(
                    self._pos(range_token, display),
                    "generate-limit",
                    f"$GENERATE range '{range_token.text}' makes {count} records; "
                    f"at most {MAX_GENERATE} are allowed",
                )
            )
            return
        if not ok:
            return
        lhs, rhs = templates
        position = self._pos(lhs_token, display)
        if ttl is None:
            ttl = self._implicit_ttl(display, position.line, position.column)
        else:
            self.state.last_ttl = ttl
        rhs_at = self._pos(rhs_token, display)
        # One report per kind of failure, not one per generated record.
        failures: dict[str, tuple[Diagnostic, int]] = {}

        def fail(rule: str, diagnostic: Diagnostic) -> None:
            first, n = failures.get(rule, (diagnostic, 0))
            failures[rule] = (first, n + 1)

        origin = self.state.origin
        origin_text = self._origin_text()
        for counter in range(start, stop + 1, step):
            try:
                owner_text = _expand(lhs, counter)
                name = dns.name.from_text(owner_text, origin)
            except Exception as exc:
                fail(
                    "bad-name",
                    error(
                        position,
                        "bad-name",
                        f"$GENERATE owner for {counter} is invalid: {_name_reason(exc)}",
                    ),
                )
                continue
            if not name.is_subdomain(self.zone_origin):
                fail(
                    "out-of-zone",
                    error(
                        position,
                        "out-of-zone",
                        f"'{name}' is outside zone '{self.zone_origin}'",
                    ),
                )
                continue
            try:
                rdata_text = _expand(rhs, counter)
            except ValueError as exc:
                fail("bad-rdata", error(rhs_at, "masterfile-syntax", f"$GENERATE: {exc}"))
                continue
            try:
                canonical, rdata = rdtext.parse(rdtype, rdata_text, origin_text)
            except Exception as exc:
                fail("bad-rdata", self._bad_rdata(rdtype, rdata_text, rhs_at, exc))
                continue
            self.records.append(
                Record.new(name.to_text(), ttl, rdtype, canonical, None, position, "zone", rdata)
            )
        for diagnostic, n in failures.values():
            if n > 1:
                diagnostic = error(
                    diagnostic.position,
                    diagnostic.rule,
                    f"{diagnostic.message} (and {n - 1} more generated records)",
                )
            self.diagnostics.append(diagnostic)


def read_masterfile(
    path: Path,
    origin: dns.name.Name,
    default_ttl: int,
    *,
    display_path: str | None = None,
    data: bytes | None = None,
    root: Path | None = None,
    max_bytes: int = MAX_ZONE_BYTES,
) -> tuple[list[Record], list[Diagnostic]]:
    """Read a master file for zone ``origin``: its valid records and every problem found.

    ``default_ttl`` is used for records without a TTL when neither ``$TTL``
    nor an earlier record gave one (BIND would use the SOA minimum).
    ``display_path`` is what diagnostics show as the file name (default
    ``str(path)``); files it includes are shown relative to it. ``data`` is
    the file's content if the caller has read it already. ``root`` is the
    folder (the site) no file may be read outside of, the file itself
    included, links resolved; ``max_bytes`` bounds what the file and its
    includes may hold together.
    """
    reader = _Reader(origin, default_ttl, None if root is None else real_root(root), max_bytes)
    display = display_path if display_path is not None else str(path)
    reader.read_file(Path(path), display, None, data)
    return reader.records, reader.diagnostics

"""The tokens and fields of master-file lines, with a fast path for plain lines."""

from __future__ import annotations

import re
from operator import not_
from typing import NamedTuple

_MAX_UNBALANCED_RESCANS = 20  # bounds the work spent recovering from unclosed '('


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
# skip the tokenizer and, for the common types, dnspython (see zonesmith.presentation
# and reader._Reader._entries). Lines without comments, parentheses or escapes (see
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
# the same and any character not ASCII, as one class (one search, not two)
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

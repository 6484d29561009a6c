"""Flat zone files (one-line values) read without PyYAML, with the same records and positions."""

from __future__ import annotations

import re

from zonesmith.declared import RecordSpec

# Anything but printable ASCII and line feeds (tabs, CR, control characters, DEL,
# UTF-8) makes YAML's rules subtle enough to leave the file to PyYAML.
_FLAT_CHARACTERS = b"\n" + bytes(range(0x20, 0x7F))
# The common line, `key: value` with a plain key (shorter than YAML's limit for
# implicit keys), one space and a one-line value (quoted without escapes, or plain
# with single spaces, no ': ' or ' #', not null), split into key and value; any
# other line is the last group, whole.
_FLAT_LINE = re.compile(
    r"^([A-Za-z0-9_][^ :#,\[\]{}'\"\n]{0,998}): ('[^'\n]*'|\"[^\"\\\n]*\""
    r"|(?!(?:~|null|Null|NULL)$)[^-?:,\[\]{}#&*!|>'\"%@` \n](?:[^#: \n]|:(?! |$)| (?![ #]|$))*)$"
    r"|^(.*)$",
    re.MULTILINE,
)
# A plain key: a conservative subset of what YAML reads as one (no spaces, no
# indicators); anything else, quoted keys aside, goes to PyYAML.
_FLAT_KEY = re.compile(r"[A-Za-z0-9_][^ :#,\[\]{}'\"]*")
# Characters that may not start a plain scalar (or start something else).
_FLAT_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# A plain scalar inside [ ]: it ends at ',' or ']'; '#', '?' and ':' before a space
# or an indicator make it subtle (and libyaml and PyYAML differ on some of them).
_FLAT_FLOW_PLAIN = re.compile(r"(?:[^,\[\]{}#:?]|:(?=[^ ,\[\]{}?]))*")
# Plain scalars that YAML reads as null.
_FLAT_NULLS = frozenset(("~", "null", "Null", "NULL"))
# An implicit key longer than this is an error for libyaml (1024); stay well below.
_FLAT_KEY_LIMIT = 1000


def _flat_scalar(line: str, start: int) -> tuple[str, int] | None:
    """A one-line scalar value at ``start``, and the 1-based column of its text.

    The text of a quoted scalar starts one column after the quote.
    """
    if line[start] == "'" or line[start] == '"':
        quoted = _flat_quoted(line, start)
        if quoted is None or not _flat_tail(line, quoted[1]):
            return None
        return quoted[0], start + 2
    plain = _flat_plain(line, start)
    return None if plain is None else (plain, start + 1)


def _flat_quoted(line: str, start: int) -> tuple[str, int] | None:
    """A one-line quoted scalar at ``line[start]``: (its text, the index after it), or None."""
    if line[start] == "'":
        end = line.find("'", start + 1)
        while end >= 0 and line.startswith("'", end + 1):  # '' stands for '
            end = line.find("'", end + 2)
        if end < 0:
            return None
        return line[start + 1 : end].replace("''", "'"), end + 1
    end = line.find('"', start + 1)
    if end < 0 or "\\" in line[start + 1 : end]:
        return None
    return line[start + 1 : end], end + 1


def _flat_tail(line: str, end: int) -> bool:
    """Whether only spaces and perhaps a comment follow a value ending at ``end``."""
    if end == len(line):
        return True
    if line[end] != " ":
        return False
    rest = line[end:].lstrip(" ")
    return not rest or rest[0] == "#"


def _flat_plain(line: str, start: int) -> str | None:
    """The plain scalar from ``line[start]`` to the end of the line (or a comment), or None."""
    if line[start] in _FLAT_INDICATORS:
        return None
    comment = line.find(" #", start)
    text = (line[start:] if comment < 0 else line[start:comment]).rstrip(" ")
    if ": " in text or text[-1] == ":" or text in _FLAT_NULLS:
        return None
    return text


def _flat_flow(line: str, start: int) -> tuple[list[tuple[str, int]], int] | None:
    """The items of a one-line ``[a, 'b']`` at ``line[start]``, with their text columns
    (1-based), and the index after the ``]``; or None."""
    items: list[tuple[str, int]] = []
    size = len(line)
    pos = start + 1
    while pos < size and line[pos] == " ":
        pos += 1
    if pos < size and line[pos] == "]":
        return items, pos + 1
    while pos < size:
        char = line[pos]
        if char == "'" or char == '"':
            quoted = _flat_quoted(line, pos)
            if quoted is None:
                return None
            text, end = quoted
            items.append((text, pos + 2))
        else:
            if char in _FLAT_INDICATORS:
                return None
            end = _FLAT_FLOW_PLAIN.match(line, pos).end()  # type: ignore[union-attr]
            text = line[pos:end].rstrip(" ")
            if text in _FLAT_NULLS:
                return None
            items.append((text, pos + 1))
        pos = end
        while pos < size and line[pos] == " ":
            pos += 1
        if pos >= size:
            return None
        if line[pos] == "]":
            return items, pos + 1
        if line[pos] != ",":
            return None
        pos += 1
        while pos < size and line[pos] == " ":
            pos += 1
        if pos < size and line[pos] in ",]":
            return None
    return None


def read_flat_zone(
    data: bytes, display: str
) -> tuple[list[RecordSpec], list[tuple[str, int, int, int]]] | None:
    """The record specs of a flat zone file, read without PyYAML; None if it is not flat.

    Flat means a mapping at the left margin whose values are one-line
    scalars (plain or quoted, without escapes), one-line ``[...]`` lists of
    such scalars, or block lists (``- record`` lines) of them; comments and
    blank lines anywhere. That is what generated zones of a million records
    look like, and PyYAML would build a node for each of their values. The
    specs and their positions are exactly those that
    :meth:`zonesmith.site.declarations.SetsSection.record_specs` gives for
    PyYAML's nodes of the same text; anything this reader is not sure of
    (other YAML, odd characters, nulls, what YAML would reject) returns None
    so that PyYAML reads the file and reports what is wrong.

    Also returns the repeated keys, as (key, line, column, line of the first),
    whose records are left out as
    :meth:`zonesmith.site.yaml_nodes.NodeReader.mapping` leaves them out.
    """
    # Over 80 lines: One loop over the lines whose state (the owner, an open list) stays in
    # local variables: a call per line would slow the reading of the biggest zones.
    if data.translate(None, _FLAT_CHARACTERS):
        return None  # not printable ASCII and line feeds: tabs, CR, controls, UTF-8
    specs: list[RecordSpec] = []
    append = specs.append
    duplicates: list[tuple[str, int, int, int]] = []
    seen: dict[str, int] = {}
    first_seen = seen.setdefault
    match_key = _FLAT_KEY.match
    key = ""
    key_line = 0
    drop = False  # the current key is repeated: its records are left out
    pending = False  # the current key has no value on its line: a block list must follow
    items = 0  # entries of that block list so far
    item_indent = -1
    lineno = 0
    # One match per line: the common `key: value` split up, or else the whole line.
    for key_text, value, line in _FLAT_LINE.findall(data.decode("ascii")):
        lineno += 1
        if key_text:
            if pending:
                if not items:
                    return None  # the key before has no value: null
                pending = False
            quote = value[0]
            if quote == "'" or quote == '"':
                value, column = value[1:-1], len(key_text) + 4
            else:
                column = len(key_text) + 3
            first_line = first_seen(key_text, lineno)
            if first_line == lineno:
                append((key_text, lineno, 1, value, lineno, column, None, None, display))
            else:
                duplicates.append((key_text, lineno, 1, first_line))
            continue
        if not line:
            continue
        first = line[0]
        if first == "#":
            continue
        if first == " " or (first == "-" and pending):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            if not pending:
                return None  # a continuation line or a nested block
            indent = len(line) - len(content)
            if (items and indent != item_indent) or content[:2] != "- ":
                return None
            item_indent = indent
            items += 1
            start = indent + 2
            while start < len(line) and line[start] == " ":
                start += 1
            if start == len(line):
                return None
            scalar = _flat_scalar(line, start)
            if scalar is None:
                return None
            value, column = scalar
            if not drop:
                append((key, key_line, 1, value, lineno, column, None, None, display))
            continue
        if pending:
            if not items:
                return None  # a key without a value: null
            pending = False
        # A key at the left margin.
        if first == "'" or first == '"':
            quoted = _flat_quoted(line, 0)
            if quoted is None:
                return None
            key, pos = quoted
        else:
            match = match_key(line)
            if match is None:
                return None
            pos = match.end()
            key = line[:pos]
        if pos > _FLAT_KEY_LIMIT:
            return None
        size = len(line)
        while pos < size and line[pos] == " ":
            pos += 1
        if pos == size or line[pos] != ":":
            return None
        pos += 1
        if pos < size and line[pos] != " ":
            return None
        while pos < size and line[pos] == " ":
            pos += 1
        key_line = lineno
        first_line = first_seen(key, lineno)
        drop = first_line != lineno
        if drop:
            duplicates.append((key, lineno, 1, first_line))
        if pos == size or line[pos] == "#":
            pending = True
            items = 0
            continue
        char = line[pos]
        if char == "[":
            flow = _flat_flow(line, pos)
            if flow is None or not _flat_tail(line, flow[1]):
                return None
            if not drop:
                for value, column in flow[0]:
                    append((key, lineno, 1, value, lineno, column, None, None, display))
            continue
        scalar = _flat_scalar(line, pos)
        if scalar is None:
            return None
        value, column = scalar
        if not drop:
            append((key, lineno, 1, value, lineno, column, None, None, display))
    if pending and not items:
        return None
    return specs, duplicates

"""BIND's $GENERATE templates: ranges, modifiers and their expansion."""

from __future__ import annotations

import re

MAX_GENERATE = 65536
"""Records one ``$GENERATE`` may produce; a typo in a range must not eat all memory."""

_MAX_GENERATE_WIDTH = 127  # BIND formats each substitution into a 128-byte buffer


_RANGE_RE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
_MODIFIER_RE = re.compile(r"\{([+-]?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}")


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

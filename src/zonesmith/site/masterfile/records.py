"""One master-file record: its owner, TTL, class, type and RDATA, read from its tokens."""

from __future__ import annotations

import difflib
import re

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith import presentation
from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.model import Record
from zonesmith.site.masterfile.state import _BAD_OWNER, _name_reason, _reason, _short
from zonesmith.site.masterfile.tokenizer import (
    _join,
    _Token,
)

# A record must fit a 65535-octet message with a 12-octet header, a root owner
# and the 10 octets of type, class, TTL and length: 65512 octets of data at
# most. BIND 9.18, which loads what zonesmith writes, already refuses 65512
# ("ran out of space"), so the limit follows it.
_MAX_RDATA = 65511


_CLASS_RE = re.compile(r"(?:IN|CH|CHAOS|HS|HESIOD|NONE|ANY|CLASS\d+)", re.IGNORECASE)


_KNOWN_TYPES = sorted(
    t.name
    for t in dns.rdatatype.RdataType
    if not dns.rdatatype.is_metatype(t) and t != dns.rdatatype.NONE
)


_IN = dns.rdataclass.IN


class RecordReader:
    """Reads a record's fields, reporting each problem at its token."""

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
            # Only long text or lists of names can exceed RDLENGTH, so only
            # they are measured.
            if len(text) > 8000 or rdtype == dns.rdatatype.HIP:
                rdata = dns.rdata.from_text(
                    _IN, rdtype, text, origin=self.state.origin, relativize=False
                )
                presentation.check(rdata)
                size = len(rdata.to_wire())
                if size > _MAX_RDATA:
                    raise ValueError(
                        f"the data is {size} octets, more than the {_MAX_RDATA} "
                        "that fit in a DNS message"
                    )
                return rdata.to_text(), rdata
            return presentation.parse(rdtype, text, self._origin_text())
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

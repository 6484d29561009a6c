"""Master-file directives: $ORIGIN, $TTL, $INCLUDE and $GENERATE, as the reader meets them."""

from __future__ import annotations

import difflib
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith import presentation
from zonesmith.diagnostics import Diagnostic, error, warning
from zonesmith.model import Record
from zonesmith.site.masterfile.generate import (
    _RANGE_RE,
    MAX_GENERATE,
    _compile_template,
    _expand,
    _Template,
)
from zonesmith.site.masterfile.state import _name_reason, _short, _State
from zonesmith.site.masterfile.tokenizer import (
    _Token,
    _unescape,
    _unquote,
)
from zonesmith.site.values import MAX_TTL, parse_ttl

_MAX_TTL_FIELD = 2**32 - 1  # what the 32-bit TTL field holds; BIND reads more as an error

MAX_INCLUDE_DEPTH = 20
"""BIND refuses deeper nesting too; deeper is almost always a file including itself."""

MAX_INCLUDES = 10000
"""``$INCLUDE``s one zone may read: bounds a tree of files each including the next ones twice."""


_DIRECTIVES = ("$ORIGIN", "$TTL", "$INCLUDE", "$GENERATE")


class DirectivesReader:
    """Reads the directives of a master file into the reader's state."""

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

    def _generate(self, head: _Token, args: list[_Token], display: str) -> None:
        """``$GENERATE start-stop[/step] lhs [ttl] [class] type rhs``, as in BIND."""
        # Over 80 lines: BIND's checks of a $GENERATE, in the order BIND makes them, then its
        # expansion.
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
                canonical, rdata = presentation.parse(rdtype, rdata_text, origin_text)
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

"""BIND's ``named.conf`` grammar: the tokenizer and the parser into statements, includes
expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.site.files import display_path

MAX_CONF_INCLUDE_DEPTH = 20
MAX_CONF_NESTING = 64


@dataclass(frozen=True, slots=True)
class ConfToken:
    """A word, a quoted string (quotes removed) or one of ``{ } ;``."""

    text: str
    kind: str  # "word", "string", "{", "}", ";"
    position: Position

    @property
    def is_word(self) -> bool:
        return self.kind in ("word", "string")


def tokenize_named_conf(text: str, display: str) -> tuple[list[ConfToken], list[Diagnostic]]:
    """The tokens of a BIND configuration: ``//``, ``#`` and ``/* */`` comments are skipped."""
    tokens: list[ConfToken] = []
    problems: list[Diagnostic] = []
    i, n, line, line_start = 0, len(text), 1, 0

    def at(offset: int) -> Position:
        return Position(display, line, offset - line_start + 1)

    while i < n:  # every branch moves i forward
        c = text[i]
        if c == "\n":
            line, line_start, i = line + 1, i + 1, i + 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                problems.append(
                    error(at(i), "conf-syntax", "comment '/*' is never closed; add '*/'")
                )
                break
            newlines = text.count("\n", i, end)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", i, end) + 1
            i = end + 2
        elif c in "{};":
            tokens.append(ConfToken(c, c, at(i)))
            i += 1
        elif c == '"':
            position = at(i)
            chars = []
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line, line_start = line + 1, j + 1
                chars.append(text[j])
                j += 1
            if j >= n:
                problems.append(
                    error(position, "conf-syntax", "string is never closed; add the closing '\"'")
                )
                break
            tokens.append(ConfToken("".join(chars), "string", position))
            i = j + 1
        else:
            start = i
            while (
                i < n
                and text[i] not in ' \t\r\f\v\n{};"#'
                and not text.startswith("//", i)
                and not text.startswith("/*", i)
            ):
                i += 1
            tokens.append(ConfToken(text[start:i], "word", at(start)))
    return tokens, problems


# --------------------------------------------------------------------------
# named.conf: parser (statement := (word | block)* ';')


@dataclass
class ConfBlock:
    statements: list[ConfStatement]
    position: Position


@dataclass
class ConfStatement:
    parts: list[ConfToken | ConfBlock]
    position: Position

    @property
    def words(self) -> list[ConfToken]:
        return [p for p in self.parts if isinstance(p, ConfToken)]

    @property
    def keyword(self) -> str:
        first = self.parts[0] if self.parts else None
        return first.text.lower() if isinstance(first, ConfToken) else ""

    @property
    def block(self) -> ConfBlock | None:
        return next((p for p in self.parts if isinstance(p, ConfBlock)), None)

    def arg(self, index: int) -> str | None:
        words = self.words
        return words[index].text if len(words) > index else None

    def describe(self) -> str:
        """The statement's keyword and first argument, never its contents (they may be secret)."""
        words = [w.text for w in self.words[:2]]
        if len(words) == 2 and self.words[1].kind == "string":
            words[1] = f'"{words[1]}"'
        return " ".join(words) or "{ ... }"


#: Statements whose block ends them: a missing ';' after their '}' is reported there.
_BLOCK_STATEMENTS = frozenset(
    {
        "options", "view", "zone", "key", "acl", "logging", "controls", "masters", "primaries",
        "server", "statistics-channels", "trust-anchors", "managed-keys", "trusted-keys",
        "dnssec-policy", "tls", "http", "dlz", "dyndb", "key-store", "remote-servers",
    }
)  # fmt: skip


class ConfParser:
    """Parses one file and the files it includes into statements, reporting every problem."""

    def __init__(self, top: Path):
        self.top = top
        self.diagnostics: list[Diagnostic] = []
        self.stack: list[Path] = []

    def parse_file(self, path: Path, where: Position | None = None) -> list[ConfStatement]:
        display = display_path(path)
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            self.diagnostics.append(
                error(
                    where or Position(display),
                    "unreadable-file",
                    f"cannot read {display}: {exc.strerror}",
                )
            )
            return []
        resolved = path.resolve()
        if resolved in self.stack or len(self.stack) >= MAX_CONF_INCLUDE_DEPTH:
            self.diagnostics.append(
                error(
                    where or Position(display),
                    "include-loop",
                    f"{display} includes itself (or includes nest too deep)",
                )
            )
            return []
        tokens, problems = tokenize_named_conf(text, display)
        self.diagnostics += problems
        self.stack.append(resolved)
        try:
            self.tokens, self.i = tokens, 0
            statements = self._block(None, 0)
            return self._expand_includes(statements, path)
        finally:
            self.stack.pop()

    def _expand_includes(self, statements: list[ConfStatement], path: Path) -> list[ConfStatement]:
        expanded = []
        for statement in statements:
            if statement.keyword == "include":
                target = statement.arg(1)
                if target is None:
                    self.diagnostics.append(
                        error(statement.position, "conf-syntax", "include needs a file name")
                    )
                    continue
                included = Path(target)
                if not included.is_absolute():
                    candidates = [self.top.parent / included, path.parent / included]
                    included = next((c for c in candidates if c.exists()), candidates[0])
                expanded += self.parse_file(included, statement.position)
                continue
            block = statement.block
            if block is not None:
                block.statements = self._expand_includes(block.statements, path)
            expanded.append(statement)
        return expanded

    def _block(self, opening: ConfToken | None, depth: int) -> list[ConfStatement]:
        statements: list[ConfStatement] = []
        tokens = self.tokens
        while self.i < len(tokens):
            token = tokens[self.i]
            if token.kind == "}":
                self.i += 1
                if opening is not None:
                    return statements
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "'}' without a matching '{'")
                )
            elif token.kind == ";":
                self.i += 1
            else:
                statements.append(self._statement(depth))
        if opening is not None:
            self.diagnostics.append(
                error(opening.position, "conf-syntax", "'{' is never closed; add '};'")
            )
        return statements

    def _statement(self, depth: int) -> ConfStatement:
        tokens = self.tokens
        parts: list[ConfToken | ConfBlock] = []
        start = tokens[self.i].position
        while self.i < len(tokens):
            token = tokens[self.i]
            if token.kind == ";":
                self.i += 1
                return ConfStatement(parts, start)
            if token.kind == "}":
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "missing ';' before '}'")
                )
                return ConfStatement(parts, start)
            self.i += 1
            if token.kind != "{":
                parts.append(token)
                continue
            if depth >= MAX_CONF_NESTING:
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "blocks nest too deep")
                )
                return ConfStatement(parts, start)
            parts.append(ConfBlock(self._block(token, depth + 1), token.position))
            statement = ConfStatement(parts, start)
            following = tokens[self.i] if self.i < len(tokens) else None
            if statement.keyword in _BLOCK_STATEMENTS and (
                following is None or following.kind != ";"
            ):
                closing = tokens[self.i - 1].position
                self.diagnostics.append(
                    error(closing, "conf-syntax", f"missing ';' after '}}' of {statement.keyword}")
                )
                return statement
        self.diagnostics.append(error(start, "conf-syntax", "missing ';' at the end of the file"))
        return ConfStatement(parts, start)


def statement_text(statement: ConfStatement) -> str:
    """The statement as named.conf text on one line, blocks included."""
    out = []
    for part in statement.parts:
        if isinstance(part, ConfToken):
            out.append(part.text)
        else:
            out.append("{ " + " ".join(statement_text(s) + ";" for s in part.statements) + " }")
    return " ".join(out)


def parse_named_conf(path: Path) -> tuple[list[ConfStatement], list[Diagnostic]]:
    parser = ConfParser(path)
    statements = parser.parse_file(path)
    return statements, parser.diagnostics

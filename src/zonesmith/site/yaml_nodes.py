"""PyYAML nodes read with their positions: the node access every section reader uses."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

from zonesmith.diagnostics import Position, error, warning
from zonesmith.model import (
    Reference,
)
from zonesmith.site.files import SITE_FILE, display_path
from zonesmith.site.limits import (
    MAX_LINE_BYTES,
    MAX_SITE_FILE_BYTES,
    ReadRefused,
    read_bounded,
    size_text,
)
from zonesmith.site.values import (
    config_name_problem,
    describe_name_error,
    identifier_problem,
    parse_duration,
    parse_ttl,
)


def _imported_when_used(name: str) -> types.ModuleType:
    """Module ``name``, executed when first used (the importlib documentation's recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, f"{name} is a dependency"
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


# A rebuild whose zonesmith.yaml is cached and whose changed zone files are
# flat (see read_flat_zone) parses no YAML, so it does not import PyYAML.
yaml = _imported_when_used("yaml")


def _yaml_loader() -> type:
    """PyYAML's loader written in C when it has one."""
    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


MAX_NESTING = 100
"""How deep a YAML file may nest: far above any site, far below what crashes PyYAML.

PyYAML composes nested collections by recursion: its C composer overflows
the stack (the process dies) and its Python one raises RecursionError on a
file nested some ten thousand, resp. a few hundred, levels deep.
"""

_MAX_INDENT = 4 * MAX_NESTING  # columns of indentation: block nesting
_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
# A quoted scalar on one line (a bracket in it is text, not nesting).
_QUOTED = re.compile(rb'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
# '- - - x' and '? ? x' nest collections on one line, without indentation: seen
# as '- ' runs once indicators are '-', blanks ' ' and every other byte 'x'.
_COMPACT = bytes(
    ord("-") if c in b"-?" else ord(" ") if c in b" \t" else ord("x") for c in range(256)
)


def nesting_problem(data: bytes) -> str | None:
    """Why a YAML file is nested too deeply for PyYAML to compose it safely, or None.

    Looks at the bytes only, at C speed: flow collections ([ ] and { },
    innermost pairs taken away a level per pass), indentation (block
    collections) and runs of '- ' or '? ' (compact ones). Brackets that seem
    too deep are counted again without the quoted strings of each line, so
    brackets written in TXT data are not taken for nesting.
    """
    if _too_deep_brackets(data) and _too_deep_brackets(_QUOTED.sub(b"", data)):
        return f"brackets nest more than {MAX_NESTING} levels deep"
    indent = b" " * (_MAX_INDENT + 1)
    if data.startswith(indent) or b"\n" + indent in data:
        return f"a line is indented more than {_MAX_INDENT} columns"
    compact = data.translate(_COMPACT)
    while b"  " in compact:  # blank runs halve each pass: a few passes
        compact = compact.replace(b"  ", b" ")
    if b"- " * (MAX_NESTING + 1) in compact:
        return f"more than {MAX_NESTING} '- ' or '? ' in a row nest that deep"
    return None


def _too_deep_brackets(data: bytes) -> bool:
    """Whether brackets of ``data`` nest more than MAX_NESTING deep, quotes or not."""
    flow = data.translate(_AS_SQUARE, _BRACKETS)
    for _ in range(MAX_NESTING):
        inner = flow.replace(b"[]", b"")
        if len(inner) == len(flow):
            return False
        flow = inner
    return b"[]" in flow


def _text_shift(node: yaml.ScalarNode) -> int:
    """From a scalar's 0-based start column to the 1-based column where its text starts."""
    # A quoted scalar's text starts one column after the quote.
    return 2 if node.style in ("'", '"') else 1


@dataclass
class SourceFile:
    """A YAML file being read, and how its name is shown in diagnostics."""

    path: Path
    display: str

    def at(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.display, mark.line + 1, mark.column + 1)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == "tag:yaml.org,2002:null":
        return "empty"
    return f"'{node.value}'"


class NodeReader:
    """Reads YAML nodes into values, reporting what is wrong at the node's position."""

    def error(self, position: Position, rule: str, message: str) -> None:
        self.diagnostics.append(error(position, rule, message))

    def warning(self, position: Position, rule: str, message: str) -> None:
        self.diagnostics.append(warning(position, rule, message))

    def compose(
        self, path: Path, display: str | None = None, data: bytes | None = None
    ) -> tuple[SourceFile, yaml.Node | None]:
        """A YAML file's node tree (None: not read, or not YAML; reported). ``data`` is its
        content once read within the bounds; else it is read here, as zonesmith.yaml."""
        source = SourceFile(path, display_path(path) if display is None else display)
        if data is None:
            data = self.read(path, source.display, MAX_SITE_FILE_BYTES, f"a {SITE_FILE}")
            if data is None:
                return source, None
        problem = nesting_problem(data)
        if problem is not None:
            self.error(
                Position(source.display),
                "yaml-too-deep",
                f"the YAML is nested too deeply: {problem}; no site needs more than "
                f"{MAX_NESTING} levels, and PyYAML cannot read it safely",
            )
            return source, None
        try:
            return source, yaml.compose(data, Loader=_yaml_loader())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            position = (
                Position(source.display, mark.line + 1, mark.column + 1)
                if mark
                else Position(source.display)
            )
            problem = exc.problem or exc.context or "malformed YAML"
            self.error(position, "yaml-syntax", f"malformed YAML: {problem}")
        except yaml.YAMLError as exc:
            self.error(Position(source.display, 1, 1), "yaml-syntax", f"malformed YAML: {exc}")
        except UnicodeDecodeError as exc:
            self.error(Position(source.display), "yaml-syntax", f"not UTF-8 text: {exc}")
        return source, None

    def read(
        self, path: Path, display: str, limit: int, what: str, data: bytes | None = None
    ) -> bytes | None:
        """A YAML file of the site (``what``, for the size limit's message), read within
        the bounds of zonesmith.site.limits; None: refused, and reported. ``data`` is its
        content, if already read: it is then only checked."""
        try:
            content = read_bounded(
                path,
                limit,
                root=self.real_root,
                data=data,
                too_big=f"it is larger than {size_text(limit)}, the most {what} may hold",
            )
        except ReadRefused as refused:
            self.error(
                Position(display),
                refused.rule or "unreadable-file",
                f"cannot read: {refused.reason}",
            )
            return None
        for line in content.long_lines:
            self.error(
                Position(display, line, 1),
                "line-too-long",
                f"line longer than {size_text(MAX_LINE_BYTES)}: no value is that long "
                "(a record holds at most 65535 octets); the line is skipped",
            )
        return content.data

    def mapping(
        self,
        source: SourceFile,
        node: yaml.Node | None,
        allowed: tuple[str, ...] | None,
        where: str,
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping node, reporting unknown and repeated keys.

        ``allowed`` None accepts any key (the key is then a user's name, such
        as a zone or view name). Returns key text -> (key node, value node).
        """
        if node is None or node.tag == "tag:yaml.org,2002:null":
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(
                source.at(node), "bad-value", f"{where} must be a mapping, not {_kind(node)}"
            )
            return {}
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(source.at(key_node), "bad-value", f"a key in {where} must be text")
                continue
            key = key_node.value
            if key in entries:
                first = source.at(entries[key][0])
                self.error(
                    source.at(key_node),
                    "duplicate-key",
                    f"'{key}' is given twice in {where} (first at line {first.line}); "
                    "merge the two entries",
                )
                continue
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else "expected one of " + ", ".join(allowed)
                )
                self.error(
                    source.at(key_node), "unknown-key", f"unknown key '{key}' in {where}; {hint}"
                )
                continue
            entries[key] = (key_node, value_node)
        return entries

    def scalar(self, source: SourceFile, node: yaml.Node, what: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            return str(node.value)
        self.error(
            source.at(node), "bad-value", f"{what} must be a single value, not {_kind(node)}"
        )
        return None

    def scalars(self, source: SourceFile, node: yaml.Node, what: str) -> list[tuple[str, Position]]:
        """A list of scalars; a single scalar counts as a list of one."""
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            return [(str(node.value), source.at(node))]
        if isinstance(node, yaml.SequenceNode):
            values = []
            for item in node.value:
                text = self.scalar(source, item, f"each entry of {what}")
                if text is not None:
                    values.append((text, source.at(item)))
            return values
        self.error(source.at(node), "bad-value", f"{what} must be a list, not {_kind(node)}")
        return []

    def references(self, source: SourceFile, node: yaml.Node, what: str) -> tuple[Reference, ...]:
        return tuple(Reference(text, pos) for text, pos in self.scalars(source, node, what))

    def duration(
        self, source: SourceFile, node: yaml.Node, what: str, *, ttl: bool = False
    ) -> int | None:
        text = self.scalar(source, node, what)
        if text is None:
            return None
        try:
            return parse_ttl(text) if ttl else parse_duration(text)
        except ValueError as exc:
            self.error(source.at(node), "bad-ttl" if ttl else "bad-duration", f"{what}: {exc}")
            return None

    def boolean(self, source: SourceFile, node: yaml.Node, what: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on")
        self.error(source.at(node), "bad-value", f"{what} must be true or false, not {_kind(node)}")
        return None

    def absolute_name(self, source: SourceFile, node: yaml.Node, what: str) -> dns.name.Name | None:
        text = self.scalar(source, node, what)
        if text is None:
            return None
        try:
            return dns.name.from_text(text)
        except dns.exception.DNSException as exc:
            self.error(source.at(node), "bad-name", f"{what}: {describe_name_error(text, exc)}")
            return None

    def identifier(self, source: SourceFile, key_node: yaml.Node, kind: str, name: str) -> bool:
        """Whether ``name`` may name a ``kind`` (see identifier_problem), reporting why not."""
        problem = identifier_problem(name)
        if problem is not None:
            self.error(source.at(key_node), "bad-identifier", f"{kind} name {problem}")
        return problem is None

    def config_name(self, position: Position, what: str, text: str) -> bool:
        """Whether a name can go into a server's configuration, reporting why not."""
        problem = config_name_problem(text)
        if problem is not None:
            self.error(position, "bad-name", f"{what}: {problem}")
        return problem is None

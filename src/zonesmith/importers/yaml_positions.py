"""A YAML loader whose mappings and sequences remember where they are in the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.site.files import display_path
from zonesmith.site.yaml_nodes import nesting_problem


class _Mapping(dict):
    """A YAML mapping that remembers where it and each of its keys are."""

    position: Position
    key_positions: dict[object, Position]


class _Sequence(list):
    position: Position


class _PositionLoader(yaml.SafeLoader):
    display = ""

    def _at(self, node: yaml.Node) -> Position:
        return Position(self.display, node.start_mark.line + 1, node.start_mark.column + 1)

    def construct_yaml_map(self, node):  # type: ignore[override]
        data = _Mapping()
        data.position = self._at(node)
        data.key_positions = {}
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_positions[key] = self._at(key_node)

    def construct_yaml_seq(self, node):  # type: ignore[override]
        data = _Sequence()
        data.position = self._at(node)
        yield data
        data.extend(self.construct_sequence(node, deep=True))


_PositionLoader.add_constructor("tag:yaml.org,2002:map", _PositionLoader.construct_yaml_map)
_PositionLoader.add_constructor("tag:yaml.org,2002:seq", _PositionLoader.construct_yaml_seq)


def load_yaml_with_positions(path: Path, report: list[Diagnostic]) -> object:
    display = display_path(path)
    loader_class = type("_Loader", (_PositionLoader,), {"display": display})
    try:
        data = path.read_bytes()
        problem = nesting_problem(data)
        if problem is not None:
            message = f"the YAML is nested too deeply: {problem}; it is not read"
            report.append(error(Position(display), "yaml-too-deep", message))
            return None
        return yaml.load(data, Loader=loader_class)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        report.append(error(Position(display), "unreadable-file", f"cannot read: {exc.strerror}"))
    except RecursionError:  # nested less than nesting_problem finds, yet too deep for Python
        report.append(error(Position(display), "yaml-too-deep", "the YAML is nested too deeply"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(display, mark.line + 1, mark.column + 1) if mark else Position(display)
        report.append(error(position, "yaml-syntax", f"malformed YAML: {exc.problem or exc}"))
    except yaml.YAMLError as exc:
        report.append(error(Position(display), "yaml-syntax", f"malformed YAML: {exc}"))
    return None


def value_position(value: object, fallback: Position) -> Position:
    """Where a loaded value is in its file, or ``fallback`` for a scalar (it has no position)."""
    return getattr(value, "position", fallback)


def key_position(mapping: object, key: object, fallback: Position) -> Position:
    """Where ``key`` of a loaded mapping is in its file, or ``fallback``."""
    positions = getattr(mapping, "key_positions", {})
    return positions.get(key, fallback)

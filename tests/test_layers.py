"""The package's layers: data flows one way, and no module imports a higher layer or itself.

Every import of every module is read with ``ast``, including imports inside
functions and under ``if TYPE_CHECKING``: a lazy import is still a
dependency. See docs/architecture.md for what each layer holds.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: Lowest first. A module may import its own layer and the layers below it.
#: A name stands for that module and every module under it.
LAYERS: list[tuple[str, ...]] = [
    ("zonesmith.__init__", "zonesmith.diagnostics"),
    ("zonesmith.bindrdata", "zonesmith.presentation", "zonesmith.model", "zonesmith.declared"),
    ("zonesmith.own_files",),
    ("zonesmith.site",),
    ("zonesmith.rules",),
    ("zonesmith.blocklists",),
    ("zonesmith.compile",),
    ("zonesmith.drivers",),
    ("zonesmith.output",),
    ("zonesmith.pipeline", "zonesmith.lookups"),
    ("zonesmith.importers",),
    ("zonesmith.deploy",),
    ("zonesmith.cli", "zonesmith.__main__"),
]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / "zonesmith").rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``known`` that ``name`` (a module, or a package's __init__) is."""
    if name in known:
        return name
    if f"{name}.__init__" in known:
        return f"{name}.__init__"
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The zonesmith modules that module ``name`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: relative import"
            base = node.module or ""
            for alias in node.names:
                # ``from package import module`` imports the module.
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if resolve(submodule, known) else base)
        for target in targets:
            module = resolve(target, known)
            if module is not None and module != name:
                found.add(module)
    return found


def layer_of(name: str) -> int:
    best = None
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            inside = name == prefix or name.startswith(f"{prefix}.")
            if inside and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    assert best is not None, f"{name} is in no layer of tests/test_layers.py"
    return best[0]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_every_module_is_in_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, targets in graph().items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(name)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    edges = graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert not cycles, "\n".join(cycles)


def test_imports_inside_functions_are_read(tmp_path: Path) -> None:
    """The reading above finds imports inside functions, the way the package hides them."""
    code = "def f():\n    from zonesmith.cli import main\n    import zonesmith.pipeline\n"
    path = tmp_path / "probe.py"
    path.write_text(code)
    known = modules()
    assert imports_of("zonesmith.model", path, known) == {
        "zonesmith.cli.__init__",
        "zonesmith.pipeline",
    }

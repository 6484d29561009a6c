"""Importers: the package's modules import one way, from the shared values to the entry points."""

from __future__ import annotations

import ast
from pathlib import Path

import zonesmith.importers

#: Low to high: a module may import only the modules before it.
LAYERS = [
    "content",  # the imported-site values
    "yaml_positions",
    "named_conf_parser",
    "octodns_records",
    "site_plan",  # the shared site writer
    "site_writer",
    "zonefile",  # the format readers
    "axfr",
    "named_conf_options",
    "named_conf_acl",
    "named_conf_zones",
    "named_conf",
    "octodns_zone_file",
    "octodns",
    "octodns_export",
    "__init__",  # the public entry points
]


def package_imports(path: Path) -> set[str]:
    """The modules of zonesmith.importers that a module imports, wherever in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.startswith("zonesmith.importers."):
                found.add(name.split(".")[2])
    return found & set(LAYERS)


def test_every_module_imports_only_the_layers_below_it():
    folder = Path(zonesmith.importers.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py"))
    assert sorted(LAYERS) == modules, "place each new module in LAYERS"
    upward = {
        (module, imported)
        for module in modules
        for imported in package_imports(folder / f"{module}.py")
        if LAYERS.index(imported) >= LAYERS.index(module)
    }
    assert upward == set()

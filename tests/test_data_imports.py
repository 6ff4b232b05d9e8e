"""data/ sits below results/: no module under rsbench/data imports rsbench.results."""

import ast
from pathlib import Path

import rsbench.data

DATA_ROOT = Path(rsbench.data.__file__).parent


def imported_modules(source: Path) -> set[str]:
    """Every absolute module name an ``import`` or ``from ... import`` in ``source`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_data_module_imports_results():
    offenders = {
        str(path.relative_to(DATA_ROOT)): sorted(
            name for name in imported_modules(path) if name.startswith("rsbench.results")
        )
        for path in sorted(DATA_ROOT.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}

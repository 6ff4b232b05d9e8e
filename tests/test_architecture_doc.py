"""docs/ARCHITECTURE.md stays true: every module it names exists in the package."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def named_modules() -> set[str]:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    return set(re.findall(r"[\w/]+\.py", text))


def test_every_module_the_architecture_names_exists():
    package = {p.relative_to(REPO).as_posix() for p in (REPO / "rsbench").rglob("*.py")}
    tests = {p.relative_to(REPO).as_posix() for p in (REPO / "tests").rglob("*.py")}
    missing = []
    for name in sorted(named_modules()):
        if name.startswith(("rsbench/", "tests/")):
            found = name in package | tests
        else:  # a path relative to a folder the paragraph names, e.g. engine/resume.py
            found = any(p == f"rsbench/{name}" or p.endswith(f"/{name}") for p in package)
        if not found:
            missing.append(name)
    assert not missing, f"docs/ARCHITECTURE.md names modules that do not exist: {missing}"
    assert len(named_modules()) > 30  # the check reads the document, not an empty string

"""The import layering holds: the contracts in pyproject.toml, and no module importing the
package root (whose public API imports nearly everything, so importing it from inside
would hide cycles)."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lrlab"


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail('lint-imports is missing: pip install -e ".[test]" installs import-linter')
    result = subprocess.run([lint, "--no-cache"], cwd=PACKAGE.parent, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_imports_the_package_root() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.ImportFrom) and node.module == "lrlab" and not node.level
                    or isinstance(node, ast.Import) and any(a.name == "lrlab"
                                                            for a in node.names)):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


def test_the_public_api_is_complete_and_lazy() -> None:
    import subprocess
    import sys

    import lrlab

    assert sorted(lrlab.__all__) == sorted([*lrlab._WHERE, "__version__"])
    for name in lrlab.__all__:
        assert getattr(lrlab, name) is not None
    code = ("import sys, lrlab; print(sorted(m for m in ('scipy', 'pandas', 'tensorflow') "
            "if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"

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


def test_every_module_is_in_a_layer() -> None:
    """A new module must be placed in the layering: a part that has a contract of its own
    (run, training, ...) names each of its modules; the others are covered whole."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    entries = {name.strip() for contract in config["tool"]["importlinter"]["contracts"]
               for layer in contract.get("layers", []) for name in layer.split("|")}
    detailed = {e.split(".")[1] for e in entries if e.count(".") >= 2}
    missing = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__" or parts == ("lrlab", "__main__"):
            continue
        module = ".".join(parts)
        depth = 3 if parts[1] in detailed else 2
        if not any(module == e or module.startswith(e + ".") for e in entries
                   if e.count(".") + 1 == depth):
            missing.append(module)
    assert missing == []


def test_library_errors_speak_of_parameters_not_flags() -> None:
    """Outside cli/, an error names a parameter (``at=0``, `` `runs_dir` ``); the command
    line turns it into its flag. Commands of other programs ('ray start --head') may stay."""
    import re

    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Raise) and not (
                    isinstance(node, ast.Return) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", "").endswith("Error")):
                continue
            for text in (n.value for n in ast.walk(node)
                         if isinstance(n, ast.Constant) and isinstance(n.value, str)):
                for found in flag.findall(text.replace("ray start --head", "")):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {found}")
    assert offenders == []

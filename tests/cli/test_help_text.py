"""--help names parameters in words: no Python type (``<list[Path]>``, ``<int>``) and no
Typer braces (``{config}``), in every command's usage line and help list."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lrlab.cli import app

COMMANDS = [["sweep"], ["compare"], ["find-lr"], ["status"], ["report"], ["tensorboard"],
            ["data", "import"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_names_parameters_in_words(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = [line for line in result.output.splitlines() if line.startswith("  -")
              or line.startswith("Usage:") or re.match(r"  [A-Z_.]+ ", line)]
    assert listed
    for line in listed:
        name = re.split(r"\s{2,}", line.strip())[0]
        assert not re.search(r"<[^>]*>|\{|\}|list\[|\b(str|int|float|path)\b", name), line


def test_arguments_and_choices_read_as_click_writes_them() -> None:
    out = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output
    assert "compare [OPTIONS] PATH...\n" in out
    assert re.search(r"^  PATH\.\.\.  Runs folders", out, re.M)
    sweep = CliRunner().invoke(app, ["sweep", "--help"], env={"COLUMNS": "200"}).output
    assert "sweep [OPTIONS] CONFIG\n" in sweep
    assert re.search(r"^  --backend \[local\|ray\] ", sweep, re.M)
    assert re.search(r"^  --engine \[tensorflow\|jax\] ", sweep, re.M)
    assert re.search(r"^  --workers N ", sweep, re.M)


def test_compare_s_format_help_names_every_output_format() -> None:
    from lrlab.present.render import FORMATS

    out = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output
    line = next(line for line in out.splitlines() if line.startswith("  --format"))
    assert f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}." in line

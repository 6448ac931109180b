"""How ``--help`` writes a command's parameters: in words a user reads, as click does
(``CONFIG``, ``PATH...``, ``--workers WORKERS``, ``--backend [local|ray]``), never the
Python annotations newer Typers print (``<list[Path]>``, ``{config}``)."""

from __future__ import annotations

import re

import click
import typer.core


def _argument_name(param: click.Parameter) -> str:
    name = param.metavar or (param.name or "").upper()
    return f"{name}..." if param.nargs != 1 and not name.endswith("...") else name


# The type newer Typers write after an option (``--workers <int>``, ``--backend <local|ray>``).
_TYPE_LABEL = re.compile(r" <([^<>]*)>$")


def _option_name(param: click.Parameter, shown: str) -> str:
    """``--workers WORKERS`` (as argparse names a value), ``--backend [local|ray]``."""
    label = _TYPE_LABEL.search(shown)
    if label is None:  # a metavar of lrlab's, a flag, or a Typer that writes none
        return shown
    value = f"[{label[1]}]" if "|" in label[1] else (param.name or "").upper()
    return shown[:label.start()] + f" {value}"


def plain_help_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """Typer's help record of ``param`` (its help, default and ``[required]``) under a
    name in words."""
    record = param.get_help_record(ctx)
    if record is None:
        return None
    if param.param_type_name == "argument":
        return _argument_name(param), record[1]
    return _option_name(param, record[0]), record[1]


class PlainHelpCommand(typer.core.TyperCommand):
    """A command whose usage line and help list name parameters in words."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {"argument": [], "option": []}  # type: dict[str, list[tuple[str, str]]]
        for param in self.get_params(ctx):
            record = plain_help_record(param, ctx)
            if record is not None and param.param_type_name in records:
                records[param.param_type_name].append(record)
        for title, kind in (("Arguments", "argument"), ("Options", "option")):
            if records[kind]:
                with formatter.section(title):
                    formatter.write_dl(records[kind])

"""``python -m lrlab``: the command line."""

from lrlab.cli import app

app(prog_name="lrlab")

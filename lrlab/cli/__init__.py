"""The ``lrlab`` command line (see :mod:`lrlab.cli.app`)."""

from lrlab.cli.app import app

__all__ = ["app"]

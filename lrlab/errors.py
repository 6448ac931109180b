"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class LrlabError(Exception):
    """Base class for every error caused by user input, files or the environment."""


class ConfigError(LrlabError):
    """The experiment config is missing, unreadable, malformed or invalid."""


class DataError(LrlabError):
    """A data set cannot be found, read or validated."""


class StoreError(LrlabError):
    """A run directory cannot be created, written, or read back."""

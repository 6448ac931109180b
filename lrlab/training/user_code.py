"""A user's own code, named in a config as ``module:function``: a data loader or a model
factory. Imported from a file (a path, as the config resolved it) or by module name, and
called; every way it can fail is one line naming the config key.

Importing user code is what it is: it runs with the user's rights, like any script they run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrlab.errors import UserCodeError
from lrlab.formatting import first_line


@dataclass(frozen=True)
class UserFunction:
    """A user's callable and what identifies the code it came from."""

    function: Callable[..., Any]
    reference: str  # as the config gives it: `/abs/my_model.py:build` or `pkg.models:build`
    key: str  # the config key that names it: `model.factory`, `data.loader`
    source: str  # the file it was read from
    sha256: str  # of that file: the run directory records which code trained

    def call(self, **kwargs: Any) -> Any:
        """Call it; anything it raises is one line naming it."""
        try:
            return self.function(**kwargs)
        except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
            raise UserCodeError(f"{self.key}: {self.reference} raised "
                                f"{type(exc).__name__}: {first_line(exc)}") from None

    def provenance(self) -> dict[str, str]:
        return {"reference": self.reference, "source": self.source, "sha256": self.sha256}


def load_function(reference: str, *, key: str) -> UserFunction:
    """Import the module of ``reference`` and return its callable."""
    module_name, _, name = reference.rpartition(":")
    module = (_import_file(Path(module_name), key=key) if module_name.endswith(".py")
              else _import_module(module_name, key=key))
    function = getattr(module, name, None)
    if function is None:
        raise UserCodeError(f"{key}: {module_name} has no {name!r}; expected a function "
                            f"of that name")
    if not callable(function):
        raise UserCodeError(f"{key}: {reference} is a {type(function).__name__}, not a "
                            f"function")
    source = str(getattr(module, "__file__", "") or module_name)
    return UserFunction(function, reference, key, source, _sha256(source))


def _import_file(path: Path, *, key: str) -> Any:
    if not path.is_file():
        raise UserCodeError(f"{key}: {path} does not exist; expected a .py file (a relative "
                            f"path is taken beside the config)")
    # One module per file, named after its path: two projects' `model.py` never collide,
    # and a worker that imports it again gets the same module.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"lrlab_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"{key}: {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    # Its own folder is importable, so that it may import the modules beside it.
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if not isinstance(exc, Exception):
            raise
        raise UserCodeError(f"{key}: importing {path} raised {type(exc).__name__}: "
                            f"{first_line(exc)}") from None
    return module


def _import_module(name: str, *, key: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise UserCodeError(f"{key}: no module named {name!r}; expected a .py file "
                                f"beside the config, or an importable module") from None
        raise UserCodeError(f"{key}: importing {name} raised ModuleNotFoundError: "
                            f"{first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything
        raise UserCodeError(f"{key}: importing {name} raised {type(exc).__name__}: "
                            f"{first_line(exc)}") from None


def _sha256(source: str) -> str:
    try:
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError:
        return ""

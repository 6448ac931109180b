"""A user's own code, named in a config as ``module:function``: a data loader or a model
factory. Imported from a file (a path, as the config resolved it) or by module name, and
called; every way it can fail is one line naming the config key.

Importing user code is what it is: it runs with the user's rights, like any script they run.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrlab.errors import UserCodeError
from lrlab.formatting import first_line
from lrlab.training._native_stderr import held_native_stderr


@dataclass(frozen=True)
class UserFunction:
    """A user's callable and what identifies the code it came from."""

    function: Callable[..., Any]
    reference: str  # as the config gives it: `/abs/my_model.py:build` or `pkg.models:build`
    key: str  # the config key that names it: `model.factory`, `data.loader`
    source: str  # the file it was read from
    sha256: str  # of that file: the run directory records which code trained

    def call(self, **kwargs: Any) -> Any:
        """Call it, holding back what the frameworks it imports write to stderr (TensorFlow's
        CUDA probing, absl, Keras's warnings); anything it raises is one line naming it and
        the line of the user's code that raised (the traceback is the error's ``debug``)."""
        with _held(self.key, f"{self.reference} raised", source=self.source):
            return self.function(**kwargs)

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
        with _held(key, f"importing {path} raised", source=str(path)):
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_module(name: str, *, key: str) -> Any:
    try:
        with _held(key, f"importing {name} raised", source=""):
            return importlib.import_module(name)
    except UserCodeError as error:
        missing = error.__context__
        if isinstance(missing, ModuleNotFoundError) and missing.name is not None and (
                name == missing.name or name.startswith(f"{missing.name}.")):
            raise UserCodeError(f"{key}: no module named {name!r}; expected a .py file "
                                f"beside the config, or an importable module") from None
        raise


@contextlib.contextmanager
def _held(key: str, what: str, *, source: str) -> Iterator[None]:
    """Run the user's code with fd 2 held back (a framework's start-up lines would bury
    lrlab's one error line); an exception becomes a UserCodeError naming ``key``, the
    exception, and where in the user's file it was raised, with the traceback and what was
    held kept for ``--debug``."""
    written = io.StringIO()  # Python's own stderr, where it is not fd 2 (a notebook's)
    try:
        with held_native_stderr(replay_on_error=False) as held, \
                contextlib.redirect_stderr(written):
            yield
    except Exception as exc:
        where = _raised_at(exc, source)
        debug = "".join(traceback.format_exception(exc)) + held.text + written.getvalue()
        # From None: the one line is the message; its __context__ still holds ``exc``
        # (a caller tells a missing module apart by it), its debug the traceback.
        # `debug`: the CLI's --debug flag; from Python, the error's attribute of that name.
        raise UserCodeError(f"{key}: {what} {type(exc).__name__}: {first_line(exc)}"
                            f"{where}; `debug` shows the traceback", debug=debug,
                            mentions=["debug"]) from None


def _raised_at(exc: BaseException, source: str) -> str:
    """`` (at my_data.py:12, in load)``: the deepest frame in the user's file, else the
    deepest frame of all."""
    if isinstance(exc, SyntaxError):  # its message names the file and line already
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<")]  # importlib's frozen frames
    own = [f for f in frames if source and Path(f.filename) == Path(source)]
    if not (own or frames):
        return ""
    frame = (own or frames)[-1]
    return f" (at {Path(frame.filename).name}:{frame.lineno}, in {frame.name})"


def _sha256(source: str) -> str:
    try:
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError:
        return ""

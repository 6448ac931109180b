"""The engine registry: every entry's references resolve, and everything that offers an
engine offers the registry's."""

from __future__ import annotations

import importlib
import os
import typing

import pytest

from lrlab.cli.common import EngineName
from lrlab.engines import ENGINE_NAMES, ENGINES, EngineSpec, engine, engine_of_backend
from lrlab.errors import LrlabError
from lrlab.experiment.config import TrainingConfig


@pytest.mark.parametrize("spec", ENGINES.values(), ids=ENGINE_NAMES)
def test_each_entry_names_what_exists(spec: EngineSpec) -> None:
    module, _, name = spec.engine_class.partition(":")
    # Resolved without importing the framework: the module's source must define the class.
    source = importlib.util.find_spec(module)
    assert source is not None and source.origin is not None
    assert f"class {name}" in open(source.origin).read()
    if spec.device_probe:
        module, _, name = spec.device_probe.partition(":")
        assert f"def {name}(" in open(importlib.util.find_spec(module).origin).read()
    assert engine_of_backend(spec.keras_backend) is spec


def test_the_config_and_the_command_line_offer_the_registry_s_engines() -> None:
    choices = typing.get_args(TrainingConfig.model_fields["engine"].annotation)
    assert choices == ENGINE_NAMES
    assert tuple(member.value for member in EngineName) == ENGINE_NAMES


def test_an_unknown_engine_is_one_line_naming_the_choices() -> None:
    with pytest.raises(LrlabError, match=r"engine='torch': expected one of tensorflow, jax"):
        engine("torch")
    with pytest.raises(LrlabError, match="lrlab trains on tensorflow or jax"):
        engine_of_backend("torch")


def test_pinning_sets_the_framework_s_variables_and_says_whether_they_hold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = EngineSpec(name="fake", title="Fake", keras_backend="fake",
                      framework="lrlab_no_such_framework", engine_class="x:Y",
                      thread_variables=("FAKE_THREADS",))
    monkeypatch.delenv("FAKE_THREADS", raising=False)
    assert spec.pin_threads(3) and os.environ["FAKE_THREADS"] == "3"
    # Nothing to pin: no cap holds (the framework spreads a trial over the cores itself).
    assert not ENGINES["jax"].pin_threads(1)
    assert ENGINES["jax"].default_workers(cpus=16, threads_per_trial=1) == 1
    assert ENGINES["tensorflow"].default_workers(cpus=16, threads_per_trial=4) == 4

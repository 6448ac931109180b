"""What a metric means, owned by one type: columns, directions, ranges, margins, the best
epoch, and every mistake in one line."""

import math

import pytest

from lrlab.experiment.objective import (
    DEFAULT_OBJECTIVE,
    Objective,
    ObjectiveError,
    build_objective,
    infer_direction,
)


def test_the_default_is_lrlab_s_classic_objective() -> None:
    objective = DEFAULT_OBJECTIVE
    assert objective.loss == "sparse_categorical_crossentropy"
    assert objective.epoch_columns() == ("loss", "accuracy", "val_loss", "val_accuracy")
    assert objective.test_columns() == ("test_loss", "test_accuracy")
    assert objective.verdict == "val_accuracy" and objective.verdict_higher_is_better
    assert objective.value_range("val_accuracy") == (0.0, 1.0)
    assert objective.value_range("val_loss") == (0.0, math.inf)
    assert not objective.higher_is_better("test_loss")


def test_columns_are_named_as_written_as_keras_names_them() -> None:
    objective = build_objective(loss="mse", metrics=["mae", "r2"], verdict="val_mae",
                                labels="regression")
    assert objective.loss == "mean_squared_error"
    assert objective.epoch_columns() == ("loss", "mae", "r2", "val_loss", "val_mae", "val_r2")
    assert not objective.higher_is_better("val_mae") and objective.higher_is_better("r2")
    assert objective.value_range("test_r2") == (-math.inf, 1.0)


def test_defaults_follow_the_labels() -> None:
    regression = build_objective(labels="regression")
    assert (regression.loss, regression.verdict) == ("mean_squared_error",
                                                     "val_mean_absolute_error")
    binary = build_objective(labels="binary", metrics=["auc"])
    assert (binary.loss, binary.verdict) == ("binary_crossentropy", "val_auc")
    assert build_objective(labels="one_hot").loss == "categorical_crossentropy"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"loss": "msee"}, "unknown loss 'msee'; did you mean mse?"),
    ({"metrics": ["aucc"]}, "unknown metric 'aucc'; did you mean auc?"),
    ({"loss": "sparse_categorical_crossentropy", "labels": "one_hot"},
     "takes integer labels, and these are one-hot classes; use categorical_crossentropy"),
    ({"metrics": ["accuracy"], "labels": "regression"},
     "a classification metric on regression targets"),
    ({"metrics": ["auc"], "verdict": "val_accuracy", "labels": "binary"},
     "verdict 'val_accuracy' is not recorded; expected one of loss, auc"),
    ({"metrics": ["mine:score_thing"], "labels": "regression"}, None),
    ({"metrics": ["mine:thing"]}, "cannot tell whether higher or lower is better"),
    ({"metrics": ["accuracy", "acc"]}, None),
    ({"metrics": ["accuracy", "accuracy"]}, "listed twice"),
    ({"metrics": ["auc"], "verdict": "val_auc", "direction": "min", "labels": "binary"},
     "direction min contradicts val_auc"),
])
def test_every_mistake_is_one_line(kwargs: dict, message: str | None) -> None:
    if message is None:
        build_objective(**kwargs)
        return
    with pytest.raises(ObjectiveError, match=message.replace("(", r"\(").replace("?", r"\?")):
        build_objective(**kwargs)


def test_directions_are_inferred_as_keras_tuner_does() -> None:
    assert infer_direction("val_auc") is True and infer_direction("val_f1") is True
    assert infer_direction("val_loss") is False and infer_direction("mape") is False
    assert infer_direction("val_mystery") is None


def test_the_margin_is_a_tenth_of_the_range_or_of_the_way_to_the_ideal() -> None:
    objective = build_objective(loss="mse", metrics=["mae", "r2"], labels="regression")
    assert DEFAULT_OBJECTIVE.margin("val_accuracy", 0.11) == pytest.approx(0.1)
    assert objective.margin("val_mae", 60.0) == pytest.approx(6.0)  # 0 is ideal
    assert objective.margin("val_r2", 0.0) == pytest.approx(0.1)  # 1 is ideal
    assert objective.beats("val_mae", 53.9, 60.0) and not objective.beats("val_mae", 54.1, 60.0)
    assert DEFAULT_OBJECTIVE.beats("val_accuracy", 0.22, 0.11)
    assert not DEFAULT_OBJECTIVE.beats("val_accuracy", 0.2, 0.11)
    assert not DEFAULT_OBJECTIVE.beats("val_accuracy", math.nan, 0.11)


def test_the_best_epoch_is_the_earliest_best_finite_value() -> None:
    assert DEFAULT_OBJECTIVE.best_of("val_accuracy", [0.5, 0.9, 0.9, math.nan]) == 1
    assert DEFAULT_OBJECTIVE.best_of("val_loss", [0.5, 0.3, 0.3]) == 1
    assert DEFAULT_OBJECTIVE.best_of("val_loss", [math.nan, math.inf]) is None


def test_what_result_json_records_reads_back() -> None:
    objective = build_objective(loss="huber", loss_args={"delta": 2.0},
                                metrics=["mae", {"name": "r2_score"}], labels="regression")
    assert Objective.from_dict(objective.to_dict()) == objective
    assert Objective.from_dict(DEFAULT_OBJECTIVE.to_dict()) == DEFAULT_OBJECTIVE


def test_the_adaptive_tolerance_is_in_the_metric_s_units() -> None:
    regression = build_objective(loss="mse", metrics=["mae"], labels="regression")
    assert DEFAULT_OBJECTIVE.tolerance("val_accuracy", 0.11) == 0.005
    assert regression.tolerance("val_mae", 65.88) == 0.33  # half a percent of the baseline
    assert regression.tolerance("val_mae", math.nan) == 0.005

"""Labels as Keras takes them: the kind read from the loss or the data, the encoding, and
the constant prediction of each baseline."""

import numpy as np
import pytest

from lrlab.errors import DataError
from lrlab.training.labels import baseline_logits, encode, label_kind, majority_share


@pytest.mark.parametrize(("y", "loss", "kind"), [
    (np.array([0, 1, 2, 1]), None, "integer"),
    (np.array([[0], [1], [1]]), None, "integer"),
    (np.eye(3)[[0, 1, 2, 1]], None, "one_hot"),
    (np.array([[1, 0, 1], [0, 0, 1]]), None, "multi_label"),
    (np.array([0.0, 1.0, 1.0]), None, "binary"),
    (np.array([0.5, 1.7, -3.0]), None, "regression"),
    (np.array([[0.5, 1.0], [2.0, 3.5]]), None, "regression"),
    (np.array([0, 1, 1]), "binary_crossentropy", "binary"),
    (np.array([[0, 1], [1, 1]]), "binary_crossentropy", "multi_label"),
    (np.array([3, 1, 2]), "mean_squared_error", "regression"),
])
def test_the_kind_comes_from_the_loss_else_the_labels(y, loss, kind) -> None:
    assert label_kind(y, loss=loss, declared="auto", source="s") == kind


def test_labels_are_encoded_as_the_loss_takes_them() -> None:
    assert encode(np.array([[2], [0]], np.uint8), "integer", name="y", source="s").dtype == \
        np.int32
    binary = encode(np.array([0, 1, 1]), "binary", name="y", source="s")
    assert binary.shape == (3, 1) and binary.dtype == np.float32
    assert encode(np.array([1.5, 2.5]), "regression", name="y", source="s").shape == (2, 1)


@pytest.mark.parametrize(("y", "kind", "message"), [
    (np.eye(3)[[0, 1]], "integer", "these look like one-hot rows: use categorical_crossentropy"),
    (np.array([0, 2, 1]), "one_hot", "use sparse_categorical_crossentropy for integer classes"),
    (np.array([0, 2, 1]), "binary", "holds values other than 0 and 1"),
    (np.array([0.0, np.nan]), "regression", "not finite"),
])
def test_labels_that_do_not_fit_say_the_fix(y, kind, message) -> None:
    with pytest.raises(DataError, match=message):
        encode(y, kind, name="y_train", source="s")


def test_the_constant_prediction_is_the_frequencies_prevalence_or_mean() -> None:
    y = np.array([0, 0, 0, 1], np.int32)
    softmax = np.exp(baseline_logits(y, "integer", 3))
    np.testing.assert_allclose(softmax / softmax.sum(), [0.75, 0.25, 0.0], atol=1e-6)
    prevalence = 1 / (1 + np.exp(-baseline_logits(np.array([[1.0], [0.0], [0.0], [0.0]]),
                                                  "binary", 1)))
    np.testing.assert_allclose(prevalence, [0.25], atol=1e-6)
    np.testing.assert_allclose(baseline_logits(np.array([[1.0], [3.0]]), "regression", 1), [2.0])
    assert majority_share(y, "integer") == 0.75

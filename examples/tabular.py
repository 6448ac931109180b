"""Two tabular data sets that scikit-learn ships inside its package (no download): the
diabetes progression (442 patients, 10 features, a real-valued target) and the Wisconsin
breast-cancer biopsies (569 patients, 30 features, a 0/1 label). `pip install
".[examples]"` installs scikit-learn.

Each loader keeps the last fifth of the rows as the test split, in a fixed shuffled order.
"""

import numpy as np


def _split(x, y, seed):
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order].astype(np.float32), y[order]
    cut = len(y) * 4 // 5
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def diabetes(seed=0):
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    return _split(data.data, data.target.astype(np.float32), seed)


def breast_cancer(seed=0):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return _split(data.data, data.target.astype(np.int64), seed)


def logistic(input_shape, classes):
    """One sigmoid unit on the features: logistic regression, as a factory."""
    import keras

    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(classes, activation="sigmoid")])

"""MNIST as the edge-of-stability studies train it (Cohen et al. 2021): the first 2,000
training and 1,000 test images, pixels in [0, 1], and one-hot targets to fit with a mean
squared error, which shows progressive sharpening more plainly than cross-entropy.

Reads mnist.npz from $LRLAB_DATA_DIR (or Keras's cache), as lrlab's own mnist data set.
"""

import os
from pathlib import Path

import numpy as np


def one_hot_slice(train=2000, test=1000):
    folder = Path(os.environ.get("LRLAB_DATA_DIR") or Path.home() / ".keras" / "datasets")
    with np.load(folder / "mnist.npz") as data:
        arrays = {k: data[k] for k in ("x_train", "y_train", "x_test", "y_test")}

    def split(x, y, n):
        targets = np.eye(10, dtype=np.float32)[y[:n]]
        return x[:n].reshape(n, -1).astype(np.float32) / 255, targets

    return (split(arrays["x_train"], arrays["y_train"], train),
            split(arrays["x_test"], arrays["y_test"], test))

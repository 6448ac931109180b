"""A data loader of a user's own, for `data.loader: shapes_data:load`.

Small RGB images of three patterns (horizontal stripes, vertical stripes, a checkerboard)
in random colours, phases and noise: 16x16x3 inputs and 3 classes, so nothing about them
is MNIST's. Any function that returns ((x_train, y_train), (x_test, y_test)), or a dict of
those four arrays, serves as a loader; `data.args` become its keyword arguments.
"""

import numpy as np

PATTERNS = 3


def load(n_train: int = 3000, n_test: int = 600, size: int = 16, noise: float = 150.0,
         seed: int = 0):
    rng = np.random.default_rng(seed)

    def make(n: int):
        labels = rng.integers(0, PATTERNS, n)
        rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        period = rng.integers(3, 6, n)[:, None, None]
        phase = rng.integers(0, 6, n)[:, None, None]
        stripes = {0: rows[None] + phase, 1: cols[None] + phase,
                   2: rows[None] // 2 + cols[None] // 2 + phase}
        on = np.zeros((n, size, size), dtype=bool)
        for label, where in stripes.items():
            chosen = labels == label
            on[chosen] = ((where // period) % 2 == 0)[chosen] if label < 2 else (
                (where % 2 == 0)[chosen])
        colour = rng.integers(80, 256, (n, 1, 1, 3))
        images = on[..., None] * colour + rng.normal(0, noise, (n, size, size, 3))
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    return make(n_train), make(n_test)

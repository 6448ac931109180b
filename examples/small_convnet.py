"""A model factory of a user's own, for `model.factory: small_convnet:build`.

lrlab calls it with the data's `input_shape` and number of `classes` (and `model.args` as
further keyword arguments) and trains the uncompiled Keras model it returns. This one ends
in logits; a final softmax (a layer, or a Dense layer's activation) is fine too.
"""

import keras


def build(input_shape, classes, width=8, batch_norm=False):
    normalise = [keras.layers.BatchNormalization()] if batch_norm else []
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(width, 3, activation="relu"),
        *normalise,
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(2 * width, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(classes),
    ], name="small_convnet")

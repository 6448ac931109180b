"""The seed article's second example, exactly as the Keras optimizers page writes it:

    model = keras.Sequential()
    model.add(layers.Dense(64, kernel_initializer='uniform', input_shape=(10,)))
    model.add(layers.Activation('softmax'))
    opt = keras.optimizers.RMSprop(learning_rate=0.01)
    model.compile(loss='categorical_crossentropy', optimizer=opt)

`build` is that model, as a factory (lrlab compiles nothing: each trial brings its own
optimizer and rate; the config names the loss). The page gives no data: `load` makes
10 features and one-hot labels over 64 classes, each row's class the largest of 64 fixed
random projections of its features, so that the model can learn it.
"""

import keras
import numpy as np
from keras import layers


def build(**_):
    model = keras.Sequential()
    model.add(layers.Dense(64, kernel_initializer='uniform', input_shape=(10,)))
    model.add(layers.Activation('softmax'))
    return model


def load(n_train=4000, n_test=1000, seed=0):
    rng = np.random.default_rng(seed)
    projections = rng.normal(size=(10, 64))

    def make(n):
        x = rng.normal(size=(n, 10)).astype(np.float32)
        y = np.eye(64, dtype=np.float32)[np.argmax(x @ projections, axis=1)]
        return x, y

    return make(n_train), make(n_test)

"""Data sets: finding, validating, importing and preparing them for training.

Arrays are checked for shape, dtype and label range, never against a file hash, so any
faithful copy of MNIST works (the one a colleague sends, a rebuilt one, Keras's download).
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.errors import DataError, StoreError
from lrlab.experiment.config import NAMED_DATASETS, DataConfig, ObjectiveConfig
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective, ObjectiveError, loss_name
from lrlab.rundir.files import FILE, atomic_write, kind_of
from lrlab.training.labels import baseline_logits, encode, label_kind, majority_share, outputs_of
from lrlab.training.user_code import load_function

DATA_DIR_ENV = "LRLAB_DATA_DIR"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# Sizes of the synthetic set when the config gives no limit: big enough to learn, small
# enough for a unit test to train on in a second.
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 3000, 1000


@dataclass(frozen=True)
class Dataset:
    """Training, validation and test arrays, ready for the model: float32 inputs (feature
    vectors (N, F), or images (N, H, W, C)), labels as the objective's loss takes them
    (int32 classes 0..classes-1, or float32 rows: lrlab.training.labels). ``x_val`` has
    zero rows when validation is 0. ``classes``: the outputs the labels need (K classes,
    1 binary label, D targets)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # the file read ("synthetic", keras.datasets.NAME, or a loader)
    sha256: str = ""  # of the inputs and labels used, after limits, and of the split
    classes: int = 10
    scaling: str = "uint8 pixels divided by 255"
    labels: str = "integer"  # lrlab.experiment.objective.LABEL_KINDS
    objective: Objective = DEFAULT_OBJECTIVE  # resolved for these labels

    @property
    def has_validation(self) -> bool:
        return len(self.y_val) > 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    def chance(self) -> dict[str, float]:
        """The accuracy of always guessing the most frequent class of each split: what an
        accuracy must beat to show learning (0.1 only for ten balanced classes)."""
        return {split: majority_share(y, self.labels) for split, y in (
            ("train", self.y_train), ("validation", self.y_val), ("test", self.y_test))}

    def baseline_logits(self, y: np.ndarray) -> np.ndarray:
        """The logits of the best constant prediction for labels ``y`` (a split's): where
        each metric's baseline on that split is measured."""
        return baseline_logits(y, self.labels, self.classes)

    def provenance(self) -> dict[str, object]:
        """What environment.json records of the data a session trained on."""
        return {"source": self.source, "sha256": self.sha256, "train": len(self.y_train),
                "validation": len(self.y_val), "test": len(self.y_test),
                "input_shape": list(self.input_shape), "classes": self.classes,
                "scaling": self.scaling, "chance": self.chance(),
                **({} if self.labels == "integer" else {"labels": self.labels})}


def load_dataset(config: DataConfig, *, env: Mapping[str, str] | None = None,
                 objective: ObjectiveConfig | None = None) -> Dataset:
    """Find, validate and split the configured data set, its labels read as ``objective``
    takes them (lrlab's default: integer classes)."""
    env = os.environ if env is None else env
    if config.dataset == "synthetic":
        arrays = synthetic_arrays(n_train=config.train_limit or SYNTHETIC_TRAIN,
                                  n_test=config.test_limit or SYNTHETIC_TEST)
        source = "synthetic"
    elif config.dataset == "npz":
        assert config.path is not None  # the schema requires it
        arrays = read_npz(config.path, what="data.path")
        source = str(config.path.resolve())
    elif config.dataset == "loader":
        assert config.loader is not None  # the schema requires it
        loader = load_function(config.loader, key="data.loader")
        arrays = arrays_of(loader.call(**config.args), source=config.loader)
        source = f"loader {config.loader}"
    else:
        arrays, source = _load_named(config.dataset, config.path, env)
    return _prepare(arrays, config, source, objective or ObjectiveConfig())


def read_npz(path: Path, *, what: str = "data file",
             expected: str = "a .npz file") -> dict[str, np.ndarray]:
    """Read a Keras-layout ``.npz`` (``x_train, y_train, x_test, y_test``) of numeric
    arrays; ``what`` and ``expected`` say, in errors, which setting named it and what it
    takes."""
    check_regular_file(path, what=what, expected=expected)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise DataError(f"{path}: a single array (.npy), not a .npz file; expected "
                                f"Keras's layout with {', '.join(ARRAYS)}")
            missing = [name for name in ARRAYS if name not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}; expected "
                                f"Keras's layout with {', '.join(ARRAYS)}")
            arrays = {name: npz[name] for name in ARRAYS}
    except FileNotFoundError:
        raise DataError(f"{path}: data file not found") from None
    except DataError:
        raise
    except ValueError as exc:
        # numpy's own words advise loading "unsafely using allow_pickle": never ours.
        if "Object arrays" in str(exc):
            raise DataError(f"{path}: holds Python objects, which lrlab never loads (they "
                            f"could run code); expected plain numeric arrays") from None
        if "allow_pickle" in str(exc):  # neither a zip nor a .npy: numpy's last guess
            raise DataError(f"{path}: not a readable .npz file (not a zip archive of "
                            f"arrays)") from None
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    except (OSError, EOFError, AttributeError, TypeError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return arrays


def arrays_of(result: Any, *, source: str) -> dict[str, np.ndarray]:
    """A loader's result as the four arrays: a mapping with ``x_train, y_train, x_test,
    y_test``, or ``((x_train, y_train), (x_test, y_test))`` as ``keras.datasets`` give."""
    expected = (f"expected arrays in memory: a dict with {', '.join(ARRAYS)}, or "
                f"((x_train, y_train), (x_test, y_test)) as keras.datasets return them")
    streamed = _streamed(result)
    if streamed is not None:
        raise DataError(f"data.loader: {source} returned {_described(result)}; lrlab does "
                        f"not take {streamed} yet: {expected} (a tf.data.Dataset becomes "
                        f"arrays with np.concatenate over dataset.as_numpy_iterator())")
    if isinstance(result, Mapping):
        missing = [name for name in ARRAYS if name not in result]
        if missing:
            raise DataError(f"data.loader: {source} returned a mapping without "
                            f"{', '.join(missing)}; {expected}")
        values = [result[name] for name in ARRAYS]
    elif (isinstance(result, (tuple, list)) and len(result) == 2
          and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in result)):
        values = [*result[0], *result[1]]
    else:
        raise DataError(f"data.loader: {source} returned {_described(result)}; {expected}")
    arrays = {}
    for name, value in zip(ARRAYS, values, strict=True):
        try:
            array = np.asarray(value)
        except Exception as exc:  # noqa: BLE001 - whatever the loader returned
            raise DataError(f"data.loader: {source}: {name} is not an array ({exc})") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"data.loader: {source}: {name} has dtype {array.dtype}; "
                            f"expected numbers")
        arrays[name] = array
    return arrays


def _streamed(result: Any) -> str | None:
    """What kind of stream of batches a loader returned, at the top or one level down
    (a tf.data.Dataset, a generator, a Keras PyDataset, a PyTorch DataLoader), or None."""
    parts = [result, *(result if isinstance(result, (tuple, list)) else ())]
    for part in parts:
        kind = type(part)
        names = {c.__name__ for c in kind.__mro__}
        if "DatasetV2" in names or "Dataset" in names and "tensorflow" in kind.__module__:
            return "tf.data.Dataset streams"
        if "PyDataset" in names or "DataLoader" in names:
            return f"{kind.__name__} streams"
        if inspect.isgenerator(part) or isinstance(part, Iterator):
            return "generators or iterators"
    return None


def _described(result: Any) -> str:
    """``tuple of (ndarray, _PrefetchDataset)``: what a loader returned, one level deep."""
    if isinstance(result, (tuple, list)) and 0 < len(result) <= 4:
        inner = ", ".join(type(p).__name__ for p in result)
        return f"a {type(result).__name__} of ({inner})"
    return f"a {type(result).__name__}"


def check_regular_file(path: Path, *, what: str, expected: str) -> None:
    """A file to read must be a regular file (links followed): a FIFO would block the read
    forever and a device (``/dev/zero``) never end it."""
    try:
        path.stat()
    except FileNotFoundError:
        raise DataError(f"{what}: {path} does not exist; expected {expected}") from None
    except OSError as exc:  # a link loop, a forbidden folder
        raise DataError(f"{what}: {path}: {exc.strerror or exc}; expected {expected}"
                        ) from None
    kind = kind_of(path, follow=True)
    if kind != FILE:
        raise DataError(f"{what}: {path} is {kind}, not a file; expected {expected}")


def validate_arrays(arrays: Mapping[str, np.ndarray], *, source: str) -> None:
    """Check MNIST-shaped images and labels: (N, 28, 28) uint8 and N labels in 0..9 (what
    Keras's MNIST and Fashion-MNIST are, and ``lrlab data import`` takes)."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.shape[0] == 0:
            raise DataError(f"{source}: x_{split} has shape {x.shape}; expected (N, 28, 28)")
        if x.dtype != np.uint8:
            raise DataError(f"{source}: x_{split} has dtype {x.dtype}; expected uint8 pixels")
        if y.shape != (x.shape[0],):
            raise DataError(f"{source}: y_{split} has shape {y.shape}; expected "
                            f"({x.shape[0]},), one label per image")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise DataError(f"{source}: y_{split} must hold integer labels 0..9 "
                            f"(dtype {y.dtype}, range {y.min()}..{y.max()})")


def check_labelled(arrays: Mapping[str, np.ndarray], *, source: str,
                   classes: int | None, objective: ObjectiveConfig | None = None
                   ) -> tuple[dict[str, np.ndarray], str, int]:
    """Check any labelled set: inputs (N, F), (N, H, W) or (N, H, W, C), the same shape in
    both splits; one label row per input row, of a kind the objective's loss takes
    (:mod:`lrlab.training.labels`). Returns the arrays (labels encoded as the loss takes
    them), the kind of labels and how many outputs they need (K: ``classes``, else the
    largest integer label + 1)."""
    objective = objective or ObjectiveConfig()
    out = dict(arrays)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim not in (2, 3, 4):
            raise DataError(f"{source}: x_{split} has shape {x.shape}; expected feature "
                            f"vectors (N, F) or images (N, H, W) or (N, H, W, C)")
        if x.shape[0] == 0:
            raise DataError(f"{source}: x_{split} is empty; expected at least one row")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or \
                np.issubdtype(x.dtype, np.complexfloating):
            raise DataError(f"{source}: x_{split} has dtype {x.dtype}; expected real numbers")
        if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
            raise DataError(f"{source}: y_{split} has shape {y.shape}; expected "
                            f"({x.shape[0]},) or ({x.shape[0]}, K), one label row per row of "
                            f"x_{split}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(f"{source}: x_train's rows have shape {arrays['x_train'].shape[1:]} "
                        f"and x_test's {arrays['x_test'].shape[1:]}; expected the same")
    if arrays["y_train"].shape[1:] != arrays["y_test"].shape[1:]:
        raise DataError(f"{source}: y_train's rows have shape {arrays['y_train'].shape[1:]} "
                        f"and y_test's {arrays['y_test'].shape[1:]}; expected the same")
    loss = loss_name(objective.loss) if objective.loss is not None else None
    kind = label_kind(arrays["y_train"], loss=loss, declared=objective.labels, source=source)
    for split in ("train", "test"):
        out[f"y_{split}"] = encode(arrays[f"y_{split}"], kind, name=f"y_{split}",
                                   source=source)
    if kind != "integer":
        return out, kind, outputs_of(kind, out["y_train"], None)
    low = min(int(out["y_train"].min()), int(out["y_test"].min()))
    high = max(int(out["y_train"].max()), int(out["y_test"].max()))
    found = classes if classes is not None else high + 1
    if low < 0 or high >= found:
        bound = (f"data.classes is {classes}" if classes is not None
                 else "labels must be 0..K-1")
        raise DataError(f"{source}: labels range over {low}..{high}; {bound}, so expected "
                        f"0..{found - 1}")
    if found < 2:
        raise DataError(f"{source}: every label is 0; expected at least two classes")
    return out, kind, found


@dataclass(frozen=True)
class Published:
    """What the published data set is, as Keras's ``load_data()`` gives it."""

    train: int
    test: int
    mean_pixel: float  # of the training images, in [0, 1]: the usual normalisation constant


PUBLISHED = {"mnist": Published(60_000, 10_000, 0.1307),
             "fashion_mnist": Published(60_000, 10_000, 0.2860)}
# Digits are mostly black, clothes much less: the mean pixels differ by 0.15, so a copy
# within this of the published one is that data set (MNIST's test set's is 0.1325).
MEAN_PIXEL_TOLERANCE = 0.01


def check_published(arrays: Mapping[str, np.ndarray], dataset: str, *, source: str) -> None:
    """``arrays`` are the whole published ``dataset`` (not a slice, not the other one)."""
    expected = PUBLISHED[dataset]
    n_train, n_test = len(arrays["x_train"]), len(arrays["x_test"])
    if (n_train, n_test) != (expected.train, expected.test):
        raise DataError(f"{source}: {n_train:,} training and {n_test:,} test images; the "
                        f"published {dataset} has {expected.train:,} and {expected.test:,}. "
                        f"A set of your own is read from its file: data.dataset: npz with "
                        f"data.path")
    mean = float(arrays["x_train"].mean()) / 255
    if abs(mean - expected.mean_pixel) > MEAN_PIXEL_TOLERANCE:
        like = next((name for name, other in PUBLISHED.items() if name != dataset and
                     abs(mean - other.mean_pixel) <= MEAN_PIXEL_TOLERANCE), None)
        hint = (f"; these look like {like} (whose is {PUBLISHED[like].mean_pixel}): import "
                f"them with `dataset` {like}" if like else "")
        raise DataError(f"{source}: its training images' mean pixel is {mean:.4f}, not "
                        f"{dataset}'s {expected.mean_pixel}{hint}", mentions=["dataset"])


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where ``lrlab data import`` puts files: ``$LRLAB_DATA_DIR``, else Keras's cache."""
    env = os.environ if env is None else env
    return Path(env[DATA_DIR_ENV]).expanduser() if env.get(DATA_DIR_ENV) else _keras_cache(env)


def _keras_cache(env: Mapping[str, str]) -> Path:
    # keras.utils.get_file's default: $KERAS_HOME or ~/.keras, subfolder "datasets".
    home = Path(env["KERAS_HOME"]) if env.get("KERAS_HOME") else Path.home() / ".keras"
    return home.expanduser() / "datasets"


def _candidates(dataset: str, env: Mapping[str, str]) -> list[Path]:
    filename = f"{dataset}.npz"
    places = []
    if env.get(DATA_DIR_ENV):
        places.append(Path(env[DATA_DIR_ENV]).expanduser() / filename)
    places.append(_keras_cache(env) / filename)
    return places


def _load_named(dataset: str, path: Path | None,
                env: Mapping[str, str]) -> tuple[dict[str, np.ndarray], str]:
    if path is not None:  # asked for by name: that file and no other
        place = path / f"{dataset}.npz" if path.is_dir() else path
        arrays = read_npz(place, what="data.path", expected=f"a {dataset}.npz file or a "
                          f"folder holding one")
        validate_arrays(arrays, source=str(place))
        return arrays, str(place.resolve())
    places = _candidates(dataset, env)
    for place in places:
        if place.is_file():
            arrays = read_npz(place)
            validate_arrays(arrays, source=str(place))
            return arrays, str(place.resolve())
    try:
        arrays = _download(dataset)
    except Exception as exc:  # noqa: BLE001 - any failure of Keras's download ends the same way
        looked = ", ".join(str(p) for p in places)
        raise DataError(
            f"{dataset} not found (looked in {looked}) and Keras's download failed "
            f"({_cause(exc)}); set ${DATA_DIR_ENV} to a folder holding {dataset}.npz, or run "
            f"'lrlab data import PATH' with a copy"
        ) from None
    validate_arrays(arrays, source=f"keras.datasets.{dataset}")
    return arrays, f"keras.datasets.{dataset}"


def _cause(exc: BaseException) -> str:
    """The innermost reason of a failure, in one line: Keras wraps the network's own error
    ("Temporary failure in name resolution") in a bare ``Exception``."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    reason = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {reason[-1][:200]}" if reason else type(exc).__name__


def _download(dataset: str) -> dict[str, np.ndarray]:
    """Keras's own loader: its cache, else the standard download."""
    from lrlab.training._keras import import_keras

    loader = getattr(import_keras().datasets, dataset)
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _prepare(arrays: Mapping[str, np.ndarray], config: DataConfig, source: str,
             objective: ObjectiveConfig | None = None) -> Dataset:
    objective = objective or ObjectiveConfig()
    # Errors name a loader's arrays as its other errors do: "data.loader: my_data:load: ...".
    where = f"data.loader: {config.loader}" if config.dataset == "loader" else source
    # The fingerprint hashes the labels as given (a (N, 1) column as (N,)), not as encoded:
    # the same data has the same hash whatever the objective reads it as.
    given = {split: y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
             for split, y in ((s, arrays[f"y_{s}"]) for s in ("train", "test"))}
    arrays, labels, classes = check_labelled(arrays, source=where, classes=config.classes,
                                             objective=objective)
    try:
        resolved = objective.resolve(labels)
    except ObjectiveError as exc:
        raise DataError(f"objective: {exc}", mentions=["objective"]) from None
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    if config.train_limit is not None:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    if config.test_limit is not None:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    validation = config.validation
    held = round(validation * len(y_train)) if isinstance(validation, float) else validation
    n_fit = len(y_train) - held
    if n_fit < 1:
        raise DataError(f"data.validation: {validation} leaves no training rows out of "
                        f"{len(y_train)}; expected at most {len(y_train) - 1}")
    inputs = Inputs.of(x_train[:n_fit], standardize=config.standardize, source=where)
    return Dataset(
        x_train=inputs(x_train[:n_fit], "x_train"), y_train=y_train[:n_fit],
        x_val=inputs(x_train[n_fit:], "x_train"), y_val=y_train[n_fit:],
        x_test=inputs(x_test, "x_test"), y_test=y_test, source=source,
        sha256=fingerprint([x_train, given["train"][:len(y_train)], x_test,
                            given["test"][:len(y_test)]], validation=held),
        classes=classes, scaling=inputs.describe(), labels=labels, objective=resolved,
    )


@dataclass(frozen=True)
class Inputs:
    """How raw inputs become the model's: uint8 divided by 255, anything else as float32;
    then, when asked, standardised with the training split's mean and standard deviation
    (per feature, or per channel of images). Images gain a channel axis: (N, H, W, 1)."""

    scale: float
    mean: np.ndarray | None
    std: np.ndarray | None
    source: str

    @classmethod
    def of(cls, x_fit: np.ndarray, *, standardize: bool, source: str) -> Inputs:
        scale = 255.0 if x_fit.dtype == np.uint8 else 1.0
        if not standardize:
            return cls(scale, None, None, source)
        fit = _as_float(x_fit, scale)
        axes = tuple(range(fit.ndim - 1))  # all but features (or channels)
        mean = fit.mean(axis=axes, dtype=np.float64)
        std = fit.std(axis=axes, dtype=np.float64)
        # A constant feature carries nothing: centred, not divided by zero.
        std = np.where(std > 0, std, 1.0)
        return cls(scale, mean.astype(np.float32), std.astype(np.float32), source)

    def __call__(self, x: np.ndarray, name: str) -> np.ndarray:
        out = _as_float(x, self.scale)
        if self.mean is not None and self.std is not None:
            out = (out - self.mean) / self.std
        if not np.isfinite(out).all():
            where = np.argwhere(~np.isfinite(out))[0]
            raise DataError(f"{self.source}: {name} holds {out[tuple(where)]} (row "
                            f"{int(where[0])}) after scaling; expected finite numbers within "
                            f"float32's range")
        return out

    def describe(self) -> str:
        scaled = "uint8 pixels divided by 255" if self.scale != 1 else "as given (float32)"
        return scaled + (", standardized" if self.mean is not None else "")


def _as_float(x: np.ndarray, scale: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        out = x.astype(np.float32)
    if scale != 1:
        out /= np.float32(scale)
    return out[..., None] if out.ndim == 3 else out


def fingerprint(arrays: list[np.ndarray], *, validation: int) -> str:
    """SHA-256 of the raw images and labels used (after limits) and of where validation
    starts: the same data, split the same way, gives the same hash whatever file held it.
    It hashes the 8-bit pixels, not the float32 copies (docs/speed.md: the cost)."""
    digest = hashlib.sha256(f"validation={validation}".encode())
    for array in arrays:
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def synthetic_arrays(*, n_train: int, n_test: int, seed: int = 1234) -> dict[str, np.ndarray]:
    """A deterministic, learnable MNIST-shaped set: ten random stroke patterns, one per
    class, each image a noisy, randomly shifted copy of its class's pattern."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 28, 28)) < 0.18).astype(np.float32)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        images = prototypes[labels] * 180.0
        shifts = rng.integers(-1, 2, size=(n, 2))
        for axis in (0, 1):  # a one-pixel jitter keeps the task from being a lookup
            for s in (-1, 1):
                rows = shifts[:, axis] == s
                images[rows] = np.roll(images[rows], s, axis=axis + 1)
        images += rng.normal(0.0, 50.0, size=images.shape)
        return np.clip(images, 0, 255).astype(np.uint8), labels

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


# --- lrlab data import ----------------------------------------------------------------------

def import_dataset(source: Path, *, dataset: str = "mnist", dest: Path | None = None) -> Path:
    """Validate a user's copy (a Keras ``.npz`` or a folder of the four IDX files) and write
    it as ``<dest>/<dataset>.npz``, where lrlab looks for it. Returns the written path."""
    if dataset not in NAMED_DATASETS:
        raise DataError(f"unknown data set; expected one of: {', '.join(NAMED_DATASETS)}",
                        about={"dataset": repr(dataset)})
    if not source.exists():
        raise DataError(f"{source}: not found; expected a .npz file or a folder with the "
                        f"four IDX files ({', '.join(IDX_FILES.values())}, optionally .gz)")
    arrays = read_idx_dir(source) if source.is_dir() else read_npz(source)
    validate_arrays(arrays, source=str(source))
    check_published(arrays, dataset, source=str(source))
    dest = data_dir() if dest is None else dest
    target = dest / f"{dataset}.npz"
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest}: cannot write {target.name} ({exc.strerror or exc}); "
                        f"choose another folder (`to`)", mentions=["to"]) from None
    try:
        atomic_write(target, lambda handle: np.savez_compressed(handle, **arrays), binary=True)
    except StoreError as exc:
        raise DataError(f"{exc}; choose another folder (`to`)", mentions=["to"]) from None
    return target


def read_idx_dir(folder: Path) -> dict[str, np.ndarray]:
    """Read the four original MNIST IDX files (plain or ``.gz``) from a folder."""
    arrays = {}
    for name, stem in IDX_FILES.items():
        found = [folder / f"{stem}.gz", folder / stem]
        path = next((p for p in found if p.is_file()), None)
        if path is None:
            raise DataError(f"{folder}: missing {stem}.gz (or {stem}); expected the four "
                            f"IDX files {', '.join(IDX_FILES.values())}")
        arrays[name] = _read_idx(path, dims=3 if name.startswith("x") else 1)
    validate_arrays(arrays, source=str(folder))
    return arrays


def _read_idx(path: Path, *, dims: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from None
    # IDX header: two zero bytes, a type code (0x08 = uint8), the number of dimensions,
    # then one big-endian uint32 per dimension.
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != dims:
        raise DataError(f"{path}: not a {dims}-dimensional uint8 IDX file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    body = raw[4 + 4 * dims:]
    if len(body) != int(np.prod(shape)):
        raise DataError(f"{path}: truncated IDX file (header says {shape}, "
                        f"{len(body)} bytes of data)")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


__all__ = ["Dataset", "load_dataset", "import_dataset", "read_npz", "read_idx_dir",
           "synthetic_arrays", "validate_arrays", "check_labelled", "arrays_of", "data_dir",
           "DATA_DIR_ENV"]

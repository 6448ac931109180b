from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from helpers import Deadline

from lrlab.errors import DataError
from lrlab.experiment.config import DataConfig
from lrlab.training import data
from lrlab.training.data import (
    import_dataset,
    load_dataset,
    read_idx_dir,
    read_npz,
    synthetic_arrays,
)


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return synthetic_arrays(n_train=120, n_test=40)


def publish(monkeypatch: pytest.MonkeyPatch, arrays: dict[str, np.ndarray]) -> None:
    """Take the small synthetic ``arrays`` for the published MNIST and Fashion-MNIST, so
    that importing them tests the mechanics, not the real sets' sizes."""
    mean = float(arrays["x_train"].mean()) / 255
    for name in data.PUBLISHED:
        monkeypatch.setitem(data.PUBLISHED, name, data.Published(
            len(arrays["x_train"]), len(arrays["x_test"]), mean))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


def write_idx(folder: Path, arrays: dict[str, np.ndarray], *, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, stem in data.IDX_FILES.items():
        array = arrays[name]
        header = bytes([0, 0, 8, array.ndim]) + b"".join(
            int(n).to_bytes(4, "big") for n in array.shape)
        payload = header + array.astype(np.uint8).tobytes()
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / stem).write_bytes(payload)


def test_synthetic_is_deterministic_and_mnist_shaped() -> None:
    a, b = synthetic_arrays(n_train=50, n_test=20), synthetic_arrays(n_train=50, n_test=20)
    for key in data.ARRAYS:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["x_train"].shape == (50, 28, 28) and a["x_train"].dtype == np.uint8
    assert set(np.unique(a["y_train"])) == set(range(10))


def test_prepare_scales_and_splits_validation_from_the_end() -> None:
    config = DataConfig(dataset="synthetic", train_limit=100, validation=30, test_limit=20)
    dataset = load_dataset(config)
    raw = synthetic_arrays(n_train=100, n_test=20)
    # Images gain a channel axis; the dense network flattens them itself.
    assert dataset.x_train.shape == (70, 28, 28, 1) and dataset.x_val.shape == (30, 28, 28, 1)
    assert dataset.x_train.dtype == np.float32 and 0.0 <= dataset.x_train.min()
    assert dataset.x_train.max() <= 1.0
    np.testing.assert_allclose(dataset.x_val[0, ..., 0], raw["x_train"][70] / 255.0)
    np.testing.assert_array_equal(dataset.y_val, raw["y_train"][70:])
    assert dataset.y_train.dtype == np.int32 and dataset.has_validation


def test_no_validation_is_allowed() -> None:
    dataset = load_dataset(DataConfig(dataset="synthetic", train_limit=50, validation=0))
    assert len(dataset.y_val) == 0 and not dataset.has_validation


def test_validation_larger_than_training_set() -> None:
    with pytest.raises(DataError, match=r"data.validation: 50 leaves no training rows out "
                                        r"of 50; expected at most 49"):
        load_dataset(DataConfig(dataset="synthetic", train_limit=50, validation=50))


def test_lookup_order_path_then_env_then_keras_cache(tmp_path: Path, arrays: dict) -> None:
    first, second, home = tmp_path / "first", tmp_path / "second", tmp_path / "home"
    for folder, label in ((first, 1), (second, 2), (home / "datasets", 3)):
        folder.mkdir(parents=True)
        marked = dict(arrays, y_test=np.full(40, label, dtype=np.uint8))
        write_npz(folder / "mnist.npz", marked)
    env = {"LRLAB_DATA_DIR": str(second), "KERAS_HOME": str(home)}
    config = DataConfig(validation=10)
    assert load_dataset(config.model_copy(update={"path": first}), env=env).y_test[0] == 1
    assert load_dataset(config, env=env).y_test[0] == 2
    assert load_dataset(config, env={"KERAS_HOME": str(home)}).y_test[0] == 3


def test_missing_everywhere_names_the_places_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(dataset: str) -> dict:
        # As Keras's get_file does it: the network's error wrapped in a bare Exception.
        try:
            raise OSError(-3, "Temporary failure in name resolution")
        except OSError:
            raise Exception("URL fetch failure on https://example/mnist.npz: None")  # noqa: B904

    monkeypatch.setattr(data, "_download", offline)
    env = {"LRLAB_DATA_DIR": str(tmp_path / "d"), "KERAS_HOME": str(tmp_path / "k")}
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(validation=10), env=env)
    message = str(info.value)
    assert str(tmp_path / "d" / "mnist.npz") in message
    assert str(tmp_path / "k" / "datasets" / "mnist.npz") in message
    # The real cause, not "(Exception)": the user learns the machine is offline.
    assert ("Keras's download failed (OSError: [Errno -3] Temporary failure in name "
            "resolution)") in message and "lrlab data import" in message


def test_missing_explicit_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data.path: .* does not exist"):
        load_dataset(DataConfig(path=tmp_path / "nope"), env={"KERAS_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda a: a.pop("y_test"), "missing array\\(s\\) y_test"),
        (lambda a: a.update(x_train=a["x_train"][:, :27]), "x_train has shape \\(120, 27, 28\\)"),
        (lambda a: a.update(x_test=a["x_test"].astype(np.float32)), "expected uint8 pixels"),
        (lambda a: a.update(y_train=a["y_train"][:10]), "expected \\(120,\\), one label"),
        (lambda a: a.update(y_test=a["y_test"] + 5), "integer labels 0..9"),
    ],
)
def test_invalid_arrays(tmp_path: Path, arrays: dict, change, expected: str) -> None:
    change(arrays)
    path = write_npz(tmp_path / "bad.npz", arrays)
    with pytest.raises(DataError, match=expected):  # what `dataset: mnist` accepts
        load_dataset(DataConfig(path=path, validation=10))


def test_corrupted_npz(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(DataError, match="not a readable .npz file"):
        read_npz(path)


@pytest.mark.parametrize("gz", [True, False])
def test_import_idx_folder_round_trips(tmp_path: Path, arrays: dict, gz: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    publish(monkeypatch, arrays)
    write_idx(tmp_path / "idx", arrays, gz=gz)
    target = import_dataset(tmp_path / "idx", dataset="mnist", dest=tmp_path / "store")
    assert target == tmp_path / "store" / "mnist.npz"
    loaded = read_npz(target)
    for key in data.ARRAYS:
        np.testing.assert_array_equal(loaded[key], arrays[key])
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["mnist.npz"]  # no temp files


def test_import_npz_and_errors(tmp_path: Path, arrays: dict,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    publish(monkeypatch, arrays)
    source = write_npz(tmp_path / "copy.npz", arrays)
    target = import_dataset(source, dataset="fashion_mnist", dest=tmp_path / "out")
    assert target.name == "fashion_mnist.npz"
    with pytest.raises(DataError, match="not found"):
        import_dataset(tmp_path / "missing", dest=tmp_path / "out")
    write_idx(tmp_path / "partial", arrays)
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte.gz"):
        read_idx_dir(tmp_path / "partial")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot write mnist.npz"):
        import_dataset(source, dest=blocker / "sub")


def test_truncated_idx(tmp_path: Path, arrays: dict) -> None:
    write_idx(tmp_path / "idx", arrays, gz=False)
    images = tmp_path / "idx" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated IDX file"):
        read_idx_dir(tmp_path / "idx")


@pytest.mark.mnist
def test_real_mnist_file_is_valid(mnist_dir: Path) -> None:
    dataset = load_dataset(DataConfig(validation=10_000), env={"LRLAB_DATA_DIR": str(mnist_dir)})
    assert dataset.x_train.shape == (50_000, 28, 28, 1)
    assert dataset.x_test.shape == (10_000, 28, 28, 1)
    assert dataset.classes == 10
    # The verdict's chance level: the most frequent digit's share (1 in MNIST's test set:
    # 1,135 of 10,000), not 1/10.
    assert dataset.chance()["test"] == 0.1135
    assert dataset.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_import_refuses_a_slice_or_the_other_data_set(tmp_path: Path) -> None:
    """A 3,000-image file is not MNIST, and MNIST's digits are not Fashion-MNIST: the
    published sizes and mean pixels (0.1307, 0.2860) tell them apart."""
    from lrlab.errors import LrlabError

    small = write_npz(tmp_path / "small.npz", synthetic_arrays(n_train=3000, n_test=100))
    with pytest.raises(DataError, match="3,000 training and 100 test images; the published "
                                        "mnist has 60,000 and 10,000"):
        import_dataset(small, dataset="mnist", dest=tmp_path / "out")
    rng = np.random.default_rng(0)
    digits = {  # the published sizes, mean pixel about MNIST's 0.1307
        "x_train": (rng.random((60_000, 28, 28)) < 0.1307).astype(np.uint8) * 255,
        "y_train": rng.integers(0, 10, 60_000).astype(np.uint8),
        "x_test": (rng.random((10_000, 28, 28)) < 0.1307).astype(np.uint8) * 255,
        "y_test": rng.integers(0, 10, 10_000).astype(np.uint8)}
    source = write_npz(tmp_path / "digits.npz", digits)
    with pytest.raises(LrlabError) as caught:
        import_dataset(source, dataset="fashion_mnist", dest=tmp_path / "out")
    assert "not fashion_mnist's 0.286; these look like mnist" in str(caught.value)
    assert caught.value.as_options().endswith("import them with --dataset mnist")
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_data_path_that_is_not_a_file_is_named_as_what_it_is(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo.npz")  # reading it would block forever: refused unopened
    for dataset in ("npz", "mnist"):
        with pytest.raises(DataError, match=r"data.path: .*fifo.npz is a FIFO, not a file"), \
                Deadline(10):
            load_dataset(DataConfig(dataset=dataset, path=tmp_path / "fifo.npz"), env={})
    with pytest.raises(DataError, match=r"data.path: /dev/zero is a character device, not a file"):
        load_dataset(DataConfig(dataset="npz", path=Path("/dev/zero")), env={})
    with pytest.raises(DataError, match=r"fifo.npz is a FIFO, not a file"), Deadline(10):
        import_dataset(tmp_path / "fifo.npz", dest=tmp_path / "out")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(DataError, match=r"data.path: .*loop: .*(link|Too many levels)"):
        load_dataset(DataConfig(dataset="npz", path=tmp_path / "loop"), env={})


def test_pickled_arrays_are_refused_without_numpys_advice(
        tmp_path: Path, arrays: dict[str, np.ndarray]) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, **{**arrays, "y_train": np.array([{"a": 1}] * 120, dtype=object)})
    with pytest.raises(DataError) as info:
        read_npz(path)
    assert "holds Python objects, which lrlab never loads" in str(info.value)
    assert "allow_pickle" not in str(info.value) and "unsafe" not in str(info.value)
    (tmp_path / "pickle.npz").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError) as info:
        read_npz(tmp_path / "pickle.npz")
    assert "not a zip archive of arrays" in str(info.value)
    assert "allow_pickle" not in str(info.value)


def _arrays(x_train, y_train, x_test, y_test) -> dict:
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_an_npz_of_colour_images_with_a_label_column_and_k_classes(tmp_path: Path) -> None:
    """CIFAR-shaped: (N, 32, 32, 3) uint8 and (N, 1) labels, here 4 classes."""
    rng = np.random.default_rng(0)
    arrays = _arrays(rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8),
                     (np.arange(50) % 4)[:, None], rng.integers(0, 256, (8, 32, 32, 3),
                                                                 dtype=np.uint8),
                     (np.arange(8) % 4)[:, None])
    path = write_npz(tmp_path / "cifar_like.npz", arrays)
    dataset = load_dataset(DataConfig(dataset="npz", path=path))
    assert dataset.x_train.shape == (45, 32, 32, 3)  # a tenth held out by default
    assert dataset.x_val.shape == (5, 32, 32, 3) and dataset.classes == 4
    np.testing.assert_allclose(dataset.x_test, arrays["x_test"] / np.float32(255))
    assert dataset.y_test.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert dataset.provenance()["input_shape"] == [32, 32, 3]
    assert dataset.provenance()["scaling"] == "uint8 pixels divided by 255"


def test_feature_vectors_are_taken_as_they_are_or_standardized() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(50.0, 10.0, (100, 3)) * np.array([1.0, 100.0, 0.0])  # a constant feature
    arrays = _arrays(x, np.arange(100) % 2, x[:10], np.arange(10) % 2)
    plain = data._prepare(arrays, DataConfig(dataset="npz", path=Path("x"), validation=20),
                          "tabular")
    np.testing.assert_allclose(plain.x_train, x[:80].astype(np.float32))
    assert plain.scaling == "as given (float32)"
    scaled = data._prepare(arrays, DataConfig(dataset="npz", path=Path("x"), validation=20,
                                              standardize=True), "tabular")
    # The training split's statistics, applied to every split; a constant feature stays 0.
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.x_train[:, :2].std(axis=0), 1.0, rtol=1e-4)
    fit = x[:80]
    np.testing.assert_allclose(scaled.x_val, (x[80:] - fit.mean(0)) / np.where(
        fit.std(0) > 0, fit.std(0), 1.0), rtol=1e-4, atol=1e-5)
    assert scaled.scaling == "as given (float32), standardized"


def test_validation_as_a_share_and_chance_per_split() -> None:
    y = np.array([0] * 70 + [1] * 30)
    arrays = _arrays(np.zeros((100, 2)), y, np.zeros((10, 2)), np.array([1] * 6 + [0] * 4))
    dataset = data._prepare(arrays, DataConfig(dataset="npz", path=Path("x"),
                                               validation=0.25), "skewed")
    assert (len(dataset.y_train), len(dataset.y_val)) == (75, 25)
    assert dataset.chance() == {"train": 70 / 75, "validation": 1.0, "test": 0.6}

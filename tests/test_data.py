"""itutils.data: the binarised digits and the IDX/MNIST reader."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from itutils.data import (
    load_digits_binary,
    load_digits_classification,
    load_mnist,
    read_idx,
)

# ---------------------------------------------------------------- digits


def test_digits_binary_shapes_types_and_values():
    data = load_digits_binary()
    assert data._fields == ("x_train", "x_test", "y_train", "y_test")
    assert data.x_train.shape == (1347, 64) and data.x_test.shape == (450, 64)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    for x in (data.x_train, data.x_test):
        assert set(x.unique().tolist()) == {0.0, 1.0}


def test_digits_binary_is_the_thresholded_classification_split():
    binary = load_digits_binary(test_size=0.3, random_state=5)
    x_train, x_test, y_train, y_test = load_digits_classification(0.3, 5)
    assert torch.equal(binary.x_train, (x_train > 0.5).float())
    assert torch.equal(binary.x_test, (x_test > 0.5).float())
    assert torch.equal(binary.y_train, y_train) and torch.equal(binary.y_test, y_test)


def test_digits_binary_split_is_fixed_and_stratified():
    a, b = load_digits_binary(), load_digits_binary()
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    train = np.bincount(a.y_train.numpy(), minlength=10) / len(a.y_train)
    test = np.bincount(a.y_test.numpy(), minlength=10) / len(a.y_test)
    np.testing.assert_allclose(train, test, atol=0.01)


# ---------------------------------------------------------------- IDX files

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
          np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` in IDX, written independently of the reader."""
    head = bytes([0, 0, _CODES[array.dtype.type], array.ndim])
    sizes = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, array, gz=False):
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", list(_CODES))
def test_read_idx_round_trips_every_type(tmp_path, dtype, gz):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype is np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    back = read_idx(write(tmp_path / "a", array, gz))
    assert back.shape == array.shape and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def make_mnist(folder, n_train=5, n_test=3, gz=False, rows=4, cols=3):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, rows, cols)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, array in arrays.items():
        write(folder / (name + (".gz" if gz else "")), array.astype(np.uint8), gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_plain_and_gzip(tmp_path, gz):
    arrays = make_mnist(tmp_path, gz=gz)
    mnist = load_mnist(tmp_path)
    assert mnist.x_train.shape == (5, 12) and mnist.x_test.shape == (3, 12)
    assert mnist.x_train.dtype == torch.float32 and mnist.y_test.dtype == torch.int64
    expected = arrays["train-images-idx3-ubyte"].reshape(5, -1) / 255.0
    np.testing.assert_allclose(mnist.x_train.numpy(), expected, rtol=1e-6)
    labels = arrays["t10k-labels-idx1-ubyte"]
    np.testing.assert_array_equal(mnist.y_test.numpy(), labels)
    binary = load_mnist(tmp_path, binarize=True)
    bits = (expected > 0.5).astype(np.float32)
    np.testing.assert_array_equal(binary.x_train.numpy(), bits)


def test_load_mnist_accepts_a_mix_of_gz_and_plain(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").rename(tmp_path / "keep")
    labels = np.array([1, 2, 3], np.uint8)
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, gz=True)
    assert load_mnist(tmp_path).y_test.tolist() == [1, 2, 3]


HEADER = bytes([0, 0, 0x08, 1]) + (4).to_bytes(4, "big")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x12\x34\x08\x01" + (4).to_bytes(4, "big") + bytes(4), "magic number"),
        (b"\x00\x00\x07\x01" + (4).to_bytes(4, "big") + bytes(4), "unknown IDX"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + bytes(5), "header is cut short"),
        (HEADER + bytes(3), "holds 3 data bytes"),
        (HEADER + bytes(5), "holds 5 data bytes"),
    ],
)
def test_read_idx_refuses_malformed_files(tmp_path, raw, message):
    path = tmp_path / "bad"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        read_idx(path)


def test_read_idx_refuses_a_truncated_gzip_and_a_missing_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(HEADER + bytes(4))[:-6])
    with pytest.raises(ValueError, match="cannot be decompressed"):
        read_idx(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_idx(tmp_path / "nope")


def test_load_mnist_refuses_inconsistent_sets(tmp_path):
    make_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 12], np.uint8))
    with pytest.raises(ValueError, match="label 12"):
        load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    write(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 12), np.uint8))
    with pytest.raises(ValueError, match="3-D array"):
        load_mnist(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 4, 3), np.float32))
    with pytest.raises(ValueError, match="unsigned bytes"):
        load_mnist(tmp_path)


def test_load_mnist_names_a_missing_file_and_folder(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "missing")

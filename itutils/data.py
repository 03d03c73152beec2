"""Small data sets that ship offline, and a loader for real MNIST files.

Nothing here downloads: the digits come with scikit-learn, and MNIST is read
from IDX files the user already has.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

__all__ = [
    "DigitsBinary",
    "MNIST",
    "load_digits_binary",
    "load_digits_classification",
    "load_mnist",
    "read_idx",
]


def _digits_split(test_size: float, random_state: int):
    digits = load_digits()
    # Raw pixels are counts 0..16; scale them to [0, 1].
    x = digits.data.astype(np.float32) / 16.0
    return train_test_split(
        x, digits.target, test_size=test_size, random_state=random_state,
        stratify=digits.target,
    )


def load_digits_classification(test_size: float = 0.25, random_state: int = 0):
    """scikit-learn's 8x8 digits scaled to [0, 1], split for classification.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of the 1,797 images held out, stratified by digit.
    random_state : int, default 0
        Seed of the split, so every run sees the same images.

    Returns
    -------
    x_train, x_test : torch.Tensor, float32, shape (n, 64)
    y_train, y_test : torch.Tensor, int64, shape (n,)

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb`` for the label-smoothing
    experiment.

    Examples
    --------
    >>> x_train, x_test, y_train, y_test = load_digits_classification()
    >>> tuple(x_train.shape), tuple(x_test.shape), int(y_train.max())
    ((1347, 64), (450, 64), 9)
    """
    x_train, x_test, y_train, y_test = _digits_split(test_size, random_state)
    return (
        torch.from_numpy(x_train),
        torch.from_numpy(x_test),
        torch.from_numpy(y_train.astype(np.int64)),
        torch.from_numpy(y_test.astype(np.int64)),
    )


class DigitsBinary(NamedTuple):
    """Binarised digits: images as float32 0/1 tensors, labels as int64."""

    x_train: torch.Tensor
    x_test: torch.Tensor
    y_train: torch.Tensor
    y_test: torch.Tensor


def load_digits_binary(test_size: float = 0.25, random_state: int = 0) -> DigitsBinary:
    """scikit-learn's 8x8 digits as black-and-white images, for the VAE chapters.

    Each pixel is scaled by 1/16 and set to 1 where it exceeds 0.5, so
    every image is a vector of 64 bits. A Bernoulli decoder's binary
    cross-entropy is then a true negative log-likelihood in nats: the raw
    pixel values 0..16 are not probabilities, and ``BCE(p, 7)`` is not the
    log-probability of anything (it can even be negative), so the ELBO would
    not bound ``log p(x)``.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of the 1,797 images held out, stratified by digit (the same
        split as :func:`load_digits_classification` for the same arguments).
    random_state : int, default 0
        Seed of the split, so every run sees the same images.

    Returns
    -------
    DigitsBinary
        A named tuple ``(x_train, x_test, y_train, y_test)``: images as
        float32 tensors of shape ``(n, 64)`` holding only 0.0 and 1.0, labels
        as int64 tensors of shape ``(n,)``.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb`` (section "The data") and used in
    ``notebooks/06_elbo.ipynb``.

    Examples
    --------
    >>> data = load_digits_binary()
    >>> tuple(data.x_train.shape), tuple(data.x_test.shape)
    ((1347, 64), (450, 64))
    >>> sorted(data.x_train.unique().tolist())   # only bits remain
    [0.0, 1.0]
    >>> round(float(data.x_train.mean()), 4)      # about 29% of pixels are on
    0.2924
    """
    x_train, x_test, y_train, y_test = _digits_split(test_size, random_state)
    # A pixel is on when more than half inked (9/16 or more): strict ">".
    binary = [
        torch.from_numpy((x > 0.5).astype(np.float32)) for x in (x_train, x_test)
    ]
    return DigitsBinary(
        binary[0],
        binary[1],
        torch.from_numpy(y_train.astype(np.int64)),
        torch.from_numpy(y_test.astype(np.int64)),
    )


# IDX element types: the third byte of the magic number.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzip-compressed or plain.

    Parameters
    ----------
    path : str or pathlib.Path
        The file. Compression is detected from its first bytes, not its name.

    Returns
    -------
    numpy.ndarray
        The array with the shape and element type stored in the header.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a well-formed IDX file: a wrong magic number, an
        unknown element type, a header or data of the wrong length, or a
        damaged gzip stream. The message says what was found.

    Notes
    -----
    The format (LeCun et al.): two zero bytes, a type code, the number of
    dimensions ``d``; then ``d`` big-endian 32-bit sizes; then the data,
    big-endian, in C order. Used by :func:`load_mnist`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> sizes = (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    >>> header = bytes([0, 0, 0x08, 2]) + sizes  # ubyte, 2-D, shape (2, 3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d) / "tiny-idx2-ubyte"
    ...     _ = f.write_bytes(header + bytes(range(6)))
    ...     read_idx(f)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {str(path)!r} does not exist")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path.name} looks gzip-compressed but cannot be decompressed "
                f"({exc}); the download is probably truncated, fetch it again"
            ) from exc
    if len(raw) < 4:
        raise ValueError(
            f"{path.name} is {len(raw)} bytes long, too short for an IDX header "
            "(at least 4 bytes); it is not an IDX file"
        )
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path.name} does not start with the IDX magic number (two zero "
            f"bytes), found {raw[:4].hex()}; give an MNIST IDX file such as "
            "train-images-idx3-ubyte(.gz)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{path.name} has unknown IDX element type 0x{code:02x}; known "
            f"types are {', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}"
        )
    if ndim == 0:
        raise ValueError(f"{path.name} declares 0 dimensions; an IDX array needs >= 1")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(
            f"{path.name} declares {ndim} dimensions but its header is cut "
            f"short ({len(raw)} bytes, need {start})"
        )
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - start
    if found != expected:
        raise ValueError(
            f"{path.name} declares shape {shape} of {dtype.name} "
            f"({expected} data bytes) but holds {found} data bytes; the file is "
            "truncated or not an IDX file"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


class MNIST(NamedTuple):
    """MNIST as flat float32 images in [0, 1] (or bits) and int64 labels."""

    x_train: torch.Tensor
    x_test: torch.Tensor
    y_train: torch.Tensor
    y_test: torch.Tensor


_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{stem}(.gz) not found in {str(folder)!r}; load_mnist expects the four "
        "MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzipped or not) in "
        "that folder; nothing is downloaded"
    )


def load_mnist(path, binarize: bool = False) -> MNIST:
    """Load MNIST from the four IDX files in a folder; nothing is downloaded.

    Parameters
    ----------
    path : str or pathlib.Path
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain
        or gzipped (``.gz``).
    binarize : bool, default False
        If True, pixels become 1.0 where the scaled value exceeds 0.5 and
        0.0 elsewhere, as :func:`load_digits_binary` does, so that a
        Bernoulli decoder's cross-entropy is a log-likelihood.

    Returns
    -------
    MNIST
        A named tuple ``(x_train, x_test, y_train, y_test)``: images flattened
        to float32 tensors of shape ``(n, rows * cols)`` scaled by 1/255,
        labels as int64 tensors of shape ``(n,)``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If a file is malformed (see :func:`read_idx`), images are not a 3-D
        array of bytes, labels not a 1-D array of digits 0..9, or the counts
        of images and labels differ.

    Notes
    -----
    For learners who want the chapter 4 VAE on real MNIST
    (``notebooks/04_vae.ipynb``); the course itself runs on the bundled
    digits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> def idx(shape, values):  # a tiny well-formed IDX file of bytes
    ...     head = bytes([0, 0, 0x08, len(shape)])
    ...     return head + b"".join(n.to_bytes(4, "big") for n in shape) + bytes(values)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     d = pathlib.Path(d)
    ...     for split, n in (("train", 3), ("t10k", 2)):
    ...         images = idx((n, 2, 2), [255] * 4 * n)
    ...         _ = (d / f"{split}-images-idx3-ubyte").write_bytes(images)
    ...         _ = (d / f"{split}-labels-idx1-ubyte").write_bytes(idx((n,), range(n)))
    ...     mnist = load_mnist(d)
    >>> tuple(mnist.x_train.shape), mnist.y_test.tolist(), float(mnist.x_test.max())
    ((3, 4), [0, 1], 1.0)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"MNIST folder {str(folder)!r} does not exist; pass the folder that "
            "holds the four IDX files"
        )
    arrays = {
        key: read_idx(_find_idx(folder, stem)) for key, stem in _MNIST_FILES.items()
    }
    out = {}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        xname, yname = _MNIST_FILES[f"x_{split}"], _MNIST_FILES[f"y_{split}"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{xname} must hold a 3-D array of unsigned bytes (images, rows, "
                f"cols), got {images.ndim}-D {images.dtype} of shape {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(
                f"{yname} must hold a 1-D array of unsigned bytes, got "
                f"{labels.ndim}-D {labels.dtype} of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"{xname} has {len(images)} images but {yname} has "
                f"{len(labels)} labels; the files come from different sets"
            )
        if labels.size and labels.max() > 9:
            raise ValueError(
                f"{yname} has label {int(labels.max())}; MNIST labels are digits 0..9"
            )
        x = images.reshape(len(images), -1).astype(np.float32) / 255.0
        if binarize:
            x = (x > 0.5).astype(np.float32)
        out[f"x_{split}"] = torch.from_numpy(x)
        out[f"y_{split}"] = torch.from_numpy(labels.astype(np.int64))
    return MNIST(**out)

"""Small data sets that ship offline, and a loader for real MNIST files.

Nothing here downloads: the digits come with scikit-learn, and MNIST is read
from IDX files the user already has.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

__all__ = ["load_digits_classification"]


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

"""Input checks shared by every public function of itutils.

One place decides what counts as a probability distribution, so every
function refuses bad input with the same clear message: what is wrong,
where, and what to do about it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

#: How far a distribution's total may stray from 1 before it is refused.
SUM_TOLERANCE = 1e-6


def log_base(base: float) -> float:
    """Return ``ln(base)``, refusing bases that do not define a unit."""
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(
            f"base must be a real number such as 2 (bits) or numpy.e (nats), "
            f"got {type(base).__name__}"
        )
    base = float(base)
    if not math.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(
            f"base must be a positive number other than 1, got {base}; "
            "use base=2 for bits or base=numpy.e for nats"
        )
    return math.log(base)


def as_float_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a non-empty float64 array of real numbers."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} could not be read as an array ({exc}); give a rectangular "
            "array of numbers, every row the same length"
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(
            f"{name} must hold numbers, got an array of dtype {arr.dtype}; "
            "convert it with numpy.asarray(..., dtype=float)"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; give at least one probability")
    return arr.astype(np.float64, copy=False)


def _first_bad(arr: np.ndarray, mask: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    # float() prints -0.1, not numpy 2's repr np.float64(-0.1).
    value = float(arr[index])
    if not index:  # a single number has no index to name
        return f"{value!r}"
    where = index[0] if len(index) == 1 else index
    return f"{value!r} at index {where}"


def check_probabilities(arr: np.ndarray, name: str) -> None:
    """Refuse NaN, infinite or negative entries, naming the first one."""
    # One min() answers the common case: NaN makes it NaN, so the test fails.
    if arr.min() >= 0 and np.isfinite(arr.max()):
        return
    nan = np.isnan(arr)
    if nan.any():
        raise ValueError(
            f"{name} contains NaN ({_first_bad(arr, nan)}); "
            "probabilities must be real numbers; find where the NaN came from "
            "(often 0/0 when normalising an all-zero row)"
        )
    inf = np.isinf(arr)
    if inf.any():
        raise ValueError(
            f"{name} contains an infinite value ({_first_bad(arr, inf)}); "
            "probabilities must be finite"
        )
    neg = arr < 0
    raise ValueError(
        f"{name} has a negative entry ({_first_bad(arr, neg)}); probabilities "
        "must be >= 0 (if these are log-probabilities or logits, apply "
        "numpy.exp or a softmax first)"
    )


def as_distribution(
    p, name: str = "p", axis=-1, normalize: bool = False, *,
    offer_normalize: bool = True,
) -> np.ndarray:
    """Return ``p`` as float64 distributions along ``axis``.

    ``axis=None`` treats the whole array as one distribution (a joint table).
    With ``normalize=True`` non-negative counts or weights are divided by
    their total; otherwise the total must be 1 within ``SUM_TOLERANCE``.
    Callers without a ``normalize`` argument pass ``offer_normalize=False``
    so that the error message suggests a fix the caller can actually use.
    """
    arr = as_float_array(p, name)
    if axis is not None:
        if arr.ndim == 0:
            raise ValueError(
                f"{name} is a single number; a distribution needs an array of "
                "probabilities such as [0.5, 0.5]"
            )
        if not -arr.ndim <= axis < arr.ndim:
            raise ValueError(
                f"axis {axis} is out of range for {name} with "
                f"{arr.ndim} dimension(s)"
            )
    check_probabilities(arr, name)
    total = arr.sum(axis=axis, keepdims=True)
    if normalize:
        if np.any(total == 0):
            raise ValueError(
                f"{name} has a distribution whose counts are all zero; "
                "normalize=True needs at least one positive count in each"
            )
        return arr / total
    off = np.abs(total - 1.0)
    if np.any(off > SUM_TOLERANCE):
        worst = float(total.ravel()[np.argmax(off.ravel())])
        along = "in total" if axis is None else f"along axis {axis}"
        if offer_normalize:
            fix = "pass normalize=True to treat the values as counts or weights"
        else:
            keep = "" if axis is None else f"axis={axis}, keepdims=True"
            fix = (
                f"divide it by its total first, e.g. {name} / {name}.sum({keep})"
            )
        raise ValueError(
            f"{name} must sum to 1 {along}, but a sum is {worst:.10g}; {fix}"
        )
    return arr


def as_joint(
    pxy, name: str = "pxy", ndim: int | None = 2, normalize: bool = False, *,
    offer_normalize: bool = True,
):
    """Return a joint probability table; ``ndim=None`` allows any rank."""
    arr = as_float_array(pxy, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D joint table with pxy[i, j] = P(X=i, Y=j), "
            f"got an array with {arr.ndim} dimension(s) of shape {arr.shape}; "
            "pass the table of joint probabilities itself (for independent "
            "X and Y it is numpy.outer(px, py)), or use entropy() for the "
            "distribution of a single variable"
        )
    return as_distribution(
        arr, name, axis=None, normalize=normalize, offer_normalize=offer_normalize
    )


def check_same_shape(p: np.ndarray, q: np.ndarray, names=("p", "q")) -> None:
    """Refuse two distributions whose shapes differ."""
    if p.shape != q.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got "
            f"{p.shape} and {q.shape}; they must describe the same outcomes "
            "in the same order"
        )


def nonnegative(value):
    """Remove a negative rounding residue from a quantity that is >= 0 in theory.

    Only differences of order 1e-12 relative are possible here; anything
    larger signals a bug and is left visible.
    """
    return np.maximum(value, 0.0)


# --- samples (used by itutils.estimators) -----------------------------------


def as_samples(x, name: str) -> np.ndarray:
    """Return continuous samples as a finite float64 array of shape (n, d).

    A 1-D array is ``n`` samples of one variable; a 2-D array has one row
    per sample and one column per dimension.
    """
    arr = as_float_array(x, name)
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (n samples) or 2-D (n samples x d dimensions), "
            f"got an array of shape {arr.shape}"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    if not np.all(np.isfinite(arr)):
        bad = ~np.isfinite(arr)
        raise ValueError(
            f"{name} contains a non-finite sample ({_first_bad(arr, bad)}); "
            "drop or impute the rows with NaN or infinite values first"
        )
    return arr


def check_same_length(a, b, names=("x", "y")) -> int:
    """Refuse two sample arrays with different numbers of samples."""
    na, nb = len(a), len(b)
    if na != nb:
        raise ValueError(
            f"{names[0]} and {names[1]} must hold the same number of samples "
            f"(one pair per row), got {na} and {nb}"
        )
    return na


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Refuse a non-integer or an integer below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def scalar_or_array(x):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x

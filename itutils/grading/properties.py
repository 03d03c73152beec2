"""Properties an answer must have, for ``check_that(answer, property, *args)``.

Each function takes the answer as plain data (numbers, lists, numpy arrays,
dicts) and returns None when it holds, or a sentence saying what is wrong.
They check *properties* (a shape, a range, a construction that must be
uncorrelated yet dependent), never reveal a reference answer, and so may be
used in the learners' visible self-checks too.
"""

from __future__ import annotations

import numpy as np

from itutils.grading.checks import describe

__all__ = [
    "matches",
    "prefix_code",
    "in_bounds",
    "is_number",
    "in_range",
    "has_shape",
    "is_distribution",
    "uncorrelated_dependent",
    "rate_distortion_trend",
    "ordered_bounds",
]


def _as_float(value):
    if value is None or isinstance(value, (str, dict, bool)):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _unanswered(value) -> bool:
    return value is None


def matches(value, target, hints=None, atol: float = 1e-6, rtol: float = 1e-6):
    """``value`` is ``target`` for this input; otherwise a hint at the likely slip.

    ``hints`` maps a sentence to the value that a known mistake produces on
    the same input (the entropy in nats instead of bits, a swapped axis, a
    variance read as a standard deviation). A wrong value gets the sentence
    of the first mistake it reproduces, or only the news that it is off: the
    message never shows ``target``, so a self-check can use this without
    giving the answer away. Arrays are compared element by element and must
    have the target's shape; ``nan`` matches a hint of ``nan``.

    Examples
    --------
    >>> hints = {"this is the entropy in nats: use log base 2": 1.0397207708}
    >>> matches(1.5, 1.5, hints) is None
    True
    >>> matches(1.0397207708, 1.5, hints)
    'got 1.039720771; this is the entropy in nats: use log base 2'
    >>> matches(0.3, 1.5, hints)
    'got 0.3, which is not the right value for this input'
    >>> matches(None, 1.5)
    'not answered yet (got None)'
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    want = np.asarray(target, dtype=np.float64)
    arr = _as_float(value)
    if arr is None:
        return f"expected numbers, got {describe(value)}"
    if arr.shape != want.shape:
        shape = "a single number" if want.shape == () else f"shape {want.shape}"
        got = "a single number" if arr.shape == () else f"shape {arr.shape}"
        return f"expected {shape}, got {got}: {describe(value)}"
    if bool(np.all(np.isclose(arr, want, atol=atol, rtol=rtol))):
        return None
    shown = describe(value if not isinstance(value, list) else arr)
    for sentence, slip in (hints or {}).items():
        slip = np.asarray(slip, dtype=np.float64)
        if slip.shape == arr.shape and bool(
            np.all(np.isclose(arr, slip, atol=atol, rtol=rtol, equal_nan=True))
        ):
            return f"got {shown}; {sentence}"
    if np.any(np.isinf(want) & np.isfinite(arr)):
        return (
            f"got {shown}, a finite number where the exact answer is infinite "
            "(an epsilon or a clip hides an impossible event?)"
        )
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(want)):
        return (
            f"got {shown}: a nan or inf where a finite number belongs "
            "(a 0 * log 0 term, or an overflow?)"
        )
    return f"got {shown}, which is not the right value for this input"


def prefix_code(value, n_symbols: int):
    """``n_symbols`` distinct non-empty strings of 0s and 1s, none a prefix of another.

    Such a code can be decoded as the bits arrive, with no separators.

    Examples
    --------
    >>> prefix_code(["0", "10", "11"], 3) is None
    True
    >>> prefix_code(["0", "01", "11"], 3)
    "'0' is a prefix of '01': a decoder could not tell where a codeword ends"
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(w, str) for w in value
    ):
        return f"expected a list of codeword strings, got {describe(value)}"
    if len(value) != n_symbols:
        return f"expected one codeword per symbol ({n_symbols}), got {len(value)}"
    for word in value:
        if not word or set(word) - {"0", "1"}:
            return f"codewords are non-empty strings of '0' and '1', got {word!r}"
    ordered = sorted(value)  # a prefix sorts right before the words it starts
    for shorter, longer in zip(ordered, ordered[1:], strict=False):
        if longer.startswith(shorter):
            if shorter == longer:
                return f"the codeword {shorter!r} is used twice"
            return (
                f"{shorter!r} is a prefix of {longer!r}: a decoder could not tell "
                "where a codeword ends"
            )
    return None


def is_number(value):
    """A single real, finite number.

    Examples
    --------
    >>> is_number(2.5) is None
    True
    >>> is_number([1.0])
    'expected a single number, got [1.0]'
    """
    arr = _as_float(value)
    if arr is None or arr.shape != ():
        return f"expected a single number, got {describe(value)}"
    if not np.isfinite(arr):
        return f"expected a finite number, got {describe(value)}"
    return None


def in_range(value, low: float, high: float):
    """A single number with ``low <= value <= high``.

    Examples
    --------
    >>> in_range(1.5, 0, 1)
    'expected a number between 0 and 1, got 1.5'
    """
    problem = is_number(value)
    if problem:
        return problem
    if not low <= float(value) <= high:
        return f"expected a number between {low:g} and {high:g}, got {describe(value)}"
    return None


def in_bounds(value, low, high, atol: float = 1e-12):
    """Numbers with ``low <= value < high`` element by element.

    ``low`` and ``high`` are numbers or arrays of the value's shape.

    Examples
    --------
    >>> in_bounds([0.5, 0.2], 0.0, [1.0, 0.5]) is None
    True
    >>> in_bounds([0.5, 0.7], 0.0, [1.0, 0.5])
    'entry 1 is 0.7, not below its upper bound 0.5'
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    arr = _as_float(value)
    if arr is None or not np.all(np.isfinite(arr)):
        return f"expected finite numbers, got {describe(value)}"
    lo = np.broadcast_to(np.asarray(low, dtype=np.float64), arr.shape)
    hi = np.broadcast_to(np.asarray(high, dtype=np.float64), arr.shape)
    for index in np.ndindex(arr.shape):
        where = f"entry {index[0] if len(index) == 1 else index} is"
        if arr.shape == ():
            where = "the value is"
        if arr[index] < lo[index] - atol:
            return f"{where} {arr[index]:.6g}, below its lower bound {lo[index]:.6g}"
        if arr[index] >= hi[index]:
            return (
                f"{where} {arr[index]:.6g}, not below its upper bound {hi[index]:.6g}"
            )
    return None


def has_shape(value, shape):
    """A numeric array of exactly this shape.

    Examples
    --------
    >>> has_shape(np.zeros((3, 2)), (3, 2)) is None
    True
    >>> has_shape([1, 2, 3], (3, 2))
    'expected an array of shape (3, 2), got shape (3,)'
    """
    arr = _as_float(value)
    if arr is None:
        return f"expected a numeric array, got {describe(value)}"
    if arr.shape != tuple(shape):
        return f"expected an array of shape {tuple(shape)}, got shape {arr.shape}"
    return None


def is_distribution(value, atol: float = 1e-6):
    """Non-negative numbers that sum to 1 (a table is one joint distribution).

    Examples
    --------
    >>> is_distribution([[0.25, 0.25], [0.5, 0.0]]) is None
    True
    >>> is_distribution([0.5, 0.6])
    'the entries sum to 1.1, not 1'
    """
    arr = _as_float(value)
    if arr is None or arr.size == 0:
        return f"expected an array of probabilities, got {describe(value)}"
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        return "the table has negative or non-finite entries"
    total = float(arr.sum())
    if abs(total - 1) > atol:
        return f"the entries sum to {total:.6g}, not 1"
    return None


def uncorrelated_dependent(value, min_bits: float = 0.01, atol: float = 1e-9):
    """``[x_values, y_values, pxy]``: zero correlation, positive mutual information.

    ``pxy[i, j] = P(X = x_values[i], Y = y_values[j])``.

    Examples
    --------
    >>> xs, ys = [-1, 0, 1], [0, 1]
    >>> pxy = [[0, 1/3], [1/3, 0], [0, 1/3]]  # Y = X**2
    >>> uncorrelated_dependent([xs, ys, pxy]) is None
    True
    >>> uncorrelated_dependent([xs, ys, [[1/6, 1/6]] * 3])
    'X and Y are independent (I(X;Y) = 0 bits); make Y depend on X'
    """
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return "expected [x_values, y_values, pxy]"
    xs, ys, pxy = (_as_float(v) for v in value)
    if xs is None or ys is None or pxy is None or xs.ndim != 1 or ys.ndim != 1:
        return "x_values and y_values must be 1-D arrays of numbers"
    if pxy.shape != (xs.size, ys.size):
        return (
            f"pxy must have shape (len(x_values), len(y_values)) = "
            f"{(xs.size, ys.size)}, got {pxy.shape}"
        )
    problem = is_distribution(pxy)
    if problem:
        return "pxy is not a joint distribution: " + problem
    px, py = pxy.sum(axis=1), pxy.sum(axis=0)
    cov = float(xs @ pxy @ ys - (px @ xs) * (py @ ys))
    if abs(cov) > atol:
        return f"Cov(X, Y) = {cov:.3g}, not 0: X and Y are correlated"
    var_x, var_y = px @ xs**2 - (px @ xs) ** 2, py @ ys**2 - (py @ ys) ** 2
    if var_x <= atol or var_y <= atol:
        return "X or Y is constant, so the correlation is undefined"
    from itutils.measures import mutual_information

    mi = mutual_information(pxy)
    if mi < min_bits:
        if mi < 1e-12:
            return "X and Y are independent (I(X;Y) = 0 bits); make Y depend on X"
        return f"I(X;Y) = {mi:.3g} bits is too small to convince (want >= {min_bits})"
    return None


def rate_distortion_trend(value, betas=(0.5, 1.0, 2.0)):
    """``{beta: [rate, distortion]}``: positive numbers, rate falling with beta.

    A larger beta prices information in the latent code higher, so the
    trained encoder sends less of it (a lower rate) and the reconstruction
    gets worse (a higher distortion).

    Examples
    --------
    >>> rate_distortion_trend({0.5: [20.0, 30.0], 1.0: [12.0, 35.0], 2.0: [6.0, 45.0]})
    >>> rate_distortion_trend({0.5: [5.0, 30.0], 1.0: [12.0, 35.0], 2.0: [6.0, 45.0]})
    'the rate should fall as beta grows, got rates [5.0, 12.0, 6.0] nats'
    """
    if not isinstance(value, dict) or sorted(value) != sorted(betas):
        return f"expected a dict with keys {list(betas)}, got {describe(value)}"
    rates, distortions = [], []
    for beta in sorted(betas):
        pair = _as_float(value[beta])
        if pair is None or pair.shape != (2,) or not np.all(np.isfinite(pair)):
            return f"beta={beta} needs [rate, distortion], got {describe(value[beta])}"
        rates.append(float(pair[0]))
        distortions.append(float(pair[1]))
    if min(rates) < 0 or min(distortions) <= 0:
        return "rates must be >= 0 and distortions > 0 (both in nats)"
    if not all(a > b for a, b in zip(rates, rates[1:], strict=False)):
        return f"the rate should fall as beta grows, got rates {rates} nats"
    if not distortions[-1] > distortions[0]:
        return (
            f"the distortion should be larger at beta={max(betas)} than at "
            f"beta={min(betas)}, got {distortions} nats"
        )
    return None


def ordered_bounds(value):
    """``[elbo, iwae]`` in nats: finite, negative, and ``elbo <= iwae``.

    Both bound ``log p(x) < 0`` (for binary data) from below, and the
    importance-weighted bound is the tighter one.

    Examples
    --------
    >>> ordered_bounds([-25.0, -24.7]) is None
    True
    >>> ordered_bounds([-24.0, -25.0])
    'the ELBO (-24 nats) should not exceed the IWAE bound (-25 nats)'
    """
    arr = _as_float(value)
    if arr is None or arr.shape != (2,) or not np.all(np.isfinite(arr)):
        return f"expected [elbo, iwae], two finite numbers, got {describe(value)}"
    elbo, iwae = (float(v) for v in arr)
    if iwae >= 0 or elbo >= 0:
        return "log-likelihood bounds of binary images must be negative (nats)"
    if elbo > iwae + 1e-9:
        return (
            f"the ELBO ({elbo:g} nats) should not exceed the IWAE bound ({iwae:g} nats)"
        )
    return None

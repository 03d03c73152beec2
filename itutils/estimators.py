"""Information measures estimated from samples, and MI-based feature selection.

:mod:`itutils.measures` needs the probabilities; here only samples are
known. Discrete quantities are counted (plug-in, with three bias
corrections); continuous ones use nearest neighbours (Kraskov, Stoegbauer
and Grassberger 2004; Ross 2014 for a continuous and a discrete variable).
Every function takes ``base`` (2 gives bits, the default; ``numpy.e`` gives
nats) and a seeded ``random_state`` wherever randomness enters.

Taught in ``notebooks/03_mutual_information.ipynb``, sections "Estimating
MI from samples" and "Feature selection".

References
----------
- G. A. Miller, "Note on the bias of information estimates" (1955).
- P. Grassberger, "Entropy estimates from insufficient samplings",
  arXiv:physics/0307138 (2003).
- A. Chao and T.-J. Shen, "Nonparametric estimation of Shannon's index of
  diversity when there are unseen species in sample", Environmental and
  Ecological Statistics 10 (2003).
- A. Kraskov, H. Stoegbauer and P. Grassberger, "Estimating mutual
  information", Phys. Rev. E 69, 066138 (2004).
- B. C. Ross, "Mutual information between discrete and continuous data
  sets", PLoS ONE 9(2): e87357 (2014).
- H. Peng, F. Long and C. Ding, "Feature selection based on mutual
  information: criteria of max-dependency, max-relevance, and
  min-redundancy", IEEE TPAMI 27 (2005).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, xlogy

from itutils._validate import (
    as_samples,
    check_positive_int,
    check_same_length,
    log_base,
    nonnegative,
)

__all__ = [
    "ENTROPY_METHODS",
    "MIBias",
    "entropy_from_samples",
    "mutual_information_from_samples",
    "mi_analytic_bias",
    "mi_permutation_bias",
    "ksg_mutual_information",
    "mixed_mutual_information",
    "select_features",
]

ENTROPY_METHODS = ("plugin", "miller_madow", "grassberger", "chao_shen")

# Labels that are integers in [0, this) are counted with one np.bincount.
_BINCOUNT_MIN_LIMIT = 1 << 16
# A joint table with at most this many cells (or 8 N) is one np.bincount too.
_JOINT_MIN_LIMIT = 1 << 22


# --- discrete labels ---------------------------------------------------------


def _as_labels(x, name: str) -> np.ndarray:
    """Read discrete labels; rows of a 2-D array are composite labels."""
    if isinstance(x, list | tuple) and len(x) and isinstance(x[0], tuple):
        # A list of tuples is n composite labels, not an (n, m) table of
        # numbers that numpy would turn into strings.
        arr = np.fromiter(x, dtype=object, count=len(x))
    else:
        try:
            arr = np.asarray(x)
        except ValueError as exc:
            raise ValueError(f"{name} could not be read as labels: {exc}") from exc
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a sequence of labels, got one value {x!r}")
    if arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (one label per sample) or 2-D (one composite "
            f"label per row), got shape {arr.shape}"
        )
    if len(arr) == 0:
        raise ValueError(f"{name} is empty; give at least one sample")
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; labels must not")
    if kind == "b":
        return arr.astype(np.intp)
    if kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{name} contains NaN or infinite labels; drop those samples "
                "or give the missing value its own label"
            )
        if np.any(arr != np.round(arr)):
            bad = arr[arr != np.round(arr)].flat[0]
            raise TypeError(
                f"{name} is a float array with non-integer values (e.g. "
                f"{bad!r}), so it looks continuous, not like discrete labels: "
                "counting it would give every sample its own label and an "
                "entropy of log N. Bin it first (numpy.digitize) or use "
                "ksg_mutual_information for continuous data"
            )
        warnings.warn(
            f"{name} is a float array of whole numbers; treating its values as "
            f"integer labels (pass {name}.astype(int) to silence this)",
            UserWarning,
            stacklevel=3,
        )
        return arr.astype(np.int64)
    if kind == "O":
        missing = arr != arr  # True exactly for NaN-like objects
        if np.any(missing):
            raise ValueError(
                f"{name} contains NaN labels; drop those samples or give the "
                "missing value its own label"
            )
    return arr


def _encode(arr: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Integer codes in [0, n_codes) for the labels, and n_codes.

    Fast path: non-negative integers below a limit are their own codes (some
    codes may be unused; counts of zero are harmless). Everything else is
    sorted once (np.unique); unorderable mixed objects fall back to a dict.
    """
    n = len(arr)
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi < max(_BINCOUNT_MIN_LIMIT, 8 * n):
            return arr.astype(np.intp, copy=False), hi + 1
    try:
        if arr.ndim == 2:
            _, codes = np.unique(arr, axis=0, return_inverse=True)
        else:
            _, codes = np.unique(arr, return_inverse=True)
        codes = codes.reshape(-1)
    except TypeError:
        # Labels that cannot be sorted (e.g. a mix of str and int): hash them.
        # A Python loop over samples, but only for this rare input.
        rows = (tuple(r) for r in arr) if arr.ndim == 2 else iter(arr)
        table: dict = {}
        codes = np.fromiter(
            (table.setdefault(v, len(table)) for v in rows), dtype=np.intp, count=n
        )
    return codes.astype(np.intp, copy=False), int(codes.max()) + 1


def _labels(x, name: str) -> tuple[np.ndarray, int]:
    return _encode(_as_labels(x, name), name)


def _entropy_from_counts(counts: np.ndarray, method: str) -> float:
    """Entropy estimate in nats from the positive counts of each label."""
    c = counts[counts > 0].astype(np.float64)
    n = c.sum()
    plugin = float(np.log(n) - xlogy(c, c).sum() / n)
    if method == "plugin":
        return max(plugin, 0.0)
    if method == "miller_madow":
        return plugin + float((len(c) - 1) / (2 * n))
    if method == "grassberger":
        # G(n) = psi(n) + (-1)^n / 2 * (psi((n+1)/2) - psi(n/2))  (2003, eq. 35)
        sign = np.where(c % 2 == 0, 1.0, -1.0)
        g = digamma(c) + 0.5 * sign * (digamma((c + 1) / 2) - digamma(c / 2))
        return float(np.log(n) - (c * g).sum() / n)
    if method == "chao_shen":
        singletons = np.count_nonzero(c == 1)
        if singletons == n:  # every label seen once: keep the coverage > 0
            singletons = n - 1
        coverage = 1.0 - singletons / n
        pa = coverage * c / n
        # Horvitz-Thompson: weight each term by its chance of being seen.
        seen = -np.expm1(n * np.log1p(-pa))
        return float(-(xlogy(pa, pa) / seen).sum())
    raise ValueError(
        f"method must be one of {ENTROPY_METHODS}, got {method!r}"
    )


def _check_method(method: str) -> None:
    if method not in ENTROPY_METHODS:
        raise ValueError(f"method must be one of {ENTROPY_METHODS}, got {method!r}")


def entropy_from_samples(x, method: str = "plugin", base: float = 2) -> float:
    """Estimate the entropy of a discrete variable from its samples.

    The plug-in estimate (entropy of the observed frequencies) is biased
    low: with ``N`` samples it misses about ``(K - 1) / (2 N)`` nats for
    ``K`` labels, and much more when many labels are never seen. The other
    methods correct for that.

    Parameters
    ----------
    x : array_like
        One label per sample, of any hashable kind: integers, strings, bools;
        a 2-D array (or a list of tuples) has one composite label per row.
        Non-negative integer labels take a fast path (one ``numpy.bincount``).
        A float array is refused unless its values are whole numbers (then
        a warning says they are read as integers).
    method : {"plugin", "miller_madow", "grassberger", "chao_shen"}
        ``"plugin"``: ``-sum p_i log p_i`` of the frequencies.
        ``"miller_madow"``: plug-in ``+ (K - 1) / (2 N)`` nats, ``K`` the
        number of labels seen. ``"grassberger"``: Grassberger's (2003)
        digamma-based estimator. ``"chao_shen"``: coverage-adjusted
        Horvitz-Thompson estimator, best when many labels are unseen.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        The estimate. The plug-in is in ``[0, log K]``; corrected estimates
        may exceed ``log K`` of the labels *seen*, since they allow for
        labels not seen.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Estimating
    MI from samples".

    Examples
    --------
    With 20 rolls of a fair 8-sided die (true entropy 3 bits) the plug-in
    falls short; 7 faces were seen, so Miller-Madow adds back
    ``(7 - 1) / (2 * 20 * ln 2) = 0.2164`` bits:

    >>> rolls = np.random.default_rng(0).integers(0, 8, size=20)
    >>> len(set(rolls.tolist()))
    7
    >>> round(entropy_from_samples(rolls), 4)
    2.666
    >>> round(entropy_from_samples(rolls, method="miller_madow"), 4)
    2.8824
    >>> entropy_from_samples(["a", "b", "a", "b"])
    1.0
    """
    _check_method(method)
    scale = log_base(base)
    codes, n_codes = _labels(x, "x")
    counts = np.bincount(codes, minlength=n_codes)
    return _entropy_from_counts(counts, method) / scale


# --- discrete mutual information ---------------------------------------------


def _pair_labels(x, y):
    ax, ay = _as_labels(x, "x"), _as_labels(y, "y")
    n = check_same_length(ax, ay)
    cx, nx = _encode(ax, "x")
    cy, ny = _encode(ay, "y")
    return cx, nx, cy, ny, n


def _joint_cells(cx, nx, cy, ny, n):
    """Codes and counts of the non-empty joint cells, joint code = x * ny + y."""
    if nx * ny <= max(_JOINT_MIN_LIMIT, 8 * n):
        table = np.bincount(cx * ny + cy, minlength=nx * ny)
        cells = np.flatnonzero(table)
        return cells, table[cells]
    return np.unique(cx.astype(np.int64) * ny + cy, return_counts=True)


def _plugin_mi_nats(cx, nx, cy, ny, n) -> float:
    count_x = np.bincount(cx, minlength=nx)
    count_y = np.bincount(cy, minlength=ny)
    cells, c = _joint_cells(cx, nx, cy, ny, n)
    c = c.astype(np.float64)
    outer = count_x[cells // ny].astype(np.float64) * count_y[cells % ny]
    # sum p(x,y) log(p(x,y) / (p(x) p(y))) with p = count / n, per cell.
    mi = (c * (np.log(c) + np.log(n) - np.log(outer))).sum() / n
    return float(nonnegative(mi))


def _warn_constant(which: str) -> None:
    warnings.warn(
        f"{which} is constant: a constant shares no information with anything, "
        "so the mutual information is exactly 0 (returned as 0.0)",
        UserWarning,
        stacklevel=3,
    )


def mutual_information_from_samples(
    x, y, base: float = 2, method: str = "plugin"
) -> float:
    """Estimate ``I(X; Y)`` of two discrete variables from paired samples.

    ``I = H(X) + H(Y) - H(X, Y)``, each entropy estimated by ``method``.
    The plug-in estimate is the MI of the observed joint frequency table;
    it is biased *upward*: even independent variables show an MI of about
    ``(K_x - 1)(K_y - 1) / (2 N)`` nats. See :func:`mi_analytic_bias` and
    :func:`mi_permutation_bias` for how large that bias is on your data.

    Parameters
    ----------
    x, y : array_like
        Paired labels, one per sample, of any hashable kind (see
        :func:`entropy_from_samples`). Non-negative integer labels take a
        fast path: the joint table is one ``numpy.bincount`` over
        ``x * n_y + y``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    method : {"plugin", "miller_madow", "grassberger", "chao_shen"}
        Entropy estimator applied to ``H(X)``, ``H(Y)`` and ``H(X, Y)``.

    Returns
    -------
    float
        The estimate. The plug-in is ``>= 0`` and equals
        ``sklearn.metrics.mutual_info_score`` (which is in nats). Corrected
        estimates can be slightly negative for independent variables: that
        is sampling noise around 0, and clipping it would bias the
        estimator upward again.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``. A constant ``x``
    or ``y`` gives exactly 0 with a warning.

    Examples
    --------
    A copy shares all of its entropy; symmetric in x and y:

    >>> x = [0, 0, 1, 1, 2, 2, 3, 3]
    >>> mutual_information_from_samples(x, x)
    2.0
    >>> y = ["lo", "lo", "lo", "hi", "hi", "hi", "hi", "lo"]
    >>> a = mutual_information_from_samples(x, y)
    >>> bool(np.isclose(a, mutual_information_from_samples(y, x)))
    True
    """
    _check_method(method)
    scale = log_base(base)
    cx, nx, cy, ny, n = _pair_labels(x, y)
    constant = [name for name, c in (("x", cx), ("y", cy)) if np.all(c == c[0])]
    if constant:
        _warn_constant(" and ".join(constant))
        return 0.0
    if method == "plugin":
        return _plugin_mi_nats(cx, nx, cy, ny, n) / scale
    _, joint = _joint_cells(cx, nx, cy, ny, n)
    hx = _entropy_from_counts(np.bincount(cx, minlength=nx), method)
    hy = _entropy_from_counts(np.bincount(cy, minlength=ny), method)
    hxy = _entropy_from_counts(joint, method)
    return (hx + hy - hxy) / scale


@dataclass(frozen=True)
class MIBias:
    """A plug-in MI estimate, its estimated bias and the corrected value.

    Attributes
    ----------
    estimate : float
        Plug-in MI of the data.
    bias : float
        Estimated sampling bias (what independent variables with the same
        marginals would show on average).
    corrected : float
        ``estimate - bias``; may be slightly negative when the true MI is 0.
    method : str
        ``"analytic"`` or ``"permutation"``.
    null : numpy.ndarray or None
        The plug-in MI of each permutation (``"permutation"`` only).
    p_value : float or None
        Share of permutations (with the data counted as one) whose MI is at
        least the data's: a test of independence (``"permutation"`` only).
    """

    estimate: float
    bias: float
    corrected: float
    method: str
    null: np.ndarray | None = None
    p_value: float | None = None


def mi_analytic_bias(x, y, base: float = 2) -> MIBias:
    """Plug-in MI with the Miller-Madow style bias ``(K_x-1)(K_y-1)/(2N)``.

    Under independence the plug-in MI times ``2 N`` (in nats) is
    approximately chi-squared with ``(K_x - 1)(K_y - 1)`` degrees of freedom,
    so its mean, the bias, is ``(K_x - 1)(K_y - 1) / (2 N)`` nats. ``K`` are
    the numbers of labels seen. The approximation needs many samples per
    cell; when cells are sparse, prefer :func:`mi_permutation_bias`.

    Parameters
    ----------
    x, y : array_like
        Paired discrete labels (see :func:`mutual_information_from_samples`).
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    MIBias
        With ``estimate``, ``bias`` and ``corrected``, all in ``base``.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Plug-in
    bias".

    Examples
    --------
    Two independent variables with 10 labels each and 500 samples: the
    plug-in MI is almost all bias.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    >>> r = mi_analytic_bias(x, y, base=np.e)
    >>> round(r.bias, 4), bool(abs(r.corrected) < 0.05 < r.estimate)
    (0.081, True)
    """
    scale = log_base(base)
    cx, nx, cy, ny, n = _pair_labels(x, y)
    kx = np.count_nonzero(np.bincount(cx, minlength=nx))
    ky = np.count_nonzero(np.bincount(cy, minlength=ny))
    estimate = _plugin_mi_nats(cx, nx, cy, ny, n) / scale
    bias = float((kx - 1) * (ky - 1) / (2 * n)) / scale
    return MIBias(estimate, bias, estimate - bias, "analytic")


def mi_permutation_bias(
    x, y, n_permutations: int = 200, random_state=None, base: float = 2
) -> MIBias:
    """Plug-in MI with its bias measured by shuffling ``y``.

    Shuffling ``y`` keeps both marginal distributions and destroys any
    dependence, so the plug-in MI of shuffled data is pure sampling bias.
    Its mean over ``n_permutations`` shuffles estimates the bias; the share
    of shuffles that reach the observed MI is a permutation p-value for
    independence.

    Parameters
    ----------
    x, y : array_like
        Paired discrete labels (see :func:`mutual_information_from_samples`).
    n_permutations : int, default 200
        Number of shuffles.
    random_state : int, numpy.random.Generator or None
        Seed for the shuffles; fix it for reproducible numbers.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    MIBias
        ``estimate``, ``bias`` (mean shuffled MI), ``corrected``, ``null``
        (each shuffle's MI) and ``p_value``.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Plug-in
    bias". The bias of dependent data differs somewhat from the bias under
    independence that this measures, but it is of the same size. The
    shuffles are vectorised: blocks of permutations are counted with one
    ``numpy.bincount``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    >>> r = mi_permutation_bias(x, y, n_permutations=100, random_state=0)
    >>> bool(abs(r.bias - mi_analytic_bias(x, y).bias) < 0.02), r.p_value > 0.05
    (True, True)
    """
    scale = log_base(base)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    rng = np.random.default_rng(random_state)
    cx, nx, cy, ny, n = _pair_labels(x, y)
    estimate = _plugin_mi_nats(cx, nx, cy, ny, n)
    count_x = np.bincount(cx, minlength=nx).astype(np.float64)
    count_y = np.bincount(cy, minlength=ny).astype(np.float64)
    cells = nx * ny
    null = np.empty(n_permutations)
    if cells <= max(_JOINT_MIN_LIMIT, 8 * n):
        # Constant (per data set) part: sum_x n_x log n_x + sum_y n_y log n_y.
        marg = xlogy(count_x, count_x).sum() + xlogy(count_y, count_y).sum()
        block = max(1, min(n_permutations, 10_000_000 // max(n, cells)))
        for start in range(0, n_permutations, block):
            b = min(block, n_permutations - start)
            shuffled = rng.permuted(np.broadcast_to(cy, (b, n)), axis=1)
            codes = shuffled + (cx * ny)[None, :]
            codes += (np.arange(b) * cells)[:, None]
            table = np.bincount(codes.ravel(), minlength=b * cells)
            table = table.reshape(b, cells).astype(np.float64)
            # I = (sum n_xy log n_xy - marg) / n + log n, per permutation.
            null[start : start + b] = (
                xlogy(table, table).sum(axis=1) - marg
            ) / n + np.log(n)
    else:
        for i in range(n_permutations):  # a loop over shuffles, not samples
            null[i] = _plugin_mi_nats(cx, nx, rng.permutation(cy), ny, n)
    null = nonnegative(null)
    bias = float(null.mean())
    p_value = float((1 + np.count_nonzero(null >= estimate - 1e-12)) / (1 + len(null)))
    return MIBias(
        estimate / scale,
        bias / scale,
        (estimate - bias) / scale,
        "permutation",
        null / scale,
        p_value,
    )


# --- continuous: KSG ------------------------------------------------------------


def _count_sorted(xs, centres, radius, closed):
    """For each centre, how many of the sorted ``xs`` lie within ``radius``.

    Counts ``|xs[j] - c| <= radius`` (``closed``) or ``< radius`` with the
    difference rounded exactly as the kd-tree rounds it, so the counts agree
    with its distances at the boundary (where the k-th neighbour sits).
    """
    r = radius if closed else np.nextafter(radius, 0)  # d < e  <=>  d <= prev(e)
    n = len(xs)
    hi = np.searchsorted(xs, centres + r, side="right")
    lo = np.searchsorted(xs, centres - r, side="left")
    # centres +- r is rounded; nudge each end until fl(xs[j] - c) <= r is
    # exactly the half-open range [lo, hi). fl(a - c) is monotone in a, so
    # this takes a step or two at most.
    while True:
        down = (hi > 0) & (xs[np.maximum(hi - 1, 0)] - centres > r)
        up = (hi < n) & (xs[np.minimum(hi, n - 1)] - centres <= r)
        if not (down.any() or up.any()):
            break
        hi = hi - down + up
    while True:
        down = (lo > 0) & (centres - xs[np.maximum(lo - 1, 0)] <= r)
        up = (lo < n) & (centres - xs[np.minimum(lo, n - 1)] > r)
        if not (down.any() or up.any()):
            break
        lo = lo - down + up
    return hi - lo


def _count_marginal(v, radius, closed, workers, sorted_col=None):
    """Points within ``radius`` (max-norm) of each point, the point included."""
    if v.shape[1] == 1:
        col = v[:, 0]
        if sorted_col is None:
            sorted_col = np.sort(col)
        return _count_sorted(sorted_col, col, radius, closed)
    r = radius if closed else np.nextafter(radius, 0)
    tree = cKDTree(v)
    return tree.query_ball_point(v, r, p=np.inf, return_length=True, workers=workers)


def _prepare_continuous(v, name, jitter, rng):
    """Check for ties; add the documented jitter if asked to.

    Returns the samples and, for one column, its sorted values (reused for
    the marginal counts).
    """
    if jitter:
        scale = v.std(axis=0)
        v = v + jitter * np.where(scale > 0, scale, 1.0) * rng.standard_normal(v.shape)
    if v.shape[1] == 1:
        sorted_col = np.sort(v[:, 0])
        repeats = int(np.count_nonzero(sorted_col[1:] == sorted_col[:-1]))
    else:
        sorted_col = None
        repeats = len(v) - len(np.unique(v, axis=0))
    if repeats:
        raise ValueError(
            f"{name} has {repeats} repeated sample(s) (exact ties). Nearest-"
            "neighbour estimators assume continuous data without ties; with "
            "ties the neighbour counts, and the estimate, are wrong. If "
            f"{name} is discrete, use mutual_information_from_samples (both "
            "discrete) or mixed_mutual_information (in select_features: "
            "list discrete columns in discrete_features and pass class labels "
            "y as integers or strings); if the ties come from rounding, pass "
            "jitter=1e-10 (adds 1e-10 x std Gaussian noise, seeded by "
            "random_state, as Kraskov et al. 2004 recommend)"
        )
    return v, sorted_col


def _continuous_pair(x, y, k, jitter, random_state):
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    n = check_same_length(xs, ys)
    k = check_positive_int(k, "k")
    if k >= n:
        raise ValueError(
            f"k = {k} needs more than k samples, got {n}; use a smaller k or "
            "more samples (k = 3 with hundreds of samples is typical)"
        )
    if not (np.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    return xs, ys, n, k


def _is_constant(v: np.ndarray) -> bool:
    return bool(np.all(v == v[0]))


def ksg_mutual_information(
    x,
    y,
    k: int = 3,
    variant: int = 1,
    base: float = 2,
    jitter: float = 0.0,
    random_state=None,
    workers: int = 1,
) -> float:
    """Kraskov-Stoegbauer-Grassberger estimate of ``I(X; Y)`` for continuous data.

    Around each sample, the distance to its ``k``-th nearest neighbour in
    the joint space (max-norm) sets a scale; counting how many samples
    fall within that scale in each marginal tells whether the neighbours
    crowd together more than independence would allow.

    Variant 1: ``psi(k) - < psi(n_x + 1) + psi(n_y + 1) > + psi(N)``, with
    ``n_x`` the samples strictly closer than the joint ``k``-th neighbour
    distance ``eps`` in x. Variant 2: ``psi(k) - 1/k - < psi(n_x) + psi(n_y) >
    + psi(N)``, with ``n_x`` the samples within distance ``<= eps_x / 2``,
    the largest x-distance to any of the ``k`` joint neighbours (Kraskov et
    al.'s notation; ``eps_x`` is the side of the box).

    Parameters
    ----------
    x, y : array_like, shape (N,) or (N, d)
        Paired continuous samples, one row per sample.
    k : int, default 3
        Number of neighbours: smaller k has less bias, more variance.
    variant : {1, 2}, default 1
        Kraskov's estimator I(1) or I(2). scikit-learn's
        ``mutual_info_regression`` is variant 1.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    jitter : float, default 0
        Ties (repeated samples) make the neighbour counts wrong, so they are
        refused with an error. ``jitter > 0`` first adds
        ``jitter * std * N(0, 1)`` noise per column, seeded by
        ``random_state``: Kraskov et al.'s remedy; ``1e-10`` breaks ties
        from rounding without changing anything else.
    random_state : int, numpy.random.Generator or None
        Seed of the jitter (unused when ``jitter == 0``).
    workers : int, default 1
        Threads for the kd-tree queries (``-1``: all cores).

    Returns
    -------
    float
        The estimate. For independent variables it is centred on 0 to
        within a few thousandths of a nat, so it often comes out slightly
        negative (scikit-learn clips that to 0, which biases it upward). A
        constant ``x`` or ``y`` gives exactly 0 with a warning.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "KSG".
    The joint neighbours come from ``scipy.spatial.cKDTree``; 1-D marginal
    counts from one sort and ``numpy.searchsorted`` (multi-dimensional
    marginals use a kd-tree). No loop over samples. A widely used public
    variant-2 implementation drops the ``-1/k`` term or counts with ``<``
    instead of ``<=``; it comes out about ``1/k`` nats off.

    The bias depends on ``N`` and on the dependence (the notebook measures
    it over 60 data sets of a Gaussian pair, ``k = 3``): slightly positive
    at ``N = 1000`` (+0.006 to +0.018 nats for rho = 0.3 to 0.95), negative
    at ``N = 50`` for strong dependence (-0.08 nats at rho = 0.95), where
    the neighbourhoods are too wide for the density to be flat in them.

    Examples
    --------
    A correlated Gaussian pair, against the closed form
    ``-0.5 ln(1 - rho^2) = 0.5108`` nats for ``rho = 0.8``:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(5000)
    >>> round(ksg_mutual_information(x, y, base=np.e), 2)
    0.51
    >>> round(ksg_mutual_information(x, y, variant=2, base=np.e), 2)
    0.51
    """
    scale = log_base(base)
    if variant not in (1, 2):
        raise ValueError(
            f"variant must be 1 or 2 (Kraskov's I(1), I(2)), got {variant!r}"
        )
    xs, ys, n, k = _continuous_pair(x, y, k, jitter, random_state)
    constant = [nm for nm, v in (("x", xs), ("y", ys)) if _is_constant(v)]
    if constant:
        _warn_constant(" and ".join(constant))
        return 0.0
    rng = np.random.default_rng(random_state)
    xs, sx = _prepare_continuous(xs, "x", jitter, rng)
    ys, sy = _prepare_continuous(ys, "y", jitter, rng)
    joint = np.hstack([xs, ys])
    tree = cKDTree(joint, balanced_tree=False)
    # The estimate does not depend on the order of the samples; visiting
    # them in the tree's order keeps neighbouring queries in cache.
    order = tree.indices
    xs, ys = xs[order], ys[order]
    dist, idx = tree.query(joint[order], k=k + 1, p=np.inf, workers=workers)
    # No duplicates, so column 0 is the point itself at distance 0.
    if variant == 1:
        eps = dist[:, k]
        nx = _count_marginal(xs, eps, False, workers, sx) - 1
        ny = _count_marginal(ys, eps, False, workers, sy) - 1
        mi = digamma(k) - np.mean(digamma(nx + 1) + digamma(ny + 1)) + digamma(n)
    else:
        position = np.empty(n, dtype=np.intp)
        position[order] = np.arange(n)
        nb = position[idx[:, 1:]]
        eps_x = np.abs(xs[nb] - xs[:, None, :]).max(axis=(1, 2))
        eps_y = np.abs(ys[nb] - ys[:, None, :]).max(axis=(1, 2))
        nx = _count_marginal(xs, eps_x, True, workers, sx) - 1
        ny = _count_marginal(ys, eps_y, True, workers, sy) - 1
        mi = digamma(k) - 1.0 / k - np.mean(digamma(nx) + digamma(ny)) + digamma(n)
    return float(mi) / scale


# --- continuous x, discrete y: Ross 2014 ----------------------------------------


def _ross_nats(xs, codes, n_codes, k, workers):
    """Ross (2014) estimate in nats; samples whose label occurs once are dropped."""
    counts = np.bincount(codes, minlength=n_codes)
    keep = counts[codes] > 1
    xs, codes = xs[keep], codes[keep]
    n = len(xs)
    if n == 0:
        raise ValueError(
            "every label occurs only once; the continuous-discrete estimator "
            "needs at least two samples with the same label"
        )
    radius = np.empty(n)
    k_used = np.empty(n)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    # One kd-tree per label: a loop over labels, not over samples.
    for members in np.split(order, bounds):
        kc = min(k, len(members) - 1)
        pts = xs[members]
        d, _ = cKDTree(pts).query(pts, k=kc + 1, p=np.inf, workers=workers)
        radius[members] = d[:, kc]
        k_used[members] = kc
    # m_i: samples of any label within the k-th same-label neighbour's
    # distance, the point itself excluded (Ross counts the neighbour itself).
    m = _count_marginal(xs, radius, True, workers) - 1
    label_n = np.bincount(codes, minlength=n_codes)[codes]
    return float(
        digamma(n) + np.mean(digamma(k_used)) - np.mean(digamma(label_n))
        - np.mean(digamma(m))
    )


def mixed_mutual_information(
    x,
    labels,
    k: int = 3,
    base: float = 2,
    jitter: float = 0.0,
    random_state=None,
    workers: int = 1,
) -> float:
    """``I(X; L)`` between a continuous ``x`` and discrete ``labels`` (Ross 2014).

    For each sample: ``d`` = distance to its ``k``-th nearest neighbour
    *with the same label*, ``m`` = number of samples of any label within
    ``d``. Then ``I = psi(N) - <psi(N_label)> + psi(k) - <psi(m)>``. This is
    the estimator behind scikit-learn's ``mutual_info_classif``.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, d)
        Continuous samples (max-norm distances).
    labels : array_like, shape (N,)
        Discrete labels (see :func:`entropy_from_samples`). Samples whose
        label occurs only once are left out, as in Ross (2014).
    k : int, default 3
        Neighbours; reduced to ``N_label - 1`` for rare labels.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    jitter, random_state, workers
        As in :func:`ksg_mutual_information` (ties in ``x`` are refused
        unless ``jitter > 0``).

    Returns
    -------
    float
        The estimate (may be slightly negative when the true MI is 0); 0.0
        with a warning when ``x`` or ``labels`` is constant.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Feature
    selection".

    Examples
    --------
    Two well separated classes carry one bit:

    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 2000)
    >>> x = 10.0 * labels + rng.standard_normal(2000)
    >>> round(mixed_mutual_information(x, labels), 2)
    1.0
    """
    scale = log_base(base)
    xs = as_samples(x, "x")
    lab = _as_labels(labels, "labels")
    n = check_same_length(xs, lab, ("x", "labels"))
    k = check_positive_int(k, "k")
    if k >= n:
        raise ValueError(f"k = {k} needs more than k samples, got {n}")
    codes, n_codes = _encode(lab, "labels")
    constant = [nm for nm, c in (("x", xs), ("labels", codes)) if _is_constant(c)]
    if constant:
        _warn_constant(" and ".join(constant))
        return 0.0
    if not (np.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    xs, _ = _prepare_continuous(
        xs, "x", jitter, np.random.default_rng(random_state)
    )
    return _ross_nats(xs, codes, n_codes, k, workers) / scale


# --- feature selection --------------------------------------------------------


def _discrete_mask(X: np.ndarray, discrete_features, n_features: int) -> np.ndarray:
    if isinstance(discrete_features, str):
        if discrete_features != "auto":
            raise ValueError(
                f"discrete_features must be 'auto', a bool, a boolean mask or "
                f"column indices, got {discrete_features!r}"
            )
        return np.full(n_features, X.dtype.kind in "iub")
    if isinstance(discrete_features, bool | np.bool_):
        return np.full(n_features, bool(discrete_features))
    spec = np.asarray(discrete_features)
    if spec.dtype == bool:
        if spec.shape != (n_features,):
            raise ValueError(
                f"a boolean discrete_features mask needs one entry per column "
                f"({n_features}), got shape {spec.shape}"
            )
        return spec.copy()
    mask = np.zeros(n_features, dtype=bool)
    try:
        mask[spec.astype(np.intp)] = True
    except (IndexError, ValueError, TypeError) as exc:
        raise ValueError(
            f"discrete_features indices must lie in [0, {n_features}), got "
            f"{discrete_features!r}"
        ) from exc
    return mask


class _Variable:
    """One column, prepared once: codes if discrete, checked floats if not."""

    def __init__(self, values, discrete, name, jitter, rng):
        self.name = name
        self.discrete = discrete
        if discrete:
            self.codes, self.n_codes = _labels(values, name)
            self.constant = _is_constant(self.codes)
        else:
            self.values = as_samples(values, name)
            self.constant = _is_constant(self.values)
            if not self.constant:
                self.values, _ = _prepare_continuous(self.values, name, jitter, rng)


def _mi_nats(a: _Variable, b: _Variable, k: int, workers: int) -> float:
    """MI estimate for a pair of columns by type, clipped at 0 for ranking."""
    if a.constant or b.constant:
        return 0.0
    if a.discrete and b.discrete:
        return _plugin_mi_nats(a.codes, a.n_codes, b.codes, b.n_codes, len(a.codes))
    if a.discrete or b.discrete:
        c, d = (b, a) if a.discrete else (a, b)
        mi = _ross_nats(c.values, d.codes, d.n_codes, k, workers)
    else:
        mi = ksg_mutual_information(
            a.values, b.values, k=k, base=np.e, workers=workers
        )
    # A noise estimate below 0 must not earn a column a bonus (mRMR
    # subtracts redundancy), so scores are clipped at 0 like scikit-learn's.
    return max(mi, 0.0)


def select_features(
    X,
    y,
    k: int,
    method: str = "mi",
    discrete_features="auto",
    random_state=None,
    n_neighbors: int = 3,
    jitter: float = 0.0,
    base: float = 2,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose ``k`` columns of ``X`` by mutual information with ``y``.

    ``"mi"`` ranks each column by its relevance ``I(X_j; y)`` alone, so two
    copies of the best column are both chosen. ``"mrmr"`` (minimum
    redundancy, maximum relevance; Peng et al. 2005) picks greedily: first
    the most relevant column, then each time the column maximising
    ``I(X_j; y) - mean_{s chosen} I(X_j; X_s)``, so a copy of a chosen
    column scores low.

    Parameters
    ----------
    X : array_like, shape (N, n_features)
        Features, one row per sample.
    y : array_like, shape (N,)
        Target: discrete class labels (integers, strings, bools), or
        continuous values if ``y`` is a float array.
    k : int
        Number of columns to choose, ``1 <= k <= n_features``.
    method : {"mi", "mrmr"}, default "mi"
    discrete_features : "auto", bool, boolean mask or indices
        Which columns are discrete. ``"auto"``: all of them if ``X`` has an
        integer or bool dtype, none if it is a float array.
    random_state : int, numpy.random.Generator or None
        Seeds the jitter (only used when ``jitter > 0``).
    n_neighbors : int, default 3
        ``k`` of the nearest-neighbour estimators.
    jitter : float, default 0
        Tie-breaking noise for continuous columns, see
        :func:`ksg_mutual_information`.
    base : float, default 2
        Logarithm base of the scores: 2 for bits, ``numpy.e`` for nats.
    workers : int, default 1
        Threads for the kd-tree queries.

    Returns
    -------
    indices : numpy.ndarray of int, shape (k,)
        Chosen columns, in the order chosen (best first).
    scores : numpy.ndarray, shape (k,)
        ``"mi"``: each chosen column's relevance ``I(X_j; y)``. ``"mrmr"``:
        relevance minus mean redundancy at the moment it was chosen (the
        first is its relevance).

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Feature
    selection". Pairs are estimated by type: discrete-discrete by plug-in
    counts, continuous-discrete by Ross (2014) (as scikit-learn's
    ``mutual_info_classif``), continuous-continuous by KSG variant 1. A
    constant column scores exactly 0, with one warning naming it
    (scikit-learn adds noise and reports a small positive value).
    Estimates are clipped at 0 for ranking: otherwise a pure-noise column
    with a slightly negative redundancy estimate would gain a bonus.

    mRMR penalises *any* shared information between features. Where the
    informative features are themselves correlated (as in
    ``make_classification``, whose clusters have random covariances), the
    redundancy between two informative columns can exceed the relevance of
    the second, and mRMR then prefers a noise column: redundancy between
    continuous features is unbounded, relevance to a class label is at
    most ``H(y)``. Compare both methods on held-out accuracy.

    Examples
    --------
    Column 1 is a noisy copy of the label, column 2 a near-copy of column 1
    and column 0 pure noise. MI ranking takes the redundant near-copy;
    mRMR penalises it below the noise:

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 1000)
    >>> signal = y + 0.5 * rng.standard_normal(1000)
    >>> copy = signal + 1e-3 * rng.standard_normal(1000)
    >>> X = np.column_stack([rng.standard_normal(1000), signal, copy])
    >>> select_features(X, y, 2)[0].tolist()
    [1, 2]
    >>> select_features(X, y, 2, method="mrmr")[0].tolist()
    [1, 0]
    """
    scale = log_base(base)
    if method not in ("mi", "mrmr"):
        raise ValueError(f"method must be 'mi' or 'mrmr', got {method!r}")
    try:
        Xa = np.asarray(X)
    except ValueError as exc:
        raise ValueError(f"X could not be read as an array: {exc}") from exc
    if Xa.ndim != 2:
        raise ValueError(
            f"X must be 2-D (samples x features), got shape {Xa.shape}; "
            "reshape a single feature with X.reshape(-1, 1)"
        )
    n, n_features = Xa.shape
    ya = np.asarray(y)
    check_same_length(Xa, ya, ("X", "y"))
    k = check_positive_int(k, "k")
    if k > n_features:
        raise ValueError(f"k = {k} exceeds the number of features ({n_features})")
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if n_neighbors >= n:
        raise ValueError(
            f"n_neighbors = {n_neighbors} needs more than that many samples, got {n}"
        )
    if not (np.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    discrete = _discrete_mask(Xa, discrete_features, n_features)
    rng = np.random.default_rng(random_state)
    target = _Variable(ya, ya.dtype.kind != "f", "y", jitter, rng)
    columns = [
        _Variable(Xa[:, j], bool(discrete[j]), f"X[:, {j}]", jitter, rng)
        for j in range(n_features)
    ]
    constant = [j for j, c in enumerate(columns) if c.constant]
    if constant or target.constant:
        which = "y" if target.constant else f"columns {constant} of X"
        _warn_constant(which)
    relevance = np.array([_mi_nats(c, target, n_neighbors, workers) for c in columns])
    if method == "mi":
        # Stable sort on -relevance: ties keep column order.
        chosen = np.argsort(-relevance, kind="stable")[:k]
        return chosen, relevance[chosen] / scale
    chosen = [int(np.argmax(relevance))]
    scores = [relevance[chosen[0]]]
    redundancy = np.zeros(n_features)
    candidates = np.ones(n_features, dtype=bool)
    candidates[chosen[0]] = False
    # Greedy: a loop over the k choices and the candidate columns.
    for step in range(1, k):
        last = columns[chosen[-1]]
        for j in np.flatnonzero(candidates):
            redundancy[j] += _mi_nats(columns[j], last, n_neighbors, workers)
        score = np.where(candidates, relevance - redundancy / step, -np.inf)
        best = int(np.argmax(score))
        chosen.append(best)
        scores.append(score[best])
        candidates[best] = False
    return np.array(chosen), np.array(scores) / scale

"""Closed forms for Gaussians: differential entropy, KL divergence, MI.

These are the exact answers that numerical integration and sample
estimators (:mod:`itutils.estimators`) are checked against. Every function
takes ``base`` (2 gives bits, the default; ``numpy.e`` gives nats).

Covariances, not standard deviations
------------------------------------
Every ``cov`` argument is a **variance** (for a univariate Gaussian) or a
**covariance matrix**. ``N(2, 2)`` here means mean 2 and *variance* 2
(standard deviation ``sqrt(2)``). Pass ``sigma**2`` if you think in
standard deviations.

Taught in ``notebooks/02_kl_cross_entropy.ipynb`` (KL between Gaussians,
differential entropy and why it depends on the units)
and ``notebooks/03_mutual_information.ipynb`` (MI of a Gaussian pair).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from itutils._validate import as_float_array, log_base, nonnegative, scalar_or_array

__all__ = ["gaussian_entropy", "gaussian_kl", "gaussian_mutual_information"]

_LOG_2PI_E = float(np.log(2 * np.pi * np.e))


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(
            f"{name} contains a non-finite value ({bad!r}); means and "
            "(co)variances must be finite real numbers"
        )


def _variances(var, name: str) -> np.ndarray:
    """Scalar or 1-D array of univariate variances, each > 0."""
    arr = as_float_array(var, name)
    _check_finite(arr, name)
    if np.any(arr <= 0):
        bad = arr[arr <= 0].flat[0]
        raise ValueError(
            f"{name} must be a positive variance, got {bad!r}; a Gaussian "
            "needs variance > 0 (a variance of 0 is a point mass, which has "
            "no density: its differential entropy is -inf)"
        )
    return arr


def _cholesky(cov, name: str) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive-definite matrix."""
    arr = as_float_array(cov, name)
    _check_finite(arr, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(
            f"{name} must be a square covariance matrix, got shape {arr.shape}"
        )
    scale = float(np.max(np.abs(arr)))
    if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12 * scale):
        i, j = np.unravel_index(np.argmax(np.abs(arr - arr.T)), arr.shape)
        raise ValueError(
            f"{name} is not symmetric: {name}[{i}, {j}] = {arr[i, j]!r} but "
            f"{name}[{j}, {i}] = {arr[j, i]!r}; a covariance matrix equals its "
            "transpose (symmetrise with (C + C.T) / 2 if this is rounding)"
        )
    try:
        return np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(arr)[0])
        raise ValueError(
            f"{name} is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}); a Gaussian with a density needs a covariance "
            "with every eigenvalue > 0 (a zero eigenvalue means a degenerate, "
            "flat Gaussian; a negative one is not a covariance at all)"
        ) from None


def _logdet(chol: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(chol))))


def gaussian_entropy(cov, base: float = 2):
    """Differential entropy of a Gaussian, ``h = 0.5 log((2 pi e)^d det C)``.

    It depends on the spread only, not the mean. Unlike discrete entropy it
    can be negative: a Gaussian narrower than ``var = 1 / (2 pi e)`` has
    ``h < 0``.

    Parameters
    ----------
    cov : float, 1-D array_like or 2-D array_like
        A **variance** (not a standard deviation) or a 1-D array of
        variances (one univariate Gaussian each), or a ``(d, d)``
        covariance matrix, which must be symmetric positive definite. For a
        diagonal covariance pass ``numpy.diag(variances)``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float or ndarray
        Differential entropy, one value per univariate Gaussian, or one for
        the multivariate Gaussian.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "Differential entropy", and used in
    ``notebooks/03_mutual_information.ipynb``. Among all densities with a
    given covariance the Gaussian has the largest entropy.

    A differential entropy is not a number of bits in the sense of
    :func:`itutils.entropy`: it is negative when the standard deviation is
    below ``1 / sqrt(2 pi e) ~ 0.242`` and depends on the units,
    ``h(aX) = h(X) + log|a|``. Differences of differential entropies
    (KL divergence, mutual information) do not.

    Examples
    --------
    The standard normal has ``0.5 log2(2 pi e)`` bits; doubling the standard
    deviation (variance times 4) adds exactly one bit:

    >>> round(gaussian_entropy(1.0), 4)
    2.0471
    >>> round(gaussian_entropy(4.0) - gaussian_entropy(1.0), 12)
    1.0
    >>> C = np.array([[1.0, 0.8], [0.8, 1.0]])  # correlation lowers entropy
    >>> bool(gaussian_entropy(C) < 2 * gaussian_entropy(1.0))
    True

    Narrow densities have negative differential entropy, and changing the
    units (here metres to millimetres, ``a = 1000``) shifts it by ``log2 a``:

    >>> round(gaussian_entropy(0.1**2), 4)
    -1.2748
    >>> metres, millimetres = 0.07**2, (1000 * 0.07) ** 2
    >>> round(gaussian_entropy(millimetres) - gaussian_entropy(metres), 4)
    9.9658
    """
    scale = log_base(base)
    if np.ndim(cov) == 2:
        chol = _cholesky(cov, "cov")
        d = chol.shape[0]
        return 0.5 * (d * _LOG_2PI_E + _logdet(chol)) / scale
    if np.ndim(cov) > 2:
        raise ValueError(
            f"cov must be a variance, a 1-D array of variances or a (d, d) "
            f"covariance matrix, got {np.ndim(cov)} dimensions"
        )
    var = _variances(cov, "cov")
    return scalar_or_array(0.5 * (_LOG_2PI_E + np.log(var)) / scale)


def gaussian_kl(mu0, cov0, mu1, cov1, base: float = 2):
    """KL divergence ``D_KL(N(mu0, cov0) || N(mu1, cov1))`` in closed form.

    **The covariance arguments are VARIANCES, not standard deviations.**
    ``gaussian_kl(0, 1, 2, 2)`` is KL from ``N(0, 1)`` to the Gaussian with
    mean 2 and *variance* 2; for standard deviation 2 pass ``cov1=4``.

    Univariate: ``0.5 * (v0/v1 + (mu1 - mu0)^2 / v1 - 1 + ln(v1/v0))`` nats.
    Multivariate (``d`` dimensions):
    ``0.5 * (tr(C1^-1 C0) + (mu1 - mu0)^T C1^-1 (mu1 - mu0) - d
    + ln det C1 - ln det C0)``, computed with Cholesky factors (triangular
    solves and log-determinants from their diagonals, never an explicit
    inverse).

    Parameters
    ----------
    mu0, cov0 : float or array_like
        Mean and **variance** (or covariance matrix) of ``P = N0``.
    mu1, cov1 : float or array_like
        Mean and **variance** (or covariance matrix) of ``Q = N1``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float or ndarray
        ``D_KL(N0 || N1) >= 0``, zero only when the two Gaussians are equal.
        If either covariance is a 2-D matrix the call is multivariate: both
        means must be 1-D of length ``d`` and both covariances ``(d, d)``.
        Otherwise scalars and 1-D arrays broadcast into a batch of
        univariate divergences (handy for plotting KL against a mean); a
        1-D covariance is *not* read as a diagonal, pass
        ``numpy.diag(v)`` for that.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section "KL between
    Gaussians". A question such as "KL between N(0,1) and N(2,2)" does
    not say whether 2 is a variance or a standard deviation; the answers
    differ (1.0966 nats for variance 2, 0.8181 nats for
    standard deviation 2), so always say which.

    Examples
    --------
    KL is not symmetric, and the two readings of ``N(2, 2)`` differ:

    >>> round(gaussian_kl(0, 1, 2, 2, base=np.e), 4)  # variance 2
    1.0966
    >>> round(gaussian_kl(0, 1, 2, 4, base=np.e), 4)  # std 2, variance 4
    0.8181
    >>> round(gaussian_kl(2, 2, 0, 1, base=np.e), 4)  # the other direction
    2.1534
    >>> gaussian_kl([0, 0], np.eye(2), [0, 0], np.eye(2))
    0.0
    """
    scale = log_base(base)
    if np.ndim(cov0) >= 2 or np.ndim(cov1) >= 2:
        kl = _kl_multivariate(mu0, cov0, mu1, cov1)
    else:
        m0 = as_float_array(mu0, "mu0")
        m1 = as_float_array(mu1, "mu1")
        _check_finite(m0, "mu0")
        _check_finite(m1, "mu1")
        v0 = _variances(cov0, "cov0")
        v1 = _variances(cov1, "cov1")
        try:
            m0, v0, m1, v1 = np.broadcast_arrays(m0, v0, m1, v1)
        except ValueError:
            raise ValueError(
                f"mu0, cov0, mu1, cov1 have shapes {np.shape(mu0)}, "
                f"{np.shape(cov0)}, {np.shape(mu1)}, {np.shape(cov1)} that do "
                "not broadcast together; give scalars or equal-length 1-D "
                "arrays (for a multivariate Gaussian give a (d, d) covariance)"
            ) from None
        x = v0 / v1 - 1.0
        # x - log1p(x) keeps precision when the variances are nearly equal.
        kl = 0.5 * ((m1 - m0) ** 2 / v1 + x - np.log1p(x))
    return scalar_or_array(nonnegative(kl) / scale)


def _kl_multivariate(mu0, cov0, mu1, cov1) -> float:
    l0 = _cholesky(cov0, "cov0")
    l1 = _cholesky(cov1, "cov1")
    d = l0.shape[0]
    if l1.shape[0] != d:
        raise ValueError(
            f"cov0 and cov1 must have the same shape, got {l0.shape} and "
            f"{l1.shape}; both Gaussians must live in the same space"
        )
    means = []
    for value, name in ((mu0, "mu0"), (mu1, "mu1")):
        m = as_float_array(value, name)
        _check_finite(m, name)
        if m.shape != (d,):
            raise ValueError(
                f"{name} must be a 1-D mean of length {d} to match the "
                f"({d}, {d}) covariance, got shape {m.shape}"
            )
        means.append(m)
    # tr(C1^-1 C0) = ||L1^-1 L0||_F^2 and the Mahalanobis term
    # ||L1^-1 (mu1 - mu0)||^2, both from one triangular solve.
    a = solve_triangular(l1, l0, lower=True)
    b = solve_triangular(l1, means[1] - means[0], lower=True)
    return 0.5 * (
        float(np.sum(a * a)) + float(b @ b) - d + _logdet(l1) - _logdet(l0)
    )


def gaussian_mutual_information(rho, base: float = 2):
    """MI of a bivariate Gaussian pair with correlation ``rho``.

    ``I(X; Y) = -0.5 log(1 - rho^2)``: it depends on the correlation only
    (not on the means or variances), is zero exactly when ``rho = 0`` and
    grows without bound as ``|rho| -> 1``.

    Parameters
    ----------
    rho : float or array_like
        Correlation coefficient(s), each in ``[-1, 1]``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float or ndarray
        ``I(X; Y) >= 0``; ``inf`` at ``rho = +-1`` (then ``Y`` is an exact
        linear function of the continuous ``X``, and knowing it pins ``X``
        down to infinite precision).

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, where it is the
    analytic reference for the KSG estimator. It equals
    ``h(X) + h(Y) - h(X, Y)`` with :func:`gaussian_entropy`.

    Examples
    --------
    >>> round(gaussian_mutual_information(0.9, base=np.e), 4)
    0.8304
    >>> C = np.array([[1.0, 0.9], [0.9, 1.0]])
    >>> h = gaussian_entropy(1.0) * 2 - gaussian_entropy(C)
    >>> bool(np.isclose(h, gaussian_mutual_information(0.9)))
    True
    >>> gaussian_mutual_information(1.0)
    inf
    """
    scale = log_base(base)
    r = as_float_array(rho, "rho")
    if np.any(np.isnan(r)) or np.any(np.abs(r) > 1):
        bad = r[np.isnan(r) | (np.abs(r) > 1)].flat[0]
        raise ValueError(
            f"rho must be a correlation coefficient in [-1, 1], got {bad!r}"
        )
    with np.errstate(divide="ignore"):
        # log1p(-rho^2) is accurate for small rho, where 1 - rho^2 rounds.
        mi = -0.5 * np.log1p(-(r * r)) / scale
    return scalar_or_array(nonnegative(mi) + 0.0)

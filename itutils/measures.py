"""Information measures on probability arrays: entropy, KL, MI and friends.

Every function takes ``base`` (2 gives bits, the default; ``numpy.e`` gives
nats), follows 0 log 0 = 0, refuses bad input through :mod:`itutils._validate`
and never returns a negative value where the theory says ``>= 0``.
Taught in ``notebooks/01_entropy.ipynb`` (entropies, chain rule) and
``notebooks/02_kl_cross_entropy.ipynb`` (divergences).
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr, xlogy

from itutils._validate import (
    as_distribution,
    as_float_array,
    as_joint,
    check_probabilities,
    check_same_shape,
    log_base,
    nonnegative,
    scalar_or_array,
)

__all__ = [
    "self_information",
    "entropy",
    "joint_entropy",
    "conditional_entropy",
    "mutual_information",
    "kl_divergence",
    "cross_entropy",
    "js_divergence",
]


def self_information(p, base: float = 2):
    """Surprise of an outcome of probability ``p``: ``-log p``.

    Rare outcomes carry more information; a certain outcome carries none and
    an impossible one (``p = 0``) infinitely much.

    Parameters
    ----------
    p : float or array_like
        Probabilities of single outcomes, each in [0, 1]. They need not sum
        to 1: each entry is treated on its own.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float or ndarray
        ``-log_base(p)``, elementwise; ``inf`` where ``p == 0``.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Self-information".

    Examples
    --------
    Halving the probability adds one bit of surprise, and surprises of
    independent events add up:

    >>> self_information(0.5), self_information(0.25)
    (1.0, 2.0)
    >>> self_information(0.5 * 0.25) == self_information(0.5) + self_information(0.25)
    True
    """
    scale = log_base(base)
    arr = as_float_array(p, "p")
    check_probabilities(arr, "p")
    if np.any(arr > 1):
        bad = float(arr[arr > 1].flat[0])
        raise ValueError(
            f"p has an entry above 1 ({bad!r}); self-information needs the "
            "probability of one outcome, in [0, 1]"
        )
    with np.errstate(divide="ignore"):
        # -log(1) is -0.0; adding 0.0 prints it as 0.0.
        result = -np.log(arr) / scale + 0.0
    return scalar_or_array(result)


def entropy(p, base: float = 2, axis: int = -1, normalize: bool = False):
    """Shannon entropy ``H(P) = -sum_x P(x) log P(x)``.

    The average surprise of an outcome drawn from ``P``, and the smallest
    average number of bits (base 2) per symbol that any lossless code for
    ``P`` can achieve.

    Parameters
    ----------
    p : array_like
        Probabilities along ``axis``; other axes index a batch.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    axis : int, default -1
        Axis along which each distribution lies.
    normalize : bool, default False
        If True, ``p`` may hold non-negative counts or weights, divided by
        their total first. If False, each distribution must sum to 1.

    Returns
    -------
    float or ndarray
        Entropy, one value per distribution; between 0 and ``log_base(K)``
        for ``K`` outcomes.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Entropy".

    Examples
    --------
    A fair coin carries one bit, a fair die ``log2 6``; the uniform
    distribution has the largest entropy:

    >>> entropy([0.5, 0.5])
    1.0
    >>> round(entropy([1/6] * 6), 4), round(float(np.log2(6)), 4)
    (2.585, 2.585)
    >>> entropy([[0.5, 0.5], [1.0, 0.0]])  # a batch, one row each
    array([1., 0.])
    >>> round(entropy([30, 10], normalize=True), 4)  # counts
    0.8113
    """
    scale = log_base(base)
    arr = as_distribution(p, "p", axis=axis, normalize=normalize)
    # entr(x) = -x log x is exactly 0 at x = 0 and >= 0 elsewhere.
    return scalar_or_array(entr(arr).sum(axis=axis) / scale)


def joint_entropy(pxy, base: float = 2):
    """Joint entropy ``H(X, Y, ...)`` of a joint probability table.

    Parameters
    ----------
    pxy : array_like
        Joint table of any number of dimensions, one axis per variable;
        all entries together sum to 1.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        The entropy of the table seen as one distribution.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Joint and conditional
    entropy".

    Examples
    --------
    Two independent fair bits carry two bits together:

    >>> joint_entropy([[0.25, 0.25], [0.25, 0.25]])
    2.0
    """
    scale = log_base(base)
    arr = as_joint(pxy, "pxy", ndim=None, offer_normalize=False)
    return float(entr(arr).sum() / scale)


def conditional_entropy(pxy, base: float = 2):
    """Conditional entropy ``H(X | Y) = -sum P(x, y) log P(x | y)``.

    What remains uncertain about ``X`` once ``Y`` is known, on average over
    ``Y``. It obeys the chain rule ``H(X, Y) = H(Y) + H(X | Y)``.

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y)
        Joint table with ``pxy[i, j] = P(X=i, Y=j)``: X along axis 0, the
        conditioning variable Y along axis 1. For ``H(Y | X)`` pass
        ``pxy.T``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        ``H(X | Y)``, between 0 and ``H(X)``.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Joint and conditional
    entropy". Conditioning is on the *columns*: the weights are ``P(y)``,
    the column sums, and each column is renormalised to ``P(x | y)``.

    Examples
    --------
    The chain rule, on chapter 1's 2x2 table:

    >>> pxy = np.array([[0.2, 0.1], [0.15, 0.55]])
    >>> round(conditional_entropy(pxy), 4), round(conditional_entropy(pxy.T), 4)
    (0.7474, 0.8002)
    >>> h_y = entropy(pxy.sum(axis=0))
    >>> bool(np.isclose(joint_entropy(pxy), h_y + conditional_entropy(pxy)))
    True
    """
    scale = log_base(base)
    arr = as_joint(pxy, "pxy", ndim=2, offer_normalize=False)
    py = arr.sum(axis=0, keepdims=True)
    # Each term -P(x,y) log(P(x,y)/P(y)) >= 0 because P(x,y) <= P(y) holds
    # in floating point too (a sum of non-negative numbers is no smaller
    # than any of its terms). Zero columns contribute 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -rel_entr(arr, py)
    terms = np.where(arr > 0, terms, 0.0)
    return float(nonnegative(terms.sum()) / scale)


def mutual_information(pxy, base: float = 2):
    """Mutual information ``I(X; Y) = D_KL(P(X, Y) || P(X) P(Y))``.

    How much knowing one variable tells about the other:
    ``I(X; Y) = H(X) - H(X | Y) = H(X) + H(Y) - H(X, Y)``. It is zero
    exactly when X and Y are independent.

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y)
        Joint table with ``pxy[i, j] = P(X=i, Y=j)``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        ``I(X; Y) >= 0``, symmetric in X and Y.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb`` (and met in
    ``notebooks/01_entropy.ipynb``).

    Examples
    --------
    Independent variables share nothing; a copy shares all of its entropy:

    >>> mutual_information([[0.25, 0.25], [0.25, 0.25]])
    0.0
    >>> mutual_information([[0.5, 0.0], [0.0, 0.5]])
    1.0
    """
    scale = log_base(base)
    arr = as_joint(pxy, "pxy", ndim=2, offer_normalize=False)
    product = arr.sum(axis=1, keepdims=True) * arr.sum(axis=0, keepdims=True)
    return float(nonnegative(rel_entr(arr, product).sum()) / scale)


def _pair(p, q, axis):
    # These functions have no normalize argument: the message must not offer one.
    p = as_distribution(p, "p", axis=axis, offer_normalize=False)
    q = as_distribution(q, "q", axis=axis, offer_normalize=False)
    check_same_shape(p, q)
    return p, q


def kl_divergence(p, q, base: float = 2, axis: int = -1):
    """Kullback-Leibler divergence ``D_KL(P || Q) = sum P(x) log(P(x) / Q(x))``.

    The extra bits per symbol paid for coding data from ``P`` with a code
    built for ``Q``. It is ``>= 0``, zero only when ``P = Q``, not
    symmetric, and infinite when ``Q`` gives zero probability to an outcome
    that ``P`` can produce: no code built for ``Q`` can encode it at all.

    Parameters
    ----------
    p, q : array_like
        Distributions of the same shape, along ``axis``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    axis : int, default -1
        Axis along which each distribution lies.

    Returns
    -------
    float or ndarray
        ``D_KL(P || Q)`` per distribution; ``inf`` where ``q = 0 < p``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, sections "KL
    divergence" and "Maximum likelihood is forward KL". No epsilon is
    added: clipping ``q`` would turn an infinite divergence into a large,
    arbitrary finite number.

    Examples
    --------
    >>> p, q = [0.5, 0.5], [0.9, 0.1]
    >>> round(kl_divergence(p, q), 4), round(kl_divergence(q, p), 4)
    (0.737, 0.531)
    >>> kl_divergence([0.5, 0.5], [1.0, 0.0])
    inf
    >>> bool(np.isclose(cross_entropy(p, q), entropy(p) + kl_divergence(p, q)))
    True
    """
    scale = log_base(base)
    p, q = _pair(p, q, axis)
    return scalar_or_array(nonnegative(rel_entr(p, q).sum(axis=axis)) / scale)


def cross_entropy(p, q, base: float = 2, axis: int = -1):
    """Cross-entropy ``H(P, Q) = -sum P(x) log Q(x) = H(P) + D_KL(P || Q)``.

    The average code length when data come from ``P`` but the code was
    built for ``Q``. Minimising it over ``Q`` is minimising ``D_KL(P || Q)``,
    since ``H(P)`` does not depend on ``Q``.

    Parameters
    ----------
    p, q : array_like
        Distributions of the same shape, along ``axis``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    axis : int, default -1
        Axis along which each distribution lies.

    Returns
    -------
    float or ndarray
        ``H(P, Q) >= H(P)``; ``inf`` where ``q = 0 < p``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, sections
    "Cross-entropy" and "Bits per character and perplexity" (perplexity is
    ``base ** H(P, Q)``). Not to be confused with the joint entropy
    ``H(X, Y)`` of :func:`joint_entropy`: the arguments here are two
    distributions of one variable.

    Examples
    --------
    With a one-hot ``P`` (a label) it is the surprise of the true class:

    >>> cross_entropy([0, 1, 0], [0.25, 0.5, 0.25])
    1.0
    >>> cross_entropy([0.5, 0.5], [0.5, 0.5]) == entropy([0.5, 0.5])
    True
    """
    scale = log_base(base)
    p, q = _pair(p, q, axis)
    with np.errstate(divide="ignore"):
        # xlogy(0, 0) = 0; xlogy(p, 0) = -inf for p > 0, so the result is inf.
        result = -xlogy(p, q).sum(axis=axis) / scale
    # Rounding cannot push H(P, Q) below H(P) by more than ~1e-16; keep the
    # exact lower bound visible.
    floor = entr(p).sum(axis=axis) / scale
    return scalar_or_array(np.maximum(result, floor))


def js_divergence(p, q, base: float = 2, axis: int = -1):
    """Jensen-Shannon divergence ``JS(P, Q) = (D_KL(P||M) + D_KL(Q||M)) / 2``.

    ``M = (P + Q) / 2``. Symmetric, always finite, between 0 and 1 bit
    (``log_base 2``). This is the divergence itself; its square root is a
    metric (``scipy.spatial.distance.jensenshannon`` returns that root).

    Parameters
    ----------
    p, q : array_like
        Distributions of the same shape, along ``axis``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    axis : int, default -1
        Axis along which each distribution lies.

    Returns
    -------
    float or ndarray
        ``JS(P, Q)`` in ``[0, log_base 2]``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "Jensen-Shannon divergence".

    Examples
    --------
    Distributions with disjoint supports are exactly one bit apart:

    >>> js_divergence([1.0, 0.0], [0.0, 1.0])
    1.0
    >>> js_divergence([0.5, 0.5], [0.9, 0.1]) == js_divergence([0.9, 0.1], [0.5, 0.5])
    True
    """
    scale = log_base(base)
    p, q = _pair(p, q, axis)
    m = 0.5 * (p + q)
    js = 0.5 * (rel_entr(p, m).sum(axis=axis) + rel_entr(q, m).sum(axis=axis))
    # Rounding residue only: the bounds are 0 and ln 2 exactly.
    return scalar_or_array(np.clip(js, 0.0, np.log(2)) / scale)

"""The information bottleneck and the Blahut-Arimoto algorithms.

Three alternating-minimisation algorithms that share one idea: fix the
marginal, update the conditional in closed form, repeat.

- :func:`information_bottleneck` compresses ``X`` into a cluster variable
  ``T`` that keeps what ``X`` says about ``Y``: it minimises
  ``I(X;T) - beta I(T;Y)`` (Tishby, Pereira and Bialek, 1999);
  :func:`ib_curve` sweeps ``beta`` to trace the trade-off.
- :func:`blahut_arimoto_capacity` finds the capacity of a discrete
  memoryless channel and the input distribution that reaches it.
- :func:`blahut_arimoto_rate_distortion` finds one point of a source's
  rate-distortion curve ``R(D)`` and the test channel that reaches it.

All information quantities are returned in bits. Taught in
``notebooks/04_vae.ipynb``, section "The information bottleneck"; the
explorer is :func:`itutils.widgets.bottleneck.ib_explorer`.

References
----------
N. Tishby, F. C. Pereira, W. Bialek, "The information bottleneck method",
Allerton 1999. R. E. Blahut, "Computation of channel capacity and
rate-distortion functions", IEEE Trans. Inf. Theory 18 (1972). S. Arimoto,
same journal and year. T. M. Cover, J. A. Thomas, "Elements of Information
Theory", 2nd ed., sections 10.8 and 13.8 (alternating minimisation).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, rel_entr

from itutils._validate import as_distribution, as_float_array, as_joint
from itutils.measures import entropy, mutual_information

__all__ = [
    "IBResult",
    "IBCurve",
    "CapacityResult",
    "RateDistortionResult",
    "information_bottleneck",
    "ib_curve",
    "blahut_arimoto_capacity",
    "blahut_arimoto_rate_distortion",
]

LN2 = math.log(2.0)


# --------------------------------------------------------------------------
# Small argument checks (specific to this module, so they live here)
# --------------------------------------------------------------------------


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _positive_real(value, name: str, hint: str = "") -> float:
    value = _real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}{hint}")
    return value


# --------------------------------------------------------------------------
# The information bottleneck
# --------------------------------------------------------------------------


class IBResult(NamedTuple):
    """One solution of the information bottleneck at one ``beta``.

    Attributes
    ----------
    encoder : ndarray, shape (n_x, n_clusters)
        The soft clustering ``p(t | x)``; each row sums to 1.
    i_xt : float
        ``I(X; T)`` in bits: the cost, how much of ``X`` the clusters keep.
    i_ty : float
        ``I(T; Y)`` in bits: the relevance, what the clusters say about ``Y``.
    objective : float
        The IB Lagrangian ``I(X;T) - beta I(T;Y)`` in bits (smaller is better).
    beta : float
        The trade-off parameter used.
    n_iter : int
        Iterations of the best restart.
    converged : bool
        Whether the best restart met ``tol`` before ``max_iter``.
    """

    encoder: np.ndarray
    i_xt: float
    i_ty: float
    objective: float
    beta: float
    n_iter: int
    converged: bool


class IBCurve(NamedTuple):
    """The information bottleneck curve traced over a grid of ``beta``.

    Attributes
    ----------
    betas : ndarray, shape (n_beta,)
        The grid, in increasing order.
    i_xt, i_ty, objective : ndarray, shape (n_beta,)
        ``I(X;T)``, ``I(T;Y)`` (bits) and ``I(X;T) - beta I(T;Y)`` at each beta.
    encoders : ndarray, shape (n_beta, n_x, n_clusters)
        The encoder ``p(t | x)`` found at each beta.
    h_x : float
        ``H(X)`` in bits, the largest possible ``I(X;T)``.
    i_xy : float
        ``I(X;Y)`` in bits, the largest possible ``I(T;Y)`` (data processing).
    """

    betas: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    objective: np.ndarray
    encoders: np.ndarray
    h_x: float
    i_xy: float


def _ib_information(px, py_given_x, encoder):
    """``I(X;T)`` and ``I(T;Y)`` in bits for an encoder, via the joints."""
    pxt = px[:, None] * encoder
    pty = encoder.T @ (px[:, None] * py_given_x)
    # The matrix product can leave a residue of order 1e-17 in the total,
    # far inside the validation tolerance.
    return mutual_information(pxt), mutual_information(pty)


def _logsumexp_rows(a):
    """``log sum exp`` along axis 1; each row has a finite entry (faster than
    scipy's general version, which matters inside the IB loop)."""
    m = a.max(axis=1, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))


def _ib_iterate(px, py_given_x, log_encoder, beta, max_iter, tol):
    """Run the self-consistent equations from ``log p(t|x)``; support of x only.

    Works in logarithms (nats) so that ``exp(-beta KL)`` never underflows a
    whole row to 0/0, and treats ``KL = inf`` exactly: a cluster whose
    ``p(y|t)`` misses an outcome that ``x`` can produce gets weight
    ``exp(-inf) = 0``.
    """
    pxy = px[:, None] * py_given_x
    support_y = (py_given_x > 0).astype(float)  # (n_x, n_y)
    # -H(Y|X=x) in nats, the part of KL that does not depend on t.
    neg_h = (py_given_x * np.log(np.where(support_y > 0, py_given_x, 1.0))).sum(axis=1)
    encoder = np.exp(log_encoder)
    converged = False
    n_iter = 0
    # The where= arguments below keep log(0) and 0/0 out of the arithmetic
    # altogether (cheaper than np.errstate in a loop this tight).
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is used after)
        pt = px @ encoder  # p(t)
        alive = pt > 0
        joint_ty = encoder.T @ pxy
        # Dead clusters (p(t) = 0) get any finite p(y|t): their weight
        # p(t) = 0 keeps them dead below.
        py_given_t = np.divide(joint_ty, pt[:, None], out=np.ones_like(joint_ty),
                               where=alive[:, None])
        zero_yt = py_given_t <= 0
        log_pyt = np.log(py_given_t, out=np.zeros_like(py_given_t), where=~zero_yt)
        # KL(p(y|x) || p(y|t)) = -H(Y|x) - sum_y p(y|x) log p(y|t), with the
        # log 0 entries replaced by 0 in the product (no 0 * -inf = NaN) and
        # the divergence set to inf wherever p(y|x) > 0 = p(y|t).
        kl = neg_h[:, None] - py_given_x @ log_pyt.T
        np.maximum(kl, 0.0, out=kl)  # rounding residue only
        if zero_yt.any():
            kl[(support_y @ zero_yt.T) > 0] = np.inf
        log_pt = np.log(pt, out=np.full_like(pt, -np.inf), where=alive)
        logits = log_pt[None, :] - beta * kl  # -inf where dead or KL = inf
        new_log = logits - _logsumexp_rows(logits)
        new = np.exp(new_log)
        change = np.abs(new - encoder).max()
        encoder = new
        if change < tol:
            converged = True
            break
    return encoder, n_iter, converged


def _check_ib_args(pxy, n_clusters):
    pxy = as_joint(pxy, "pxy", ndim=2)
    n_x = pxy.shape[0]
    n_clusters = n_x if n_clusters is None else _positive_int(n_clusters, "n_clusters")
    return pxy, n_clusters


def _ib_setup(pxy):
    px = pxy.sum(axis=1)
    support = px > 0
    py_given_x = pxy[support] / px[support, None]
    return px, support, py_given_x


def _random_log_encoder(rng, n_x, n_clusters):
    # Dirichlet(1) rows: uniform over the simplex, all entries > 0.
    return np.log(rng.dirichlet(np.ones(n_clusters), size=n_x))


def _ib_solve(pxy, n_clusters, beta, n_restarts, rng, max_iter, tol, inits=()):
    """Best of ``n_restarts`` random starts plus the given initial encoders."""
    px, support, pyx = _ib_setup(pxy)
    pxs = px[support]
    starts = [np.log(np.asarray(e)[support]) for e in inits]
    starts += [
        _random_log_encoder(rng, pyx.shape[0], n_clusters) for _ in range(n_restarts)
    ]
    best = None
    for log_init in starts:
        enc, n_iter, conv = _ib_iterate(pxs, pyx, log_init, beta, max_iter, tol)
        i_xt, i_ty = _ib_information(pxs, pyx, enc)
        objective = i_xt - beta * i_ty
        # Ties go to the earlier start so warm starts win on a plateau.
        if best is None or objective < best[3] - 1e-12:
            best = (enc, i_xt, i_ty, objective, n_iter, conv)
    enc_s, i_xt, i_ty, objective, n_iter, conv = best
    # An x with p(x) = 0 is never seen; give it the cluster prior p(t).
    encoder = np.tile(pxs @ enc_s, (pxy.shape[0], 1))
    encoder[support] = enc_s
    return IBResult(encoder, i_xt, i_ty, objective, float(beta), n_iter, conv)


def information_bottleneck(
    pxy,
    n_clusters: int | None = None,
    beta: float = 1.0,
    n_restarts: int = 20,
    random_state: int | np.random.Generator | None = 0,
    max_iter: int = 2000,
    tol: float = 1e-10,
    init=None,
) -> IBResult:
    """Compress ``X`` into clusters ``T`` that keep the information about ``Y``.

    Minimises the IB Lagrangian ``I(X;T) - beta I(T;Y)`` over soft encoders
    ``p(t | x)`` under the Markov chain ``T - X - Y``, by iterating the
    self-consistent equations of Tishby, Pereira and Bialek::

        p(t | x) ∝ p(t) exp(-beta KL(p(y | x) || p(y | t)))
        p(t)     = sum_x p(x) p(t | x)
        p(y | t) = sum_x p(y | x) p(t | x) p(x) / p(t)

    Each iteration never increases the Lagrangian, but the problem is not
    convex: the iteration can stop in a local optimum, so the best of
    ``n_restarts`` random starts is kept.

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y)
        Joint table ``pxy[i, j] = P(X=i, Y=j)``, summing to 1.
    n_clusters : int, optional
        Number of values of ``T``. Defaults to ``n_x``, which suffices for
        the minimum of the Lagrangian at any beta (a Caratheodory argument:
        keep ``p(x)`` and the objective; the constrained form of the problem
        may need ``n_x + 1``).
    beta : float, default 1.0
        Trade-off, ``> 0``: the price in bits of ``I(X;T)`` paid for each bit
        of ``I(T;Y)``. Small beta compresses everything into one cluster
        (``I(X;T) = 0``); large beta keeps all of ``I(X;Y)``.
    n_restarts : int, default 20
        Random initial encoders (rows drawn uniformly from the simplex).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the restarts; the same seed gives the same result.
    max_iter : int, default 2000
        Iterations per restart.
    tol : float, default 1e-10
        Stop when no entry of ``p(t | x)`` moves by more than ``tol``.
    init : array_like, shape (n_x, n_clusters), optional
        An extra initial encoder tried besides the random ones (a warm start,
        as :func:`ib_curve` uses). Entries must be > 0 for the iteration to
        be able to use every cluster.

    Returns
    -------
    IBResult
        ``encoder`` (``p(t | x)``), ``i_xt``, ``i_ty`` (bits), ``objective``,
        ``beta``, ``n_iter``, ``converged``.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck". The KL in the update is taken in nats; the ratio of the two
    terms, and so the solution, does not depend on the unit. Where
    ``p(y | t) = 0 < p(y | x)`` the divergence is infinite and the weight
    ``exp(-inf)`` is exactly 0: no epsilon is added. An ``x`` with
    ``p(x) = 0`` gets the encoder row ``p(t)``.

    Examples
    --------
    ``Y`` is a noisy copy of a 4-valued ``X`` in which only ``X // 2``
    matters; two clusters keep all of ``I(X;Y)`` at half the cost of
    keeping ``X``:

    >>> pxy = np.kron(np.eye(2), np.full((2, 2), 1 / 8))
    >>> res = information_bottleneck(pxy, n_clusters=2, beta=5.0)
    >>> round(res.i_xt, 4), round(res.i_ty, 4), round(mutual_information(pxy), 4)
    (1.0, 1.0, 1.0)
    >>> res.encoder.round(3)
    array([[1., 0.],
           [1., 0.],
           [0., 1.],
           [0., 1.]])

    With a small beta, compression wins and ``T`` forgets ``X`` altogether:

    >>> round(information_bottleneck(pxy, 2, beta=0.5).i_xt, 6)
    0.0
    """
    pxy, n_clusters = _check_ib_args(pxy, n_clusters)
    beta = _positive_real(beta, "beta", "; beta weighs I(T;Y) against I(X;T)")
    # With a warm start, zero random restarts is allowed.
    n_restarts = _positive_int(n_restarts, "n_restarts", minimum=int(init is None))
    max_iter = _positive_int(max_iter, "max_iter")
    tol = _positive_real(tol, "tol")
    inits = ()
    if init is not None:
        init = as_distribution(init, "init", axis=1)
        if init.shape != (pxy.shape[0], n_clusters):
            raise ValueError(
                "init must have shape (n_x, n_clusters) = "
                f"{(pxy.shape[0], n_clusters)}, got {init.shape}"
            )
        inits = (init,)
    rng = np.random.default_rng(random_state)
    return _ib_solve(pxy, n_clusters, beta, n_restarts, rng, max_iter, tol, inits)


def ib_curve(
    pxy,
    betas,
    n_clusters: int | None = None,
    n_restarts: int = 5,
    random_state: int | None = 0,
    max_iter: int = 2000,
    tol: float = 1e-9,
    warm_start: bool = True,
) -> IBCurve:
    """Trace the information bottleneck curve ``(I(X;T), I(T;Y))`` over ``beta``.

    Solves :func:`information_bottleneck` at each ``beta``. With
    ``warm_start=True`` each solution is also started from its neighbours'
    encoders, in an upward and a downward sweep, and the better objective is
    kept. This escapes most local optima, so that both coordinates come out
    non-decreasing in ``beta``, as they are at the true optimum (a property
    to check, not a guarantee: the problem is not convex).

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y)
        Joint table ``P(X, Y)``.
    betas : array_like
        Positive trade-off values; they are sorted. A log-spaced grid such
        as ``numpy.geomspace(0.5, 50, 60)`` shows the transitions well.
    n_clusters : int, optional
        Values of ``T``; defaults to ``n_x``.
    n_restarts : int, default 5
        Random starts per beta, on top of the warm starts.
    random_state : int or None, default 0
        Seed; the same seed gives the same curve.
    max_iter, tol :
        As in :func:`information_bottleneck`.
    warm_start : bool, default True
        Also start from the neighbouring betas' solutions.

    Returns
    -------
    IBCurve
        ``betas``, ``i_xt``, ``i_ty``, ``objective``, ``encoders`` and the
        limits ``h_x = H(X)`` and ``i_xy = I(X;Y)``, all in bits.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck"; :func:`itutils.widgets.bottleneck.ib_explorer` draws it.
    The curve lies under both limits: ``I(X;T) <= H(X)`` because ``T`` is
    computed from ``X``, and ``I(T;Y) <= I(X;Y)`` by data processing.

    Examples
    --------
    >>> pxy = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1]]) / 5
    >>> curve = ib_curve(pxy, [0.5, 2.5, 10, 100])
    >>> curve.i_xt.round(4), curve.i_ty.round(4)
    (array([0.    , 0.8   , 1.5129, 1.5219]), array([0.    , 0.4   , 0.5702, 0.571 ]))
    >>> round(curve.h_x, 4), round(curve.i_xy, 4)
    (1.5219, 0.571)
    """
    pxy, n_clusters = _check_ib_args(pxy, n_clusters)
    betas = as_float_array(betas, "betas").ravel()
    if not np.all(np.isfinite(betas)) or np.any(betas <= 0):
        bad = betas[~(np.isfinite(betas) & (betas > 0))][0]
        raise ValueError(f"betas must all be finite and > 0, got {bad}")
    betas = np.sort(betas)
    n_restarts = _positive_int(n_restarts, "n_restarts")
    rng = np.random.default_rng(random_state)
    solutions = [
        _ib_solve(pxy, n_clusters, b, n_restarts, rng, max_iter, tol) for b in betas
    ]
    if warm_start and len(betas) > 1:
        # A warm start slightly blurred towards uniform, so that a cluster
        # that died at one beta can revive at the next.
        def blur(enc):
            return 0.999 * enc + 0.001 / n_clusters

        for order in (range(1, len(betas)), range(len(betas) - 2, -1, -1)):
            for k in order:
                prev = k - 1 if order.step == 1 else k + 1
                cand = _ib_solve(
                    pxy, n_clusters, betas[k], 0, rng, max_iter, tol,
                    inits=(blur(solutions[prev].encoder),),
                )
                if cand.objective < solutions[k].objective - 1e-12:
                    solutions[k] = cand
    px = pxy.sum(axis=1)
    return IBCurve(
        betas=betas,
        i_xt=np.array([s.i_xt for s in solutions]),
        i_ty=np.array([s.i_ty for s in solutions]),
        objective=np.array([s.objective for s in solutions]),
        encoders=np.stack([s.encoder for s in solutions]),
        h_x=entropy(px),
        i_xy=mutual_information(pxy),
    )


# --------------------------------------------------------------------------
# Blahut-Arimoto: channel capacity
# --------------------------------------------------------------------------


class CapacityResult(NamedTuple):
    """The capacity of a discrete memoryless channel.

    Attributes
    ----------
    capacity : float
        ``C = max_p I(X;Y)`` in bits per channel use.
    input_distribution : ndarray, shape (n_x,)
        A capacity-achieving input distribution ``p(x)``.
    output_distribution : ndarray, shape (n_y,)
        The output distribution it induces (unique, even when ``p(x)`` is not).
    gap : float
        Certified accuracy in bits: the true capacity lies in
        ``[capacity, capacity + gap]``.
    n_iter : int
    converged : bool
        Whether ``gap <= tol`` was reached before ``max_iter``.
    """

    capacity: float
    input_distribution: np.ndarray
    output_distribution: np.ndarray
    gap: float
    n_iter: int
    converged: bool


def _check_channel(channel) -> np.ndarray:
    arr = as_float_array(channel, "channel")
    if arr.ndim != 2:
        raise ValueError(
            "channel must be a 2-D table with channel[x, y] = p(y | x), got an "
            f"array with {arr.ndim} dimension(s) of shape {arr.shape}"
        )
    return as_distribution(arr, "channel", axis=1)


def blahut_arimoto_capacity(
    channel, tol: float = 1e-12, max_iter: int = 100_000
) -> CapacityResult:
    """Capacity of a discrete memoryless channel by the Blahut-Arimoto algorithm.

    Alternates between the output distribution ``q(y) = sum_x p(x) W(y|x)``
    and the multiplicative update ``p(x) ∝ p(x) exp(KL(W(.|x) || q))``. At
    every step ``log2 sum_x p(x) exp(D_x) <= C <= max_x D_x / ln 2`` (with
    ``D_x`` the divergence in nats), so the answer comes with a certificate.

    Parameters
    ----------
    channel : array_like, shape (n_x, n_y)
        Transition matrix ``channel[x, y] = W(y | x)``; each row sums to 1.
    tol : float, default 1e-12
        Stop when the upper and lower bounds on ``C`` are within ``tol`` bits.
    max_iter : int, default 100000

    Returns
    -------
    CapacityResult
        ``capacity`` (bits), ``input_distribution``, ``output_distribution``,
        ``gap``, ``n_iter``, ``converged``.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck" (Blahut-Arimoto is the same alternating minimisation);
    :func:`itutils.widgets.bottleneck.channel_capacity_explorer` shows the
    binary symmetric channel. The capacity is the largest rate at which the
    channel carries information with vanishing error (Shannon).

    Examples
    --------
    A binary symmetric channel that flips 11% of bits has capacity
    ``1 - H(0.11)``, reached with a uniform input:

    >>> res = blahut_arimoto_capacity([[0.89, 0.11], [0.11, 0.89]])
    >>> round(res.capacity, 6), round(1 - entropy([0.89, 0.11]), 6)
    (0.500084, 0.500084)
    >>> res.input_distribution
    array([0.5, 0.5])

    The Z-channel (a 1 is read as 0 half of the time) prefers sending 0s:

    >>> res = blahut_arimoto_capacity([[1.0, 0.0], [0.5, 0.5]])
    >>> round(res.capacity, 6), round(float(np.log2(1.25)), 6)
    (0.321928, 0.321928)
    >>> res.input_distribution.round(6)
    array([0.6, 0.4])
    """
    w = _check_channel(channel)
    tol = _positive_real(tol, "tol")
    max_iter = _positive_int(max_iter, "max_iter")
    n_x = w.shape[0]
    p = np.full(n_x, 1.0 / n_x)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is used after)
        q = p @ w
        # D_x = KL(W(.|x) || q) in nats; rel_entr gives 0 where W = 0 and,
        # since p > 0 throughout, q(y) > 0 wherever some W(y|x) > 0.
        d = rel_entr(w, q[None, :]).sum(axis=1)
        # Shift by max(d) so exp never overflows; the shift cancels.
        c = np.exp(d - d.max())
        lower = (math.log(p @ c) + d.max()) / LN2
        upper = d.max() / LN2
        if upper - lower <= tol:
            converged = True
            break
        p = p * c
        p /= p.sum()
    # Report the rate the returned input actually achieves, I(X;Y) at p, and
    # how far the upper bound max_x D_x can still be above it.
    q = p @ w
    d = rel_entr(w, q[None, :]).sum(axis=1)
    capacity = mutual_information(p[:, None] * w)
    gap = max(d.max() / LN2 - capacity, 0.0)
    return CapacityResult(capacity, p, q, float(gap), n_iter, converged)


# --------------------------------------------------------------------------
# Blahut-Arimoto: rate-distortion
# --------------------------------------------------------------------------


class RateDistortionResult(NamedTuple):
    """One point ``(D, R(D))`` of a rate-distortion curve.

    Attributes
    ----------
    rate : float
        ``R = I(X; X_hat)`` in bits per source symbol.
    distortion : float
        ``D = E[d(X, X_hat)]`` under the test channel, in the units of ``d``.
    test_channel : ndarray, shape (n_x, n_xhat)
        The optimal ``q(x_hat | x)``; each row sums to 1.
    output_distribution : ndarray, shape (n_xhat,)
        ``q(x_hat) = sum_x p(x) q(x_hat | x)``.
    slope : float
        The slope ``s = dR/dD <= 0`` used, in nats per unit of distortion.
    n_iter : int
    converged : bool
    """

    rate: float
    distortion: float
    test_channel: np.ndarray
    output_distribution: np.ndarray
    slope: float
    n_iter: int
    converged: bool


def blahut_arimoto_rate_distortion(
    p,
    distortion,
    slope: float,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> RateDistortionResult:
    """One point of the rate-distortion function ``R(D)`` by Blahut-Arimoto.

    ``R(D) = min I(X; X_hat)`` over test channels ``q(x_hat | x)`` with
    ``E d(X, X_hat) <= D``. Instead of ``D`` one fixes the slope ``s`` of the
    curve and minimises ``I(X; X_hat) - s E[d]`` by alternating::

        q(x_hat | x) ∝ q(x_hat) exp(s d(x, x_hat))
        q(x_hat)     = sum_x p(x) q(x_hat | x)

    The returned ``(distortion, rate)`` is the point of the curve where its
    slope is ``s``. Sweep ``s`` to trace the curve.

    Parameters
    ----------
    p : array_like, shape (n_x,)
        Source distribution.
    distortion : array_like, shape (n_x, n_xhat)
        ``distortion[x, x_hat] = d(x, x_hat) >= 0``, finite.
    slope : float
        **Sign convention:** ``s <= 0``, the slope ``dR/dD`` of the curve in
        *nats* per unit of distortion (divide by ``ln 2`` for bits). It is
        ``-beta`` for the Lagrange multiplier ``beta >= 0`` of
        ``I + beta E[d]``, the analogue of the IB's ``beta``: a steeper
        (more negative) slope buys lower distortion at a higher rate.
        ``s = 0`` gives rate 0; the curve is flat there, so the returned
        distortion is then just one point ``>= D_max`` of that flat part.
        A positive value is refused.
    tol : float, default 1e-10
        Stop when the Blahut lower and upper bounds on the rate at this slope
        are within ``tol`` nats.
    max_iter : int, default 100000

    Returns
    -------
    RateDistortionResult
        ``rate`` (bits), ``distortion``, ``test_channel``,
        ``output_distribution``, ``slope``, ``n_iter``, ``converged``.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck", next to the beta-VAE, whose rate and distortion are the
    same trade-off. Computed in logarithms, so very steep slopes do not
    underflow to 0/0.

    Examples
    --------
    A fair bit, reproduced with Hamming distortion: at slope ``s`` the error
    rate is ``D = 1 / (1 + e^(-s))`` and ``R(D) = 1 - H(D)`` bits:

    >>> hamming = 1 - np.eye(2)
    >>> res = blahut_arimoto_rate_distortion([0.5, 0.5], hamming, slope=-2.0)
    >>> d = 1 / (1 + np.exp(2.0))
    >>> round(res.distortion, 6), round(float(d), 6)
    (0.119203, 0.119203)
    >>> round(res.rate, 6), round(1 - entropy([d, 1 - d]), 6)
    (0.472935, 0.472935)
    """
    p = as_distribution(p, "p", axis=-1)
    if p.ndim != 1:
        raise ValueError(f"p must be one distribution (1-D), got shape {p.shape}")
    dist = as_float_array(distortion, "distortion")
    if dist.ndim != 2 or dist.shape[0] != p.shape[0]:
        raise ValueError(
            f"distortion must have shape (n_x, n_xhat) with n_x = {p.shape[0]} "
            f"(the length of p), got shape {dist.shape}"
        )
    if not np.all(np.isfinite(dist)) or dist.min() < 0:
        raise ValueError(
            "distortion must be finite and >= 0 everywhere; to forbid a "
            "reproduction use a large finite cost"
        )
    slope = _real(slope, "slope")
    if slope > 0:
        raise ValueError(
            f"slope must be <= 0 (the slope dR/dD of the curve), got {slope}; "
            f"for a Lagrange multiplier beta > 0 pass slope=-beta"
        )
    tol = _positive_real(tol, "tol")
    max_iter = _positive_int(max_iter, "max_iter")
    sd = slope * dist  # <= 0
    log_q = np.full(dist.shape[1], -math.log(dist.shape[1]))
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is used after)
        logits = log_q[None, :] + sd
        log_norm = logsumexp(logits, axis=1, keepdims=True)
        # c(x_hat) = sum_x p(x) exp(s d) / sum_x' q(x') exp(s d(x, x')); the
        # optimum has c <= 1 with equality on the support of q (Blahut's
        # Kuhn-Tucker condition), so max log c - E_q log c bounds the gap.
        with np.errstate(divide="ignore"):
            log_c = logsumexp(sd - log_norm, axis=0, b=p[:, None])
        q = np.exp(log_q)
        gap = log_c.max() - (q * np.where(q > 0, log_c, 0.0)).sum()
        log_q = log_q + log_c
        log_q -= logsumexp(log_q)
        if gap <= tol:
            converged = True
            break
    logits = log_q[None, :] + sd
    channel = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    q = p @ channel
    rate = mutual_information(p[:, None] * channel)
    mean_d = float((p[:, None] * channel * dist).sum())
    return RateDistortionResult(rate, mean_d, channel, q, slope, n_iter, converged)

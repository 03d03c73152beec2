"""Explorers for chapter 2: KL between two Gaussians, and a softmax's loss.

Two slider panels, each a thin :class:`~itutils.widgets._panel.Explorer`
over pure functions that are tested directly:

* :func:`kl_explorer`: move the mean and standard deviation of ``Q`` against
  a fixed ``P = N(0, 1)`` and watch ``D_KL(P||Q)``, ``D_KL(Q||P)`` and
  ``JS`` (numerical integration, :func:`gaussian_divergences`) next to the
  closed forms from :func:`itutils.gaussian.gaussian_kl`, on axes that stay
  put as the sliders move.
* :func:`logit_explorer`: move the logit of the true class and watch the
  softmax probabilities and the cross-entropy loss in nats
  (:func:`softmax_loss`).

Taught in ``notebooks/02_kl_cross_entropy.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D
from scipy.integrate import simpson
from scipy.special import logsumexp
from scipy.stats import norm

from itutils._validate import as_float_array, log_base, nonnegative
from itutils.style import OKABE_ITO
from itutils.widgets._panel import Explorer, bar_xlim, label_bars, live_bars, live_line

__all__ = [
    "numeric_kl",
    "numeric_js",
    "gaussian_grid",
    "gaussian_divergences",
    "log_softmax",
    "softmax",
    "softmax_loss",
    "kl_explorer",
    "logit_explorer",
]


def numeric_kl(log_p, log_q, x, base: float = 2) -> float:
    """``D_KL(P||Q) = integral p(x) (log p(x) - log q(x)) dx`` on a grid.

    Integrates with Simpson's rule from *log*-densities, so tails where a
    density underflows to 0 still contribute exactly what they should, and
    returns ``inf`` when ``q = 0`` somewhere that ``p > 0``: no epsilon.

    Parameters
    ----------
    log_p, log_q : array_like
        Natural logarithms of the two densities at the grid points; ``-inf``
        where a density is zero.
    x : array_like
        Increasing grid points. It must cover (almost) all of ``P``'s mass:
        the result is the KL between the densities restricted to the grid.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        ``D_KL(P||Q) >= 0``, or ``inf``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, sections "KL between
    two Gaussians", "When Q misses part of P's support" and "Forward vs
    reverse KL".

    Examples
    --------
    ``D_KL(N(0, 1) || N(1, 1)) = 1/2`` nat, exactly:

    >>> x = np.linspace(-12, 13, 2001)
    >>> round(numeric_kl(norm.logpdf(x), norm.logpdf(x, loc=1), x, base=np.e), 6)
    0.5
    >>> numeric_kl(norm.logpdf(x), np.where(x > 0, 0.0, -np.inf), x)
    inf
    """
    scale = log_base(base)
    log_p = as_float_array(log_p, "log_p")
    log_q = as_float_array(log_q, "log_q")
    x = as_float_array(x, "x")
    if not (log_p.shape == log_q.shape == x.shape) or x.ndim != 1:
        raise ValueError(
            "log_p, log_q and x must be 1-D arrays of the same length, got "
            f"shapes {log_p.shape}, {log_q.shape} and {x.shape}"
        )
    if np.isnan(log_p).any() or np.isnan(log_q).any():
        raise ValueError(
            "log_p and log_q must not contain NaN; use -inf to mark zero density"
        )
    p = np.exp(log_p)
    if np.any((p > 0) & np.isneginf(log_q)):
        # Q cannot produce outcomes that P does: the divergence is infinite.
        return float("inf")
    # Where p underflows to 0 the term p (log p - log q) is 0, even if log p
    # is -inf; np.where keeps the -inf - (-inf) = nan out of the sum.
    with np.errstate(invalid="ignore"):
        integrand = np.where(p > 0, p * (log_p - log_q), 0.0)
    return float(nonnegative(simpson(integrand, x=x)) / scale)


def numeric_js(log_p, log_q, x, base: float = 2) -> float:
    """Jensen-Shannon divergence of two densities on a grid.

    ``JS = (D_KL(P||M) + D_KL(Q||M)) / 2`` with ``M = (P + Q) / 2``; always
    finite and at most ``log 2`` (one bit).

    Parameters
    ----------
    log_p, log_q : array_like
        Natural logarithms of the two densities at the grid points.
    x : array_like
        Increasing grid points covering both distributions.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float
        ``JS(P, Q)`` in ``[0, log_base 2]``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "Jensen-Shannon divergence" (the explorer at its end).

    Examples
    --------
    Two densities that do not overlap are one bit apart:

    >>> x = np.linspace(-1, 3, 4001)
    >>> box = lambda a: np.where((x >= a) & (x <= a + 1), 0.0, -np.inf)
    >>> round(numeric_js(box(-1), box(2), x), 3)
    1.0
    """
    log_p = as_float_array(log_p, "log_p")
    log_q = as_float_array(log_q, "log_q")
    # log m = log((p + q) / 2), computed without leaving log space.
    log_m = np.logaddexp(log_p, log_q) - np.log(2.0)
    js = 0.5 * (numeric_kl(log_p, log_m, x, base) + numeric_kl(log_q, log_m, x, base))
    return float(min(js, np.log(2.0) / log_base(base)))


def gaussian_grid(mu_p, sigma_p, mu_q, sigma_q, n: int = 4001, width: float = 12.0):
    """An integration grid covering ``width`` standard deviations of both.

    Parameters
    ----------
    mu_p, sigma_p, mu_q, sigma_q : float
        Means and standard deviations (not variances) of the two Gaussians.
    n : int, default 4001
        Number of points (odd, for Simpson's rule).
    width : float, default 12
        Half-width of the grid around each mean, in that Gaussian's standard
        deviations; beyond 12 sigma the mass left out is below 1e-32.

    Returns
    -------
    ndarray
        ``n`` equally spaced points.

    Examples
    --------
    >>> x = gaussian_grid(0, 1, 5, 2)
    >>> float(x[0]), float(x[-1]), len(x)
    (-19.0, 29.0, 4001)
    """
    if min(sigma_p, sigma_q) <= 0:
        raise ValueError(
            f"standard deviations must be positive, got {sigma_p} and {sigma_q}"
        )
    lo = min(mu_p - width * sigma_p, mu_q - width * sigma_q)
    hi = max(mu_p + width * sigma_p, mu_q + width * sigma_q)
    return np.linspace(lo, hi, n)


def gaussian_divergences(mu: float, sigma: float, base: float = np.e) -> dict:
    """Numeric and closed-form divergences between ``P = N(0, 1)`` and ``Q``.

    ``Q = N(mu, sigma^2)``. The numbers shown by :func:`kl_explorer`.

    Parameters
    ----------
    mu : float
        Mean of ``Q``.
    sigma : float
        Standard deviation of ``Q`` (positive).
    base : float, default e
        Logarithm base; nats by default, as for continuous densities in ML.

    Returns
    -------
    dict
        ``kl_pq``, ``kl_qp``, ``js`` (numerical integration) and
        ``kl_pq_closed``, ``kl_qp_closed`` (closed form).

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section "KL between
    two Gaussians". The closed form is
    ``D_KL(N0||N1) = log(s1/s0) + (s0^2 + (m0 - m1)^2) / (2 s1^2) - 1/2``.

    Examples
    --------
    The numeric integral agrees with the closed form, and KL is asymmetric:

    >>> d = gaussian_divergences(1.0, 2.0)
    >>> round(d["kl_pq"], 6) == round(d["kl_pq_closed"], 6)
    True
    >>> round(d["kl_pq"], 4), round(d["kl_qp"], 4)
    (0.4431, 1.3069)
    """
    from itutils.gaussian import gaussian_kl

    x = gaussian_grid(0.0, 1.0, mu, sigma)
    log_p = norm.logpdf(x)
    log_q = norm.logpdf(x, loc=mu, scale=sigma)
    return {
        "kl_pq": numeric_kl(log_p, log_q, x, base),
        "kl_qp": numeric_kl(log_q, log_p, x, base),
        "js": numeric_js(log_p, log_q, x, base),
        # gaussian_kl takes variances for scalar arguments.
        "kl_pq_closed": float(gaussian_kl(0.0, 1.0, mu, sigma**2, base=base)),
        "kl_qp_closed": float(gaussian_kl(mu, sigma**2, 0.0, 1.0, base=base)),
    }


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """``log softmax(z)_i = z_i - log sum_j exp(z_j)``, without overflow.

    Parameters
    ----------
    logits : array_like
        Finite real scores, one per class along ``axis``.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray
        Log-probabilities (natural log), each row's ``exp`` summing to 1.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "The cross-entropy loss of a classifier, from logits". ``logsumexp``
    subtracts the largest logit first, so ``exp`` never overflows.

    Examples
    --------
    Huge logits are no problem; only their differences matter:

    >>> log_softmax([1000.0, 1000.0])
    array([-0.69314718, -0.69314718])
    """
    z = as_float_array(logits, "logits")
    if not np.isfinite(z).all():
        raise ValueError("logits must be finite numbers (no NaN or inf)")
    if z.ndim == 0:
        raise ValueError("logits must have at least one axis of class scores")
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Probabilities ``exp(z_i) / sum_j exp(z_j)``, computed stably.

    Examples
    --------
    >>> softmax([0.0, np.log(3.0)])
    array([0.25, 0.75])
    """
    return np.exp(log_softmax(logits, axis=axis))


def softmax_loss(true_logit: float, other_logits=(1.0, 0.5, 0.8), true_class: int = 1):
    """Softmax probabilities and cross-entropy loss as the true logit moves.

    Parameters
    ----------
    true_logit : float
        The score of the true class.
    other_logits : sequence of float, default (1.0, 0.5, 0.8)
        The scores of the other classes, in order.
    true_class : int, default 1
        Index at which the true logit is inserted.

    Returns
    -------
    dict
        ``logits``, ``probabilities`` (tuples) and ``loss_nats``, the
        cross-entropy with the one-hot label, ``-log softmax(z)[true]``.

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "The cross-entropy loss of a classifier, from logits".

    Examples
    --------
    With all logits equal the model is uniform: loss ``log 4`` nats.

    >>> r = softmax_loss(0.0, other_logits=(0.0, 0.0, 0.0))
    >>> round(r["loss_nats"], 4), round(float(np.log(4)), 4)
    (1.3863, 1.3863)
    """
    others = [float(v) for v in other_logits]
    if not 0 <= true_class <= len(others):
        raise ValueError(
            f"true_class must be between 0 and {len(others)}, got {true_class}"
        )
    logits = np.array(others[:true_class] + [float(true_logit)] + others[true_class:])
    log_probs = log_softmax(logits)
    return {
        "logits": tuple(float(v) for v in logits),
        "probabilities": tuple(float(v) for v in np.exp(log_probs)),
        "loss_nats": float(-log_probs[true_class]),
    }


# The explorer's axes stay put while the sliders move: a rescaling axis would
# hide how the numbers change. Bars above the cap are drawn at the cap, hatched,
# with their true value written on top.
_X_RANGE = (-8.0, 8.0)
_DENSITY_TOP = 2.1  # the narrowest Q (sd 0.2) peaks at 1.995
_NATS_CAP = 4.0
_KL_X = np.linspace(*_X_RANGE, 801)


def _draw_kl(fig, result, mu, sigma):
    """The frame: P's density, both axes and the bars' legend (live adds the rest)."""
    ax_d, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ax_d.plot(_KL_X, norm.pdf(_KL_X), color=OKABE_ITO[3], label="P = N(0, 1)")
    ax_d.set(xlabel="x", ylabel="density", xlim=_X_RANGE, ylim=(0, _DENSITY_TOP))
    # The legend names Q by its look, so it is drawn once (the sliders give
    # its mean and sd).
    q_look = Line2D([], [], color=OKABE_ITO[4], linestyle="--",
                    label="Q = N(mean, sd²)")
    ax_d.legend(handles=[*ax_d.get_lines(), q_look], loc="lower left",
                bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False,
                borderaxespad=0.2)
    ax_b.set_xticks(range(3), ["D_KL\n(P||Q)", "D_KL\n(Q||P)", "JS\n(P,Q)"])
    ax_b.set(ylabel="nats", xlim=bar_xlim(3), ylim=(0, _NATS_CAP * 1.2))
    # The legend names the closed-form marks by their look; they come and go.
    closed_form = Line2D([], [], color="k", marker="_", linestyle="None", mew=2,
                         markersize=30, label="closed form")
    ax_b.legend(handles=[closed_form], loc="lower left",
                bbox_to_anchor=(0.0, 1.0), frameon=False, borderaxespad=0.2)


def _live_kl(fig, result, mu, sigma):
    """What moves with Q: its density, the bars and marks."""
    ax_d, ax_b = fig.axes
    q_line = live_line(ax_d, _KL_X, norm.pdf(_KL_X, mu, sigma), color=OKABE_ITO[4],
                       linestyle="--")

    numeric = [result["kl_pq"], result["kl_qp"], result["js"]]
    drawn = [min(v, _NATS_CAP) for v in numeric]
    bars = live_bars(ax_b, range(3), drawn, color=OKABE_ITO[:3],
                     edgecolor="black", linewidth=0.5)
    for bar, value, hatch in zip(bars, numeric, ["", "//", ".."], strict=True):
        bar.set_hatch("xx" if value > _NATS_CAP else hatch)
    labels = label_bars(ax_b, bars, [f"{value:.2f}" for value in numeric])
    closed = [min(result["kl_pq_closed"], _NATS_CAP),
              min(result["kl_qp_closed"], _NATS_CAP)]
    marks = live_line(ax_b, [0, 1], closed, ls="none", marker="_", color="k", mew=2,
                      markersize=30)
    return [q_line, *bars, marks, *labels]


def kl_explorer(mu: float = 1.0, sigma: float = 0.5) -> Explorer:
    """Sliders for the mean and standard deviation of ``Q`` against ``P = N(0, 1)``.

    Shows ``D_KL(P||Q)``, ``D_KL(Q||P)`` and ``JS`` by numerical integration
    and the two closed-form KLs, in nats (see :func:`gaussian_divergences`).
    It starts at ``Q = N(1, 0.5^2)``, where the two directions differ by a
    factor of more than three; with ``sd = 1`` they are equal.

    Parameters
    ----------
    mu : float, default 1.0
        Starting mean of ``Q``.
    sigma : float, default 0.5
        Starting standard deviation of ``Q``.

    Returns
    -------
    Explorer

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "Jensen-Shannon divergence" (the explorer at its end).

    Examples
    --------
    >>> explorer = kl_explorer()
    >>> round(explorer.shown["kl_pq"], 4), round(explorer.shown["kl_qp"], 4)
    (2.8069, 0.8181)
    >>> explorer.sliders["sigma"].value = 1.0
    >>> bool(np.isclose(explorer.shown["kl_pq"], explorer.shown["kl_qp"]))
    True
    """
    sliders = {
        "mu": widgets.FloatSlider(value=mu, min=-4.0, max=4.0, step=0.1,
                                  description="mean of Q"),
        "sigma": widgets.FloatSlider(value=sigma, min=0.2, max=3.0, step=0.05,
                                     description="sd of Q"),
    }
    return Explorer(sliders, gaussian_divergences, _draw_kl, live=_live_kl,
                    figsize=(7.5, 3.4),
                    title="KL is not symmetric: P = N(0, 1) against Q",
                    readout=lambda s: (
                        f"D_KL(P||Q) = {s['kl_pq']:.4f} nats (closed form "
                        f"{s['kl_pq_closed']:.4f}); D_KL(Q||P) = {s['kl_qp']:.4f} "
                        f"nats (closed form {s['kl_qp_closed']:.4f}); "
                        f"JS = {s['js']:.4f} nats"))


def _draw_logit(fig, result, true_logit, *, other_logits, true_class):
    """The frame: the loss curve and both axes (live adds the bars and the point)."""
    ax_p, ax_l = fig.subplots(1, 2)
    n_classes = len(other_logits) + 1
    ax_p.set_ylim(0, 1.15)
    ax_p.set_xlim(bar_xlim(n_classes))
    ax_p.set_xticks(range(n_classes))
    ax_p.set_xlabel("class (hatched orange = true)")
    ax_p.set_ylabel("softmax probability")
    grid = np.linspace(-5.0, 10.0, 151)
    # One row of logits per grid value of the true logit: a vectorised curve.
    rows = np.tile(np.insert(np.asarray(other_logits, float), true_class, 0.0),
                   (grid.size, 1))
    rows[:, true_class] = grid
    losses = -log_softmax(rows, axis=1)[:, true_class]
    ax_l.plot(grid, losses, color=OKABE_ITO[3])
    # The point stays on the curve: fix the limits the curve gives.
    ax_l.set(xlim=ax_l.get_xlim(), ylim=ax_l.get_ylim())
    ax_l.set_xlabel("logit of the true class")
    ax_l.set_ylabel("cross-entropy loss (nats)")


def _live_logit(fig, result, true_logit, *, true_class):
    """The probability bars with their values, the point on the curve, the title."""
    ax_p, ax_l = fig.axes
    probs = result["probabilities"]
    colors = [OKABE_ITO[0] if i == true_class else OKABE_ITO[1]
              for i in range(len(probs))]
    bars = live_bars(ax_p, range(len(probs)), probs, color=colors)
    bars[true_class].set_hatch("//")
    # On top of each bar, as ax.bar_label puts it (no padding).
    labels = label_bars(ax_p, bars, [f"{p:.3f}" for p in probs], pad_points=0)
    point = live_line(ax_l, [true_logit], [result["loss_nats"]], ls="none",
                      marker="o", color=OKABE_ITO[0], markersize=9)
    ax_l.set_title(f"loss = {result['loss_nats']:.3f} nats")
    return [*bars, *labels, point, ax_l.title]


def logit_explorer(
    true_logit: float = 3.5, other_logits=(1.0, 0.5, 0.8), true_class: int = 1
) -> Explorer:
    """A slider for the true class's logit, other logits fixed.

    Shows the softmax probabilities and the loss ``-ln p_true`` in nats
    (see :func:`softmax_loss`).

    Parameters
    ----------
    true_logit : float, default 3.5
        Starting value of the true class's logit.
    other_logits : sequence of float, default (1.0, 0.5, 0.8)
        The other classes' logits, fixed.
    true_class : int, default 1
        Index of the true class.

    Returns
    -------
    Explorer

    Notes
    -----
    Taught in ``notebooks/02_kl_cross_entropy.ipynb``, section
    "The cross-entropy loss of a classifier, from logits".

    Examples
    --------
    The loss falls as the true logit rises past the others:

    >>> explorer = logit_explorer(true_logit=0.0)
    >>> round(explorer.shown["loss_nats"], 4)
    2.0272
    >>> explorer.sliders["true_logit"].value = 5.0
    >>> round(explorer.shown["loss_nats"], 4)
    0.0435
    """
    others = tuple(float(v) for v in other_logits)

    def compute(true_logit):
        return softmax_loss(true_logit, others, true_class)

    def draw(fig, result, true_logit):
        _draw_logit(fig, result, true_logit, other_logits=others, true_class=true_class)

    def live(fig, result, true_logit):
        return _live_logit(fig, result, true_logit, true_class=true_class)

    sliders = {
        "true_logit": widgets.FloatSlider(value=true_logit, min=-5.0, max=10.0,
                                          step=0.1, description="true logit"),
    }
    return Explorer(sliders, compute, draw, live=live, figsize=(7.5, 3.3),
                    title="Cross-entropy loss of a softmax classifier",
                    readout=lambda s: (
                        f"P(true class) = {s['probabilities'][true_class]:.4f}; "
                        f"loss = {s['loss_nats']:.4f} nats"))

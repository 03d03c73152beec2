"""Explorers for chapter 3: estimating mutual information from samples.

* :func:`ksg_explorer`: sliders for the correlation ``rho`` of a Gaussian pair
  and the sample size ``N``; shows the KSG estimate over seeded repeats
  against the analytic ``-0.5 ln(1 - rho^2)`` (:func:`ksg_spread`).
* :func:`discrete_mi_explorer`: a slider for ``N``; shows plug-in and
  bias-corrected estimates of the MI of a known discrete joint table against
  its true value (:func:`discrete_estimates`).
* :func:`variational_explorer`: sliders for the true MI of a Gaussian pair
  and the batch size ``N``; shows the InfoNCE, NWJ and DV (MINE) estimates
  of many batches with the optimal critic against the truth and the
  InfoNCE ceiling ``ln N`` (:func:`optimal_critic_bounds`). Closed-form
  critic, no training, so a move costs milliseconds.

The pure functions are cached on the slider values
(:func:`functools.lru_cache`), so moving back to a setting is instant and a
new one costs a few tens of milliseconds. Each explorer draws its frame
once (axes, ticks, reference curves, legend) and repaints only its live
layer on a move (the estimates, titles and tick labels that change; see
:mod:`itutils.widgets._panel`): no control changes the axes, so no move
draws a new figure.

Taught in ``notebooks/03_mutual_information.ipynb``.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.lines import Line2D

from itutils.estimators import (
    ksg_mutual_information,
    mi_analytic_bias,
    mutual_information_from_samples,
)
from itutils.gaussian import gaussian_mutual_information
from itutils.measures import mutual_information
from itutils.style import OKABE_ITO
from itutils.variational import (
    dv_bound,
    gaussian_log_ratio,
    gaussian_pairs,
    infonce_bound,
    nwj_bound,
)
from itutils.widgets._panel import Explorer, live_hline, live_line

__all__ = [
    "SAMPLE_SIZES",
    "DISCRETE_SAMPLE_SIZES",
    "BATCH_SIZES",
    "VARIATIONAL_YLIM",
    "diagonal_joint",
    "correlated_gaussian_pair",
    "sample_joint",
    "ksg_spread",
    "discrete_estimates",
    "ksg_explorer",
    "discrete_mi_explorer",
    "optimal_critic_bounds",
    "variational_explorer",
]

#: The sample sizes offered by :func:`ksg_explorer`, log-spaced.
SAMPLE_SIZES = (50, 100, 200, 500, 1000, 2000)
#: The sample sizes offered by :func:`discrete_mi_explorer`, log-spaced.
DISCRETE_SAMPLE_SIZES = (20, 50, 100, 200, 500, 1000, 2000, 5000)
#: The batch sizes offered by :func:`variational_explorer`.
BATCH_SIZES = (4, 8, 16, 32, 64, 128, 256)

_COLOURS = {"infonce": OKABE_ITO[3], "nwj": OKABE_ITO[4], "dv": OKABE_ITO[2]}


def diagonal_joint(k: int = 6, stay: float = 0.5) -> np.ndarray:
    """A ``k x k`` joint table: X uniform, Y = X with probability ``stay``.

    Otherwise Y is one of the other ``k - 1`` labels, uniformly. The default
    (6 labels, 0.5) has ``I(X; Y) = log2 6 - H(0.5, 0.1, ..., 0.1) = 0.4240``
    bits, small enough that the plug-in bias at small ``N`` is as large as
    the MI itself.

    Examples
    --------
    >>> p = diagonal_joint()
    >>> p.shape, float(p.sum()), round(mutual_information(p), 4)
    ((6, 6), 1.0, 0.424)
    """
    if k < 2 or not 0.0 <= stay <= 1.0:
        raise ValueError(f"need k >= 2 and stay in [0, 1], got k={k}, stay={stay}")
    off = (1.0 - stay) / (k - 1)
    return np.where(np.eye(k, dtype=bool), stay, off) / k


def correlated_gaussian_pair(rho: float, n: int, seed: int = 0):
    """``N`` samples of a standard Gaussian pair with correlation ``rho``.

    ``y = rho x + sqrt(1 - rho^2) z`` with ``x, z`` independent standard
    normals drawn from ``numpy.random.default_rng(seed)``. For a fixed seed
    the same ``x, z`` serve every ``rho``, so a slider sweep changes only
    the dependence, not the noise.

    Examples
    --------
    >>> x, y = correlated_gaussian_pair(0.9, 20000, seed=1)
    >>> round(float(np.corrcoef(x, y)[0, 1]), 2)
    0.9
    """
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho}")
    rng = np.random.default_rng(seed)
    x, z = rng.standard_normal((2, int(n)))
    return x, rho * x + np.sqrt(1.0 - rho * rho) * z


def sample_joint(pxy, n: int, repeats: int = 1, seed: int = 0):
    """Draw ``repeats`` data sets of ``n`` pairs from a joint table.

    Returns
    -------
    x, y : ndarray of int, shape (repeats, n)
        Row and column labels: ``x`` indexes axis 0 of ``pxy``, ``y`` axis 1.

    Examples
    --------
    >>> x, y = sample_joint([[0.5, 0.0], [0.0, 0.5]], 5, repeats=2)
    >>> bool((x == y).all()), x.shape
    (True, (2, 5))
    """
    p = np.asarray(pxy, dtype=float)
    rng = np.random.default_rng(seed)
    cells = rng.choice(p.size, size=(int(repeats), int(n)), p=p.ravel())
    return np.divmod(cells, p.shape[1])


@lru_cache(maxsize=512)
def ksg_spread(rho: float, n: int, k: int = 3, repeats: int = 10) -> dict:
    """KSG estimates over ``repeats`` seeded samples, against the truth.

    Parameters
    ----------
    rho : float
        Correlation, strictly between -1 and 1.
    n : int
        Sample size of each repeat.
    k : int, default 3
        KSG neighbours (variant 1).
    repeats : int, default 10
        Seeds ``0 .. repeats - 1`` of :func:`correlated_gaussian_pair`.

    Returns
    -------
    dict
        ``estimates`` (tuple, nats), their ``mean`` and ``sd`` (ddof=1), and
        ``analytic`` = ``-0.5 ln(1 - rho^2)`` nats.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "KSG".
    Cached: the arguments are the slider values.

    Examples
    --------
    >>> r = ksg_spread(0.6, 1000)
    >>> round(r["analytic"], 4), abs(r["mean"] - r["analytic"]) < 2 * r["sd"]
    (0.2231, True)
    """
    estimates = np.array([
        ksg_mutual_information(*correlated_gaussian_pair(rho, n, seed), k=k, base=np.e)
        for seed in range(repeats)  # a loop over repeats, not samples
    ])
    return {
        "estimates": tuple(float(v) for v in estimates),
        "mean": float(estimates.mean()),
        "sd": float(estimates.std(ddof=1)),
        "analytic": float(gaussian_mutual_information(rho, base=np.e)),
    }


@lru_cache(maxsize=64)
def _discrete_cached(pxy: tuple, n: int, repeats: int) -> dict:
    table = np.array(pxy)
    xs, ys = sample_joint(table, n, repeats, seed=0)
    plugin, miller, corrected = (np.empty(repeats) for _ in range(3))
    for i in range(repeats):  # a loop over repeats; each estimate is vectorised
        plugin[i] = mutual_information_from_samples(xs[i], ys[i])
        miller[i] = mutual_information_from_samples(xs[i], ys[i], method="miller_madow")
        corrected[i] = mi_analytic_bias(xs[i], ys[i]).corrected
    result = {"truth": float(mutual_information(table))}
    for name, values in (("plugin", plugin), ("miller_madow", miller),
                         ("bias_corrected", corrected)):
        result[f"{name}_mean"] = float(values.mean())
        result[f"{name}_sd"] = float(values.std(ddof=1))
    return result


def discrete_estimates(n: int, pxy=None, repeats: int = 10) -> dict:
    """Plug-in and corrected MI estimates (bits) of a known table at size ``n``.

    Parameters
    ----------
    n : int
        Samples per data set.
    pxy : array_like, optional
        The joint table; :func:`diagonal_joint` by default.
    repeats : int, default 10
        Data sets drawn with :func:`sample_joint` (seed 0).

    Returns
    -------
    dict
        ``truth`` and, for ``plugin``, ``miller_madow`` (Miller-Madow
        corrected entropies) and ``bias_corrected`` (plug-in minus the
        analytic bias ``(K_x - 1)(K_y - 1) / (2 N)``), the ``_mean`` and
        ``_sd`` over the repeats, all in bits.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section "Plug-in
    bias". Cached on ``(pxy, n, repeats)``.

    Examples
    --------
    At N = 200 the plug-in estimate of the default table's 0.424 bits is
    about 0.09 bits too high; Miller-Madow removes most of the excess:

    >>> r = discrete_estimates(200)
    >>> r["plugin_mean"] - r["truth"] > 0.05 > abs(r["miller_madow_mean"] - r["truth"])
    True
    """
    table = diagonal_joint() if pxy is None else np.asarray(pxy, dtype=float)
    key = tuple(map(tuple, table.tolist()))
    return dict(_discrete_cached(key, int(n), int(repeats)))


# --- KSG over seeds ---------------------------------------------------------


def _ksg_title(result):
    return f"mean {result['mean']:.3f}, truth {result['analytic']:.3f} nats"


def _draw_ksg(fig, result, rho, n):
    """The frame: both axes, the truth curve and the legend (the live layer
    adds the sample, the estimates and the titles)."""
    ax_s, ax_m = fig.subplots(1, 2)
    ax_s.set(xlim=(-4.5, 4.5), ylim=(-4.5, 4.5), xlabel="x", ylabel="y")
    ax_s.locator_params(nbins=4)
    grid = np.linspace(-0.99, 0.99, 199)
    (truth,) = ax_m.plot(grid, gaussian_mutual_information(grid, base=np.e),
                         color="k", label="truth")
    ax_m.set(xlim=(-1, 1), ylim=(-0.1, 2.0), xlabel="rho",
             ylabel="I(X; Y) in nats")
    ax_m.locator_params(nbins=4)  # few tick labels: text is most of a redraw
    # The legend names the live markers by their look (the markers come and
    # go with each move; the number of repeats does not).
    dots = Line2D([], [], ls="none", marker="o", ms=4, alpha=0.6,
                  color=OKABE_ITO[0])
    mean = Line2D([], [], ls="none", marker="D", ms=7, color=OKABE_ITO[4])
    # Upper centre: above the curve's low middle, where no estimate lands.
    ax_m.legend([truth, dots, mean],
                ["truth", f"{len(result['estimates'])} samples", "mean ± sd"],
                loc="upper center")


def _live_ksg(fig, result, rho, n):
    """What moves with rho and N: the sample, the estimates, both titles."""
    ax_s, ax_m = fig.axes
    x, y = correlated_gaussian_pair(rho, n, seed=0)
    # One Line2D of markers draws far faster than a scatter collection.
    sample = live_line(ax_s, x, y, ls="none", marker="o", ms=3, alpha=0.5,
                       mec="none", color=OKABE_ITO[3])
    ax_s.set_title(f"one sample, N = {n}")
    est = result["estimates"]
    dots = live_line(ax_m, [rho] * len(est), est, ls="none", marker="o", ms=4,
                     alpha=0.6, color=OKABE_ITO[0])
    mean, sd = result["mean"], result["sd"]
    bar = live_line(ax_m, [rho, rho], [mean - sd, mean + sd], lw=2.5,
                    color=OKABE_ITO[4])
    dot = live_line(ax_m, [rho], [mean], ls="none", marker="D", ms=7,
                    color=OKABE_ITO[4])
    ax_m.set_title(_ksg_title(result))
    return [sample, ax_s.title, dots, bar, dot, ax_m.title]


def ksg_explorer(rho: float = 0.6, n: int = 200, k: int = 3, repeats: int = 10):
    """Sliders for ``rho`` and ``N``: KSG over seeded repeats vs the truth (nats)."""

    def compute(rho, n):
        return ksg_spread(float(rho), int(n), k, repeats)

    sliders = {
        "rho": widgets.FloatSlider(value=rho, min=-0.95, max=0.95, step=0.05,
                                   description="rho"),
        "n": widgets.SelectionSlider(options=SAMPLE_SIZES, value=n,
                                     description="N (log)"),
    }
    title = f"KSG (k={k}) over {repeats} seeded samples vs the analytic MI"
    return Explorer(sliders, compute, _draw_ksg, live=_live_ksg,
                    figsize=(7.5, 3.6), title=title,
                    readout=lambda s: (
                        f"KSG {s['mean']:.4f} +- {s['sd']:.4f} nats over "
                        f"{len(s['estimates'])} samples; "
                        f"analytic {s['analytic']:.4f} nats"))


# --- plug-in and corrected discrete MI --------------------------------------

_DISCRETE_LABELS = {"plugin": "plug-in", "miller_madow": "Miller-Madow",
                    "bias_corrected": "plug-in − analytic bias"}
_DISCRETE_STYLES = {"plugin": ("o", "-"), "miller_madow": ("^", "--"),
                    "bias_corrected": ("s", "-.")}


def _draw_discrete(fig, result, n, *, curves):
    """The frame: the curves over every N, their bands, the truth, the legend
    (the live layer adds the current N's estimates and the title)."""
    ax = fig.subplots()
    sizes = np.array(DISCRETE_SAMPLE_SIZES)
    for i, (name, label) in enumerate(_DISCRETE_LABELS.items()):
        colour = OKABE_ITO[i]
        _, style = _DISCRETE_STYLES[name]
        mean = np.array([c[f"{name}_mean"] for c in curves])
        sd = np.array([c[f"{name}_sd"] for c in curves])
        ax.plot(sizes, mean, ls=style, color=colour, label=label)
        ax.fill_between(sizes, mean - sd, mean + sd, color=colour, alpha=0.15)
    ax.axhline(curves[0]["truth"], color="k", ls=":", label="true MI")
    ax.set_xscale("log")
    ax.set_xlabel("sample size N")
    ax.set_ylabel("I(X; Y) in bits")
    # The live bars span the bands at their N, so these limits hold them;
    # fixed, they never rescale as the live artists come and go.
    ax.set(xlim=ax.get_xlim(), ylim=ax.get_ylim())
    ax.locator_params(axis="y", nbins=4)  # few tick labels: text is most of a redraw
    # The curves fall from the top left towards the truth: the top right is free.
    ax.legend(loc="upper right")


def _discrete_title(result, n):
    return (f"N = {n}: plug-in {result['plugin_mean']:.3f} bits, "
            f"truth {result['truth']:.3f} bits")


def _live_discrete(fig, result, n):
    """What moves with N: each estimate's mean ± sd at N, and the title."""
    ax = fig.axes[0]
    artists = []
    for i, name in enumerate(_DISCRETE_LABELS):
        colour = OKABE_ITO[i]
        marker, _ = _DISCRETE_STYLES[name]
        m, s = result[f"{name}_mean"], result[f"{name}_sd"]
        artists.append(live_line(ax, [n, n], [m - s, m + s], lw=2.5, color=colour))
        artists.append(live_line(ax, [n], [m], ls="none", marker=marker, ms=8,
                                 color=colour, mec="k"))
    ax.set_title(_discrete_title(result, n))
    return [*artists, ax.title]


def discrete_mi_explorer(pxy=None, n: int = 100, repeats: int = 10):
    """A slider for ``N``: plug-in vs corrected MI of a known table (bits)."""
    table = diagonal_joint() if pxy is None else np.asarray(pxy, dtype=float)
    # The whole curve is cheap (bincounts), so draw it once for context.
    curves = [discrete_estimates(m, table, repeats) for m in DISCRETE_SAMPLE_SIZES]

    def compute(n):
        return discrete_estimates(int(n), table, repeats)

    def draw(fig, result, n):
        _draw_discrete(fig, result, n, curves=curves)

    sliders = {
        "n": widgets.SelectionSlider(options=DISCRETE_SAMPLE_SIZES, value=n,
                                     description="N (log)"),
    }
    return Explorer(sliders, compute, draw, live=_live_discrete,
                    figsize=(7.5, 3.8),
                    title="Plug-in MI is biased upward; corrections vs the truth",
                    readout=lambda s: (
                        f"truth {s['truth']:.4f} bits; plug-in "
                        f"{s['plugin_mean']:.4f}, Miller-Madow "
                        f"{s['miller_madow_mean']:.4f}, bias-corrected "
                        f"{s['bias_corrected_mean']:.4f} bits (means over samples)"))


# --- variational bounds with the optimal critic -------------------------------


def _n_batches(n: int) -> int:
    # About 2^18 pairs per setting (tens of ms), at least 8 batches.
    return int(min(200, max(8, 2**18 // (n * n))))


@contextmanager
def _one_thread():
    # On arrays this small, torch's worker threads cost more than they
    # save (ten times more on a busy 2-core machine); restored afterwards.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@lru_cache(maxsize=256)
def optimal_critic_bounds(mi: float, n: int, dim: int = 5,
                          n_batches: int | None = None, seed: int = 0) -> dict:
    """InfoNCE, NWJ and DV estimates of many batches, with the optimal critic.

    Batches of ``n`` Gaussian pairs with true MI ``mi`` nats (``dim``
    coordinates, :func:`itutils.variational.gaussian_pairs`, float64, drawn
    from ``torch.Generator().manual_seed(seed)``) are scored with the
    optimal critic ``log p(y|x)/p(y)``
    (:func:`~itutils.variational.gaussian_log_ratio`): InfoNCE and DV use it
    as it is, NWJ uses it plus 1 (its own optimum).
    What remains is each bound's own bias and variance.

    Parameters
    ----------
    mi : float
        True ``I(X; Y)``, nats.
    n : int
        Batch size ``N``.
    dim : int, default 5
    n_batches : int, optional
        Default: about ``2^18 / N^2``, between 8 and 200.
    seed : int, default 0

    Returns
    -------
    dict
        ``truth`` (= ``mi``), ``log_n``, ``n``, ``batches``, and for
        ``infonce``, ``nwj``,
        ``dv``: the per-batch estimates (tuple, nats) and their ``_mean``
        and ``_sd`` (ddof=1).

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds". Cached on its arguments (the slider values).

    Examples
    --------
    InfoNCE stays under ``ln N`` even with the best critic; NWJ is
    unbiased around the truth:

    >>> r = optimal_critic_bounds(4.0, 16)
    >>> max(r["infonce"]) <= r["log_n"] < r["truth"]
    True
    >>> abs(r["nwj_mean"] - 4.0) < 3 * r["nwj_sd"] / len(r["nwj"]) ** 0.5
    True
    """
    batches = _n_batches(n) if n_batches is None else int(n_batches)
    g = torch.Generator().manual_seed(int(seed))
    with _one_thread():
        x, y = gaussian_pairs(int(n), float(mi), int(dim), batches=batches,
                              generator=g, dtype=torch.float64)
        scores = gaussian_log_ratio(x, y, float(mi))
        bounds = (("infonce", infonce_bound(scores)),
                  ("nwj", nwj_bound(scores + 1.0)),
                  ("dv", dv_bound(scores)))
    result = {"truth": float(mi), "log_n": float(np.log(n)), "n": int(n),
              "batches": batches}
    for name, values in bounds:
        values = values.numpy()
        result[name] = tuple(float(v) for v in values)
        result[f"{name}_mean"] = float(values.mean())
        result[f"{name}_sd"] = float(values.std(ddof=1))
    return result


_BOUND_NAMES = {"infonce": "InfoNCE", "nwj": "NWJ", "dv": "MINE (DV)"}
#: Fixed y-range of :func:`variational_explorer`, nats: the axis never rescales.
VARIATIONAL_YLIM = (-2.0, 14.0)


def _strip_offsets(count: int) -> np.ndarray:
    # Evenly spread, not random: the same setting always draws the same dots.
    return np.linspace(-0.25, 0.25, count)


def _variational_title(result):
    # Short: the sliders show the true MI and N, the readout every number.
    return f"InfoNCE's ceiling ln N = {result['log_n']:.2f} nats"


def _tick_labels(result) -> list[str]:
    # The second line counts the batches outside the fixed y-range, and says
    # when their mean (the diamond) is out too, so nothing is hidden
    # silently; always two lines, so the layout is stable.
    lo, hi = VARIATIONAL_YLIM
    labels = []
    for name, label in _BOUND_NAMES.items():
        est = np.array(result[name])
        off = int(np.sum((est < lo) | (est > hi)))
        mean_off = not lo <= result[f"{name}_mean"] <= hi
        note = f"{off} off scale" + (", mean too" if mean_off else "") if off else " "
        labels.append(f"{label}\n{note}")
    return labels


def _draw_variational(fig, result, mi, n):
    """The frame: the axes, the three strips' ticks and the legend (the live
    layer adds the estimates, the truth, the ceiling, tick labels and title)."""
    ax = fig.subplots()
    ax.set_xticks(range(3))
    ax.set_xlim(-0.5, 2.6)
    ax.set_ylim(*VARIATIONAL_YLIM)
    ax.set_ylabel("estimate in nats")
    # The legend names the live artists by their look. A grey stand-in for
    # the dots: their colour says which bound, not what they are.
    handles = {
        "one batch each": Line2D([], [], ls="none", marker="o", ms=5,
                                 color="0.5"),
        "mean ± sd": Line2D([], [], ls="none", marker="D", ms=7, color="k"),
        "true MI": Line2D([], [], color="k", ls="--", lw=1.5),
        "ln N": Line2D([], [], color=_COLOURS["infonce"], ls=":", lw=2),
    }
    # Outside the axes, on the right: no estimate can land under it.
    ax.legend(list(handles.values()), list(handles), loc="center left",
              bbox_to_anchor=(1.01, 0.5))


def _live_variational(fig, result, mi, n):
    """What moves with the MI and N: every strip, the truth and the ceiling,
    the tick labels (they count what is off scale) and the title."""
    ax = fig.axes[0]
    artists = []
    for i, name in enumerate(_BOUND_NAMES):
        est = np.array(result[name])
        m, s = result[f"{name}_mean"], result[f"{name}_sd"]
        artists += [
            live_line(ax, i + _strip_offsets(len(est)), est, ls="none",
                      marker="o", ms=3.5, alpha=0.5, mec="none",
                      color=_COLOURS[name]),
            live_line(ax, [i + 0.38, i + 0.38], [m - s, m + s], lw=2.5, color="k"),
            live_line(ax, [i + 0.38], [m], ls="none", marker="D", ms=7, color="k"),
        ]
    artists.append(live_hline(ax, result["truth"], color="k", ls="--", lw=1.5))
    artists.append(live_hline(ax, result["log_n"], color=_COLOURS["infonce"],
                              ls=":", lw=2))
    ticks = ax.set_xticklabels(_tick_labels(result))
    ax.set_title(_variational_title(result))
    return [*artists, *ticks, ax.title]


def variational_explorer(mi: float = 4.0, n: int = 16, dim: int = 5):
    """Sliders for the true MI and the batch size: InfoNCE, NWJ, MINE vs the truth.

    With the optimal critic (:func:`optimal_critic_bounds`), so what moves is
    each bound's own behaviour: InfoNCE pinned under ``ln N``, NWJ's spread
    growing with the MI and shrinking with ``N``, the DV estimate
    overshooting at small ``N``. Estimates are in nats.
    """

    def compute(mi, n):
        return optimal_critic_bounds(float(mi), int(n), dim)

    sliders = {
        "mi": widgets.FloatSlider(value=mi, min=0.5, max=10.0, step=0.5,
                                  description="true MI"),
        "n": widgets.SelectionSlider(options=BATCH_SIZES, value=n,
                                     description="batch N"),
    }
    return Explorer(sliders, compute, _draw_variational, live=_live_variational,
                    figsize=(7.5, 3.6),
                    title="Variational MI bounds with the optimal critic (nats)",
                    readout=lambda s: (
                        f"truth {s['truth']:.2f}, ln N {s['log_n']:.2f}; "
                        f"InfoNCE {s['infonce_mean']:.2f} +- {s['infonce_sd']:.2f}, "
                        f"NWJ {s['nwj_mean']:.2f} +- {s['nwj_sd']:.2f}, "
                        f"MINE (DV) {s['dv_mean']:.2f} +- {s['dv_sd']:.2f} nats "
                        f"(mean +- sd over {s['batches']} batches of {s['n']})"))

"""Explorers for chapter 5: label smoothing, and softmax temperature.

Two thin :class:`~itutils.widgets._panel.Explorer` panels over pure
functions that are tested directly:

* :func:`label_smoothing_explorer`: move ``eps`` and pick the variant; see
  the smoothed target and the loss as a function of the logit gap, with its
  minimum ``H(q')`` in nats at the optimal gap (:func:`smoothing_view`).
* :func:`temperature_explorer`: move the temperature ``T`` and watch
  ``softmax(z / T)`` sharpen or flatten, with its entropy in bits
  (:func:`temperature_view`).

Taught in ``notebooks/05_loss_functions.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from itutils.losses import (
    VARIANTS,
    expected_loss_at_gap,
    optimal_logit_gap,
    optimal_logits,
    smoothed_target_entropy,
    smoothed_target_probs,
    softmax_with_temperature,
)
from itutils.measures import entropy
from itutils.style import OKABE_ITO
from itutils.widgets._panel import (
    Explorer,
    bar_xlim,
    live_bars,
    live_hline,
    live_line,
    live_vline,
)

__all__ = [
    "GAP_GRID",
    "DEFAULT_LOGITS",
    "smoothing_view",
    "temperature_view",
    "label_smoothing_explorer",
    "temperature_explorer",
]

#: Logit gaps (true minus wrong class) on which the loss curves are drawn.
GAP_GRID = np.linspace(-2.0, 15.0, 341)
#: Logits shown by the temperature explorer unless others are given.
DEFAULT_LOGITS = np.array([3.0, 1.5, 1.0, 0.0, -1.0])


def smoothing_view(eps: float, variant: str = "uniform", n_classes: int = 10) -> dict:
    """Everything the label-smoothing explorer shows, for class 0 as the truth.

    Returns
    -------
    dict
        ``target`` (the smoothed target ``q'``, shape ``(K,)``), ``p_true``,
        ``p_other``, ``min_loss_nats`` (``H(q')``), ``gap`` (optimal logit gap,
        ``inf`` when ``eps = 0``), ``logits`` (one optimal logit vector),
        ``gaps``, ``loss_nats`` (smoothed loss along :data:`GAP_GRID`) and
        ``one_hot_loss_nats`` (the unsmoothed loss on the same grid).

    Examples
    --------
    >>> view = smoothing_view(0.1, "uniform", 10)
    >>> round(view["p_true"], 4), round(view["min_loss_nats"], 4), round(view["gap"], 4)
    (0.91, 0.5003, 4.5109)
    """
    p_true, p_other = smoothed_target_probs(n_classes, eps, variant)
    target = np.full(n_classes, p_other)
    target[0] = p_true
    return {
        "target": target,
        "p_true": p_true,
        "p_other": p_other,
        "min_loss_nats": smoothed_target_entropy(n_classes, eps, variant),
        "gap": optimal_logit_gap(n_classes, eps, variant),
        "logits": optimal_logits(n_classes, eps, variant),
        "gaps": GAP_GRID,
        "loss_nats": expected_loss_at_gap(GAP_GRID, n_classes, eps, variant),
        "one_hot_loss_nats": expected_loss_at_gap(GAP_GRID, n_classes, 0.0),
    }


def temperature_view(temperature: float, logits=DEFAULT_LOGITS) -> dict:
    """``softmax(logits / T)`` with its entropy in bits and its top probability.

    Examples
    --------
    >>> view = temperature_view(1e-3, [2.0, 1.0, 0.0])
    >>> view["probs"].round(4), round(view["entropy_bits"], 4)
    (array([1., 0., 0.]), 0.0)
    >>> round(temperature_view(1e3, [2.0, 1.0, 0.0])["entropy_bits"], 2)  # log2 3
    1.58
    """
    probs = softmax_with_temperature(logits, temperature)
    return {
        "probs": probs,
        "entropy_bits": entropy(probs),
        "max_entropy_bits": float(np.log2(probs.size)),
        "confidence": float(probs.max()),
    }


# Okabe-Ito colours (itutils.style): the true class and the smoothed curve
# stand out, the one-hot reference stays grey, the optimum is vermillion.
TRUE_COLOR, CURVE_COLOR, OPTIMUM_COLOR = OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[4]


#: Largest K the explorer offers. The axes keep one scale for every setting,
#: so that one setting can be compared with the next: room for this many
#: classes, and for the largest minimum, ln K of the uniform target.
MAX_CLASSES = 20
LOSS_YMAX = 1.25 * np.log(MAX_CLASSES)


def _draw_smoothing(fig, shown, **_values):
    """The frame: both axes at one scale for every setting, and the legend.

    Nothing here depends on eps, the variant or K: the live layer
    (:func:`_live_smoothing`) draws the bars and curves, so every control
    moves without a new figure.
    """
    ax_t, ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.0, 1.7)})
    ax_t.set_xlim(-0.7, MAX_CLASSES - 0.3)
    ax_t.set_ylim(0, 1.05)
    ax_t.set_xlabel("class (0 is true)")
    ax_t.set_ylabel("target probability")
    ax_t.set_title("smoothed target q'")

    ax_l.set_xlim(GAP_GRID[0], GAP_GRID[-1])
    ax_l.set_ylim(0, LOSS_YMAX)
    ax_l.set_xlabel("logit gap z_true - z_wrong")
    ax_l.set_ylabel("expected loss (nats)")
    ax_l.set_title("loss against the logit gap")
    # The legend names the live curves by their look. It always has the
    # marker's entry, and sits outside the axes at a fixed place: it keeps
    # its size, never covers a curve and never moves.
    handles = [
        Line2D([], [], color="0.5", ls="--", label="one-hot"),
        Line2D([], [], color=CURVE_COLOR, ls="-", label="smoothed"),
        Line2D([], [], color=OPTIMUM_COLOR, ls="None", marker="o",
               label="minimum H(q')"),
    ]
    ax_l.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                borderaxespad=0.0)
    # Few tick labels: text is most of the cost of drawing the frame. With
    # fixed limits the ticks are the same for every K.
    ax_t.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    for ax in (ax_t, ax_l):
        ax.locator_params(axis="y", nbins=4)
    ax_l.locator_params(axis="x", nbins=5)


def _live_smoothing(fig, shown, **_values):
    """What eps, the variant and K change: the target's bars, both loss
    curves, and the optimum (a marker and line, or a note when it is at an
    infinite gap)."""
    ax_t, ax_l = fig.axes
    target = shown["target"]
    n_classes = target.size
    bars = live_bars(ax_t, np.arange(n_classes), target,
                     color=[TRUE_COLOR] + ["0.6"] * (n_classes - 1))
    one_hot = live_line(ax_l, shown["gaps"], shown["one_hot_loss_nats"], color="0.5",
                        ls="--", label="one-hot")
    curve = live_line(ax_l, shown["gaps"], shown["loss_nats"], color=CURVE_COLOR,
                      ls="-", label="smoothed")
    gap = shown["gap"]
    visible = np.isfinite(gap) and GAP_GRID[0] <= gap <= GAP_GRID[-1]
    point = ([gap], [shown["min_loss_nats"]]) if visible else ([], [])
    marker = live_line(ax_l, *point, ls="none", marker="o", color=OPTIMUM_COLOR,
                       label="minimum H(q')")
    if visible:
        optimum = live_vline(ax_l, gap, color=OPTIMUM_COLOR, ls=":", lw=1.5)
    else:
        where = "+inf" if gap > 0 else "-inf"
        optimum = ax_l.text(0.5, 0.9, f"optimum at gap {where}",
                            transform=ax_l.transAxes, ha="center",
                            color=OPTIMUM_COLOR)
    return [*bars, one_hot, curve, marker, optimum]


def label_smoothing_explorer(
    eps: float = 0.1, variant: str = "uniform", n_classes: int = 10
) -> Explorer:
    """Sliders for ``eps`` and ``K`` and a toggle for the variant.

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb``, section "Label smoothing".

    Examples
    --------
    >>> explorer = label_smoothing_explorer()
    >>> explorer.sliders["eps"].value = 0.2
    >>> round(explorer.shown["p_true"], 4)
    0.82
    """
    sliders = {
        "eps": widgets.FloatSlider(value=eps, min=0.0, max=1.0, step=0.01,
                                   description="eps", readout_format=".2f",
                                   continuous_update=True),
        "variant": widgets.ToggleButtons(options=list(VARIANTS), value=variant,
                                         description="variant"),
        "n_classes": widgets.IntSlider(value=n_classes, min=2, max=MAX_CLASSES,
                                       description="K classes"),
    }
    return Explorer(sliders, smoothing_view, _draw_smoothing, live=_live_smoothing,
                    figsize=(7.5, 3.4),
                    title="Label smoothing: the target and the loss it sets",
                    readout=lambda s: (
                        f"true-class target {s['p_true']:.4f}; minimum loss "
                        f"H(q') = {s['min_loss_nats']:.4f} nats at logit gap "
                        f"{s['gap']:.4f}"))


def temperature_explorer(logits=DEFAULT_LOGITS, temperature: float = 1.0) -> Explorer:
    """A log-scale slider for ``T`` over ``softmax(logits / T)``.

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb``, section "Temperature".

    Examples
    --------
    >>> explorer = temperature_explorer([2.0, 0.0])
    >>> explorer.sliders["temperature"].value = 2.0
    >>> explorer.shown["probs"].round(4)
    array([0.7311, 0.2689])
    """
    logits = np.asarray(logits, dtype=float)

    def compute(temperature):
        return temperature_view(temperature, logits)

    k = np.arange(logits.size)

    def draw(fig, shown, **_values):
        """The frame: axes, the logits as tick labels, the legend."""
        ax = fig.subplots()
        ax.set_xlim(bar_xlim(logits.size))
        ax.set_ylim(0, 1.05)
        ax.set_xticks(k, [f"z={z:g}" for z in logits])
        ax.set_ylabel("softmax(z / T)")
        # Outside the axes: with any logits, a bar may reach any corner.
        uniform = Line2D([], [], color="0.3", ls=":", lw=1.5, label="uniform 1/K")
        ax.legend(handles=[uniform], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0)

    def live(fig, shown, temperature):
        """The bars, the uniform line over them, and the title's numbers."""
        (ax,) = fig.axes
        bars = live_bars(ax, k, shown["probs"], color=CURVE_COLOR)
        uniform = live_hline(ax, 1 / logits.size, color="0.3", ls=":", lw=1.5,
                             label="uniform 1/K")
        ax.set_title(f"T = {temperature:.3g}: entropy {shown['entropy_bits']:.4f} "
                     f"bits, top p = {shown['confidence']:.4f}")
        return [*bars, uniform, ax.title]

    slider = widgets.FloatLogSlider(value=temperature, base=10, min=-1.5, max=1.5,
                                    step=0.01, description="T",
                                    readout_format=".3g")
    return Explorer({"temperature": slider}, compute, draw, live=live,
                    figsize=(7, 3.4),
                    title="Softmax temperature: T < 1 sharpens, T > 1 flattens",
                    readout=lambda s: (
                        f"confidence {s['confidence']:.4f}; entropy "
                        f"{s['entropy_bits']:.4f} of at most "
                        f"{s['max_entropy_bits']:.4f} bits"))

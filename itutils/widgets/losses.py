"""Explorers for chapter 5: label smoothing, and softmax temperature.

Two thin :class:`~itutils.widgets._panel.Explorer` panels over pure
functions that are tested directly:

* :func:`label_smoothing_explorer`: move ``eps`` and pick the variant; see
  the smoothed target, the loss as a function of the logit gap (its minimum
  ``H(q')`` in nats) and the optimal logits (:func:`smoothing_view`).
* :func:`temperature_explorer`: move the temperature ``T`` and watch
  ``softmax(z / T)`` sharpen or flatten, with its entropy in bits
  (:func:`temperature_view`).

Taught in ``notebooks/05_loss_functions.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
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
from itutils.widgets._panel import Explorer

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


def _draw_smoothing(fig, shown, eps, variant, n_classes):
    ax_t, ax_l, ax_z = fig.subplots(1, 3)
    k = np.arange(n_classes)
    ax_t.bar(k, shown["target"], color=["tab:green"] + ["tab:gray"] * (n_classes - 1))
    ax_t.set_ylim(0, 1.05)
    ax_t.set_xlabel("class (0 is the true class)")
    ax_t.set_title(f"target q': true {shown['p_true']:.4f}, "
                   f"others {shown['p_other']:.4f}", fontsize="medium")

    ax_l.plot(shown["gaps"], shown["one_hot_loss_nats"], color="0.6", ls="--",
              label="one-hot")
    ax_l.plot(shown["gaps"], shown["loss_nats"], color="tab:blue",
              label=f"eps = {eps:.2f}")
    ax_l.axhline(shown["min_loss_nats"], color="tab:red", lw=0.8)
    gap = shown["gap"]
    if np.isfinite(gap) and GAP_GRID[0] <= gap <= GAP_GRID[-1]:
        ax_l.plot([gap], [shown["min_loss_nats"]], "o", color="tab:red",
                  label="minimum H(q')")
    else:
        where = "+inf" if gap > 0 else "-inf"
        ax_l.annotate(f"optimum at gap {where}", xy=(0.5, 0.85),
                      xycoords="axes fraction", ha="center", color="tab:red")
    ax_l.set_ylim(0, max(3.0, shown["min_loss_nats"] * 1.2))
    ax_l.set_xlabel("logit gap z_true - z_wrong")
    ax_l.set_ylabel("expected loss (nats)")
    ax_l.legend(fontsize="small")

    logits = shown["logits"]
    finite = np.where(np.isfinite(logits), logits, 0.0)
    ax_z.bar(k, finite, color=["tab:green"] + ["tab:gray"] * (n_classes - 1))
    ax_z.axhline(0.0, color="0.4", lw=0.8)
    label = f"{gap:.4f}" if np.isfinite(gap) else ("+inf" if gap > 0 else "-inf")
    ax_z.set_title(f"optimal logits: gap = {label}", fontsize="medium")
    if not np.isfinite(gap):
        ax_z.annotate(f"z_true = {label}", xy=(0, 0), xytext=(0.5, 0.5),
                      textcoords="axes fraction", ha="center",
                      arrowprops=dict(arrowstyle="->"))
    ax_z.set_ylim(min(-1.0, finite.min() - 0.5), max(6.0, finite.max() + 0.5))
    # Few tick labels: text is most of a redraw's cost (slider latency).
    for ax in (ax_t, ax_z):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    for ax in (ax_t, ax_l, ax_z):
        ax.locator_params(axis="y", nbins=4)
    ax_l.locator_params(axis="x", nbins=5)


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
        "n_classes": widgets.IntSlider(value=n_classes, min=2, max=20,
                                       description="K classes"),
    }
    return Explorer(sliders, smoothing_view, _draw_smoothing, figsize=(11, 3.6),
                    title="Label smoothing: target, loss curve and optimal logits",
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

    def draw(fig, shown, temperature):
        ax = fig.subplots()
        k = np.arange(logits.size)
        ax.bar(k, shown["probs"], color="tab:purple")
        ax.axhline(1 / logits.size, color="0.5", ls=":", label="uniform")
        ax.set_ylim(0, 1.05)
        ax.set_xticks(k, [f"z={z:g}" for z in logits])
        ax.set_ylabel("softmax(z / T)")
        ax.set_title(
            f"T = {temperature:.3g}: entropy {shown['entropy_bits']:.4f} bits "
            f"(max {shown['max_entropy_bits']:.4f}), top p = {shown['confidence']:.4f}",
            fontsize="medium")
        ax.legend(fontsize="small")

    slider = widgets.FloatLogSlider(value=temperature, base=10, min=-1.5, max=1.5,
                                    step=0.01, description="T",
                                    readout_format=".3g")
    return Explorer({"temperature": slider}, compute, draw, figsize=(7, 3.4),
                    title="Softmax temperature: T < 1 sharpens, T > 1 flattens",
                    readout=lambda s: (
                        f"confidence {s['confidence']:.4f}; entropy "
                        f"{s['entropy_bits']:.4f} of at most "
                        f"{s['max_entropy_bits']:.4f} bits"))

"""Figure helpers shared by the chapter notebooks.

Each single-axes helper draws on an axes it is given and returns it, so
notebooks and explorers can place several side by side; the figure helpers
lay out a whole figure in the course style (at most 7.5 x 4 inches, text of
at least 10 pt, Okabe-Ito colours, legends outside the data).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from itutils.losses import calibration_bins, expected_calibration_error
from itutils.style import OKABE_ITO, course_style

__all__ = ["reliability_diagram", "reliability_diagrams"]

#: Colours of the reliability diagram: bars, confidence marks, count strip.
ACCURACY_COLOR = OKABE_ITO[3]    # blue
CONFIDENCE_COLOR = OKABE_ITO[4]  # vermillion
COUNT_COLOR = "0.45"
LEGEND_ORDER = (
    "accuracy in the bin", "mean confidence in the bin", "perfect calibration"
)


def _ordered_legend(ax):
    """Legend handles and labels of a reliability diagram, bars first."""
    handles, labels = ax.get_legend_handles_labels()
    return [handles[labels.index(name)] for name in LEGEND_ORDER], list(LEGEND_ORDER)


def reliability_diagram(
    ax,
    probs,
    targets,
    n_bins: int = 15,
    title: str | None = None,
    counts_ax=None,
    show_ece: bool = True,
    legend_loc: str | None = None,
):
    """Accuracy against confidence per confidence bin, with the diagonal.

    Each non-empty bin ``(b / n_bins, (b + 1) / n_bins]`` of top-label
    confidence gets a bar up to its **accuracy** and a horizontal mark at its
    **mean confidence**. A mark above its bar is overconfidence (the model
    is right less often than it claims), a mark inside it underconfidence;
    the dashed diagonal is perfect calibration. The expected calibration
    error (ECE) is written in the title. Bars and marks never overlap in a
    way that makes a colour of their own.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    probs : array_like or torch.Tensor, shape (N, K)
        Predicted distributions, rows summing to 1.
    targets : array_like or torch.Tensor of int, shape (N,)
    n_bins : int, default 15
        Equal-width confidence bins on [0, 1], as in
        :func:`itutils.losses.expected_calibration_error`.
    title : str, optional
    counts_ax : matplotlib.axes.Axes, optional
        An axes (typically a short strip under ``ax``, sharing its x-axis)
        for the number of predictions per bin, on a log scale: bins with few
        predictions have noisy accuracies, and the ECE weighs bins by count.
    show_ece : bool, default True
        Append ``ECE = ...`` to the title.
    legend_loc : str, optional
        Where to put a legend inside ``ax``; by default none, so that it
        covers no bar: :func:`reliability_diagrams` puts one above the panels.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb``, section "Calibration".

    Examples
    --------
    Three predictions, one per bin of width 1/10: confidences 0.9 (right),
    0.8 (wrong) and 0.7 (right):

    >>> import matplotlib.pyplot as plt
    >>> fig, (ax, strip) = plt.subplots(2, 1, sharex=True)
    >>> probs = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]]
    >>> ax = reliability_diagram(ax, probs, [0, 1, 1], n_bins=10, counts_ax=strip)
    >>> ax.get_title()  # |1 - 0.9| / 3 + |0 - 0.8| / 3 + |1 - 0.7| / 3
    'ECE = 0.4000'
    >>> [float(bar.get_height()) for bar in ax.patches]  # accuracy, bins 7-9
    [1.0, 0.0, 1.0]
    >>> [int(bar.get_height()) for bar in strip.patches]  # predictions per bin
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 0]
    >>> plt.close(fig)
    """
    bins = calibration_bins(probs, targets, n_bins)
    filled = bins.counts > 0
    width = 1.0 / n_bins
    left = bins.edges[:-1][filled]
    ax.bar(left, bins.accuracy[filled], width=width, align="edge",
           color=ACCURACY_COLOR, edgecolor="white", linewidth=0.8,
           label="accuracy in the bin")
    # A mark, not a second translucent bar: nothing overlaps into a new colour.
    ax.hlines(bins.confidence[filled], left + 0.1 * width, left + 0.9 * width,
              color=CONFIDENCE_COLOR, linewidth=2.5,
              label="mean confidence in the bin")
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1,
            label="perfect calibration")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("accuracy")
    parts = [title] if title else []
    if show_ece:
        ece = expected_calibration_error(probs, targets, n_bins)
        parts.append(f"ECE = {ece:.4f}")
    if parts:
        ax.set_title(", ".join(parts))
    if legend_loc is not None:
        ax.legend(*_ordered_legend(ax), loc=legend_loc)
    if counts_ax is None:
        ax.set_xlabel("confidence (top-label probability)")
        return ax
    ax.tick_params(labelbottom=False)
    counts_ax.bar(bins.edges[:-1], bins.counts, width=width, align="edge",
                  color=COUNT_COLOR, edgecolor="white", linewidth=0.8, log=True)
    counts_ax.set_xlim(0.0, 1.0)
    # Counts of 1 must show: start the log axis below 1.
    counts_ax.set_ylim(0.5, max(2.0, bins.counts.max()) * 2.0)
    counts_ax.set_ylabel("count")
    counts_ax.set_xlabel("confidence (top-label probability)")
    return ax


def reliability_diagrams(
    probs_by_label: Mapping[str, object],
    targets,
    n_bins: int = 15,
    figsize: tuple[float, float] = (7.5, 3.9),
    show_ece: bool = True,
):
    """One reliability diagram per model, side by side, with count strips.

    Small multiples that share their axes: the top row shows accuracy
    (bars) and mean confidence (marks) per confidence bin for each model,
    the strip under each panel how many predictions fell in each bin (log
    scale), and one legend above the panels covers no data.

    Parameters
    ----------
    probs_by_label : mapping of str to array_like, each shape (N, K)
        The panel titles and each model's predicted distributions for the
        same ``N`` samples.
    targets : array_like of int, shape (N,)
    n_bins : int, default 15
    figsize : (float, float), default (7.5, 3.9)
        At most 7.5 x 4 inches, the course's largest figure.
    show_ece : bool, default True
        Append each model's ECE to its panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn with pyplot (so ``plt.show()`` displays it), in the course style.

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb``, section "Calibration".

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> probs = {"sure": [[0.9, 0.1]] * 4, "unsure": [[0.6, 0.4]] * 4}
    >>> fig = reliability_diagrams(probs, [0, 0, 0, 1], n_bins=5)
    >>> [ax.get_title() for ax in fig.axes[::2]]  # accuracy 0.75 in both
    ['sure, ECE = 0.1500', 'unsure, ECE = 0.1500']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    if not probs_by_label:
        raise ValueError("probs_by_label is empty; give at least one model")
    n = len(probs_by_label)
    with course_style():
        fig = plt.figure(figsize=figsize, layout="constrained")
        grid = fig.add_gridspec(2, n, height_ratios=(3.0, 1.0))
        top, strips = [], []
        for col in range(n):
            share = {"sharey": top[0]} if top else {}
            ax = fig.add_subplot(grid[0, col], **share)
            strip_share = {"sharey": strips[0]} if strips else {}
            strip = fig.add_subplot(grid[1, col], sharex=ax, **strip_share)
            top.append(ax)
            strips.append(strip)
        for ax, strip, (label, probs) in zip(
            top, strips, probs_by_label.items(), strict=True
        ):
            reliability_diagram(ax, probs, targets, n_bins=n_bins, title=label,
                                counts_ax=strip, show_ece=show_ece)
            # Short labels: neighbouring panels' "1" and "0" must not touch.
            strip.set_xticks([0.0, 0.5, 1.0], ["0", "0.5", "1"])
        for ax, strip in zip(top[1:], strips[1:], strict=True):
            ax.set_ylabel("")
            strip.set_ylabel("")
            ax.tick_params(labelleft=False)
            strip.tick_params(labelleft=False)
        # One x label for the row, centred under the strips.
        for strip in strips:
            strip.set_xlabel("")
        fig.supxlabel("confidence (top-label probability)")
        counts_top = max(
            calibration_bins(p, targets, n_bins).counts.max()
            for p in probs_by_label.values()
        )
        # Shared log axis: a count of 1 shows, and ticks at powers of ten.
        strips[0].set_ylim(0.5, 2.0 * max(2, counts_top))
        ticks = 10 ** np.arange(int(np.log10(max(2, counts_top))) + 1)
        strips[0].set_yticks(ticks, [str(t) for t in ticks])
        strips[0].minorticks_off()
        fig.legend(*_ordered_legend(top[0]), loc="outside upper center", ncol=3,
                   frameon=False)
    return fig

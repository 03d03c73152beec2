"""Figure helpers shared by the chapter notebooks.

Each helper draws on an axes it is given and returns it, so notebooks and
explorers can place several side by side.
"""

from __future__ import annotations

from itutils.losses import calibration_bins, expected_calibration_error

__all__ = ["reliability_diagram"]


def reliability_diagram(
    ax, probs, targets, n_bins: int = 15, title: str | None = None
):
    """Accuracy against confidence per confidence bin, with the diagonal.

    Bars below the diagonal mean overconfidence (the model is right less
    often than it claims), bars above it underconfidence. The bar outlines
    show the confidence each bin should have reached; the expected
    calibration error (ECE) is written in the corner.

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

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Used in ``notebooks/05_loss_functions.ipynb``, section "Calibration".

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = reliability_diagram(ax, [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1])
    >>> ax.texts[0].get_text()  # one bin each: (0.1 + 0.8 + 0.3) / 3
    'ECE = 0.4000'
    >>> plt.close(fig)
    """
    bins = calibration_bins(probs, targets, n_bins)
    filled = bins.counts > 0
    width = 1.0 / n_bins
    left = bins.edges[:-1][filled]
    ax.bar(left, bins.accuracy[filled], width=width, align="edge",
           color="tab:blue", edgecolor="white", label="accuracy")
    # The gap between what each bin claimed and what it achieved.
    ax.bar(left, bins.confidence[filled] - bins.accuracy[filled],
           bottom=bins.accuracy[filled], width=width, align="edge",
           color="tab:red", alpha=0.3, edgecolor="tab:red",
           label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ece = expected_calibration_error(probs, targets, n_bins)
    ax.text(0.04, 0.93, f"ECE = {ece:.4f}", transform=ax.transAxes,
            bbox=dict(facecolor="white", edgecolor="0.8"))
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right", fontsize="small")
    if title:
        ax.set_title(title)
    return ax

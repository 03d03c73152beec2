"""itutils.plots: reliability diagrams show what they claim, readably.

The numbers are checked against a plain loop over the bins; the layout
against the course's figure rules (at most 7.5 x 4 inches, text of at least
10 pt inside the figure and not overlapping, a legend that covers no axes,
no translucent overlay that makes a colour the legend does not show).
"""

import itertools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from scipy.special import softmax

from itutils.plots import (
    ACCURACY_COLOR,
    CONFIDENCE_COLOR,
    reliability_diagram,
    reliability_diagrams,
)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def predictions(n=500, k=10, temperature=1.0, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    logits[np.arange(n), y] += 2.0
    return softmax(logits / temperature, axis=1), y


def loop_bins(probs, y, n_bins):
    """(count, accuracy, mean confidence) per bin (b/B, (b+1)/B], by a loop."""
    rows = []
    for b in range(n_bins):
        members = [
            i
            for i in range(len(y))
            if b / n_bins < probs[i].max() <= (b + 1) / n_bins
        ]
        if members:
            acc = np.mean([probs[i].argmax() == y[i] for i in members])
            conf = np.mean([probs[i].max() for i in members])
            rows.append((b, len(members), acc, conf))
    return rows


def test_bars_marks_and_counts_are_the_bins():
    probs, y = predictions()
    fig, (ax, strip) = plt.subplots(2, 1, sharex=True)
    reliability_diagram(ax, probs, y, n_bins=15, counts_ax=strip)
    rows = loop_bins(probs, y, 15)
    bars = ax.patches
    assert len(bars) == len(rows)
    marks = ax.collections[0].get_segments()
    for bar, mark, (b, _, acc, conf) in zip(bars, marks, rows, strict=True):
        assert bar.get_x() == pytest.approx(b / 15)
        assert bar.get_height() == pytest.approx(acc)
        assert mark[0][1] == pytest.approx(conf) and mark[1][1] == pytest.approx(conf)
        assert b / 15 <= mark[0][0] < mark[1][0] <= (b + 1) / 15
    counts = [int(p.get_height()) for p in strip.patches]
    expected = [0] * 15
    for b, n, _, _ in rows:
        expected[b] = n
    assert counts == expected
    assert strip.get_yscale() == "log"


def test_title_carries_the_ece():
    probs, y = predictions(seed=1)
    fig, ax = plt.subplots()
    reliability_diagram(ax, probs, y, n_bins=10, title="model")
    bins = loop_bins(probs, y, 10)
    ece = sum(n / len(y) * abs(acc - conf) for _, n, acc, conf in bins)
    assert ax.get_title() == f"model, ECE = {ece:.4f}"
    fig, ax = plt.subplots()
    reliability_diagram(ax, probs, y, show_ece=False)
    assert ax.get_title() == ""


def test_no_overlay_makes_a_colour_the_legend_does_not_show():
    # Underconfident predictions: the old design's gap bars overlapped the
    # accuracy bars here and made a third, unexplained colour.
    probs, y = predictions(temperature=4.0)
    fig, ax = plt.subplots()
    reliability_diagram(ax, probs, y, legend_loc="upper left")
    for patch in ax.patches:
        assert to_rgba(patch.get_facecolor()) == to_rgba(ACCURACY_COLOR)
        assert patch.get_alpha() in (None, 1.0)
    assert to_rgba(ax.collections[0].get_color()[0]) == to_rgba(CONFIDENCE_COLOR)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "accuracy in the bin",
        "mean confidence in the bin",
        "perfect calibration",
    ]


def _visible_texts(fig):
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible()]
    return [t for t in texts if t.get_text().strip()]


def test_small_multiples_follow_the_figure_rules():
    models = {
        f"ε = {eps}": predictions(temperature=t, seed=2)[0]
        for eps, t in [(0.0, 0.5), (0.1, 1.5), (0.2, 3.0)]
    }
    y = predictions(seed=2)[1]
    fig = reliability_diagrams(models, y, show_ece=True)
    width, height = fig.get_size_inches()
    assert width <= 7.5 and height <= 4.0
    assert len(fig.axes) == 6
    assert [ax.get_title().split(",")[0] for ax in fig.axes[::2]] == list(models)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    boxes = []
    for text in _visible_texts(fig):
        assert text.get_fontsize() >= 10, text.get_text()
        box = text.get_window_extent(renderer)
        assert figure_box.contains(box.x0, box.y0) and figure_box.contains(
            box.x1, box.y1
        ), f"{text.get_text()!r} runs past the figure's edge"
        boxes.append((text.get_text(), box))
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
    # One legend, for the figure, outside every axes.
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    legend_box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not legend_box.overlaps(ax.get_window_extent(renderer))


def test_empty_mapping_is_refused():
    with pytest.raises(ValueError, match="at least one model"):
        reliability_diagrams({}, [0])

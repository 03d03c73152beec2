"""The chapter 5 explorers, driven by their sliders, and their pure views.

References are independent of itutils: torch's own smoothed cross-entropy,
scipy's entropy and softmax, and the hand-derived closed forms.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from scipy.special import softmax
from scipy.stats import entropy as scipy_entropy

from itutils.widgets.losses import (
    DEFAULT_LOGITS,
    GAP_GRID,
    label_smoothing_explorer,
    smoothing_view,
    temperature_explorer,
    temperature_view,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_smoothing_view_chapter_numbers():
    view = smoothing_view(0.1, "uniform", 10)
    assert view["p_true"] == pytest.approx(0.91)
    assert view["p_other"] == pytest.approx(0.01)
    assert view["target"].sum() == pytest.approx(1.0)
    assert view["min_loss_nats"] == pytest.approx(
        -0.91 * math.log(0.91) - 0.09 * math.log(0.01)
    )
    assert view["gap"] == pytest.approx(math.log(91))
    np.testing.assert_allclose(softmax(view["logits"]), view["target"])


@pytest.mark.parametrize("variant", ["uniform", "off_target"])
@pytest.mark.parametrize("eps", [0.05, 0.3, 0.7])
@pytest.mark.parametrize("k", [2, 5, 10])
def test_smoothing_view_curve_equals_torch(eps, variant, k):
    view = smoothing_view(eps, variant, k)
    torch_eps = eps if variant == "uniform" else eps * k / (k - 1)
    if torch_eps > 1:
        pytest.skip("torch refuses label_smoothing > 1")
    gaps = GAP_GRID[::20]
    logits = torch.zeros(len(gaps), k, dtype=torch.float64)
    logits[:, 0] = torch.from_numpy(gaps)
    y = torch.zeros(len(gaps), dtype=torch.long)
    ref = F.cross_entropy(logits, y, label_smoothing=torch_eps, reduction="none")
    np.testing.assert_allclose(view["loss_nats"][::20], ref.numpy(), rtol=1e-10)
    # The minimum of the curve on the grid is never below H(q').
    assert view["loss_nats"].min() >= view["min_loss_nats"] - 1e-12
    assert view["min_loss_nats"] == pytest.approx(scipy_entropy(view["target"]))


def test_explorer_sliders_change_what_is_shown():
    explorer = label_smoothing_explorer()
    assert explorer.shown["p_true"] == pytest.approx(0.91)
    assert round(explorer.shown["min_loss_nats"], 4) == 0.5003
    explorer.sliders["eps"].value = 0.2
    assert explorer.shown["p_true"] == pytest.approx(0.82)
    explorer.sliders["variant"].value = "off_target"
    assert explorer.shown["p_true"] == pytest.approx(0.8)
    assert explorer.shown["p_other"] == pytest.approx(0.2 / 9)
    explorer.sliders["n_classes"].value = 3
    assert explorer.shown["target"].shape == (3,)
    assert explorer.shown["p_other"] == pytest.approx(0.1)
    assert explorer.figure is not None and len(explorer.figure.axes) == 2


def _legend_box_and_limits(explorer):
    fig = explorer.figure
    fig.canvas.draw()
    ax_target, ax_loss = fig.axes
    box = ax_loss.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert not box.overlaps(ax_loss.get_window_extent()), "legend covers the curves"
    limits = [ax.get_xlim() + ax.get_ylim() for ax in (ax_target, ax_loss)]
    return tuple(round(v, 3) for v in box.extents), limits


def test_smoothing_explorer_is_readable_and_steady():
    explorer = label_smoothing_explorer()
    width, height = explorer.figure.get_size_inches()
    assert width <= 7.5 and height <= 4.0
    first = _legend_box_and_limits(explorer)
    # The legend neither jumps, resizes nor covers data; the axes keep their
    # scales, whatever eps, the variant and K.
    for eps in (0.0, 0.05, 0.3, 0.9, 1.0):
        explorer.sliders["eps"].value = eps
        assert _legend_box_and_limits(explorer) == first
    for variant in ("off_target", "uniform"):
        explorer.sliders["variant"].value = variant
        assert _legend_box_and_limits(explorer) == first
    for k in (2, 20, 10):
        explorer.sliders["n_classes"].value = k
        assert _legend_box_and_limits(explorer) == first
    for text in explorer.figure.findobj(plt.Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 10, text.get_text()


def test_smoothing_explorer_moves_every_control_without_a_new_figure():
    explorer = label_smoothing_explorer()
    figure = explorer.figure
    ax_target, ax_loss = figure.axes
    moves = {"eps": (0.0, 0.05, 0.5, 1.0), "variant": ("off_target", "uniform"),
             "n_classes": (2, 20, 7)}
    for name, values in moves.items():
        for value in values:
            before = explorer.png()
            explorer.sliders[name].value = value
            # The picture changes, and is the one a new figure would show.
            assert explorer.png() != before, (name, value)
            assert explorer.png() == explorer.redrawn_png(), (name, value)
            # The live layer left nothing behind: one bar per class, the two
            # curves, the optimum's marker, and its line or note.
            assert len(ax_target.patches) == explorer.values["n_classes"]
            np.testing.assert_array_equal(
                [bar.get_height() for bar in ax_target.patches],
                explorer.shown["target"])
            assert len(ax_loss.lines) + len(ax_loss.texts) == 4
    # K, the variant and eps all move the live layer: one figure throughout.
    assert explorer.figure is figure and explorer.redraws == 1
    assert explorer.updates == 1 + sum(len(v) for v in moves.values())


def test_temperature_explorer_moves_without_a_new_figure():
    logits = [2.0, 1.0, 0.5, 0.0, -1.0, -2.5]
    explorer = temperature_explorer(logits)
    (ax,) = explorer.figure.axes
    xlim = ax.get_xlim()
    for temperature in (0.05, 0.3, 1.0, 3.0, 30.0):
        explorer.sliders["temperature"].value = temperature
        assert explorer.png() == explorer.redrawn_png(), temperature
        assert [bar.get_height() for bar in ax.patches] == pytest.approx(
            softmax(np.array(logits) / temperature))
        assert ax.get_title().startswith(f"T = {temperature:.3g}:")
    # The frame fixes the bars' axis where matplotlib's autoscale puts them.
    reference = Figure().subplots()
    reference.bar(range(len(logits)), np.ones(len(logits)))
    assert xlim == pytest.approx(reference.get_xlim())
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["z=2", "z=1"]
    assert explorer.redraws == 1


def test_temperature_explorer_is_readable():
    explorer = temperature_explorer()
    width, height = explorer.figure.get_size_inches()
    assert width <= 7.5 and height <= 4.0
    fig = explorer.figure
    fig.canvas.draw()
    (ax,) = fig.axes
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert not box.overlaps(ax.get_window_extent())
    for text in fig.findobj(plt.Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 10, text.get_text()


@pytest.mark.parametrize(
    "eps,variant,expected", [(0.0, "uniform", math.inf), (1.0, "off_target", -math.inf)]
)
def test_explorer_draws_infinite_optima(eps, variant, expected):
    explorer = label_smoothing_explorer(eps=eps, variant=variant)
    assert explorer.shown["gap"] == expected
    texts = [t.get_text() for ax in explorer.figure.axes for t in ax.texts]
    assert any("inf" in t for t in texts)


def test_temperature_view_against_scipy():
    for t in [0.1, 0.5, 1.0, 3.0]:
        view = temperature_view(t)
        ref = softmax(DEFAULT_LOGITS / t)
        np.testing.assert_allclose(view["probs"], ref)
        assert view["entropy_bits"] == pytest.approx(scipy_entropy(ref, base=2))
        assert view["confidence"] == pytest.approx(ref.max())
        assert view["max_entropy_bits"] == pytest.approx(math.log2(5))


def test_temperature_explorer_slider():
    explorer = temperature_explorer()
    cold = explorer.shown["entropy_bits"]
    explorer.sliders["temperature"].value = 10.0
    hot = explorer.shown["entropy_bits"]
    assert hot > cold
    assert explorer.shown["probs"] == pytest.approx(softmax(DEFAULT_LOGITS / 10.0))
    explorer.sliders["temperature"].value = 0.1
    assert explorer.shown["confidence"] > 0.999
    assert explorer.updates == 3

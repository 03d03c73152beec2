"""The bottleneck explorers: their pure functions, and the sliders driving them.

References are independent of the code under test: scipy.stats.entropy and
closed forms for the numbers, and a fresh information_bottleneck run at the
beta the explorer reports.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.stats import entropy as sp_entropy

import itutils.widgets.bottleneck as wb
from itutils.bottleneck import ib_curve, information_bottleneck
from itutils.widgets.bottleneck import (
    TOY_PXY,
    binary_channel,
    binary_channel_capacity,
    canonical_encoder,
    capacity_point,
    channel_capacity_explorer,
    ib_explorer,
    ib_point,
    order_clusters,
)

BETAS = np.geomspace(0.5, 50, 31)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def toy_curve():
    return ib_curve(TOY_PXY, np.sort(np.append(BETAS, [2.5, 10.0])))


def _set(explorer, name, value):
    explorer.sliders[name].value = value


def _h2(p):
    return sp_entropy([p, 1 - p], base=2)


def mi_bits(joint):
    """I(A;B) in bits from a joint table, by scipy."""
    return (sp_entropy(joint.sum(1), base=2) + sp_entropy(joint.sum(0), base=2)
            - sp_entropy(joint.ravel(), base=2))


# --- pure functions ----------------------------------------------------------


def test_ib_point_picks_the_nearest_beta_on_a_log_scale(toy_curve):
    # 2.45 is nearer 2.5 than any other grid value; 1000 is past the end.
    assert ib_point(toy_curve, 2.45)["beta"] == 2.5
    assert ib_point(toy_curve, 1000.0)["index"] == len(toy_curve.betas) - 1
    point = ib_point(toy_curve, 10.0)
    assert point["beta"] == 10.0
    assert (point["i_xt"], point["i_ty"]) == pytest.approx((1.5129, 0.57016), abs=1e-4)
    assert point["h_x"] == pytest.approx(sp_entropy([0.4, 0.2, 0.4], base=2))
    assert point["i_xy"] == pytest.approx(sp_entropy([0.2, 0.2, 0.6], base=2) - 0.8)


def test_order_clusters_is_a_column_permutation_with_unused_last():
    px = np.array([0.4, 0.2, 0.4])
    enc = np.array([[0.0, 0.0, 1.0], [0.0, 0.5, 0.5], [0.0, 1.0, 0.0]])
    out = order_clusters(enc, px)
    np.testing.assert_array_equal(out, enc[:, [2, 1, 0]])
    # The same clustering with its labels permuted is drawn the same way.
    np.testing.assert_array_equal(order_clusters(enc[:, [1, 0, 2]], px), out)


def test_canonical_encoder_merges_twins_and_keeps_information():
    px = TOY_PXY.sum(1)
    # The beta = 2.5 corner with cluster 0 split 70/30 between two labels.
    split = np.array([[0.7, 0.3, 0.0], [0.35, 0.15, 0.5], [0.0, 0.0, 1.0]])
    out = canonical_encoder(split, px)
    np.testing.assert_allclose(out, [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]])
    assert mi_bits(px[:, None] * out) == pytest.approx(mi_bits(px[:, None] * split))
    assert mi_bits(out.T @ TOY_PXY) == pytest.approx(mi_bits(split.T @ TOY_PXY))
    # Distinct clusters are left alone (only reordered).
    ident = np.eye(3)[:, [2, 0, 1]]
    np.testing.assert_array_equal(canonical_encoder(ident, px), np.eye(3))


def test_channel_closed_forms_match_blahut_arimoto():
    for kind in wb.CHANNELS:
        for flip in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
            point = capacity_point(kind, flip)
            assert point["capacity"] == pytest.approx(point["closed_form"], abs=1e-8)
    grid = np.linspace(0, 1, 11)
    np.testing.assert_allclose(binary_channel_capacity("binary symmetric", grid),
                               [1 - _h2(p) for p in grid], atol=1e-12)
    np.testing.assert_allclose(
        binary_channel_capacity("binary erasure", grid), 1 - grid
    )
    assert binary_channel_capacity("Z-channel", 0.5) == pytest.approx(math.log2(1.25))
    assert binary_channel_capacity("Z-channel", 0.0) == pytest.approx(1.0)
    assert binary_channel_capacity("Z-channel", 1.0) == pytest.approx(0.0)
    np.testing.assert_allclose(binary_channel("binary erasure", 0.2).sum(1), 1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        binary_channel("ternary", 0.1)


# --- the IB explorer ---------------------------------------------------------


def test_ib_explorer_slider_looks_up_the_precomputed_curve(toy_curve, monkeypatch):
    explorer = ib_explorer(curve=toy_curve)
    slider = explorer.sliders["beta"]
    assert type(slider).__name__ == "FloatLogSlider"
    # Moving the slider must not recompute anything.
    def fail(*args, **kwargs):
        raise AssertionError("the slider recomputed the IB curve")

    monkeypatch.setattr(wb, "ib_curve", fail)
    monkeypatch.setattr("itutils.bottleneck.information_bottleneck", fail)
    _set(explorer, "beta", 2.5)
    assert explorer.shown["beta"] == pytest.approx(2.5)
    assert (explorer.shown["i_xt"], explorer.shown["i_ty"]) == pytest.approx(
        (0.8, 0.4), abs=1e-4)
    _set(explorer, "beta", 10.0)
    assert (explorer.shown["i_xt"], explorer.shown["i_ty"]) == pytest.approx(
        (1.5129, 0.57016), abs=1e-4)
    # The figure shows the same point and the two limits.
    ax_curve = explorer.figure.axes[1]
    assert ax_curve.get_title() == "(1.513, 0.570) bits"
    labels = [line.get_label() for line in ax_curve.get_lines()]
    assert "H(X) = 1.522" in labels
    assert "I(X;Y) = 0.571" in labels
    # Readable: no text below 10 pt, the legend outside the axes (off the data).
    for text in explorer.figure.findobj(lambda a: hasattr(a, "get_fontsize")):
        assert text.get_fontsize() >= 10
    legend = ax_curve.get_legend()
    fig = explorer.figure
    renderer = fig.canvas.get_renderer()
    assert not legend.get_window_extent(renderer).overlaps(
        ax_curve.get_window_extent(renderer))
    width, height = fig.get_size_inches()
    assert width <= 7.5 and height <= 4.0
    marker = next(line for line in ax_curve.get_lines()
                  if line.get_label().startswith("beta ="))
    np.testing.assert_allclose(np.ravel(marker.get_data()),
                               [explorer.shown["i_xt"], explorer.shown["i_ty"]])
    heat = np.asarray(explorer.figure.axes[0].images[0].get_array())
    np.testing.assert_allclose(heat, canonical_encoder(explorer.shown["encoder"],
                                                       TOY_PXY.sum(1)))
    # Merging twin clusters changes neither information quantity.
    assert (mi_bits(TOY_PXY.sum(1)[:, None] * heat), mi_bits(heat.T @ TOY_PXY)
            ) == pytest.approx((explorer.shown["i_xt"], explorer.shown["i_ty"]))


def test_ib_explorer_moves_repaint_one_figure(toy_curve):
    # Each move repaints the live layer (heat map, point, level line, title)
    # on the figure drawn first; the picture is the one a new figure for the
    # same beta shows. The legend names the point by its look: drawn once.
    explorer = ib_explorer(curve=toy_curve)
    first = explorer.figure
    legend = first.axes[1].get_legend()
    pictures = set()
    for beta in (0.5, 50.0, 2.5, 10.0, 1.0):
        _set(explorer, "beta", beta)
        assert explorer.png() == explorer.redrawn_png(), beta
        pictures.add(explorer.png())
    assert explorer.figure is first and explorer.redraws == 1
    assert len(pictures) == 5
    ax_enc, ax_curve = explorer.figure.axes[:2]
    # Only the current beta's artists are there: one heat map, one marker.
    assert len(ax_enc.images) == 1 and len(ax_enc.texts) == toy_curve.encoders[0].size
    markers = [line for line in ax_curve.get_lines()
               if line.get_label().startswith("beta =")]
    assert [m.get_label() for m in markers] == [f"beta = {explorer.shown['beta']:.3g}"]
    assert ax_curve.get_legend() is legend
    assert [t.get_text() for t in legend.get_texts()] == [
        "IB curve", "H(X) = 1.522", "I(X;Y) = 0.571", "the slider's beta",
        "slope 1/beta"]



def test_ib_explorer_default_grid_agrees_with_a_fresh_solve():
    explorer = ib_explorer()
    assert len(explorer.curve.betas) == 61
    for beta in (0.7, 4.0, 50.0):
        _set(explorer, "beta", beta)
        shown = explorer.shown
        fresh = information_bottleneck(TOY_PXY, beta=shown["beta"], random_state=1)
        # The curve may only be better than a fresh solve, never worse.
        assert shown["objective"] <= fresh.objective + 1e-7
        assert (shown["i_xt"], shown["i_ty"]) == pytest.approx(
            (fresh.i_xt, fresh.i_ty), abs=1e-4)
        assert shown["i_ty"] <= shown["i_xy"] + 1e-9
        assert shown["i_xt"] <= shown["h_x"] + 1e-9
    assert explorer.sliders["beta"].min == pytest.approx(math.log10(0.5))
    assert explorer.sliders["beta"].max == pytest.approx(math.log10(50))


def test_ib_explorer_on_another_joint_with_fewer_clusters():
    rng = np.random.default_rng(2)
    pxy = rng.dirichlet(np.ones(12)).reshape(4, 3)
    explorer = ib_explorer(pxy, n_clusters=2, betas=np.geomspace(1, 30, 8))
    _set(explorer, "beta", 30.0)
    assert explorer.shown["encoder"].shape == (4, 2)
    assert explorer.shown["i_xt"] <= 1.0 + 1e-9  # two clusters: at most one bit


# --- the capacity explorer ---------------------------------------------------


def test_capacity_explorer_sliders_show_capacity():
    explorer = channel_capacity_explorer()
    for flip in (0.0, 0.11, 0.3, 0.5):
        _set(explorer, "flip", flip)
        assert explorer.shown["capacity"] == pytest.approx(1 - _h2(flip), abs=1e-8)
        np.testing.assert_allclose(explorer.shown["input_distribution"], [0.5, 0.5],
                                   atol=1e-8)
    _set(explorer, "kind", "Z-channel")
    assert explorer.shown["capacity"] == pytest.approx(math.log2(1.25), abs=1e-8)
    np.testing.assert_allclose(explorer.shown["input_distribution"], [0.6, 0.4],
                               atol=1e-6)
    assert "Blahut-Arimoto: 0.3219 bits" in [
        line.get_label() for line in explorer.figure.axes[0].get_lines()]
    _set(explorer, "kind", "binary erasure")
    _set(explorer, "flip", 0.25)
    assert explorer.shown["capacity"] == pytest.approx(0.75, abs=1e-8)
    with pytest.raises(ValueError, match="kind must be one of"):
        channel_capacity_explorer(kind="noisy typewriter")


def test_capacity_explorer_moves_repaint_one_figure():
    # Neither control draws a new figure: the channel's curve and the axis
    # label naming it are in the live layer with the marker and bars.
    explorer = channel_capacity_explorer()
    first = explorer.figure
    for kind in (*wb.CHANNELS, "binary symmetric"):
        _set(explorer, "kind", kind)
        assert explorer.png() == explorer.redrawn_png(), kind
        for flip in (0.0, 1.0, 0.37):
            _set(explorer, "flip", flip)
            assert explorer.png() == explorer.redrawn_png(), (kind, flip)
        ax_c, ax_p = explorer.figure.axes
        assert ax_c.get_xlabel() == f"noise probability p ({kind})"
        (curve,) = [line for line in ax_c.get_lines()
                    if line.get_label() == "closed form"]
        np.testing.assert_allclose(curve.get_ydata(),
                                   binary_channel_capacity(kind, curve.get_xdata()))
        assert len(ax_p.patches) == 2
        np.testing.assert_allclose([bar.get_height() for bar in ax_p.patches],
                                   explorer.shown["input_distribution"])
    assert explorer.figure is first and explorer.redraws == 1
    assert explorer.updates == 1 + 3 + 4 * 3  # start, 3 kind changes, 12 flips

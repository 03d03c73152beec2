"""Chapter 1 explorers: their pure functions, and the sliders driving them.

References are computed here independently (plain math, scipy.stats.entropy)
so that no itutils code checks itself.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.stats import entropy as sp_entropy

from itutils.widgets.entropy import (
    binary_entropy,
    binary_entropy_explorer,
    binary_surprise,
    information_summary,
    joint_distribution_explorer,
    joint_from_conditionals,
)


def _h2(p: float) -> float:
    """Binary entropy in bits, by hand."""
    return -sum(x * math.log2(x) for x in (p, 1 - p) if x > 0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _set(explorer, name, value):
    explorer.sliders[name].value = value


# --- pure functions ------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.01, 0.2, 0.5, 0.8, 0.99, 1.0])
def test_binary_entropy_matches_hand_and_scipy(p):
    assert binary_entropy(p) == pytest.approx(_h2(p), abs=1e-15)
    assert binary_entropy(p, base=math.e) == pytest.approx(
        sp_entropy([p, 1 - p]), abs=1e-15
    )


def test_binary_entropy_vectorised_symmetric_peaked():
    p = np.linspace(0, 1, 101)
    h = binary_entropy(p)
    assert isinstance(h, np.ndarray) and h.shape == (101,)
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)
    assert h.argmax() == 50 and h.max() == 1.0
    assert np.all(np.diff(h[:51]) > 0) and np.all(np.diff(h[50:]) < 0)
    assert h[0] == 0.0 and h[-1] == 0.0


@pytest.mark.parametrize(("bad", "err"), [(1.5, ValueError), (-0.1, ValueError),
                                           (math.nan, ValueError), ("a", TypeError)])
def test_binary_entropy_refuses_bad_p(bad, err):
    with pytest.raises(err, match="^p "):
        binary_entropy(bad)


def test_binary_surprise():
    s = binary_surprise(0.2)
    assert s["surprise_1"] == pytest.approx(-math.log2(0.2))
    assert s["surprise_0"] == pytest.approx(-math.log2(0.8))
    # Entropy is the average surprise.
    assert s["entropy"] == pytest.approx(0.2 * s["surprise_1"] + 0.8 * s["surprise_0"])
    assert binary_surprise(0.0)["surprise_1"] == math.inf
    assert binary_surprise(0.0)["entropy"] == 0.0


def test_joint_from_conditionals_is_a_distribution():
    rng = np.random.default_rng(0)
    for a, b0, b1 in rng.uniform(size=(50, 3)):
        pxy = joint_from_conditionals(a, b0, b1)
        assert pxy.shape == (2, 2) and np.all(pxy >= 0)
        assert pxy.sum() == pytest.approx(1.0, abs=1e-15)
        assert pxy[1].sum() == pytest.approx(a)  # P(X=1)
        assert pxy[0, 1] / pxy[0].sum() == pytest.approx(b0)  # P(Y=1|X=0)
        assert pxy[1, 1] / pxy[1].sum() == pytest.approx(b1)  # P(Y=1|X=1)
    np.testing.assert_allclose(
        joint_from_conditionals(0.7, 0.1 / 0.3, 0.55 / 0.7),
        [[0.2, 0.1], [0.15, 0.55]], atol=1e-15,
    )
    with pytest.raises(ValueError, match="^p_y1_given_x0 has an entry above 1"):
        joint_from_conditionals(0.5, 1.2, 0.5)


def test_information_summary_on_the_chapter_table():
    pxy = np.array([[0.2, 0.1], [0.15, 0.55]])
    s = information_summary(pxy)
    h_xy = sp_entropy(pxy.ravel(), base=2)
    h_x, h_y = sp_entropy([0.3, 0.7], base=2), sp_entropy([0.35, 0.65], base=2)
    expected = {
        "H(X)": h_x, "H(Y)": h_y, "H(X,Y)": h_xy, "H(X|Y)": h_xy - h_y,
        "H(Y|X)": h_xy - h_x, "I(X;Y)": h_x + h_y - h_xy,
    }
    for key, value in expected.items():
        assert s[key] == pytest.approx(value, abs=1e-14), key
    assert round(s["H(X|Y)"], 4) == 0.7474 and round(s["H(Y|X)"], 4) == 0.8002
    assert s["chain_rule_residual"] < 1e-14


# --- binary entropy explorer ---------------------------------------------------

def test_binary_explorer_shows_the_slider_value():
    explorer = binary_entropy_explorer(0.2)
    assert explorer.shown["p"] == 0.2
    assert explorer.shown["entropy"] == pytest.approx(_h2(0.2))
    for p in (0.05, 0.5, 0.9, 1.0):
        _set(explorer, "p", p)
        assert explorer.shown["p"] == p
        assert explorer.shown["entropy"] == pytest.approx(_h2(p), abs=1e-15)
        if p < 1:
            assert explorer.shown["surprise_0"] == pytest.approx(-math.log2(1 - p))
    assert explorer.shown["surprise_0"] == math.inf  # p = 1: X=0 is impossible


def test_binary_explorer_monotonic_and_redrawn():
    explorer = binary_entropy_explorer(0.0)
    grid = np.round(np.arange(0.0, 1.0001, 0.1), 1)
    entropies, surprises, figures = [], [], []
    for p in grid:
        _set(explorer, "p", float(p))
        entropies.append(explorer.shown["entropy"])
        surprises.append(explorer.shown["surprise_1"])
        figures.append(explorer.figure)
    entropies = np.array(entropies)
    half = len(grid) // 2  # index of p = 0.5
    assert np.all(np.diff(entropies[: half + 1]) > 0)
    assert np.all(np.diff(entropies[half:]) < 0)
    assert entropies[half] == 1.0
    # The rarer heads, the more surprising: -log2 p decreases as p grows.
    assert np.all(np.diff(surprises) < 0)
    # One figure: each move repaints its live layer, and the picture is the
    # one a new figure for p = 1 shows.
    assert len({id(f) for f in figures}) == 1 and explorer.redraws == 1
    assert explorer.updates == len(grid)
    assert explorer.png() == explorer.redrawn_png()
    curve_axis = explorer.figure.axes[0]
    marker = curve_axis.lines[1]
    assert marker.get_xdata()[0] == 1.0
    assert "H_b(1.00) = 0.0000 bits" in curve_axis.get_title()


# --- joint distribution explorer -----------------------------------------------

def test_joint_explorer_values_match_independent_computation():
    explorer = joint_distribution_explorer()
    settings = [(0.7, 0.33, 0.79), (0.5, 0.5, 0.5), (0.2, 0.9, 0.1), (1.0, 0.3, 0.6)]
    for a, b0, b1 in settings:
        _set(explorer, "p_x1", a)
        _set(explorer, "p_y1_given_x0", b0)
        _set(explorer, "p_y1_given_x1", b1)
        pxy = np.array([[(1 - a) * (1 - b0), (1 - a) * b0], [a * (1 - b1), a * b1]])
        shown = explorer.shown
        np.testing.assert_allclose(shown["pxy"], pxy, atol=1e-15)
        h_xy = sp_entropy(pxy.ravel(), base=2)
        h_x = sp_entropy(pxy.sum(axis=1), base=2)
        h_y = sp_entropy(pxy.sum(axis=0), base=2)
        assert shown["H(X,Y)"] == pytest.approx(h_xy, abs=1e-12)
        assert shown["H(X)"] == pytest.approx(h_x, abs=1e-12)
        assert shown["H(Y)"] == pytest.approx(h_y, abs=1e-12)
        assert shown["H(X|Y)"] == pytest.approx(h_xy - h_y, abs=1e-12)
        assert shown["H(Y|X)"] == pytest.approx(h_xy - h_x, abs=1e-12)
        assert shown["I(X;Y)"] == pytest.approx(h_x + h_y - h_xy, abs=1e-12)
        assert shown["chain_rule_residual"] < 1e-12


def test_joint_explorer_dependence_grows_as_conditionals_separate():
    explorer = joint_distribution_explorer(0.5, 0.5, 0.5)
    assert explorer.shown["I(X;Y)"] == pytest.approx(0.0, abs=1e-15)
    infos, cond = [], []
    for b1 in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        _set(explorer, "p_y1_given_x1", b1)
        infos.append(explorer.shown["I(X;Y)"])
        cond.append(explorer.shown["H(X|Y)"])
    # Further apart conditionals: Y says more about X, less is left unknown.
    assert np.all(np.diff(infos) > 0) and np.all(np.diff(cond) < 0)
    # H(X) does not depend on the conditionals at all.
    assert explorer.shown["H(X)"] == 1.0
    # Deterministic copy: P(Y=1|X=0)=0, P(Y=1|X=1)=1 gives I = H(X) = 1 bit.
    _set(explorer, "p_y1_given_x0", 0.0)
    assert explorer.shown["I(X;Y)"] == pytest.approx(1.0, abs=1e-15)
    assert explorer.shown["H(X|Y)"] == 0.0


def test_joint_explorer_redraws_with_the_numbers():
    explorer = joint_distribution_explorer(0.5, 0.2, 0.8)
    first = explorer.png()
    _set(explorer, "p_x1", 0.3)
    assert explorer.png() != first and explorer.png() == explorer.redrawn_png()
    table_axis, diagram_axis = explorer.figure.axes[:2]
    cell_texts = [t.get_text() for t in table_axis.texts]
    assert cell_texts == [f"{v:.3f}" for v in explorer.shown["pxy"].ravel()]
    labels = [t.get_text() for t in diagram_axis.get_yticklabels()]
    assert labels[0] == f"H(X,Y)\n{explorer.shown['H(X,Y)']:.4f} bits"
    # The three H(X,Y) segments add up to H(X,Y).
    widths = [patch.get_width() for patch in diagram_axis.patches[:3]]
    assert sum(widths) == pytest.approx(explorer.shown["H(X,Y)"], abs=1e-12)


def _text_sizes(fig):
    return [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
            if getattr(t, "get_text", lambda: "")()]


def test_binary_explorer_labels_are_clear_of_every_line():
    # The entropy is a third bar (no dashed line through the value labels),
    # the axes do not move, and no text is below 10 pt.
    explorer = binary_entropy_explorer(0.2)
    limits = []
    for p in (0.2, 0.5, 0.01, 1.0):
        _set(explorer, "p", p)
        fig = explorer.figure
        ax_bars = fig.axes[1]
        assert not ax_bars.lines  # nothing drawn across the bars
        heights = [bar.get_height() for bar in ax_bars.patches]
        assert heights[2] == pytest.approx(explorer.shown["entropy"])
        limits.append(ax_bars.get_ylim())
        assert min(_text_sizes(fig)) >= 10
        assert fig.get_figwidth() <= 7.5 and fig.get_figheight() <= 4
    assert [t.get_text() for t in ax_bars.texts][:2] == ["inf", "0.00"]  # p = 1
    assert len(set(limits)) == 1


def test_joint_explorer_legend_below_and_readable():
    explorer = joint_distribution_explorer()
    fig = explorer.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    diagram = fig.axes[1]
    legend = diagram.get_legend().get_window_extent(renderer)
    xlabel = diagram.xaxis.label.get_window_extent(renderer)
    assert legend.y1 <= xlabel.y0 + 1  # under the axis label: covers no bar
    assert min(_text_sizes(fig)) >= 10
    assert fig.get_figwidth() <= 7.5

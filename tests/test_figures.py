"""Every figure the course draws is readable where it is shown (tools/figure_check.py).

The checker itself is tested on small figures made to fail each check (and on
ones that pass), so that a check that cannot fail would show here. Then every
chapter notebook runs in a fresh kernel with a hook that checks each figure
it displays, and every explorer is driven to the ends of each control; any
finding fails (there is no allow-list). The full report goes to
test-artifacts/figures.md.
"""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from itutils.style import MIN_TEXT_PX, NOTEBOOK_COLUMN_PX, OKABE_ITO, course_style
from itutils.widgets._panel import Explorer
from tools import figure_check
from tools.figure_check import check_figure

ROOT = figure_check.ROOT
ARTIFACTS = ROOT / "test-artifacts"


def kinds(fig, **kwargs) -> list[str]:
    return sorted({f.kind for f in check_figure(fig, "test", **kwargs)})


def course_figure(figsize=(6, 3)):
    with course_style():
        fig = Figure(figsize=figsize)
        ax = fig.subplots()
    return fig, ax


def test_a_tidy_figure_passes():
    with course_style():
        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        ax.plot([0, 1, 2], [0, 1, 4], "-o", color=OKABE_ITO[0], label="squares")
        ax.plot([0, 1, 2], [0, 1, 2], "--s", color=OKABE_ITO[1], label="identity")
        ax.set(xlabel="x [bits]", ylabel="y [bits]", title="two curves")
        ax.legend(loc="upper left")
        fig.tight_layout()
    assert check_figure(fig, "tidy") == []


def test_small_text_in_points_and_on_screen():
    fig, ax = course_figure()
    ax.set_title("eight points", fontsize=8)
    found = check_figure(fig, "x")
    # 8 pt is 11.1 px at 100 dpi: readable, but below the course's 10 pt.
    assert [f.kind for f in found] == ["small-text"]
    assert "below the course's 10 pt" in found[0].detail
    # 10 pt text is 13.9 px at full size, but a 14-inch explorer picture is
    # scaled to the notebook column: 10 pt * 100/72 * 934/1400 = 9.3 px (on a
    # slide, 1200/1400 of it: 11.9 px).
    wide, ax = course_figure(figsize=(14, 3))
    ax.set_title("ten points")
    found = [f for f in check_figure(wide, "x", crop_to_content=False)
             if f.kind == "small-text"]
    assert len(found) == 1 and "notebook column" in found[0].detail
    assert "smallest 9.3 px" in found[0].detail
    assert 10 * 100 / 72 * NOTEBOOK_COLUMN_PX / 1400 < MIN_TEXT_PX


def test_too_big_figures():
    assert "too-big" in kinds(course_figure(figsize=(9, 3))[0])
    assert "too-big" in kinds(course_figure(figsize=(6, 4.5))[0])
    assert "too-big" not in kinds(course_figure(figsize=(7.5, 4))[0])


def test_overlapping_text():
    fig, ax = course_figure()
    ax.text(0.5, 0.5, "beta = 0.1", transform=ax.transAxes)
    ax.text(0.52, 0.5, "beta = 0.2", transform=ax.transAxes)
    assert "text-overlap" in kinds(fig)


def test_touching_labels_collide():
    fig, ax = course_figure()
    ax.set_ylim(0, 10)
    first = ax.text(0.2, 5.0, "beta=8", va="bottom")
    check_figure(fig, "x")  # draws, so that the first label has a size
    box = first.get_window_extent()
    # The second label starts half a pixel above the first: they touch.
    y = ax.transData.inverted().transform((box.x0, box.y1 + 0.5))[1]
    ax.text(0.2, y, "beta=4", va="bottom")
    found = [f for f in check_figure(fig, "x") if f.kind == "text-overlap"]
    assert found and "touch" in found[0].detail


def test_text_past_the_edge_of_an_explorer_picture():
    fig, ax = course_figure()
    ax.text(1.02, 0.5, "a label running off the right edge", transform=ax.transAxes)
    assert "text-outside" in kinds(fig, crop_to_content=False)
    # Shown by the inline backend (cropped to the content) it is not cut ...
    assert "text-outside" not in kinds(fig, crop_to_content=True)
    # ... unless it crosses the frame of its axes ...
    fig, ax = course_figure()
    ax.text(0.9, 0.5, "beta=0.1 runs on", transform=ax.transAxes)
    assert "text-outside" in kinds(fig)
    fig, ax = course_figure()
    ax.annotate("beta=0.1", (0.95, 0.2), xycoords="axes fraction")
    assert "text-outside" in kinds(fig)
    # ... or its axes clip it.
    fig, ax = course_figure()
    ax.text(0.9, 0.5, "clipped at the frame", transform=ax.transAxes, clip_on=True)
    assert "text-outside" in kinds(fig)


def test_legend_over_data_and_line_through_text():
    fig, ax = course_figure()
    ax.plot([0, 1], [1, 1], color=OKABE_ITO[0], label="flat at the top")
    ax.plot([0, 1], [0, 0.5], "--", color=OKABE_ITO[1], label="rising")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="upper center")
    assert "legend-covers-data" in kinds(fig)
    fig, ax = course_figure()
    ax.bar([0, 1], [3, 1], color=OKABE_ITO[2])
    ax.text(0, 2, "bar label", ha="center")
    ax.axhline(2.0, color="black", linestyle="--")
    assert "line-through-text" in kinds(fig)


def test_palette_and_colour_only_curves():
    fig, ax = course_figure()
    ax.plot([0, 1], [0, 1], color="tab:red", label="red")
    ax.plot([0, 1], [1, 0], color="tab:green", label="green")
    found = check_figure(fig, "x")
    assert {f.kind for f in found} >= {"palette", "colour-only"}
    fig, ax = course_figure()
    ax.scatter([0, 1, 2], [0, 1, 2], c=[0, 1, 2], cmap="jet")
    assert "palette" in kinds(fig)
    fig, ax = course_figure()
    ax.scatter([0, 1, 2], [0, 1, 2], c=[0, 1, 2], cmap="viridis")
    ax.plot([0, 1], [0, 1], color="0.5")  # greys are fine
    assert "palette" not in kinds(fig)


def test_explorers_are_driven_to_their_ends_and_watched_for_jumps():
    def compute(x):
        return {"x": x}

    def draw(fig, shown, x):
        ax = fig.subplots()
        ax.plot([0, 1], [0, x], color=OKABE_ITO[0], label="line")
        ax.legend(loc="best")  # jumps as the line moves
        if x > 2.5:
            ax.set_title("x is large", fontsize=6)

    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0)
    explorer = Explorer({"x": slider}, compute, draw, figsize=(6, 3))
    found = figure_check.check_explorer(explorer, "probe")
    by_kind = {f.kind: f for f in found}
    assert "small-text" in by_kind and "(at x = 3.0)" in by_kind["small-text"].detail
    assert "axis-rescales" in by_kind
    assert slider.value == 1.0  # left where it started


@pytest.mark.slow
def test_every_course_figure_is_readable():
    findings = figure_check.check_course()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "figures.md").write_text(
        "# Figure check\n\n" + (figure_check.report(findings) or "no findings") + "\n")
    assert not findings, "unreadable figures (see test-artifacts/figures.md):\n" + (
        "\n".join(f"  {f.key()}: {f.detail}" for f in findings))

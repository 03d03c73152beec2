"""The Explorer mechanism itself: readout, layout reuse, static fallback, live layer."""

import base64
import gc
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from itutils.style import NOTEBOOK_COLUMN_PX, course_style
from itutils.widgets import _panel
from itutils.widgets._panel import Explorer


def square(x):
    return {"x": x, "square": x * x}


def draw(fig, shown, x):
    ax = fig.subplots()
    ax.plot([0, x], [0, shown["square"]], label="a long label to lay out")
    ax.set_xlabel("x")
    ax.set_title(f"x^2 = {shown['square']:.2f}")


@pytest.fixture
def explorer():
    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5)
    return Explorer({"x": slider}, square, draw, figsize=(4, 3),
                    readout=lambda s: f"x^2 = {s['square']:.2f} units")


def test_slider_recomputes_and_redraws(explorer):
    first = explorer.figure
    explorer.sliders["x"].value = 2.5
    assert explorer.shown == {"x": 2.5, "square": 6.25}
    assert explorer.figure is not first
    assert explorer.figure.axes[0].get_title() == "x^2 = 6.25"
    assert explorer.updates == 2


def test_readout_shows_the_numbers_as_text(explorer):
    assert explorer.text.value == "<code>x^2 = 1.00 units</code>"
    explorer.sliders["x"].value = 3.0
    assert explorer.text.value == "<code>x^2 = 9.00 units</code>"
    assert explorer.text in explorer.widget.children


def test_no_readout_means_no_text_widget():
    slider = widgets.FloatSlider(value=1.0)
    ex = Explorer({"x": slider}, square, draw)
    assert ex.text not in ex.widget.children


def test_layout_is_computed_once_then_reused(explorer):
    margins = {k: getattr(explorer.figure.subplotpars, k) for k in ("left", "bottom")}
    explorer.sliders["x"].value = 0.5
    again = {k: getattr(explorer.figure.subplotpars, k) for k in ("left", "bottom")}
    assert margins == again
    # tight_layout moved the axes off matplotlib's default margins.
    assert margins["left"] != pytest.approx(0.125)


def test_leaves_no_pyplot_figures_open(explorer):
    before = len(plt.get_fignums())
    for value in (0.0, 1.5, 3.0):
        explorer.sliders["x"].value = value
    assert len(plt.get_fignums()) == before


def test_static_fallback_carries_the_current_figure(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and png == explorer.redrawn_png()
    assert "run the notebook" in bundle["text/plain"]


@pytest.fixture
def in_kernel(monkeypatch):
    """Behave as in a Jupyter kernel: render every update into the Image."""
    monkeypatch.setattr(_panel, "_in_kernel", lambda: True)


def _png_size(png: bytes) -> tuple[int, int]:
    return PILImage.open(io.BytesIO(png)).size


def test_figure_is_the_value_of_an_image_widget(in_kernel, explorer):
    # The PNG travels as the Image widget's value: JupyterLab saves it with
    # the widget state, so a reopened notebook still shows the figure.
    assert isinstance(explorer.image, widgets.Image)
    assert explorer.image in explorer.widget.children
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG")
    explorer.sliders["x"].value = 2.0
    assert bytes(explorer.image.value) != first
    assert bytes(explorer.image.value) == explorer.redrawn_png()
    # The static fallback is the same picture, not a second rendering.
    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value


def test_png_is_no_wider_than_the_notebook_column(in_kernel):
    slider = widgets.FloatSlider(value=1.0)
    wide = Explorer({"x": slider}, square, draw, figsize=(13, 3))
    width, height = _png_size(bytes(wide.image.value))
    assert width <= NOTEBOOK_COLUMN_PX
    assert width == pytest.approx(NOTEBOOK_COLUMN_PX, abs=2)
    assert height == pytest.approx(3 * NOTEBOOK_COLUMN_PX / 13, abs=2)
    narrow = Explorer({"x": slider}, square, draw, figsize=(4, 3))
    assert _png_size(bytes(narrow.image.value)) == (400, 300)  # its own 100 dpi


def test_explorer_leaves_garbage_collection_alone():
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    thresholds = gc.get_threshold()
    ex = Explorer({"x": widgets.FloatSlider(value=1.0)}, square, draw)
    ex.sliders["x"].value = 2.0
    assert gc.get_freeze_count() == frozen
    assert (gc.isenabled(), gc.get_threshold()) == (enabled, thresholds)


def _live_explorer(calls, figsize=(4, 3)):
    """x on a fixed frame: the line and the title are live, n redraws."""
    def frame(fig, shown, x, n):
        ax = fig.subplots()
        ax.set(xlim=(0, 3), ylim=(0, 9), xlabel=f"x ({n} ticks)")
        ax.set_xticks(range(n))

    def live(fig, shown, x, n):
        calls.append(x)
        ax = fig.axes[0]
        ax.set_title(f"x^2 = {shown['square']:.2f}")
        # A named colour: the colour cycle moves on with every new line.
        return [*ax.plot([0, x], [0, shown["square"]], color="C0"), ax.title]

    sliders = {"x": widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5),
               "n": widgets.IntSlider(value=3, min=2, max=4)}
    return Explorer(sliders, lambda x, n: square(x), frame, figsize=figsize,
                    live=live, redraw_on=["n"])


def test_live_layer_repaints_on_the_same_figure(in_kernel):
    calls = []
    ex = _live_explorer(calls)
    first, png = ex.figure, bytes(ex.image.value)
    ex.sliders["x"].value = 2.5
    assert calls == [1.0, 2.5]
    assert ex.figure is first and ex.redraws == 1 and ex.updates == 2
    assert ex.figure.axes[0].get_title() == "x^2 = 6.25"
    # The old line is gone, the new one is there.
    (line,) = ex.figure.axes[0].lines
    assert list(line.get_ydata()) == [0, 6.25]
    assert bytes(ex.image.value) != png


@pytest.mark.parametrize("moves", [[2.5], [0.0, 3.0, 1.5], [2.0, 2.0]])
def test_live_picture_equals_a_new_figure(in_kernel, moves):
    ex = _live_explorer([])
    for value in moves:
        ex.sliders["x"].value = value
    assert bytes(ex.image.value) == ex.redrawn_png()
    # ... and a new explorer started there.
    fresh = _live_explorer([])
    fresh.sliders["x"].value = moves[-1]
    assert bytes(fresh.image.value) == bytes(ex.image.value)


def test_a_live_line_without_a_colour_is_caught(in_kernel):
    # Each new line takes the next colour of the cycle: after a move the
    # line changes colour, which redrawn_png shows.
    def live(fig, shown, x):
        return fig.axes[0].plot([0, x], [0, shown["square"]])

    ex = Explorer({"x": widgets.FloatSlider(value=1.0, max=3.0)}, square,
                  lambda fig, shown, x: fig.subplots().set(xlim=(0, 3), ylim=(0, 9)),
                  figsize=(4, 3), live=live)
    ex.sliders["x"].value = 2.0
    assert bytes(ex.image.value) != ex.redrawn_png()


def test_a_stale_live_layer_is_caught(in_kernel):
    # A live function that changes what draw made (here the x-limits) leaves
    # the kept pixels out of date: redrawn_png shows it.
    def frame(fig, shown, x):
        fig.subplots().set(xlim=(0, 3), ylim=(0, 9))

    def live(fig, shown, x):
        ax = fig.axes[0]
        ax.set_xlim(0, 3 + x)
        return ax.plot([0, x], [0, shown["square"]])

    ex = Explorer({"x": widgets.FloatSlider(value=1.0, max=3.0)}, square, frame,
                  figsize=(4, 3), live=live)
    ex.sliders["x"].value = 2.0
    assert bytes(ex.image.value) != ex.redrawn_png()


def test_a_redraw_on_control_draws_a_new_figure(in_kernel):
    ex = _live_explorer([])
    first = ex.figure
    ex.sliders["n"].value = 4
    assert ex.figure is not first and ex.redraws == 2
    assert ex.figure.axes[0].get_xlabel() == "x (4 ticks)"
    ex.sliders["x"].value = 0.5
    assert ex.redraws == 2
    assert bytes(ex.image.value) == ex.redrawn_png()


def test_redraw_on_must_name_a_control():
    with pytest.raises(ValueError, match="redraw_on names \\['m'\\]"):
        Explorer({"x": widgets.FloatSlider()}, square, draw, redraw_on=["m"])


def test_a_failing_update_says_why_on_the_page():
    def compute(x):
        if x > 2:
            raise ValueError("x must be at most 2")
        return {"x": x, "square": x * x}

    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0)
    ex = Explorer({"x": slider}, compute, draw, readout=lambda s: "ok")
    with pytest.raises(ValueError):
        ex.sliders["x"].value = 2.5
    assert "could not update: ValueError: x must be at most 2" in ex.text.value


def _cyclic_garbage_of_moves(explorer, values) -> int:
    """Objects in reference cycles that the moves leave for the collector."""
    gc.collect()
    gc.disable()
    try:
        for value in values:
            explorer.sliders["x"].value = value
        return gc.collect()
    finally:
        gc.enable()


def test_live_layer_leaves_little_garbage_for_the_collector(in_kernel):
    # A new figure per move leaves thousands of objects in reference cycles,
    # which only a (slow, full) collection frees; a new line and title per
    # move leave a few hundred. The learner's garbage collection is never
    # reconfigured.
    values = [0.5, 1.5, 2.0, 2.5, 3.0]
    fast = _cyclic_garbage_of_moves(_live_explorer([]), values)
    slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5)
    full = _cyclic_garbage_of_moves(
        Explorer({"x": slider}, square, draw, figsize=(4, 3)), values)
    assert full > 1000 * len(values) // 5
    assert fast < full / 5, (fast, full)


def _painted_in_one_go(ex, frame, live, x) -> bytes:
    """The PNG of ``frame`` and ``live`` drawn together by matplotlib, as a
    4x3-inch explorer at ``x`` would show them without any blitting."""
    with course_style(), plt.rc_context({"axes.titley": 1.0}):
        fig = Figure(figsize=(4, 3), dpi=100)
        canvas = FigureCanvasAgg(fig)
        frame(fig, ex.shown, x)
        live(fig, ex.shown, x)
        fig.subplots_adjust(**ex._margins)
        canvas.draw()
    return _panel.encode_png(canvas)


def test_live_bars_leave_no_containers_behind_and_paint_as_matplotlib_does(in_kernel):
    # ax.bar files each group of bars in ax.containers: after any number of
    # moves only the group on screen is there. Bars that reach the frame are
    # painted under its spines, as matplotlib paints a figure in one go.
    def frame(fig, shown, x):
        fig.subplots().set(xlim=(-0.4, 1.4), ylim=(0, 9))

    def live(fig, shown, x):
        return list(fig.axes[0].bar([0, 1], [x, 9], width=0.8, color="C1"))

    ex = Explorer({"x": widgets.FloatSlider(value=1.0, max=3.0)}, square, frame,
                  figsize=(4, 3), live=live)
    for value in (2.0, 3.0, 0.5):
        ex.sliders["x"].value = value
    (ax,) = ex.figure.axes
    assert len(ax.containers) == 1 and len(ax.patches) == 2
    assert bytes(ex.image.value) == ex.redrawn_png()
    # The picture is the one matplotlib paints in one go, no blitting.
    assert bytes(ex.image.value) == _painted_in_one_go(ex, frame, live, 0.5)


@pytest.mark.parametrize("facecolor", ["white", (1.0, 1.0, 0.8, 0.5), "none"])
def test_png_holds_the_canvas_pixels_exactly(facecolor):
    # An independent decoder (Pillow) reads back every pixel of the canvas;
    # an opaque figure is RGB, any other keeps its alpha channel.
    fig = Figure(figsize=(3.1, 1.7), dpi=73, facecolor=facecolor)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1], [1, 0], lw=3)
    ax.set_title("a title with text")
    canvas.draw()
    png = _panel.encode_png(canvas)
    decoded = PILImage.open(io.BytesIO(png))
    decoded.load()  # checks every chunk's CRC and the zlib stream
    rgba = np.asarray(canvas.buffer_rgba())
    opaque = fig.get_facecolor()[3] == 1
    assert decoded.mode == ("RGB" if opaque else "RGBA")
    assert decoded.size == (rgba.shape[1], rgba.shape[0])
    np.testing.assert_array_equal(np.asarray(decoded),
                                  rgba[:, :, :3] if opaque else rgba)


@pytest.mark.parametrize("live_part", ["tick labels", "axis label", "image"])
def test_live_parts_of_an_axis_paint_as_matplotlib_does(in_kernel, live_part):
    # Tick labels and an axis label are painted by their axis, an image by
    # its axes: the kept pixels must leave each of them out, and the axis
    # label keep its place below the tick labels, so that each move paints
    # what one full drawing would.
    def frame(fig, shown, x):
        ax = fig.subplots()
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xticks=[0, 1])
        ax.set_xticklabels(["a\nfixed", "b\nfixed"])
        ax.set_xlabel("a fixed axis label")

    def live(fig, shown, x):
        ax = fig.axes[0]
        if live_part == "tick labels":
            return ax.set_xticklabels([f"x={x:.1f}\nlive", f"x^2={x * x:.2f}\nlive"])
        if live_part == "axis label":
            ax.set_xlabel(f"x = {x:.1f}")
            return [ax.xaxis.label]
        return [ax.imshow([[0.0, x], [x * x, 1.0]], vmin=0, vmax=9)]

    ex = Explorer({"x": widgets.FloatSlider(value=1.0, max=3.0)}, square, frame,
                  figsize=(4, 3), live=live)
    for value in (2.0, 3.0, 0.5):
        ex.sliders["x"].value = value
    assert ex.redraws == 1
    assert bytes(ex.image.value) == _painted_in_one_go(ex, frame, live, 0.5)
    assert bytes(ex.image.value) == ex.redrawn_png()


def _texts_at_every_subpixel(fig):
    # Labels at fractional positions (each glyph's pen lands on many of the
    # 64 subpixel offsets), several sizes and colours, mathtext, a fallback
    # glyph, unhinted-looking small text, non-antialiased and rotated text.
    rng = np.random.default_rng(0)
    for i, (x, y) in enumerate(rng.uniform(0.02, 0.9, size=(40, 2))):
        fig.text(x, y, f"{x:.4f} ± β{i}\nH(X,Y) = {y:.3f} bits",
                 size=6 + i % 9, color=f"C{i % 10}", alpha=0.4 + (i % 3) / 5)
    fig.text(0.1, 0.5, r"$I(X;Y)^2 \leq H_b(p)$", size=13)
    fig.text(0.5, 0.1, r"$\frac{1}{2}\sqrt{x}$", size=12)  # boxes: matplotlib's path
    fig.text(0.3, 0.3, "rotated 0.25", rotation=33)  # matplotlib's path
    fig.text(0.6, 0.6, "aliased 0.125", antialiased=False)


def test_glyph_cache_paints_each_glyph_as_freetype_does():
    from itutils.widgets import _glyphs

    plain = FigureCanvasAgg(Figure(figsize=(4.13, 3.07), dpi=97))
    _texts_at_every_subpixel(plain.figure)
    plain.draw()
    cached = _glyphs.GlyphCachingCanvas(Figure(figsize=(4.13, 3.07), dpi=97))
    _texts_at_every_subpixel(cached.figure)
    _glyphs._bitmaps.clear()
    cached.draw()
    rendered = len(_glyphs._bitmaps)
    assert bytes(cached.buffer_rgba()) == bytes(plain.buffer_rgba())
    # Drawn again, every glyph comes from the cache, and the pixels stay.
    cached.draw()
    assert len(_glyphs._bitmaps) == rendered > 100
    assert bytes(cached.buffer_rgba()) == bytes(plain.buffer_rgba())


def test_live_lines_paint_as_plot_and_axlines_do():
    def picture(live):
        canvas = FigureCanvasAgg(Figure(figsize=(3, 2), dpi=90))
        ax = canvas.figure.subplots()
        ax.set(xlim=(0, 2), ylim=(-1, 3))
        live(ax)
        canvas.draw()
        return bytes(canvas.buffer_rgba())

    x, y = [0.1, 0.7, 1.9], [2.5, -0.5, 1.2]
    assert picture(lambda ax: _panel.live_line(ax, x, y, color="C1", ls="--", lw=2)) \
        == picture(lambda ax: ax.plot(x, y, "--", color="C1", lw=2))
    assert picture(lambda ax: _panel.live_line(ax, x, y, ls="none", marker="D", ms=7,
                                               color="C2", alpha=0.5)) \
        == picture(lambda ax: ax.plot(x, y, "D", ms=7, color="C2", alpha=0.5))
    assert picture(lambda ax: _panel.live_hline(ax, 0.3, color="k", ls=":")) \
        == picture(lambda ax: ax.axhline(0.3, color="k", ls=":"))
    assert picture(lambda ax: _panel.live_vline(ax, 1.3, color="C4", lw=2.5)) \
        == picture(lambda ax: ax.axvline(1.3, color="C4", lw=2.5))

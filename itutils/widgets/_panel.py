"""The one pattern every explorer follows: sliders -> pure function -> figure.

``compute(**values)`` is a pure function returning the numbers to show (a
dict); ``draw(fig, result, **values)`` draws them on an empty figure. The
explorer wires sliders to both, keeps the last result in ``shown`` so a test
can check it, and shows the figure as a PNG in an :class:`ipywidgets.Image`,
a core widget that JupyterLab, VS Code and Colab all render. An optional
``readout`` turns the numbers into a line of text under the sliders (with
their units), so they can be read, copied and checked in the page.

What a learner sees without a kernel:

- the committed notebooks carry no widget state, and a front end without
  widgets (a static page, GitHub, nbconvert, an untrusted notebook in
  JupyterLab) shows the static PNG that an explorer's display carries;
- a notebook the learner ran and saved carries the widget state when
  JupyterLab saves it (the course turns on jupyterlab-manager's
  ``saveState``, see :mod:`tools.lab_settings`). The figure is the value of
  the ``Image`` widget, so the saved state holds the last figure itself and
  a reopened notebook shows it, with its sliders, instead of "Error
  displaying widget: model not found".

Speed (a slider should answer within a frame or two, measured in the
browser by ``make bench ONLY=browser_latency``):

- the PNG goes out as the ``Image`` widget's binary value: one comm message,
  no base64, nothing echoed back. An ``Output`` widget instead sends a
  ``clear_output`` and a ``display_data`` message, re-renders an output area
  in the page, and the page sends the whole output, image included, back to
  the kernel to keep the widget's state in sync;
- the PNG is never wider than it is shown: figures wider than
  :data:`itutils.style.NOTEBOOK_COLUMN_PX` are rendered at a lower dpi, as
  the browser would otherwise scale them down. :func:`encode_png` writes it
  unfiltered at zlib level 1: on a plot's flat areas as small as Pillow's
  adaptive filtering, in 3.5 ms instead of 6 (750 x 350 pixels);
- layout (``tight_layout`` measures every tick label and costs more than
  drawing) runs on the first draw only; later draws reuse its margins.
  Draw functions therefore do no layout of their own. Axes titles sit at a
  fixed height (``axes.titley = 1.0``), which spares a bounding-box
  measurement of every axes per draw;
- the live layer (blitting): an explorer splits its picture in two. ``draw``
  makes what a move leaves alone (axes, ticks, labels, reference curves);
  ``live`` adds what a move changes (a marker, bars, a title with a number)
  and returns those artists. The explorer renders the rest once, keeps the
  pixels, and on each move removes the live artists, calls ``live`` again
  and paints only them over the kept pixels: a move costs a few artists, not
  a figure. Drawing axes and tick labels is most of a full draw. A move of a
  control named in ``redraw_on`` (one that changes the axes themselves, such
  as a number of classes) draws a new figure;
- what a move costs is mostly text, so the live layer holds only the text
  that changes: the tick labels or axis label that carry a number, never
  the whole axis (its draw measures every label); legends that name live
  artists by their look are drawn once, with the numbers in the readout.
  The explorer's canvas (:class:`~itutils.widgets._glyphs.GlyphCachingCanvas`)
  rasterises each glyph once instead of on every paint, the same pixels at
  a third of the cost; laying a label out (about 0.3 ms a line) remains;
- live bars and lines come from :func:`live_bars` and :func:`live_line`
  (``ax.bar`` and ``ax.plot`` spend most of their time on data limits the
  live axes hold fixed), many markers from one line (stamped) rather than
  ``scatter`` (each marker rasterised anew), and a small table of colours
  from a ``QuadMesh`` rather than an image (resampled on every paint);
- a move allocates a few artists, not a figure of thousands of objects in
  reference cycles, so it leaves little for Python's garbage collector (whose
  full collections walk every object of the session: 150-450 ms in a
  notebook holding torch models). The explorer never changes how the
  learner's kernel collects garbage.
"""

from __future__ import annotations

import base64
import html
import itertools
import struct
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib
import numpy as np
from IPython import get_ipython
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from itutils.style import COURSE_RC, NOTEBOOK_COLUMN_PX
from itutils.widgets._glyphs import GlyphCachingCanvas

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MARGINS = ("left", "right", "bottom", "top", "wspace", "hspace")


def _in_kernel() -> bool:
    """True when a Jupyter front end can show what we display."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """What ``canvas`` holds now, as PNG bytes, encoded for speed.

    An opaque figure drops the alpha channel (a quarter of the bytes). Rows
    are not filtered and zlib runs at level 1: on a plot's large flat areas
    that is as small as a general encoder's adaptive filtering, and about
    three times faster to encode (the slider benchmark's budget) and to
    decode. Lossless: the pixels read back are the canvas's exactly.

    Examples
    --------
    >>> canvas = FigureCanvasAgg(Figure(figsize=(1, 1), dpi=50))
    >>> canvas.draw()
    >>> encode_png(canvas)[:4]
    b'\\x89PNG'
    """
    width, height = canvas.get_width_height(physical=True)
    pixels = np.asarray(canvas.buffer_rgba()).reshape(height, width, 4)
    opaque = canvas.figure.get_facecolor()[3] == 1
    channels = 3 if opaque else 4
    # Each row is a filter-type byte (0: none) and the row's pixels.
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    row_pixels = rows[:, 1:].reshape(height, width, channels)
    # A channel at a time: numpy copies 3-byte pixels one by one, ten
    # times slower than a plane of bytes.
    for channel in range(channels):
        row_pixels[:, :, channel] = pixels[:, :, channel]
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    return b"".join([_PNG_SIGNATURE, _png_chunk(b"IHDR", header),
                     _png_chunk(b"IDAT", zlib.compress(rows, 1)),
                     _png_chunk(b"IEND", b"")])


def bar_xlim(n: int, width: float = 0.8) -> tuple[float, float]:
    """The x limits matplotlib's autoscale gives ``n`` bars at 0, 1, ..., n-1.

    For a ``draw`` that fixes them: bars in the live layer must not move the
    axes, whose pixels are kept from one move to the next.

    Examples
    --------
    >>> [round(x, 2) for x in bar_xlim(2)]
    [-0.49, 1.49]
    """
    margin = matplotlib.rcParams["axes.xmargin"] * (n - 1 + width)
    return (-width / 2 - margin, n - 1 + width / 2 + margin)


def live_bars(ax, positions, lengths, *, start=0.0, width: float = 0.8,
              horizontal: bool = False, color, **props) -> list[Rectangle]:
    """Bars as ``ax.bar`` (``ax.barh`` if ``horizontal``) draws them, for a
    live layer, at a sixth of the cost.

    ``ax.bar`` spends most of its time updating the axes' data limits, which
    a live layer's axes hold fixed (:func:`bar_xlim`), and files the bars in
    ``ax.containers``; these bars are only added to the axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    positions, lengths : array_like
        Centre of each bar across its axis, and its length along the other.
    start : float or array_like, default 0
        Where each bar starts (``bottom`` of ``ax.bar``, ``left`` of ``barh``).
    width : float, default 0.8
    color : colour or sequence of colours
        Required: a live artist gives its colour (see :class:`Explorer`).
    **props
        Rectangle properties for every bar (``edgecolor``, ``hatch``, ...).

    Examples
    --------
    >>> ax = Figure().subplots()
    >>> bars = live_bars(ax, [0, 1], [2.0, 3.0], color=["C0", "C1"])
    >>> [(b.get_x(), b.get_height()) for b in bars], len(ax.containers)
    ([(-0.4, 2.0), (0.6, 3.0)], 0)
    """
    positions = np.atleast_1d(np.asarray(positions, dtype=float))
    lengths = np.broadcast_to(np.asarray(lengths, dtype=float), positions.shape)
    starts = np.broadcast_to(np.asarray(start, dtype=float), positions.shape)
    # Colours repeat over the bars, as in ax.bar.
    faces = itertools.cycle(matplotlib.colors.to_rgba_array(color))
    bars = []
    for centre, length, begin in zip(positions.tolist(), lengths.tolist(),
                                     starts.tolist(), strict=True):
        across = centre - width / 2
        corner = (begin, across) if horizontal else (across, begin)
        size = (length, width) if horizontal else (width, length)
        face = next(faces)
        bar = Rectangle(corner, *size, facecolor=face, label="_nolegend_", **props)
        bars.append(ax.add_artist(bar))
    return bars


def live_line(ax, x, y, *, color, **props) -> Line2D:
    """A line (or markers: ``ls="none", marker="o"``) as ``ax.plot`` draws
    it, for a live layer, at a third of the cost.

    ``ax.plot`` parses a format, updates the data limits and asks for an
    autoscale, none of which a live layer's fixed axes need; this line is
    only added to the axes. Without a ``label`` it stays out of legends.

    Examples
    --------
    >>> ax = Figure().subplots()
    >>> line = live_line(ax, [0, 1], [2, 3], color="k", ls="--")
    >>> line.get_linestyle(), ax.dataLim.get_points().tolist()
    ('--', [[inf, inf], [-inf, -inf]])
    """
    # Hidden from legends, as ax.plot's unlabelled lines are.
    props = {"label": "_nolegend_", **props}
    return ax.add_artist(Line2D(x, y, color=color, **props))


def live_hline(ax, y: float, *, color, **props) -> Line2D:
    """``ax.axhline(y)`` for a live layer: across the axes at height ``y``.

    Examples
    --------
    >>> ax = Figure().subplots()
    >>> live_hline(ax, 0.5, color="k").get_xydata().tolist()
    [[0.0, 0.5], [1.0, 0.5]]
    """
    return live_line(ax, [0, 1], [y, y], color=color,
                     transform=ax.get_yaxis_transform(which="grid"), **props)


def live_vline(ax, x: float, *, color, **props) -> Line2D:
    """``ax.axvline(x)`` for a live layer: up the axes at ``x``.

    Examples
    --------
    >>> ax = Figure().subplots()
    >>> live_vline(ax, 0.5, color="k").get_xydata().tolist()
    [[0.5, 0.0], [0.5, 1.0]]
    """
    return live_line(ax, [x, x], [0, 1], color=color,
                     transform=ax.get_xaxis_transform(which="grid"), **props)


def label_bars(ax, bars, texts, pad_points: float = 2.0) -> list:
    """Each text centred on top of its bar, ``pad_points`` above it.

    For bars from :func:`live_bars` (``ax.bar_label`` needs a container).
    The texts are given: a bar cut at the top of the axes can say its true
    value.

    Examples
    --------
    >>> ax = Figure().subplots()
    >>> labels = label_bars(ax, live_bars(ax, [0, 1], [2, 3], color="C0"), ["2", "3"])
    >>> [(t.get_text(), t.xy) for t in labels]
    [('2', (0.0, 2.0)), ('3', (1.0, 3.0))]
    """
    return [ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, pad_points), textcoords="offset points",
                        ha="center", va="bottom")
            for bar, text in zip(bars, texts, strict=True)]


def _drawing_style():
    """The course style, and a fixed title height (module docstring)."""
    return matplotlib.rc_context({**COURSE_RC, "axes.titley": 1.0})


def _discard(artist) -> None:
    """Take ``artist`` off its figure, if it can be (an axes title cannot: the
    next ``live`` call sets its text again)."""
    try:
        artist.remove()
    except (NotImplementedError, ValueError):
        pass


def _draw_nothing(renderer) -> None:
    """Stands in for a live artist's ``draw`` while the kept pixels are painted."""


@contextmanager
def _without(artists: Iterable[Artist]):
    """Paint the figure without ``artists`` (its live layer).

    Each artist's ``draw`` does nothing meanwhile, wherever it sits: a direct
    child of an axes, or a tick label or axis label that its axis paints
    (matplotlib's ``animated`` flag leaves out direct children only). The
    artists keep their place in every layout: an axis label stays clear of
    tick labels it does not see painted.
    """
    artists = list(artists)
    for artist in artists:
        artist.draw = _draw_nothing
    try:
        yield
    finally:
        for artist in artists:
            vars(artist).pop("draw", None)


class Explorer:
    """Sliders wired to a pure ``compute`` and a ``draw`` function.

    Parameters
    ----------
    sliders : mapping of str to ipywidgets.ValueWidget
        Named controls; their values are passed to ``compute``, ``draw`` and
        ``live`` as keyword arguments.
    compute : callable
        ``compute(**values) -> dict`` of the numbers the explorer shows.
    draw : callable
        ``draw(fig, result, **values)`` draws on an empty figure, in the
        course style (:data:`itutils.style.COURSE_RC`); it leaves the layout
        to the explorer. With ``live``, it draws only what a move
        of the live controls leaves alone.
    figsize : tuple, default (8, 3.5)
    title : str, optional
        A line of text above the controls.
    dpi : float, default 100
    readout : callable, optional
        ``readout(shown) -> str``: the numbers as one line of text, with
        units, shown under the controls.
    live : callable, optional
        ``live(fig, result, **values) -> iterable of Artist``: adds what a
        move changes to the figure ``draw`` made (find its axes as
        ``fig.axes``) and returns those artists. Each move removes them and
        calls ``live`` again; only they are painted anew, over the pixels of
        the rest (module docstring). An axes title, an axis, an axis label
        or tick labels may be returned: they are kept, and ``live`` sets
        their text again (tick labels with ``set_xticklabels``, which
        returns them). The spines of the
        axes holding live artists are painted with them (in zorder, as a new
        figure paints them); ``live`` need not return them. Give live lines and
        patches their colour: the colour cycle moves on with each new one.
        ``live`` must not change what ``draw`` made (limits, ticks): those
        pixels are kept. :meth:`redrawn_png` catches both.
    redraw_on : iterable of str, default ()
        Controls whose moves change what ``draw`` draws: a move of one of
        them draws a new figure. Without ``live`` every move does.
    max_width_px : float, optional
        Widest the PNG may be, in pixels; default
        :data:`itutils.style.NOTEBOOK_COLUMN_PX`, the notebook column.

    Attributes
    ----------
    shown : dict
        What ``compute`` returned for the current slider values.
    figure : matplotlib.figure.Figure or None
        The figure on screen.
    image : ipywidgets.Image
        The widget that shows the figure; its ``value`` is the PNG.
    updates, redraws : int
        Updates so far, and how many of them drew a new figure.
    last_update_seconds : float
        Wall-clock time of the last update, for the latency benchmark.

    Examples
    --------
    >>> import ipywidgets as widgets
    >>> def draw(fig, shown, x):
    ...     fig.subplots().set(xlim=(0, 1), ylim=(0, 10))
    >>> def live(fig, shown, x):
    ...     return fig.axes[0].plot([0, 1], [0, shown["y"]])
    >>> ex = Explorer({"x": widgets.FloatSlider(value=1.0)},
    ...               lambda x: {"y": 2 * x}, draw, live=live)
    >>> ex.sliders["x"].value = 3.0
    >>> ex.shown, ex.updates, ex.redraws, len(ex.figure.axes[0].lines)
    ({'y': 6.0}, 2, 1, 1)
    """

    def __init__(
        self,
        sliders: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., dict],
        draw: Callable[..., None],
        figsize=(8, 3.5),
        title: str | None = None,
        dpi: float = 100,
        readout: Callable[[dict], str] | None = None,
        live: Callable[..., Iterable[Artist]] | None = None,
        redraw_on: Iterable[str] = (),
        max_width_px: float | None = None,
    ):
        self.sliders = dict(sliders)
        unknown = set(redraw_on) - set(self.sliders)
        if unknown:
            raise ValueError(f"redraw_on names {sorted(unknown)}, which are not "
                             f"controls of this explorer ({sorted(self.sliders)})")
        self._compute = compute
        self._draw = draw
        self._live = live
        self._redraw_on = tuple(redraw_on)
        self._figsize = figsize
        # The figure is drawn at the size it is shown: never wider than the
        # column (the browser would scale it down, text and all).
        self._dpi = min(dpi, (max_width_px or NOTEBOOK_COLUMN_PX) / figsize[0])
        self._margins: dict | None = None
        self._canvas: FigureCanvasAgg | None = None
        self._background = None  # pixels of everything but the live artists
        self._live_artists: list = []
        self._drawn_for: dict = {}  # values of the redraw_on controls
        self._png: bytes | None = None
        self._readout = readout
        self.text = widgets.HTML()
        # max-width: never wider than the column it sits in (the PNG is
        # rendered no wider than the column anyway).
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(max_width="100%", height="auto")
        )
        self.shown: dict = {}
        self.figure: Figure | None = None
        self.last_update_seconds = 0.0
        self.updates = 0
        self.redraws = 0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        controls = widgets.VBox(list(self.sliders.values()))
        shown_text = [self.text] if readout else []
        self.widget = widgets.VBox([*header, controls, *shown_text, self.image])
        self.widget.add_class("itutils-explorer")
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.update()

    @property
    def values(self) -> dict:
        """Current slider values by name."""
        return {name: s.value for name, s in self.sliders.items()}

    def _on_change(self, _change) -> None:
        try:
            self.update()
        except Exception as error:
            # A callback's traceback goes to the kernel's log, which a learner
            # never sees: say on the page why the figure did not change.
            self.text.value = (
                f"<code>could not update: {html.escape(type(error).__name__)}: "
                f"{html.escape(str(error))}</code>"
            )
            raise

    def _lay_out(self, fig: Figure) -> None:
        if self._margins is None:
            with warnings.catch_warnings():
                # Axes that tight_layout cannot fit keep their margins.
                warnings.simplefilter("ignore", UserWarning)
                fig.tight_layout()
            params = fig.subplotpars
            self._margins = {name: getattr(params, name) for name in _MARGINS}
        else:
            fig.subplots_adjust(**self._margins)

    def _attach_canvas(self, fig: Figure) -> None:
        # Every figure is drawn on the same canvas, so on the same renderer,
        # whose cache of text sizes then stays warm from one draw to the
        # next; the figure it replaces gets a canvas of its own and can still
        # be rendered.
        if self._canvas is None:
            self._canvas = GlyphCachingCanvas(fig)
            return
        if self.figure is not None:
            FigureCanvasAgg(self.figure)
        self._canvas.figure = fig
        fig.set_canvas(self._canvas)

    def _new_figure(self, values: dict) -> Figure:
        fig = Figure(figsize=self._figsize, dpi=self._dpi)
        self._attach_canvas(fig)
        self._draw(fig, self.shown, **values)
        self._live_artists = self._add_live(fig, values)
        self._lay_out(fig)
        self._background = None
        self._drawn_for = {name: values[name] for name in self._redraw_on}
        self.redraws += 1
        return fig

    def _add_live(self, fig: Figure, values: dict) -> list:
        if self._live is None:
            return []
        artists = list(self._live(fig, self.shown, **values) or ())
        # A full draw paints each axes' artists by zorder, so a bar or a
        # curve along the frame goes under the spines and a label over them.
        # The live artists are painted over the kept pixels instead: the
        # spines of their axes are painted with them, in zorder.
        axes = [ax for ax in fig.axes if any(a.axes is ax for a in artists)]
        held = {id(a) for a in artists}
        artists += [spine for ax in axes for spine in ax.spines.values()
                    if id(spine) not in held]
        order = {id(ax): i for i, ax in enumerate(fig.axes)}
        artists.sort(key=lambda a: (order.get(id(a.axes), len(order)), a.get_zorder()))
        return artists

    def _remove_live(self) -> None:
        for artist in self._live_artists:
            _discard(artist)
        # ax.bar and friends also file their artists in ax.containers, which
        # would grow by one group of removed artists per move.
        for ax in self.figure.axes:
            ax.containers[:] = [c for c in ax.containers
                                if any(a.axes is not None for a in c.get_children())]

    def _render(self) -> bytes:
        """Paint the figure on the canvas: the kept pixels, then the live
        artists (the first time, everything else first)."""
        canvas = self._canvas
        if self._background is None:
            with _without(self._live_artists):
                canvas.draw()
            if self._live_artists:
                self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._live_artists:
            self.figure.draw_artist(artist)
        self._png = encode_png(canvas)
        return self._png

    def _can_blit(self, values: dict) -> bool:
        return (self.figure is not None and self._live is not None
                and all(values[n] == self._drawn_for.get(n) for n in self._redraw_on))

    def update(self) -> dict:
        """Recompute and redraw for the current slider values."""
        start = time.perf_counter()
        values = self.values
        self.shown = self._compute(**values)
        with _drawing_style():
            if self._can_blit(values):
                self._remove_live()
                self._live_artists = self._add_live(self.figure, values)
            else:
                self.figure = self._new_figure(values)
            self._render()
            # The picture goes out first: the page starts decoding it while
            # it handles the readout's message.
            if _in_kernel():
                self.image.value = self._png
            if self._readout is not None:
                self.text.value = (
                    f"<code>{html.escape(self._readout(self.shown))}</code>"
                )
        self.updates += 1
        self.last_update_seconds = time.perf_counter() - start
        return self.shown

    def png(self) -> bytes:
        """The figure on screen as PNG, no wider than it is shown."""
        return self._png

    def redrawn_png(self) -> bytes:
        """The PNG a new figure would show for the current values.

        What :meth:`png` must equal after any sequence of moves: a ``live``
        that changes something ``draw`` made, or leaves an artist behind,
        makes the two differ (the tests compare them for every explorer).
        """
        values = self.values
        with _drawing_style():
            fig = Figure(figsize=self._figsize, dpi=self._dpi)
            canvas = FigureCanvasAgg(fig)
            self._draw(fig, self.shown, **values)
            live = self._add_live(fig, values)
            fig.subplots_adjust(**self._margins)
            with _without(live):
                canvas.draw()
            for artist in live:
                fig.draw_artist(artist)
        return encode_png(canvas)

    def _repr_mimebundle_(self, **kwargs):
        # Front ends with widgets render the live view; others (static HTML,
        # nbconvert, GitHub, an untrusted notebook) fall back to the PNG, as
        # the committed notebooks carry no widget state.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "An explorer: run the notebook to move its sliders."
        if self._png is not None:
            bundle["image/png"] = base64.b64encode(self._png).decode()
        return bundle


def live_explorers() -> list:
    """Every :class:`Explorer` alive in this process (kernel), each once.

    For tools that drive a notebook's explorers after it has run (the figure
    check, the slider benchmark). It walks the garbage collector's objects
    and leaves the collector's settings as they are.
    """
    import gc

    found = {}
    for obj in gc.get_objects():
        try:
            if isinstance(obj, Explorer):
                found[id(obj)] = obj
        except ReferenceError:  # a dead weakref.proxy (torch keeps some)
            continue
    return list(found.values())

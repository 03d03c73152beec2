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
  the browser would otherwise scale them down, and compressed lightly
  (zlib level 1: a few per cent larger, several times faster to encode);
- layout (``tight_layout`` measures every tick label and costs more than
  drawing) runs on the first draw only; later draws reuse its margins.
  Draw functions therefore do no layout of their own. Axes titles sit at a
  fixed height (``axes.titley = 1.0``), which spares a bounding-box
  measurement of every axes per draw;
- the fast path: an explorer may pass ``update(fig, result, **values)``,
  which moves the artists of the figure ``draw`` made (``line.set_data``,
  ``text.set_text``, ``bar.set_height``...) instead of building a new
  figure. A move then allocates almost nothing, so it also leaves nothing
  for Python's garbage collector: a new figure per move is thousands of
  objects in reference cycles, and every few moves the full collection that
  frees them walks every object of the session (150-450 ms in a notebook
  holding torch models). The explorer never changes how the learner's
  kernel collects garbage; the fast path makes the work disappear instead.
"""

from __future__ import annotations

import base64
import html
import io
import time
import warnings
from collections.abc import Callable, Mapping

import ipywidgets as widgets
import matplotlib
from IPython import get_ipython
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from itutils.style import NOTEBOOK_COLUMN_PX, course_style

_MARGINS = ("left", "right", "bottom", "top", "wspace", "hspace")


def _in_kernel() -> bool:
    """True when a Jupyter front end can show what we display."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def shown_dpi(fig: Figure, max_width_px: float = NOTEBOOK_COLUMN_PX) -> float:
    """The dpi at which ``fig`` is as wide as it will be shown, at most its own.

    Examples
    --------
    >>> shown_dpi(Figure(figsize=(7, 3), dpi=100))
    100.0
    >>> shown_dpi(Figure(figsize=(10, 3), dpi=100), max_width_px=800)
    80.0
    """
    return float(min(fig.dpi, max_width_px / fig.get_figwidth()))


def render_png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes, drawn once at ``dpi`` (default: its own).

    Examples
    --------
    >>> render_png(Figure(figsize=(1, 1), dpi=50))[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi,
                pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class Explorer:
    """Sliders wired to a pure ``compute`` and a ``draw`` function.

    Parameters
    ----------
    sliders : mapping of str to ipywidgets.ValueWidget
        Named controls; their values are passed to ``compute`` and ``draw``
        as keyword arguments.
    compute : callable
        ``compute(**values) -> dict`` of the numbers the explorer shows.
    draw : callable
        ``draw(fig, result, **values)`` draws on an empty figure; it leaves
        the layout to the explorer.
    figsize : tuple, default (8, 3.5)
    title : str, optional
        A line of text above the controls.
    dpi : float, default 100
    readout : callable, optional
        ``readout(shown) -> str``: the numbers as one line of text, with
        units, shown under the controls.
    update : callable, optional
        ``update(fig, result, **values)``: the fast path. Moves the artists
        that ``draw`` made on ``fig`` to show ``result`` (keep handles to
        them, e.g. as attributes of ``fig`` or in a closure). Return
        ``False`` to ask for a full redraw instead (when the figure's
        structure must change). Without it every move draws a new figure.
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
    ...     fig.subplots().plot([0, 1], [0, shown["y"]])
    >>> def update(fig, shown, x):
    ...     fig.axes[0].lines[0].set_ydata([0, shown["y"]])
    >>> ex = Explorer({"x": widgets.FloatSlider(value=1.0)},
    ...               lambda x: {"y": 2 * x}, draw, update=update)
    >>> ex.sliders["x"].value = 3.0
    >>> ex.shown, ex.updates, ex.redraws
    ({'y': 6.0}, 2, 1)
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
        update: Callable[..., bool | None] | None = None,
        max_width_px: float | None = None,
    ):
        self.sliders = dict(sliders)
        self._compute = compute
        self._draw = draw
        self._update = update
        self._figsize = figsize
        self._dpi = dpi
        self._max_width_px = max_width_px or NOTEBOOK_COLUMN_PX
        self._margins: dict | None = None
        self._canvas: FigureCanvasAgg | None = None
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
            self._canvas = FigureCanvasAgg(fig)
            return
        if self.figure is not None:
            FigureCanvasAgg(self.figure)
        self._canvas.figure = fig
        fig.set_canvas(self._canvas)

    def _new_figure(self, values: dict) -> Figure:
        fig = Figure(figsize=self._figsize, dpi=self._dpi)
        self._attach_canvas(fig)
        self._draw(fig, self.shown, **values)
        self._lay_out(fig)
        self.redraws += 1
        return fig

    def update(self) -> dict:
        """Recompute and redraw for the current slider values."""
        start = time.perf_counter()
        values = self.values
        self.shown = self._compute(**values)
        # The course style, and a fixed title height (module docstring).
        with course_style(), matplotlib.rc_context({"axes.titley": 1.0}):
            moved = (
                self.figure is not None
                and self._update is not None
                and self._update(self.figure, self.shown, **values) is not False
            )
            if not moved:
                self.figure = self._new_figure(values)
            if self._readout is not None:
                self.text.value = (
                    f"<code>{html.escape(self._readout(self.shown))}</code>"
                )
            if _in_kernel():
                self.image.value = self.png()
        self.updates += 1
        self.last_update_seconds = time.perf_counter() - start
        return self.shown

    def png(self) -> bytes:
        """The figure on screen as PNG, no wider than it is shown."""
        return render_png(self.figure, dpi=shown_dpi(self.figure, self._max_width_px))

    def _repr_mimebundle_(self, **kwargs):
        # Front ends with widgets render the live view; others (static HTML,
        # nbconvert, GitHub, an untrusted notebook) fall back to the PNG, as
        # the committed notebooks carry no widget state.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "An explorer: run the notebook to move its sliders."
        if self.figure is not None:
            png = self.image.value or self.png()
            bundle["image/png"] = base64.b64encode(png).decode()
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

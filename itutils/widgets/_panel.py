"""The one pattern every explorer follows: sliders -> pure function -> figure.

``compute(**values)`` is a pure function returning the numbers to show (a
dict); ``draw(fig, result, **values)`` draws them on a fresh figure. The
explorer wires sliders to both, keeps the last result in ``shown`` so a test
can check it, and shows the figure as a PNG in an ``Output`` widget, which
works in JupyterLab, VS Code and Colab alike. An optional ``readout`` turns
the numbers into a line of text under the sliders (with their units), so
they can be read, copied and checked in the page. Displayed, an explorer
also carries a static PNG of its first figure: a front end without widgets
(a static HTML page, GitHub, nbconvert) shows that picture instead.

Speed matters in a lecture (a slider should answer within ~100 ms), so the
explorer does the two expensive parts of a redraw once or cheaply:

- layout: ``tight_layout`` measures every tick label and costs more than the
  drawing itself. It runs on the first draw only; later draws reuse the
  margins it found, since the figure's content keeps its shape. Draw
  functions therefore do no layout of their own.
- rendering: the figure is rendered once, straight to PNG, without pyplot
  (so no figure is left open for the inline backend to show twice) and
  without ``bbox_inches="tight"`` (which would draw it a second time). The
  PNG is compressed lightly (zlib level 1): a few per cent larger, several
  times faster to encode than the default level 6.
- titles: axes titles sit at a fixed height above their axes
  (``axes.titley = 1.0``) instead of being moved above whatever pokes out of
  the top of the axes, which costs a full bounding-box measurement of every
  axes on every draw. No explorer puts tick labels on top of an axes, so the
  titles land where they would anyway.
- garbage collection: every redraw leaves a discarded figure, thousands of
  objects in reference cycles, so Python's full (generation 2) collection
  runs every few redraws, and it walks every object of the session: in a
  notebook holding torch models that pause took 150-450 ms, the slowest
  redraws by far. Building an explorer therefore collects once and then
  freezes the objects alive at that moment (:func:`gc.freeze`): later
  collections walk only what was made since, mostly the explorers' figures.
  The price: a frozen object that later becomes part of a reference cycle
  and is dropped is not reclaimed (objects without cycles still are).
"""

from __future__ import annotations

import base64
import gc
import html
import io
import time
import warnings
from collections.abc import Callable, Mapping

import ipywidgets as widgets
import matplotlib
from IPython import get_ipython
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_MARGINS = ("left", "right", "bottom", "top", "wspace", "hspace")


def _in_kernel() -> bool:
    """True when a Jupyter front end can show what we display."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn once at its own size and dpi."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi,
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

    Attributes
    ----------
    shown : dict
        What ``compute`` returned for the current slider values.
    figure : matplotlib.figure.Figure or None
        The last figure drawn.
    last_update_seconds : float
        Wall-clock time of the last update, for the latency benchmark.
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
    ):
        self.sliders = dict(sliders)
        self._compute = compute
        self._draw = draw
        self._figsize = figsize
        self._dpi = dpi
        self._margins: dict | None = None
        self._canvas: FigureCanvasAgg | None = None
        self._readout = readout
        self.text = widgets.HTML()
        self.output = widgets.Output()
        self.shown: dict = {}
        self.figure: Figure | None = None
        self.last_update_seconds = 0.0
        self.updates = 0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        controls = widgets.VBox(list(self.sliders.values()))
        shown_text = [self.text] if readout else []
        self.widget = widgets.VBox([*header, controls, *shown_text, self.output])
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        # Short collections from now on: see the module docstring.
        gc.collect()
        gc.freeze()
        self.update()

    @property
    def values(self) -> dict:
        """Current slider values by name."""
        return {name: s.value for name, s in self.sliders.items()}

    def _on_change(self, _change) -> None:
        self.update()

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

    def update(self) -> dict:
        """Recompute and redraw for the current slider values."""
        start = time.perf_counter()
        values = self.values
        self.shown = self._compute(**values)
        # A fixed title height: see the module docstring ("titles").
        with matplotlib.rc_context({"axes.titley": 1.0}):
            fig = Figure(figsize=self._figsize, dpi=self._dpi)
            self._attach_canvas(fig)
            self._draw(fig, self.shown, **values)
        self._lay_out(fig)
        self.figure = fig
        if self._readout is not None:
            self.text.value = f"<code>{html.escape(self._readout(self.shown))}</code>"
        if _in_kernel():
            png = render_png(fig)
            with self.output:
                self.output.clear_output(wait=True)
                display(Image(data=png, format="png"))
        self.updates += 1
        self.last_update_seconds = time.perf_counter() - start
        return self.shown

    def _repr_mimebundle_(self, **kwargs):
        # Front ends with widgets render the live view; others (static HTML,
        # nbconvert, GitHub) fall back to the PNG, as the committed
        # notebooks carry no widget state.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "An explorer: run the notebook to move its sliders."
        if self.figure is not None:
            bundle["image/png"] = base64.b64encode(render_png(self.figure)).decode()
        return bundle

"""The one pattern every explorer follows: sliders -> pure function -> figure.

``compute(**values)`` is a pure function returning the numbers to show (a
dict); ``draw(fig, result, **values)`` draws them on a fresh figure. The
explorer wires sliders to both, keeps the last result in ``shown`` so a test
can check it, and renders into an ``Output`` with matplotlib's inline
backend, which works in JupyterLab, VS Code and Colab alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display


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
        ``draw(fig, result, **values)`` draws on an empty figure.
    figsize : tuple, default (8, 3.5)
    title : str, optional
        A line of text above the controls.

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
    ):
        self.sliders = dict(sliders)
        self._compute = compute
        self._draw = draw
        self._figsize = figsize
        self.output = widgets.Output()
        self.shown: dict = {}
        self.figure = None
        self.last_update_seconds = 0.0
        self.updates = 0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        controls = widgets.VBox(list(self.sliders.values()))
        self.widget = widgets.VBox([*header, controls, self.output])
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.update()

    @property
    def values(self) -> dict:
        """Current slider values by name."""
        return {name: s.value for name, s in self.sliders.items()}

    def _on_change(self, _change) -> None:
        self.update()

    def update(self) -> dict:
        """Recompute and redraw for the current slider values."""
        start = time.perf_counter()
        values = self.values
        self.shown = self._compute(**values)
        with self.output:
            self.output.clear_output(wait=True)
            fig = plt.figure(figsize=self._figsize)
            self._draw(fig, self.shown, **values)
            plt.show()
        if self.figure is not None and self.figure is not fig:
            plt.close(self.figure)
        self.figure = fig
        self.updates += 1
        self.last_update_seconds = time.perf_counter() - start
        return self.shown

    def _ipython_display_(self):
        display(self.widget)

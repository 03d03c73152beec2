"""Slider explorers for the chapter notebooks.

Each explorer is a thin :class:`~itutils.widgets._panel.Explorer` over pure
functions: a test sets ``explorer.sliders[name].value`` and reads
``explorer.shown`` (the numbers on screen) without a browser.
"""

from itutils.widgets._panel import Explorer

__all__ = ["Explorer"]

"""The course's figure style: readable from the back of a room, colour-blind safe.

Every chapter calls :func:`use_course_style` in its set-up cell, and the
explorers draw inside :func:`course_style`, so all figures share one look:

- text no smaller than 10 pt (at the figures' 100 dpi that is about 14 px,
  and figures are at most :data:`MAX_WIDTH_INCHES` wide so that the notebook
  column and a 1280x720 slide never have to shrink them);
- the Okabe-Ito palette, which stays distinguishable for the common forms
  of colour blindness, paired with line styles and markers so that no
  curve is told apart by colour alone.

Examples
--------
>>> OKABE_ITO[0]
'#E69F00'
>>> with course_style():
...     import matplotlib
...     matplotlib.rcParams["xtick.labelsize"] >= 10
True
"""

from __future__ import annotations

import contextlib

import matplotlib
from cycler import cycler

__all__ = [
    "OKABE_ITO",
    "LINESTYLES",
    "MARKERS",
    "MAX_WIDTH_INCHES",
    "MAX_HEIGHT_INCHES",
    "MIN_FONT_POINTS",
    "MIN_TEXT_PX",
    "NOTEBOOK_COLUMN_PX",
    "SLIDE_COLUMN_PX",
    "COURSE_RC",
    "course_style",
    "use_course_style",
]

#: Okabe & Ito (2008), without black (kept for reference lines and text).
OKABE_ITO = [
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow: light, for fills only
]
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]

#: Widest figure, in inches at 100 dpi: fits the notebook column at
#: 1366x768 with the file browser open, and a 1280x720 slide, unscaled.
MAX_WIDTH_INCHES = 7.5
#: Tallest figure, in inches at 100 dpi: one figure and its heading fit a
#: 1280x720 slide.
MAX_HEIGHT_INCHES = 4.0
#: Smallest text, in points.
MIN_FONT_POINTS = 10
#: Smallest text on screen, in CSS pixels, where the figure is shown.
MIN_TEXT_PX = 10

# Where figures are shown, measured once in Chromium (JupyterLab 4.6.6, default
# theme; tests/test_browser.py re-measures it): the width of a notebook's output
# area at 1366x768 with the file browser open (a wider image is scaled down to
# it), and the width an image may take on a reveal.js slide at 1280x720 as
# tools/build_site.py styles the decks (tests/test_slides.py re-measures it).
#: Output area of the notebook column, 1366x768, file browser open (CSS px).
NOTEBOOK_COLUMN_PX = 934
#: Widest image on a 1280x720 slide, unscaled (slide px; reveal.js then
#: magnifies the 1200x675 slide by 1.02 to fill the screen).
SLIDE_COLUMN_PX = 1200

COURSE_RC = {
    "figure.dpi": 100,
    "figure.figsize": (7.0, 3.5),
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "figure.titlesize": 12,
    "axes.prop_cycle": cycler(color=OKABE_ITO[:6]),
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
}


@contextlib.contextmanager
def course_style():
    """Draw with the course's rc settings inside a ``with`` block."""
    with matplotlib.rc_context(COURSE_RC):
        yield


def use_course_style() -> None:
    """Make the course style the default for the rest of the session."""
    matplotlib.rcParams.update(COURSE_RC)

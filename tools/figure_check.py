"""Is a figure readable where it is shown? An automatic check of matplotlib figures.

Usage::

    python -m tools.figure_check                 # every chapter, every explorer
    python -m tools.figure_check notebooks/04_vae.ipynb

:func:`check_figure` draws a figure and reads its artists' bounding boxes
(in display pixels). It reports, each as one :class:`Finding`:

- ``small-text``: text set below :data:`~itutils.style.MIN_FONT_POINTS`, or
  smaller than :data:`~itutils.style.MIN_TEXT_PX` on
  screen where the figure is shown: the notebook column at 1366x768 with the
  file browser open (:data:`~itutils.style.NOTEBOOK_COLUMN_PX`) and a
  1280x720 slide (:data:`~itutils.style.SLIDE_COLUMN_PX`); a figure wider
  than the space is scaled down by the browser, and its text with it;
- ``too-big``: wider than :data:`~itutils.style.MAX_WIDTH_INCHES` or taller
  than :data:`~itutils.style.MAX_HEIGHT_INCHES` (it will not fit a slide);
- ``text-overlap``: two pieces of text (tick labels, axis labels, titles,
  legend entries, annotations) overlapping each other;
- ``line-through-text``: a plotted line drawn through a label inside the
  axes (an annotation, a bar label, ``ax.text``);
- ``text-outside``: a label in the data area crossing the frame of its
  axes; text running past the edge of the picture (explorers
  render the figure as it is; the notebook's inline backend crops to the
  drawn content, so there only clipped text counts), or cut off by the clip
  box of its axes;
- ``legend-covers-data``: a legend box over plotted data of any axes (line
  segments, markers, bars, scatter points, images);
- ``palette``: a colour outside the colour-blind-safe palettes (Okabe-Ito,
  matplotlib's ``tableau-colorblind10``, Paul Tol's muted, greys), or a
  colour map outside the perceptually uniform and colour-blind-safe ones;
- ``colour-only``: two labelled curves of one axes that differ in colour
  only (same line style and marker).

For explorers, across the settings of each control, also:

- ``legend-moves``: the legend jumps (``loc="best"`` re-placing it);
- ``axis-rescales``: an axis's limits change, so the eye cannot compare
  one setting with the next;
- ``error``: a setting the explorer cannot show;
- ``stale-picture``: after moves, the picture differs from a new figure
  drawn for the same values (a live layer that changed what ``draw`` made,
  left an artist behind, or let the colour cycle move on).

Notebooks: :func:`check_notebook` runs a chapter in a fresh kernel (nbclient,
from its folder, as nbval does) with a hook that checks every figure the
inline backend displays, naming its cell, then finds every live explorer
and drives each control to its ends (and back to its start), checking each
figure. Explorer factories that no notebook shows and that need no
arguments are built with their defaults and driven the same way.

``tests/test_figures.py`` runs this over the course and fails on any
finding.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.collections import Collection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from itutils.style import (
    MAX_HEIGHT_INCHES,
    MAX_WIDTH_INCHES,
    MIN_FONT_POINTS,
    MIN_TEXT_PX,
    NOTEBOOK_COLUMN_PX,
    OKABE_ITO,
    SLIDE_COLUMN_PX,
)

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("small-text", "too-big", "text-overlap", "line-through-text",
         "text-outside",
         "legend-covers-data", "palette", "colour-only", "legend-moves",
         "axis-rescales", "error", "stale-picture")

# Colours a colour-blind reader can tell apart (with line styles and markers):
# Okabe & Ito's eight, matplotlib's tableau-colorblind10, Paul Tol's "muted"
# scheme (ten classes, e.g. the digits of chapter 4), and any grey.
TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
             "#CC6677", "#882255", "#AA4499", "#DDDDDD"]
TABLEAU_COLORBLIND10 = ["#006BA4", "#FF800E", "#ABABAB", "#595959", "#5F9ED1",
                        "#C85200", "#898989", "#A2C8EC", "#FFBC79", "#CFCFCF"]
SAFE_COLOURS = {c.lower() for c in [*OKABE_ITO, "#000000", "#FFFFFF",
                                    *TABLEAU_COLORBLIND10, *TOL_MUTED]}
# Colour maps that stay readable for the common colour-vision deficiencies
# (perceptually uniform sequential maps, single-hue maps, blue-orange/red
# diverging maps); "_r" versions too.
SAFE_CMAPS = {"viridis", "cividis", "plasma", "inferno", "magma", "Greys",
              "gray", "grey", "binary", "gist_yarg", "gist_gray", "bone",
              "Blues", "Purples", "Oranges", "YlOrBr", "YlGnBu", "PuBu",
              "BuPu", "RdBu", "PuOr", "coolwarm", "bwr", "seismic"}
# Texts closer than this (display px, both ways) collide: the eye reads two
# labels that touch as one. Text past an edge by less is anti-aliasing.
TOUCH_PX = 1.0
OVERLAP_PX = 1.5


@dataclass(frozen=True)
class Finding:
    """One problem of one figure: where it is shown, what, and the details."""

    where: str
    kind: str
    detail: str

    def key(self) -> str:
        """Stable part of a finding, for the allow-list: where and what."""
        return f"{self.where} | {self.kind}"


# --- what is on the figure -------------------------------------------------------

def _tick_labels(fig: Figure) -> set[int]:
    """ids of every tick label Text of the figure (drawn or not)."""
    ids = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ids.update((id(tick.label1), id(tick.label2)))
    return ids


def drawn_texts(fig: Figure) -> list[Text]:
    """Every text the renderer draws: visible, non-empty, ticks in view only."""
    texts = []
    ticks = _tick_labels(fig)
    hidden = set()  # axis labels of axes drawn without axes ("axis off")
    for ax in fig.axes:
        if not ax.axison:
            hidden.update((id(ax.xaxis.label), id(ax.yaxis.label),
                           id(ax.xaxis.get_offset_text()),
                           id(ax.yaxis.get_offset_text())))
        if not ax.get_visible() or not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():
                continue
            # _update_ticks: the ticks the axis draws (inside the view).
            for tick in axis._update_ticks():  # noqa: SLF001
                texts += [t for t in (tick.label1, tick.label2)
                          if t.get_visible() and t.get_text().strip()]
            offset = axis.get_offset_text()
            if offset.get_visible() and offset.get_text().strip():
                texts.append(offset)
    for text in fig.findobj(Text):
        if id(text) in ticks or id(text) in hidden or text in texts:
            continue
        if not (text.get_visible() and text.get_text().strip()):
            continue
        if not all(a.get_visible() for a in _ancestors(text)):
            continue
        texts.append(text)
    return texts


def _ancestors(artist):
    parent = getattr(artist, "axes", None)
    found = [parent] if parent is not None else []
    legend = _legend_of(artist)
    if legend is not None:
        found.append(legend)
    return found


def _legend_of(artist) -> Legend | None:
    for legend in _legends(artist.figure) if artist.figure else []:
        if artist in legend.texts or artist is legend.get_title():
            return legend
    return None


def _legends(fig: Figure) -> list[Legend]:
    found = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    found += list(fig.legends)
    return [lg for lg in found if lg.get_visible()]


def _describe(text: Text) -> str:
    snippet = text.get_text().strip().replace("\n", " ")
    return repr(snippet[:40] + ("..." if len(snippet) > 40 else ""))


# --- the checks -----------------------------------------------------------------

def _rendered_scale(picture_px: float, space_px: float) -> float:
    """How much the browser scales a picture ``picture_px`` wide to fit."""
    return min(1.0, space_px / picture_px)


def _small_text(texts, fig, picture: Bbox, where) -> list[Finding]:
    found = []
    dpi = fig.dpi
    smallest = min(texts, key=lambda t: t.get_fontsize(), default=None)
    if smallest is None:
        return found
    below = [t for t in texts if t.get_fontsize() < MIN_FONT_POINTS - 1e-9]
    if below:
        found.append(Finding(where, "small-text", (
            f"{len(below)} text(s) set below the course's {MIN_FONT_POINTS} pt: "
            f"smallest {smallest.get_fontsize():.1f} pt {_describe(smallest)}")))
    for space, px in (("notebook column", NOTEBOOK_COLUMN_PX),
                      ("1280x720 slide", SLIDE_COLUMN_PX)):
        scale = _rendered_scale(picture.width, px)
        size = smallest.get_fontsize() * dpi / 72 * scale
        if size < MIN_TEXT_PX - 1e-9:
            n = sum(t.get_fontsize() * dpi / 72 * scale < MIN_TEXT_PX for t in texts)
            found.append(Finding(where, "small-text", (
                f"{n} text(s) below {MIN_TEXT_PX} px on a {space} "
                f"({px} px wide; the {picture.width:.0f} px picture is shown at "
                f"{scale:.0%}): smallest {size:.1f} px, "
                f"{smallest.get_fontsize():.1f} pt {_describe(smallest)}")))
    return found


def _too_big(fig, where) -> list[Finding]:
    w, h = fig.get_size_inches()
    if w > MAX_WIDTH_INCHES + 1e-9 or h > MAX_HEIGHT_INCHES + 1e-9:
        return [Finding(where, "too-big", (
            f"{w:.2f} x {h:.2f} in; at most {MAX_WIDTH_INCHES} x "
            f"{MAX_HEIGHT_INCHES} in"))]
    return []


def _overlaps(texts, boxes, where) -> list[Finding]:
    found = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i], boxes[j]
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > -TOUCH_PX and dy > -TOUCH_PX:
                how = (f"overlap by {dx:.0f} x {dy:.0f} px" if min(dx, dy) > 0
                       else "touch")
                found.append(Finding(where, "text-overlap", (
                    f"{_describe(texts[i])} and {_describe(texts[j])} {how}")))
    return found


def _lines_through(texts, boxes, where) -> list[Finding]:
    found = []
    for text, box in zip(texts, boxes, strict=True):
        ax = text.axes
        if ax is None or text not in ax.texts:
            continue  # titles, axis labels and tick labels sit outside the data
        inner = Bbox.from_extents(box.x0 + 1, box.y0 + 1, box.x1 - 1, box.y1 - 1)
        for line in ax.get_lines():
            if not line.get_visible() or line.get_linestyle() in ("None", "", " "):
                continue
            path = line.get_transform().transform_path(line.get_path())
            if path.intersects_bbox(inner, filled=False):
                found.append(Finding(where, "line-through-text", (
                    f"line {line.get_label()!r} runs through {_describe(text)}")))
                break
    return found


def _outside(texts, boxes, picture: Bbox, crop_to_content, where) -> list[Finding]:
    found = []
    for text, box in zip(texts, boxes, strict=True):
        if not crop_to_content:
            past = max(picture.x0 - box.x0, box.x1 - picture.x1,
                       picture.y0 - box.y0, box.y1 - picture.y1)
            if past > OVERLAP_PX:
                found.append(Finding(where, "text-outside", (
                    f"{_describe(text)} runs {past:.0f} px past the edge of "
                    "the picture")))
                continue
        ax = text.axes
        # ax.text clips nothing (clip_on False); an annotation says clip_on
        # but has no clip box: neither is cut at the frame.
        unclipped = not text.get_clip_on() or text.get_clip_box() is None
        if ax is not None and text in ax.texts and unclipped:
            frame = ax.bbox
            inside = Bbox.intersection(box, frame)
            past = max(frame.x0 - box.x0, box.x1 - frame.x1,
                       frame.y0 - box.y0, box.y1 - frame.y1)
            if inside is not None and inside.width > 0 and inside.height > 0 \
                    and past > OVERLAP_PX:
                found.append(Finding(where, "text-outside", (
                    f"{_describe(text)} crosses the frame of its axes "
                    f"({past:.0f} px past it)")))
                continue
        clip = text.get_clip_box() if text.get_clip_on() else None
        if clip is not None and text.get_clip_path() is None:
            past = max(clip.x0 - box.x0, box.x1 - clip.x1,
                       clip.y0 - box.y0, box.y1 - clip.y1)
            if past > OVERLAP_PX:
                found.append(Finding(where, "text-outside", (
                    f"{_describe(text)} is cut {past:.0f} px by the edge of "
                    "its axes")))
    return found


def _inside(box: Bbox, points) -> np.ndarray:
    """Which of the display points (n, 2) lie inside ``box``."""
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    return ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
            & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))


def _data_in_box(ax, box: Bbox, legend: Legend) -> list[str]:
    """What plotted data of ``ax`` lies inside the display box ``box``."""
    hits = []
    # Data is drawn inside its axes only (clipped at the frame).
    inner = Bbox.intersection(
        Bbox.from_extents(box.x0 + 1, box.y0 + 1, box.x1 - 1, box.y1 - 1),
        ax.bbox)
    if inner is None or inner.width <= 0 or inner.height <= 0:
        return hits
    for line in ax.get_lines():
        if not line.get_visible() or line in legend.get_lines():
            continue
        path = line.get_transform().transform_path(line.get_path())
        drawn = line.get_linestyle() not in ("None", "", " ")
        if drawn and path.intersects_bbox(inner, filled=False):
            hits.append(f"line {line.get_label()!r}")
        elif line.get_marker() not in ("None", "", " ", None) and np.any(
                _inside(inner, path.vertices)):
            hits.append(f"markers {line.get_label()!r}")
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible():
            extent = patch.get_window_extent()
            if extent.width > 0 and extent.height > 0 and extent.overlaps(inner):
                hits.append(f"bar {patch.get_label()!r}")
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible():
            offsets = collection.get_offset_transform().transform(
                collection.get_offsets())
            if len(offsets) and np.any(_inside(inner, offsets)):
                hits.append(f"points {collection.get_label()!r}")
    for image in ax.images:
        if image.get_visible() and image.get_window_extent().overlaps(inner):
            hits.append("image")
    return list(dict.fromkeys(hits))


def _legend_covers(fig, renderer, where) -> list[Finding]:
    found = []
    for legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        hits = []
        for ax in fig.axes:
            if ax.get_visible():
                hits += _data_in_box(ax, box, legend)
        if hits:
            found.append(Finding(where, "legend-covers-data", (
                "legend over " + ", ".join(hits[:4])
                + (f" and {len(hits) - 4} more" if len(hits) > 4 else ""))))
    return found


def _hex(colour) -> str | None:
    rgba = mcolors.to_rgba(colour)
    if rgba[3] == 0:
        return None
    return mcolors.to_hex(rgba[:3]).lower()


def _safe_colour(hex_colour: str) -> bool:
    r, g, b = mcolors.to_rgb(hex_colour)
    return hex_colour in SAFE_COLOURS or (r == g == b)


def _artist_colours(ax) -> list[tuple[str, str]]:
    """(what, colour) for the data artists of ``ax``."""
    found = []
    for line in ax.get_lines():
        if line.get_visible():
            found.append((f"line {line.get_label()!r}", line.get_color()))
            face = line.get_markerfacecolor()
            if line.get_marker() not in ("None", "", " ", None):
                found.append((f"markers {line.get_label()!r}", face))
    for patch in ax.patches:
        if patch.get_visible() and patch.get_fill():
            found.append((f"patch {patch.get_label()!r}", patch.get_facecolor()))
    for collection in ax.collections:
        if not collection.get_visible() or collection.get_array() is not None:
            continue
        for face in collection.get_facecolors()[:50]:
            found.append((f"{type(collection).__name__} "
                          f"{collection.get_label()!r}", face))
    return found


def _cmap_name(artist) -> str:
    return getattr(artist.get_cmap(), "name", "").removesuffix("_r")


def _palette(fig, where) -> list[Finding]:
    found = []
    bad_colours: dict[str, str] = {}
    bad_maps: set[str] = set()
    for ax in fig.axes:
        for what, colour in _artist_colours(ax):
            hex_colour = _hex(colour) if colour is not None else None
            if hex_colour and not _safe_colour(hex_colour):
                bad_colours.setdefault(hex_colour, what)
        mapped = [*ax.images] + [c for c in ax.collections
                                 if isinstance(c, Collection)
                                 and c.get_array() is not None]
        for artist in mapped:
            if isinstance(artist, AxesImage | Collection) and \
                    _cmap_name(artist) not in SAFE_CMAPS:
                bad_maps.add(_cmap_name(artist))
    if bad_colours:
        found.append(Finding(where, "palette", (
            "colours outside the colour-blind-safe palettes: " + ", ".join(
                f"{c} ({what})" for c, what in list(bad_colours.items())[:5]))))
    if bad_maps:
        found.append(Finding(where, "palette", (
            "colour maps that are not colour-blind safe: "
            + ", ".join(sorted(bad_maps)))))
    return found


def _colour_only(fig, where) -> list[Finding]:
    found = []
    for ax in fig.axes:
        labelled = [line for line in ax.get_lines() if line.get_visible()
                    and not line.get_label().startswith("_")]
        seen: dict[tuple, Line2D] = {}
        for line in labelled:
            style = (str(line.get_linestyle()), str(line.get_marker()))
            other = seen.get(style)
            if other is not None and _hex(other.get_color()) != _hex(line.get_color()):
                found.append(Finding(where, "colour-only", (
                    f"curves {other.get_label()!r} and {line.get_label()!r} "
                    f"differ only in colour (line style {style[0]!r}, "
                    f"marker {style[1]!r})")))
            seen.setdefault(style, line)
    return found


def check_figure(fig: Figure, where: str, *, crop_to_content: bool = True
                 ) -> list[Finding]:
    """Every readability problem of ``fig`` as it is shown.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    where : str
        Names the figure in the findings (notebook and cell, or explorer).
    crop_to_content : bool, default True
        True for figures the inline backend shows (it saves with
        ``bbox_inches="tight"``, so the picture is the drawn content); False
        for explorers, whose picture is the figure as it is.

    Returns
    -------
    list of Finding

    Examples
    --------
    >>> fig = Figure(figsize=(4, 3))
    >>> ax = fig.subplots()
    >>> _ = ax.plot([0, 1], [0, 1], color="#E69F00")
    >>> _ = ax.set_title("tiny", fontsize=6)
    >>> [f.kind for f in check_figure(fig, "example")]
    ['small-text', 'small-text', 'small-text']
    """
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    if crop_to_content:
        picture = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
        picture = Bbox.from_extents(picture.x0 - 0.1 * fig.dpi,
                                    picture.y0 - 0.1 * fig.dpi,
                                    picture.x1 + 0.1 * fig.dpi,
                                    picture.y1 + 0.1 * fig.dpi)  # pad_inches
    else:
        picture = fig.bbox
    return [
        *_small_text(texts, fig, picture, where),
        *_too_big(fig, where),
        *_overlaps(texts, boxes, where),
        *_lines_through(texts, boxes, where),
        *_outside(texts, boxes, picture, crop_to_content, where),
        *_legend_covers(fig, renderer, where),
        *_palette(fig, where),
        *_colour_only(fig, where),
    ]


# --- explorers ------------------------------------------------------------------

def control_stops(control) -> list:
    """Where to put a control: both ends (or every option), then its start."""
    start = control.value
    options = getattr(control, "options", None)
    if options is not None:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        stops = values if len(values) <= 6 else [values[0], values[-1]]
    elif hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        if "Log" in type(control).__name__:
            lo, hi = control.base ** lo, control.base ** hi
        stops = [lo, hi]
    else:
        return []
    return [*stops, start]


def explorer_name(explorer) -> str:
    """``module: title`` of an explorer (its title line, else its compute)."""
    compute = getattr(explorer, "_compute", None)
    module = getattr(compute, "__module__", "").removeprefix("itutils.widgets.")
    first = explorer.widget.children[0] if explorer.widget.children else None
    title = getattr(first, "value", "")
    if isinstance(title, str) and title.startswith("<b>"):
        title = title.removeprefix("<b>").removesuffix("</b>")
    else:
        title = getattr(compute, "__qualname__", "?").split(".<locals>")[0]
    return f"{module}: {title}"


def check_explorer(explorer, where: str) -> list[Finding]:
    """Drive each control to its stops; check the figure at each."""
    found: dict[str, Finding] = {}
    seen_at: dict[str, str] = {}
    frames: list[tuple[str, list, list]] = []  # (at, legend boxes, limits)

    def look(at: str):
        fig = explorer.figure
        if explorer.png() != explorer.redrawn_png():
            # The live layer left the picture out of date (module _panel).
            found.setdefault("stale-picture", Finding(where, "stale-picture", (
                "the picture after moves differs from a new figure drawn for "
                f"the same values, first at {at}")))
        frames.append((at, _legend_boxes(fig), _limits(fig)))
        for f in check_figure(fig, where, crop_to_content=False):
            # One finding per kind and subject (the first setting that shows
            # it), with the other settings that show the same kind.
            key = f.kind if f.kind in ONE_PER_KIND else f"{f.kind}:{f.detail}"
            if key not in found:
                found[key] = f
                seen_at[key] = [at]
            elif at not in seen_at[key]:
                seen_at[key].append(at)

    look("start")
    for name, control in explorer.sliders.items():
        for value in control_stops(control):
            try:
                control.value = value
            except Exception as error:  # noqa: BLE001 - reported, not raised
                found[f"error:{name}"] = Finding(where, "error", (
                    f"setting {name} = {value!r} failed: {error}"))
                continue
            look(f"{name} = {value!r}")
    findings = [Finding(f.where, f.kind, f"{f.detail} ({_settings(seen_at.get(k))})")
                for k, f in found.items()]
    return findings + _instability(frames, where)


# Kinds whose details change with the numbers on the figure: one finding each.
ONE_PER_KIND = {"small-text", "too-big", "palette", "legend-covers-data",
                "colour-only", "line-through-text"}


def _settings(ats: list[str] | None) -> str:
    if not ats:
        return "at ?"
    more = f" and {len(ats) - 3} more settings" if len(ats) > 3 else ""
    return "at " + ", ".join(ats[:3]) + more


def _legend_boxes(fig) -> list:
    renderer = fig.canvas.get_renderer()
    return [tuple(np.round(lg.get_window_extent(renderer).bounds, 0))
            for lg in _legends(fig)]


def _limits(fig) -> list:
    return [(tuple(float(f"{v:.6g}") for v in ax.get_xlim()),
             tuple(float(f"{v:.6g}") for v in ax.get_ylim()))
            for ax in fig.axes if ax.get_visible() and ax.axison]


def _instability(frames, where) -> list[Finding]:
    """Legends that jump and axes that rescale between an explorer's settings."""
    found = []
    first_at, legends, limits = frames[0]
    for at, other_legends, _ in frames[1:]:
        if len(other_legends) == len(legends) and any(
                max(abs(a - b) for a, b in zip(p, q, strict=True)) > 5
                for p, q in zip(legends, other_legends, strict=True)):
            found.append(Finding(where, "legend-moves", (
                f"the legend moves between {first_at} and {at}")))
            break
    for at, _, other_limits in frames[1:]:
        if len(other_limits) != len(limits):
            continue
        changed = [(i, axis) for i, (a, b) in enumerate(
            zip(limits, other_limits, strict=True))
            for axis, x, y in (("x", a[0], b[0]), ("y", a[1], b[1])) if x != y]
        if changed:
            i, axis = changed[0]
            found.append(Finding(where, "axis-rescales", (
                f"axes {i + 1}: {axis}-limits {limits[i][axis == 'y']} at "
                f"{first_at} become {other_limits[i][axis == 'y']} at {at}")))
            break
    return found


# --- running notebooks ---------------------------------------------------------

HOOK = """
import sys as _sys
_sys.path.insert(0, {root!r})
from tools.figure_check import install_notebook_hook as _install
_install({name!r}, {cells!r})
del _install
"""

PROBE = """
from tools.figure_check import probe_explorers as _probe
_probe({name!r})
"""


def install_notebook_hook(name: str, cells: dict[str, list]) -> None:
    """In a kernel: check every figure the inline backend displays.

    ``cells`` maps a cell's source to its (index, id) in the notebook, so a
    finding names the cell it comes from.
    """
    from IPython import get_ipython

    shell = get_ipython()
    formatter = shell.display_formatter.formatters["image/png"]
    original = formatter.lookup_by_type(Figure)
    state = {"cell": "?"}
    findings = _kernel_findings()

    def before(info):
        where = cells.get(info.raw_cell)
        state["cell"] = f"cell {where[0]} (id {where[1]})" if where else "?"

    def checked(fig, *args, **kwargs):
        findings.extend(check_figure(fig, f"{name} {state['cell']}"))
        return original(fig, *args, **kwargs)

    shell.events.register("pre_run_cell", before)
    formatter.for_type(Figure, checked)


def _kernel_findings() -> list:
    module = sys.modules[__name__]
    if not hasattr(module, "_FINDINGS"):
        module._FINDINGS = []
    return module._FINDINGS


def probe_explorers(name: str) -> None:
    """In a kernel, after the notebook: drive every explorer; print findings."""
    from itutils.widgets._panel import live_explorers

    findings = _kernel_findings()
    checked = []
    for explorer in live_explorers():
        checked.append(explorer_name(explorer))
        findings += check_explorer(explorer, f"{name} explorer {checked[-1]}")
    print("FINDINGS=" + json.dumps({"findings": [asdict(f) for f in findings],
                                    "explorers": checked}))


def _cells_by_source(nb) -> dict[str, list]:
    return {cell.source: [i, cell.get("id", "")] for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code"}


def _run(cells, folder: Path) -> tuple[list[Finding], list[str]]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=600, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                   if o.get("name") == "stdout")
    if "FINDINGS=" not in text:
        raise RuntimeError(f"the probe printed no findings: {text[-2000:]}")
    out = json.loads(text.split("FINDINGS=", 1)[1].strip().splitlines()[0])
    return [Finding(**row) for row in out["findings"]], out["explorers"]


def check_notebook(path: Path) -> tuple[list[Finding], list[str]]:
    """Run a chapter in a fresh kernel: its figures' and explorers' findings,
    and the names of the explorers it showed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    name = path.stem
    code = [nbformat.v4.new_code_cell(c.source) for c in nb.cells
            if c.cell_type == "code"]
    # After the set-up cell: `%matplotlib inline` there registers the inline
    # backend's PNG formatter, which the hook then wraps.
    hook = nbformat.v4.new_code_cell(HOOK.format(root=str(ROOT), name=name,
                                                 cells=_cells_by_source(nb)))
    probe = nbformat.v4.new_code_cell(PROBE.format(name=name))
    return _run([code[0], hook, *code[1:], probe], path.parent)


FACTORIES = """
import sys as _sys
_sys.path.insert(0, {root!r})
import warnings, json
from dataclasses import asdict
from tools.figure_check import check_explorer, explorer_name
from benchmarks.bench_sliders import discover
findings = []
for name, factory in discover():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explorer = factory()
    except TypeError:  # needs data that only a notebook builds
        continue
    if explorer_name(explorer) in {skip!r}:
        continue
    findings += check_explorer(
        explorer, f"{{name}}() explorer {{explorer_name(explorer)}}")
print("FINDINGS=" + json.dumps({{"findings": [asdict(f) for f in findings],
                                "explorers": []}}))
"""


def check_factories(skip: set[str]) -> list[Finding]:
    """Explorers no notebook shows, built with their defaults."""
    import nbformat

    setup = nbformat.v4.new_code_cell(
        "%matplotlib inline\nfrom itutils.style import use_course_style\n"
        "use_course_style()")
    probe = nbformat.v4.new_code_cell(FACTORIES.format(root=str(ROOT),
                                                       skip=sorted(skip)))
    return _run([setup, probe], ROOT)[0]


def check_course(paths: list[Path] | None = None) -> list[Finding]:
    """Every chapter's figures and explorers, then the other explorers."""
    paths = paths or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    findings, shown = [], set()
    for path in paths:
        found, explorers = check_notebook(path)
        findings += found
        shown.update(explorers)
    findings += check_factories(shown)
    return findings


# --- report ---------------------------------------------------------------------

def report(findings: list[Finding]) -> str:
    """Markdown: findings grouped by where they are."""
    lines = []
    by_where: dict[str, list[Finding]] = {}
    for f in findings:
        by_where.setdefault(f.where, []).append(f)
    for where in sorted(by_where):
        lines.append(f"- **{where}**")
        lines += [f"  - {f.kind}: {f.detail}" for f in by_where[where]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    matplotlib.use("Agg")
    findings = check_course(args.notebooks or None)
    print(report(findings) or "no findings")
    print(f"\n{len(findings)} findings in "
          f"{len({f.where for f in findings})} figures/explorers")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

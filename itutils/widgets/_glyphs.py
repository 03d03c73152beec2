"""A canvas that rasterises each glyph once, for the explorers' live text.

Matplotlib's Agg renderer asks FreeType to hint and rasterise every glyph of
every string it paints, each time: about 0.1 ms a glyph, most of what a
number in a live layer costs to paint. A glyph's bitmap depends only on the
font, its size, the glyph and where the pen sits *within* a pixel (FreeType
positions in 1/64 pixel); moving the pen by whole pixels moves the bitmap by
as many pixels. So :class:`GlyphCachingCanvas` keeps each bitmap under that
key and paints it at the whole-pixel offset: the same pixels, glyph for
glyph (the explorer tests compare every picture with one drawn on a plain
``FigureCanvasAgg``), without asking FreeType again.

Only horizontal, plain text takes this path; rotated text, mathtext boxes
and synthetic slant or stretch (usetex) go to matplotlib's own code, as does
everything on a matplotlib without the private glyph API this relies on
(``FT2Font._render_glyph``, new in 3.11).
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import (
    FigureCanvasAgg,
    RendererAgg,
    get_hinting_flag,
)
from matplotlib.ft2font import FT2Font, RenderMode

_SUBPIXELS = 0x40  # FreeType's 26.6 fixed point: 64 positions per pixel
_NO_ROTATION = np.array([[0x10000, 0], [0, 0x10000]])  # 16.16 identity
_MAX_GLYPHS = 8192  # a few MB of small bitmaps; cleared when full

_bitmaps: dict = {}


def _glyph_bitmap(font, size, dpi, glyph_index, subpixel_x, subpixel_y,
                  load_flags, antialiased):
    """The glyph's bitmap with the pen at (subpixel_x, subpixel_y) / 64 px,
    and its (left, top) in whole pixels from there."""
    key = (font, size, dpi, glyph_index, subpixel_x, subpixel_y, load_flags,
           antialiased)
    found = _bitmaps.get(key)
    if found is None:
        font.set_size(size, dpi)
        font._set_transform(_NO_ROTATION, [subpixel_x, subpixel_y])
        bitmap = font._render_glyph(
            glyph_index, load_flags,
            RenderMode.NORMAL if antialiased else RenderMode.MONO)
        # A copy: FreeType reuses the memory for the next glyph.
        buffer = np.array(bitmap.buffer)
        if not antialiased:
            buffer *= 0xFF
        if len(_bitmaps) >= _MAX_GLYPHS:
            _bitmaps.clear()
        found = _bitmaps[key] = (buffer, bitmap.left, bitmap.top)
    return found


class _GlyphCachingRenderer(RendererAgg):
    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):
        glyphs, boxes = list(glyphs), list(boxes)
        if angle or boxes or any(slant or extend != 1
                                 for _, _, _, slant, extend, _, _ in glyphs):
            return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
        load_flags = get_hinting_flag()
        antialiased = gc.get_antialiased()
        height = self.height
        for font, size, glyph_index, _, _, dx, dy in glyphs:  # dy is upwards
            # The pen in 1/64 px, FreeType's y upwards: whole pixels and the
            # rest, as matplotlib rounds it.
            whole_x, subpixel_x = divmod(round(_SUBPIXELS * (x + dx)), _SUBPIXELS)
            whole_y, subpixel_y = divmod(round(_SUBPIXELS * (height - y + dy)),
                                         _SUBPIXELS)
            buffer, left, top = _glyph_bitmap(font, size, self.dpi, glyph_index,
                                              subpixel_x, subpixel_y, load_flags,
                                              antialiased)
            # draw_text_image's y is downwards, at the bitmap's bottom side.
            self._renderer.draw_text_image(
                buffer, left + whole_x,
                int(height) - (top + whole_y) + buffer.shape[0], 0, gc)


_SUPPORTED = (hasattr(FT2Font, "_render_glyph") and hasattr(FT2Font, "_set_transform")
              and hasattr(RendererAgg, "_draw_text_glyphs_and_boxes"))


class GlyphCachingCanvas(FigureCanvasAgg):
    """``FigureCanvasAgg`` whose renderer rasterises each glyph once.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(1, 1))
    >>> _ = fig.text(0.5, 0.5, "0.25")
    >>> canvas = GlyphCachingCanvas(fig)
    >>> canvas.draw()
    >>> plain = FigureCanvasAgg(Figure(figsize=(1, 1)))
    >>> _ = plain.figure.text(0.5, 0.5, "0.25")
    >>> plain.draw()
    >>> bytes(canvas.buffer_rgba()) == bytes(plain.buffer_rgba())
    True
    """

    def get_renderer(self):
        renderer = super().get_renderer()
        if _SUPPORTED and type(renderer) is RendererAgg:
            # A new renderer (matplotlib makes one per canvas size and dpi):
            # the same object, with the glyph cache in its text path.
            renderer.__class__ = _GlyphCachingRenderer
        return renderer

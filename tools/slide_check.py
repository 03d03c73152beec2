"""Do the slides fit a 1280x720 screen? Step through every deck in Chromium.

Usage::

    python -m tools.slide_check               # build the decks, check them all
    python -m tools.slide_check --no-build    # check _build/slides as it is

Each deck that ``make slides`` builds is opened at 1280x720 in headless
Chromium (from ``_build/slides``, with the local reveal.js and MathJax that
``make vendor`` installs). Every slide and every fragment is stepped through
with reveal.js's own API (``Reveal.next()``); at each step the current slide
is measured. A slide *overflows* when

- its content is taller or wider than the slide (reveal.js's configured
  size, which it scales to the screen), so that something is cut off; or
- a code block is wider than its box, so that code is cut at the right edge
  (or needs a scroll bar); or
- a picture is shown at less than 98 % of its own width, shrinking its
  text (a figure narrower than :data:`itutils.style.SLIDE_COLUMN_PX` must
  not be).

It also measures the widest an image may be on a slide, on screen, which
:data:`itutils.style.SLIDE_COLUMN_PX` must not exceed (the figure check
computes slide text sizes from it). ``tests/test_slides.py`` runs this and
fails on any overflowing slide.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLIDES = ROOT / "_build" / "slides"
VIEWPORT = {"width": 1280, "height": 720}
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

REVEAL = """() => {
  if (!window.Reveal && window.requirejs) {
    const defined = requirejs.s.contexts._.defined;
    const key = Object.keys(defined).find(k => /reveal\\.js$/.test(k));
    if (key && defined[key]) window.Reveal = defined[key];
  }
  return window.Reveal && Reveal.isReady && Reveal.isReady();
}"""

# Measures the current slide in slide units (reveal.js lays a slide out at
# its configured size, then scales it to the screen).
MEASURE = """() => {
  const slide = Reveal.getCurrentSlide();
  const config = Reveal.getConfig();
  const scale = Reveal.getScale();
  const idx = Reveal.getIndices();
  // The slide's name: its heading without math (typeset or not) and without
  // nbconvert's anchor link, so that it is the same from one run to the next.
  const heading = slide.querySelector('h1, h2, h3, h4');
  let text = '(no heading)';
  if (heading) {
    const copy = heading.cloneNode(true);
    copy.querySelectorAll('script, .MathJax, .MathJax_Preview, .MathJax_CHTML, '
      + '.MathJax_SVG, mjx-container, .anchor-link').forEach(n => n.remove());
    text = copy.textContent.replace(/\\$[^$]*\\$/g, '').replace(/\\s+/g, ' ').trim();
  }
  // Content height: from the slide's top to the lowest bottom of its
  // children (a slide made scrollable keeps its content's height here).
  const top = slide.getBoundingClientRect().top;
  let bottom = 0, right = 0;
  const left = slide.getBoundingClientRect().left;
  for (const el of slide.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.position === 'fixed') continue;
    bottom = Math.max(bottom, r.bottom);
    right = Math.max(right, r.right);
  }
  const cut = [...slide.querySelectorAll('pre')]
    .filter(p => p.scrollWidth > p.clientWidth + 1)
    .map(p => p.innerText.split('\\n').reduce((a, b) => a.length > b.length ? a : b)
                .slice(0, 60));
  const images = [...slide.querySelectorAll('img')].filter(i => i.naturalWidth)
    .map(i => ({natural: i.naturalWidth,
                shown: i.getBoundingClientRect().width,
                maxShown: i.parentElement.getBoundingClientRect().width}));
  return {h: idx.h, v: idx.v, f: idx.f === undefined ? -1 : idx.f,
          title: text.slice(0, 70), width: config.width, height: config.height,
          scale: scale,
          contentHeight: (bottom - top) / scale,
          contentWidth: (right - left) / scale,
          cutCode: cut, images: images};
}"""


@dataclass
class Slide:
    deck: str
    h: int
    v: int
    title: str
    problems: list[str]

    def key(self) -> str:
        return f"{self.deck} {self.h}.{self.v} | {self.title}"


def _problems(m: dict) -> list[str]:
    found = []
    if m["contentHeight"] > m["height"] + 1:
        found.append(f"{m['contentHeight']:.0f} px tall, the slide is {m['height']}")
    if m["contentWidth"] > m["width"] + 1:
        found.append(f"{m['contentWidth']:.0f} px wide, the slide is {m['width']}")
    for line in m["cutCode"]:
        found.append(f"code cut at the right edge: {line.strip()!r}")
    for image in m["images"]:
        shown = image["shown"] / m["scale"]  # in slide units, as laid out
        if shown < 0.98 * image["natural"]:
            found.append(f"a {image['natural']} px picture shrunk to "
                         f"{image['shown']:.0f} px on screen")
    return found


def check_deck(page, path: Path) -> tuple[list[Slide], float]:
    """Every slide of one deck; and the widest image column seen (screen px)."""
    page.goto(path.as_uri())
    # The decks load reveal.js with require.js (no global): take it from
    # require.js's table of loaded modules.
    page.wait_for_function(REVEAL, timeout=60_000)
    # MathJax typesets after load; measure the slides as they end up.
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.Hub || MathJax.Hub.queue.running === 0"
        " && MathJax.Hub.queue.pending === 0", timeout=60_000)
    page.evaluate("() => Reveal.slide(0, 0, -1)")
    slides: dict[tuple[int, int], Slide] = {}
    column = 0.0
    for _ in range(10_000):
        page.wait_for_timeout(50)  # transitions are off; let layout settle
        m = page.evaluate(MEASURE)
        slide = slides.setdefault((m["h"], m["v"]), Slide(
            path.name.removesuffix(".slides.html"), m["h"], m["v"], m["title"], []))
        slide.problems += [p for p in _problems(m) if p not in slide.problems]
        for image in m["images"]:
            column = max(column, image["maxShown"])
        if page.evaluate("() => Reveal.isLastSlide() && "
                         "!Reveal.availableFragments().next"):
            break
        page.evaluate("() => Reveal.next()")
    return list(slides.values()), column


def check_decks(folder: Path = SLIDES) -> tuple[list[Slide], float]:
    """Every slide of every deck in ``folder``; the widest image column."""
    from playwright.sync_api import sync_playwright

    from tools.jupyterlab import CHROMIUM_ARGS

    decks = sorted(folder.glob("*.slides.html"))
    if not decks:
        raise FileNotFoundError(f"no decks in {folder}: run `make slides`")
    slides, column = [], 0.0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            # The check steps quickly: no transition animations.
            context.add_init_script(
                "window.addEventListener('DOMContentLoaded', () => {"
                " const s = document.createElement('style');"
                " s.textContent = '.reveal .slides section { transition: none "
                "!important; }'; document.head.appendChild(s); });")
            page = context.new_page()
            for deck in decks:
                found, widest = check_deck(page, deck)
                slides += found
                column = max(column, widest)
        finally:
            browser.close()
    return slides, column


def summary(slides: list[Slide]) -> str:
    bad = [s for s in slides if s.problems]
    lines = [f"{len(bad)} of {len(slides)} slides overflow"]
    for s in bad:
        lines.append(f"- {s.key()}: " + "; ".join(s.problems))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_build:
        from tools import build_site
        build_site.build("slides")
    slides, column = check_decks()
    print(summary(slides))
    print(f"widest image column on a slide: {column:.0f} px on screen")
    return 1 if any(s.problems for s in slides) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Build the course as a static site or as reveal.js slides, offline.

Usage::

    python -m tools.build_site html     # _build/html: every notebook + index.html
    python -m tools.build_site slides   # _build/slides: one reveal.js deck per chapter
    python -m tools.build_site check    # report cells without slide metadata

The pages are made from the notebooks *as committed* (already executed by
tools.execute_notebook), so no kernel runs and every plot is the stored one.
The build opens no network connection (a guard turns any attempt into an
error) and fails on any warning. The pages load reveal.js, MathJax,
require.js and jQuery when viewed: from ``_build/vendor`` when ``make vendor``
has put copies there (npm), otherwise from the public CDNs nbconvert uses.

Explorer cells: the committed notebooks carry no widget state, so a slider
cannot be shown on a static page. Such an output keeps whatever static
fallback it carries (an image, if the explorer provides one); otherwise it
becomes a short note saying where to move the sliders.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import socket
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, SlidesExporter
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
VENDOR = BUILD / "vendor" / "node_modules"
SECTIONS = {"notebooks": "Chapters", "exercises": "Exercises"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
EXPLORER_NOTE = (
    '<p class="explorer-note"><em>Interactive explorer: open this notebook in '
    "JupyterLab (<code>make lab</code>) and run it to move the sliders.</em></p>"
)
WIDGET_NOTE = (
    '<p class="widget-note"><em>An interactive widget: it shows when the '
    "notebook runs in JupyterLab (<code>make lab</code>).</em></p>"
)
EXPLORER_TEXT = "An explorer: run the notebook to move its sliders."
# tqdm's text for a progress bar widget: "beta=1:   0%|          | 0/150 [...]".
PROGRESS = re.compile(r"^(?P<desc>.*?):?\s*\d+%\|.*?\|\s*\d+/(?P<total>\d+)")


def progress_note(text: str) -> str | None:
    """A caption for a progress bar saved without its widget state, else None.

    The bar's text in a saved notebook is its first state (0 %), which a
    reader would take for a run that never started; say what it counted.

    Examples
    --------
    >>> note = progress_note("beta sweep:   0%|          | 0/6 [00:00<?, ?it/s]")
    >>> note.removeprefix('<p class="progress-note"><em>')
    'Progress bar (beta sweep: 6 steps), shown while the cell runs.</em></p>'
    >>> progress_note("VBox(children=(FloatSlider(value=0.2),))") is None
    True
    """
    match = PROGRESS.match(text.strip())
    if match is None:
        return None
    desc = match["desc"].strip()
    what = f"{html.escape(desc)}: " if desc else ""
    return (f'<p class="progress-note"><em>Progress bar ({what}{match["total"]} '
            "steps), shown while the cell runs.</em></p>")

# The decks at 1280x720 (a projector, a laptop sharing its screen): reveal.js
# lays a slide out at SLIDE_SIZE and scales it to the screen (here by 1.02, as
# its default margin leaves 4 %), so these pixel sizes are screen pixels. Sizes
# that fit a chapter's ordinary slide (a heading, about 12 lines of prose, or
# 15 lines of code of at most 88 characters, or one figure at most 7.5 x 4
# inches at 100 dpi) and read from the back of a room: prose 22 px, code 16 px
# (88 characters are 850 px wide), no "In [n]:" prompts (they cost 110 px of
# width and say nothing in a lecture), headings in their own case, not
# uppercase. Images are shown at their own size, or scaled down to the width
# of the slide; tools/slide_check.py measures both in Chromium.
SLIDE_SIZE = (1200, 675)
SLIDE_CSS = """
<style id="course-slides">
:root {
  --jp-content-font-size1: 22px;
  --jp-ui-font-size1: 18px;
  --jp-code-font-size: 16px;
  --jp-cell-prompt-width: 0px;
}
.reveal { font-size: 22px; }
.reveal h1, .reveal h2, .reveal h3, .reveal h4 {
  text-transform: none; line-height: 1.2; margin: 0 0 0.35em;
}
.reveal h1 { font-size: 38px; }
.reveal h2 { font-size: 32px; }
.reveal h3 { font-size: 26px; }
.reveal h4 { font-size: 22px; }
.reveal p, .reveal li { line-height: 1.35; }
.reveal p { margin: 0.45em 0; }
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
.reveal .jp-Cell { padding: 2px 0; }
.reveal pre, .reveal div.output_area pre, .reveal .jp-RenderedText pre,
.reveal .highlight pre {
  font-size: 16px; line-height: 1.3; width: auto; box-sizing: border-box;
}
.reveal .jp-OutputArea-output img, .reveal section img {
  max-width: 100%; height: auto; margin: 0;
}
</style>
"""

# Local copies installed by `make vendor` (npm), relative to a page in
# _build/<html|slides>/[section/]; None when not installed.
VENDOR_FILES = {
    "mathjax_url": "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "require_js_url": "requirejs/require.js",
    "jquery_url": "jquery/dist/jquery.min.js",
}


class StaticPage(Preprocessor):
    """Make the committed outputs readable on a static page.

    * Widget views without saved state become their static fallback: an
      explorer's figure (the PNG it carries); a progress bar becomes a caption
      saying what it counted (its saved text is its 0 % state); an explorer
      without a figure, a note saying where its sliders are; any other widget,
      a note that it shows when the notebook runs.
    * Every figure gets alternative text: the cell's first comment, else the
      section heading it belongs to (nbconvert warns about images without it).
    """

    def preprocess(self, nb, resources):
        state = nb.metadata.get("widgets", {}).get(
            "application/vnd.jupyter.widget-state+json", {}
        ).get("state", {})
        heading = title_of(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                heading = _first_heading(cell.source) or heading
                continue
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                view = data.get(WIDGET_VIEW)
                if view is not None and view.get("model_id") not in state:
                    del data[WIDGET_VIEW]
                    # A widget's text/plain is its repr ("VBox(children=...)"),
                    # a progress bar's its first state: no use to a reader.
                    text = data.pop("text/plain", "")
                    if isinstance(text, list):
                        text = "".join(text)
                    if not data:
                        data["text/html"] = (
                            EXPLORER_NOTE if text.startswith(EXPLORER_TEXT)
                            else progress_note(text) or WIDGET_NOTE)
                if "image/png" in data and "text/html" not in data:
                    alt = html.escape(_figure_caption(cell.source, heading), quote=True)
                    data["text/html"] = (
                        f'<img src="data:image/png;base64,{data["image/png"].strip()}"'
                        f' alt="{alt}">'
                    )
                    del data["image/png"]
        return nb, resources


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _figure_caption(source: str, heading: str) -> str:
    """What a figure shows, in words: the cell's first comment or its section."""
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("#") and "NBVAL" not in line:
            return line.lstrip("#").strip()
    return f"Figure: {heading}" if heading else "Figure"


@contextmanager
def no_network():
    """Make any network connection attempted by the build an error."""
    original = socket.socket.connect

    def refuse(self, address):
        if self.family == socket.AF_UNIX:
            return original(self, address)
        raise OSError(f"the site build must not use the network (tried {address})")

    socket.socket.connect = refuse
    try:
        yield
    finally:
        socket.socket.connect = original


@contextmanager
def warnings_are_errors():
    """Turn Python warnings and nbconvert log warnings into a failed build."""
    caught: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            caught.append(f"{record.name}: {record.getMessage()}")

    handler = Collect(level=logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            yield
        caught.extend(f"{w.category.__name__}: {w.message}" for w in recorded)
    finally:
        logging.getLogger().removeHandler(handler)
    if caught:
        raise SystemExit("the build printed warnings:\n  " + "\n  ".join(caught))


def notebooks(root: Path = ROOT) -> dict[str, list[Path]]:
    """The notebooks of each section, in order (missing sections are empty)."""
    return {
        section: sorted((root / section).glob("[0-9]*.ipynb"))
        for section in SECTIONS
    }


def title_of(nb) -> str:
    """The first Markdown heading, without its #s (else the file name)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _first_heading(cell.source):
            return _first_heading(cell.source)
    return ""


def vendor_urls(depth: int) -> dict[str, str]:
    """Exporter URLs pointing at _build/vendor, if ``make vendor`` ran."""
    if not VENDOR.is_dir():
        return {}
    up = "../" * depth + "vendor/node_modules/"
    return {name: up + path for name, path in VENDOR_FILES.items()
            if (VENDOR / path.split("?")[0]).exists()}


def exporter(kind: str, depth: int):
    """An HTML or slides exporter with the static-widget preprocessor."""
    urls = vendor_urls(depth)
    # No notebook draws Mermaid diagrams, but the slides template imports
    # Mermaid on every page: a do-nothing module inline costs no request.
    urls["mermaid_js_url"] = "data:text/javascript,export default {initialize() {}}"
    if kind == "slides":
        reveal = VENDOR / "reveal.js"
        # "white" uses fonts shipped with reveal.js; "simple" fetches web fonts.
        ex = SlidesExporter(reveal_theme="white", **urls)
        if reveal.is_dir():
            ex.reveal_url_prefix = "../" * depth + "vendor/node_modules/reveal.js"
        # A slide that is still too tall stays reachable by scrolling;
        # tools/slide_check.py counts it as overflowing all the same.
        ex.reveal_scroll = True
        ex.reveal_width, ex.reveal_height = (str(n) for n in SLIDE_SIZE)
        ex.reveal_number = "c/t"  # slide numbers, for "back to slide 12"
    else:
        ex = HTMLExporter(template_name="lab", **urls)
    ex.register_preprocessor(StaticPage(), enabled=True)
    return ex


NAV_CSS = """
<style id="course-nav">
nav.course-nav { display: flex; justify-content: space-between; gap: 1em;
  max-width: 1100px; margin: 0.5em auto; padding: 0.5em 1em;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 15px;
  border-bottom: 1px solid #ccc; }
nav.course-nav.bottom { border-bottom: 0; border-top: 1px solid #ccc; }
nav.course-nav a { text-decoration: none; }
nav.course-nav .none { visibility: hidden; }
</style>
"""


def nav_bar(prev: tuple[str, str] | None, index: str,
            next_: tuple[str, str] | None, where: str) -> str:
    """Previous / index / next links for a page (``(href, title)`` or None).

    Examples
    --------
    >>> bar = nav_bar(None, "index.html", ("02_kl.html", "Chapter 2"), "top")
    >>> 'href="index.html"' in bar, 'href="02_kl.html" rel="next"' in bar
    (True, True)
    >>> 'rel="prev"' in bar  # the first page has no previous one
    False
    """
    def link(target, rel, arrow_before, arrow_after):
        if target is None:
            return f'<span class="{rel} none">{arrow_before}{arrow_after}</span>'
        href, title = (html.escape(t, quote=True) for t in target)
        return (f'<a href="{href}" rel="{rel}">{arrow_before}{title}'
                f"{arrow_after}</a>")

    return (
        f'<nav class="course-nav {where}" aria-label="chapters">'
        + link(prev, "prev", "&larr; ", "")
        + f'<a href="{html.escape(index, quote=True)}">Index of the course</a>'
        + link(next_, "next", "", " &rarr;")
        + "</nav>"
    )


def convert(kind: str, source: Path, target_dir: Path, depth: int,
            nav: tuple | None = None) -> Path:
    """Convert one notebook; ``nav`` = (prev, index href, next) for html pages."""
    nb = nbformat.read(source, as_version=4)
    body, _ = exporter(kind, depth).from_notebook_node(
        nb, resources={"metadata": {"name": title_of(nb) or source.stem}}
    )
    if kind == "slides":
        body = body.replace("</head>", SLIDE_CSS + "</head>", 1)
    elif nav is not None:
        body = body.replace("</head>", NAV_CSS + "</head>", 1)
        body = body.replace("<main>", "<main>\n" + nav_bar(*nav, "top"), 1)
        body = body.replace("</main>", nav_bar(*nav, "bottom") + "\n</main>", 1)
    suffix = ".slides.html" if kind == "slides" else ".html"
    target = target_dir / (source.stem + suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def index_page(entries: dict[str, list[tuple[str, str]]], heading: str) -> str:
    """A plain HTML page linking every converted notebook, by section."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(heading)}</title>",
        "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;"
        "line-height:1.5}li{margin:.3em 0}</style></head><body>",
        f"<h1>{html.escape(heading)}</h1>",
        "<p>The notebooks as committed, with their outputs. The interactive "
        "explorers need a running kernel: clone the repository and run "
        "<code>make lab</code>.</p>",
    ]
    for section, links in entries.items():
        if not links:
            continue
        parts.append(f"<h2>{html.escape(SECTIONS[section])}</h2><ol>")
        parts += [f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>'
                  for href, text in links]
        parts.append("</ol>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build(kind: str, out: Path | None = None, root: Path = ROOT) -> Path:
    """Convert every notebook; write an index; return the output folder."""
    out = out or BUILD / kind
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    entries: dict[str, list[tuple[str, str]]] = {}
    sections = notebooks(root)
    if kind == "slides":
        sections = {"notebooks": sections["notebooks"]}  # lectures are the chapters
    suffix = ".slides.html" if kind == "slides" else ".html"
    titles = {path: title_of(nbformat.read(path, as_version=4)) or path.stem
              for paths in sections.values() for path in paths}
    with no_network(), warnings_are_errors():
        for section, paths in sections.items():
            entries[section] = []
            for i, path in enumerate(paths):
                # Chapters at the top of the site, exercises in a sub-folder.
                sub = out if section == "notebooks" else out / section
                depth = 1 if sub == out else 2
                # Neighbours in the same section, by relative link.
                prev = ((paths[i - 1].stem + suffix, titles[paths[i - 1]])
                        if i > 0 else None)
                next_ = ((paths[i + 1].stem + suffix, titles[paths[i + 1]])
                         if i + 1 < len(paths) else None)
                index = "../" * (depth - 1) + "index.html"
                page = convert(kind, path, sub, depth, nav=(prev, index, next_))
                entries[section].append(
                    (page.relative_to(out).as_posix(), titles[path])
                )
                print(f"{kind}: {path.relative_to(root)} -> {page.relative_to(ROOT)}"
                      if page.is_relative_to(ROOT) else f"{kind}: {page}")
    heading = "Information Theory for Machine Learning"
    if kind == "slides":
        heading += ": slides"
    (out / "index.html").write_text(index_page(entries, heading), encoding="utf-8")
    if not VENDOR.is_dir():
        print("note: the pages load reveal.js/MathJax from public CDNs when viewed; "
              "`make vendor` installs local copies (npm) for offline viewing")
    return out


def slide_metadata_problems(root: Path = ROOT) -> list[str]:
    """Cells of the chapter notebooks whose slide metadata is missing or odd."""
    problems = []
    for path in notebooks(root)["notebooks"]:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            kind = cell.metadata.get("slideshow", {}).get("slide_type")
            where = f"{path.name} cell {i} ({cell.cell_type})"
            if kind is None:
                problems.append(f"{where}: no slideshow.slide_type")
            elif kind not in SLIDE_TYPES:
                problems.append(f"{where}: unknown slide_type {kind!r}")
        if nb.cells and nb.cells[0].metadata.get("slideshow", {}).get(
                "slide_type") != "slide":
            problems.append(f"{path.name}: the first cell does not start a slide")
        first_code = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first_code is not None and first_code.metadata.get(
                "slideshow", {}).get("slide_type") != "skip":
            problems.append(f"{path.name}: the set-up (first code) cell is not 'skip'")
    return problems


def main(argv: list[str]) -> int:
    kinds = argv or ["html"]
    for kind in kinds:
        if kind == "check":
            problems = slide_metadata_problems()
            print("\n".join(problems) or "slide metadata: sensible on every cell")
            if problems:
                return 1
        elif kind in ("html", "slides"):
            build(kind)
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

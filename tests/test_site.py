"""The static site and the slides build offline, warning-free, from the notebooks.

tools/build_site.py is what `make html` and `make slides` run; here it builds
into a temporary folder. The build itself refuses network connections and
turns any warning (nbconvert's included) into a failure.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tools import build_site

CHAPTERS = build_site.notebooks()["notebooks"]

pytestmark = pytest.mark.skipif(not CHAPTERS, reason="no chapter notebook yet")


def test_every_chapter_cell_has_sensible_slide_metadata():
    # Authors set slide types by hand: set-up cells "skip", each idea a slide.
    assert build_site.slide_metadata_problems() == []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site.build("html", out=tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def slides(tmp_path_factory):
    return build_site.build("slides", out=tmp_path_factory.mktemp("slides"))


def test_index_lists_every_chapter_and_exercise(site):
    index = (site / "index.html").read_text()
    for section, paths in build_site.notebooks().items():
        for path in paths:
            folder = "" if section == "notebooks" else f"{section}/"
            page = f"{folder}{path.stem}.html"
            assert f'href="{page}"' in index
            assert (site / page).exists()
            title = build_site.title_of(nbformat.read(path, as_version=4))
            assert title.split()[0] in index


def test_pages_keep_every_stored_figure_with_alt_text(site):
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        stored = sum("image/png" in o.get("data", {})
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        page = (site / f"{path.stem}.html").read_text()
        images = re.findall(r"<img [^>]*>", page)
        pngs = [i for i in images if "data:image/png" in i]
        assert len(pngs) == stored, path.name
        assert all(' alt="' in i for i in images), path.name


def test_explorers_without_widget_state_leave_no_empty_widget_view(site):
    for path in CHAPTERS:
        page = (site / f"{path.stem}.html").read_text()
        assert "application/vnd.jupyter.widget-view+json" not in page, path.name
        assert "VBox(children=" not in page, path.name


def test_slides_skip_setup_cells_and_show_outputs(slides):
    for path in CHAPTERS:
        deck = (slides / f"{path.stem}.slides.html").read_text()
        assert deck.count("<section") >= 2, path.name
        # The set-up cell (first code cell, "skip") is not on any slide.
        nb = nbformat.read(path, as_version=4)
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert "%matplotlib inline" in setup.source
        assert "%matplotlib inline" not in deck, path.name
        assert "data:image/png" in deck, path.name


def test_widget_output_becomes_its_static_snapshot_or_a_note():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    snapshot = nbformat.v4.new_output("display_data", data={
        build_site.WIDGET_VIEW: view, "image/png": "iVBORw0KGgo=",
        "text/plain": "VBox()"})
    bare = nbformat.v4.new_output("display_data", data={
        build_site.WIDGET_VIEW: view, "text/plain": "VBox()"})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Binary entropy"),
        nbformat.v4.new_code_cell("# the explorer\nexplorer", outputs=[snapshot, bare]),
    ])
    nb, _ = build_site.StaticPage().preprocess(nb, {})
    first, second = (o["data"] for o in nb.cells[1].outputs)
    assert list(first) == ["text/html"]
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in first["text/html"]
    assert 'alt="the explorer"' in first["text/html"]
    # A widget that is not an explorer does not speak of sliders.
    assert second == {"text/html": build_site.WIDGET_NOTE}


def test_every_page_links_previous_index_and_next(site):
    for section, paths in build_site.notebooks().items():
        folder = "" if section == "notebooks" else f"{section}/"
        index = "index.html" if section == "notebooks" else "../index.html"
        for i, path in enumerate(paths):
            page = (site / f"{folder}{path.stem}.html").read_text()
            navs = re.findall(r'<nav class="course-nav (?:top|bottom)".*?</nav>',
                              page, re.S)
            assert len(navs) == 2, path.name  # above and below the notebook
            for nav in navs:
                assert f'href="{index}"' in nav, path.name
                assert ('rel="prev"' in nav) == (i > 0), path.name
                assert ('rel="next"' in nav) == (i + 1 < len(paths)), path.name
                if i > 0:
                    assert f'href="{paths[i - 1].stem}.html" rel="prev"' in nav
                if i + 1 < len(paths):
                    assert f'href="{paths[i + 1].stem}.html" rel="next"' in nav
            # Every link of the bar leads to a page that exists.
            for href in re.findall(r'href="([^"]+)"', navs[0]):
                assert (site / folder / href).resolve().exists(), (path.name, href)


def test_progress_bars_get_a_caption_not_the_explorer_note():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    bar = nbformat.v4.new_output("display_data", data={
        build_site.WIDGET_VIEW: view,
        "text/plain": "beta=1:   0%|          | 0/150 [00:00<?, ?it/s]"})
    other = nbformat.v4.new_output("display_data", data={
        build_site.WIDGET_VIEW: view, "text/plain": "IntSlider(value=3)"})
    explorer = nbformat.v4.new_output("display_data", data={
        build_site.WIDGET_VIEW: view, "text/plain": build_site.EXPLORER_TEXT})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "train()", outputs=[bar, other, explorer])])
    nb, _ = build_site.StaticPage().preprocess(nb, {})
    shown = [o["data"] for o in nb.cells[0].outputs]
    assert list(shown[0]) == ["text/html"]
    assert "Progress bar (beta=1: 150 steps)" in shown[0]["text/html"]
    assert "slider" not in shown[0]["text/html"]
    assert shown[1] == {"text/html": build_site.WIDGET_NOTE}
    assert shown[2] == {"text/html": build_site.EXPLORER_NOTE}


def test_committed_progress_bars_are_captioned_on_the_site(site):
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        bars = sum(
            build_site.progress_note("".join(o.get("data", {}).get("text/plain", "")))
            is not None
            for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        page = (site / f"{path.stem}.html").read_text()
        assert page.count('class="progress-note"') == bars, path.name

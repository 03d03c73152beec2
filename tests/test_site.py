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
    assert second == {"text/html": build_site.EXPLORER_NOTE}

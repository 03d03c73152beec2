"""Real-browser test: chapter notebooks run and their explorers answer in JupyterLab.

One JupyterLab server (this environment's, on a loopback port with a random
token) serves COPIES of notebooks/ from a temporary folder, so JupyterLab's
autosave never touches the committed notebooks. Headless Debian Chromium,
driven by Playwright, opens each chapter, runs Run > Run All Cells, waits for
the kernel, then moves one slider of one explorer with the keyboard and checks
that the explorer's figure (and its text, if it shows any) changed. Any
traceback in a cell output, any "Error displaying widget" and any browser
console error fails the test. Screenshots go to test-artifacts/.

Skipped, with the fix in the message, when no Chromium is installed
(``apt-get install chromium``; ``CHROMIUM=/path/to/chrome`` for another one).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests import _jupyterlab as lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

# Which explorer to move in each chapter: (text in its title, slider label).
# None picks the first explorer / its first slider. A chapter whose notebook
# does not exist yet is skipped, not failed.
CHAPTERS = {
    "01_entropy": ("Binary entropy", "p = P(X=1)"),
    "02_kl_cross_entropy": ("KL is not symmetric", "mean of Q"),
    "03_mutual_information": ("KSG", "rho"),
    "04_vae": ("beta-VAE", "beta"),
    "05_loss_functions": ("Label smoothing", "eps"),
    "06_elbo": ("Importance-weighted", "k"),
}

# Generous: the VAE chapters train small models when run in the browser.
RUN_TIMEOUT_MS = 240_000
STEP_TIMEOUT_MS = 30_000

# Browser console messages that are not errors of the course. Each pattern is
# narrow and says why it is harmless:
BENIGN_CONSOLE = [
    # Chromium reports the missing favicon of a fresh profile as a failed load.
    re.compile(r"favicon\.ico.*404|404.*favicon", re.I),
]

if not CHROMIUM.exists() and os.environ.get("CI"):
    # .ci/run installs Chromium first: in CI a skipped browser test is a bug.
    pytest.fail(f"CI: no Chromium at {CHROMIUM}; .ci/run should have installed it",
                pytrace=False)
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's with "
        "`apt-get install chromium` (or set CHROMIUM=/path/to/chromium) "
        "to run the browser tests",
        allow_module_level=True,
    )

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is in requirements-dev.txt"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """JupyterLab serving copies of notebooks/ (autosave can only touch copies)."""
    root = tmp_path_factory.mktemp("lab-root")
    state = tmp_path_factory.mktemp("lab-state")
    shutil.copytree(NOTEBOOKS, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    ARTIFACTS.mkdir(exist_ok=True)
    srv = lab.LabServer(root, state, ARTIFACTS / "jupyterlab.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=lab.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that records console errors; kernels are stopped afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(
        f"console: {m.text} ({m.location.get('url', '')})"))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"page error: {e}"))
    try:
        yield pg
    finally:
        context.close()
        server.shutdown_sessions()



def _real_console_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if not any(p.search(m) for p in BENIGN_CONSOLE)]


def _pick_explorer(page, title: str | None):
    panels = lab.explorers(page)
    # Widget views render after the cell's prompt shows its number.
    panels.first.wait_for(timeout=STEP_TIMEOUT_MS)
    if title is not None:
        matching = panels.filter(has_text=re.compile(re.escape(title), re.I))
        if matching.count():
            return matching.first
    return panels.first


def _pick_slider(panel, label: str | None):
    sliders = panel.locator(".widget-slider")
    if label is not None:
        matching = sliders.filter(has_text=label)
        if matching.count():
            return matching.first
    return sliders.first


def _figure_src(panel) -> str:
    image = panel.locator(".widget-output img").first
    image.wait_for(timeout=STEP_TIMEOUT_MS)
    return image.get_attribute("src") or ""


def _shown_text(panel) -> str:
    """The explorer's text other than its title and its controls.

    Today's Explorer prints its numbers inside the figure only, so this is
    empty; an explorer that also shows them as text (an HTML line, or text
    printed into its Output) gets that text checked too.
    """
    return panel.evaluate(
        """(node) => {
            const copy = node.cloneNode(true);
            const first = copy.firstElementChild;
            if (first && first.classList.contains('widget-html')) first.remove();
            copy.querySelectorAll('.widget-slider, .widget-dropdown, '
                + '.widget-toggle-buttons, .widget-readout, .widget-label, '
                + 'img').forEach(n => n.remove());
            return copy.innerText.trim();
        }"""
    )


def _move(slider, key: str) -> None:
    """One key press on the slider's handle: one value change, one redraw."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)


def _settled_figure(page, panel, old_src: str) -> str:
    """Wait for a new figure, then until it stops changing for a second."""
    page.wait_for_function(
        "([node, old]) => { const img = node.querySelector('.widget-output img');"
        " return img && img.getAttribute('src') !== old; }",
        arg=[panel.element_handle(), old_src],
        timeout=STEP_TIMEOUT_MS,
    )
    src = _figure_src(panel)
    for _ in range(STEP_TIMEOUT_MS // 1000):
        lab.wait_kernel_idle(page, STEP_TIMEOUT_MS)
        page.wait_for_timeout(1000)
        now = _figure_src(panel)
        if now == src:
            return src
        src = now
    return src


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_runs_and_explorer_answers(chapter, page, server):
    notebook = NOTEBOOKS / f"{chapter}.ipynb"
    if not notebook.exists():
        pytest.skip(f"{notebook.name} is not written yet")
    try:
        _check_chapter(chapter, notebook, page, server)
    except BaseException:
        # Keep a picture of what the page showed when it failed.
        page.screenshot(path=str(ARTIFACTS / f"{chapter}-failure.png"), full_page=True)
        raise


def _check_chapter(chapter, notebook, page, server):
    title, label = CHAPTERS[chapter]

    lab.open_notebook(page, server, notebook.name, RUN_TIMEOUT_MS)
    lab.run_all_cells(page, RUN_TIMEOUT_MS)
    page.screenshot(path=str(ARTIFACTS / f"{chapter}-run.png"), full_page=True)
    errors = lab.cell_errors(page)
    assert not errors, f"{chapter}: errors in cell outputs:\n" + "\n---\n".join(errors)

    panel = _pick_explorer(page, title)
    slider = _pick_slider(panel, label)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / f"{chapter}-explorer-before.png"))
    readout = slider.locator(".widget-readout")
    before = (readout.inner_text(), _figure_src(panel), _shown_text(panel))

    # PageUp moves the handle several steps in ONE value change (PageDown
    # when it is already at its maximum).
    _move(slider, "PageUp")
    if readout.inner_text() == before[0]:
        _move(slider, "PageDown")
    after_value = readout.inner_text()
    assert after_value != before[0], f"{chapter}: the slider did not move"

    # The redraw is asynchronous (a kernel round trip).
    after_src = _settled_figure(page, panel, before[1])
    panel.screenshot(path=str(ARTIFACTS / f"{chapter}-explorer-after.png"))
    after_text = _shown_text(panel)
    assert after_src != before[1], f"{chapter}: the figure did not change"
    assert before[2], f"{chapter}: the explorer shows no text readout of its numbers"
    assert after_text != before[2], (
        f"{chapter}: the explorer's numbers did not change "
        f"({before[0]} -> {after_value}): {after_text!r}"
    )

    errors = lab.cell_errors(page)
    assert not errors, f"{chapter}: errors after the move:\n" + "\n".join(errors)
    console = _real_console_errors(page.console_errors)
    assert not console, f"{chapter}: browser console errors:\n" + "\n".join(console)

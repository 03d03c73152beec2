"""The reveal.js decks fit a 1280x720 screen: a browser steps through every slide.

``make slides`` builds the decks (tools/build_site.py); this test builds
them into a temporary folder beside the local reveal.js and MathJax of
``make vendor`` (run here when missing and npm is installed), opens each at
1280x720 in headless Chromium and steps through every slide and fragment
with reveal.js's API (tools/slide_check.py). A slide overflows when its
content is taller or wider than the slide, when code is cut at the right
edge, or when a picture is shrunk below its own size. There is no
allow-list: one overflowing slide fails the test, and test-artifacts/slides.md
reports "k of N slides overflow" with the reasons.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from itutils.style import SLIDE_COLUMN_PX
from tools import build_site, slide_check

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
VENDOR = build_site.BUILD / "vendor"

if not slide_check.CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"CI: no Chromium at {slide_check.CHROMIUM}", pytrace=False)
    pytest.skip(f"no Chromium at {slide_check.CHROMIUM}: `apt-get install chromium`",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api",
                    reason="playwright is in requirements-dev.txt")


def _vendor() -> None:
    """The local reveal.js and MathJax the decks load (`make vendor`)."""
    if build_site.VENDOR.is_dir():
        return
    if shutil.which("npm") is None:
        message = ("the decks need reveal.js and MathJax: `make vendor` installs "
                   "them with npm (apt-get install npm)")
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    subprocess.run(["make", "vendor"], cwd=ROOT, check=True, capture_output=True)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    if not build_site.notebooks()["notebooks"]:
        pytest.skip("no chapter notebook yet")
    _vendor()
    out = tmp_path_factory.mktemp("site")
    # The decks link ../vendor/...: put them beside a link to the real one.
    (out / "vendor").symlink_to(VENDOR.resolve(), target_is_directory=True)
    decks = build_site.build("slides", out=out / "slides")
    return slide_check.check_decks(decks)


def test_every_slide_fits_1280x720(measured):
    slides, _ = measured
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "slides.md").write_text(slide_check.summary(slides) + "\n")
    assert not any(s.problems for s in slides), slide_check.summary(slides)


def test_a_figure_as_wide_as_the_slide_column_is_not_shrunk(measured):
    # The figure check computes slide text sizes from SLIDE_COLUMN_PX: images
    # up to that width must be shown at full size (screen px >= picture px).
    _, column = measured
    assert column >= SLIDE_COLUMN_PX, (
        f"the widest image column on a slide is {column:.0f} px on screen, "
        f"less than SLIDE_COLUMN_PX = {SLIDE_COLUMN_PX}")

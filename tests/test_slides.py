"""The reveal.js decks fit a 1280x720 screen: a browser steps through every slide.

``make slides`` builds the decks (tools/build_site.py); this test builds
them into a temporary folder beside the local reveal.js and MathJax of
``make vendor`` (run here when missing and npm is installed), opens each at
1280x720 in headless Chromium and steps through every slide and fragment
with reveal.js's API (tools/slide_check.py). A slide overflows when its
content is taller or wider than the slide, when code is cut at the right
edge, or when a picture is shrunk below its own size. Today's overflowing
slides are listed in ``tests/slide_allowlist.txt`` for the second pass
(which splits cells); the test fails on a new one and on a listed one that
now fits, and reports "k of N slides overflow" in test-artifacts/slides.md.
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
    bad = {s.key(): s for s in slides if s.problems}
    allowed = slide_check.read_allowlist()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "slides.md").write_text(slide_check.summary(slides) + "\n")
    (ARTIFACTS / "slide_allowlist.txt").write_text(
        slide_check.ALLOWLIST_HEADER + "".join(f"{key}\n" for key in bad))
    new = sorted(set(bad) - allowed)
    fitting = sorted(allowed - set(bad))
    message = [slide_check.summary(slides).splitlines()[0]]
    if new:
        message.append("slides that overflow and are not on the allow-list:\n"
                       + "\n".join(f"  {k}: {'; '.join(bad[k].problems)}"
                                   for k in new))
    if fitting:
        message.append(f"slides that now fit: delete them from "
                       f"{slide_check.ALLOWLIST.name} (or run `python -m "
                       "tools.slide_check --write-allowlist`):\n"
                       + "\n".join(f"  {k}" for k in fitting))
    assert not (new or fitting), "\n".join(message)


def test_a_figure_as_wide_as_the_slide_column_is_not_shrunk(measured):
    # The figure check computes slide text sizes from SLIDE_COLUMN_PX: images
    # up to that width must be shown at full size (screen px >= picture px).
    _, column = measured
    assert column >= SLIDE_COLUMN_PX, (
        f"the widest image column on a slide is {column:.0f} px on screen, "
        f"less than SLIDE_COLUMN_PX = {SLIDE_COLUMN_PX}")

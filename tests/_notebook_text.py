"""Read what a committed, executed notebook printed (for the number tests).

The number tests re-derive every printed value independently; these helpers
only find the printed text and compare at the printed precision.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NUMBER = r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)"


def compared_text(path: Path) -> str:
    """The stdout of every cell nbval compares, refusing stored errors."""
    nb = nbformat.read(path, as_version=4)
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "NBVAL_IGNORE_OUTPUT" in cell.source:
            continue
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue  # nbval does not compare it (the tag, as the comment)
        for out in cell.outputs:
            assert out.output_type != "error", "the committed notebook has an error"
            if out.output_type == "stream":
                assert out.name == "stdout", f"unexpected stderr output: {out.text}"
                chunks.append(out.text)
    return "".join(chunks)


def grab(text: str, pattern: str, count: int | None = None):
    """What ``pattern`` captures: one match, or exactly ``count`` of them."""
    matches = re.findall(pattern, text)
    expected = 1 if count is None else count
    assert len(matches) == expected, f"{pattern!r} matched {len(matches)} times"
    return matches[0] if count is None else matches


def agree(printed: str, reference: float, slack: float = 1e-9) -> None:
    """``printed`` is ``reference`` rounded to the printed precision (+ slack)."""
    if printed == "inf":
        assert reference == math.inf
        return
    if "e" in printed:  # scientific: compare to the printed significant digits
        digits = len(printed.split("e")[0].split(".")[1])
        assert reference == pytest.approx(float(printed), rel=0.5 * 10**-digits + 1e-12)
        return
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert abs(float(printed) - reference) <= 0.5 * 10**-decimals + slack, (
        printed,
        reference,
    )


def printed(name: str, snippet: str) -> str:
    """All stream text printed by the one code cell whose source has ``snippet``."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {snippet!r}"
    streams = [o for o in cells[0].outputs if o.output_type == "stream"]
    return "".join(o.text for o in streams)


def number_after(text: str, label: str) -> float:
    """The first number printed after ``label`` (a literal string)."""
    match = re.search(re.escape(label) + r"\D*?" + NUMBER, text)
    assert match, f"{label!r} not found in {text!r}"
    return float(match.group(1))


def assert_printed(printed_value: float, exact: float, places: int) -> None:
    """``printed_value`` is ``exact`` rounded to ``places`` decimals (half a unit)."""
    assert abs(printed_value - exact) <= 0.5 * 10.0**-places + 1e-12, (
        printed_value, exact, places)


def tagged_outputs(path: Path, prefix: str) -> tuple[dict, dict]:
    """``(printed, markdown)`` of an executed notebook.

    ``printed`` maps the one tag starting with ``prefix`` (``"nb01-"``) of
    each printing code cell to its stdout; ``markdown`` maps cell ids to
    markdown sources. Fails on an error output, on stderr, on a printing
    cell without exactly one such tag and on a tagged cell that prints
    nothing, so that every printed number has a named home in the tests.
    """
    nb = nbformat.read(path, as_version=4)
    printed, markdown = {}, {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            markdown[cell.id] = cell.source
            continue
        if cell.cell_type != "code":
            continue
        text = ""
        for out in cell.outputs:
            assert out.output_type != "error", f"error output in:\n{cell.source}"
            if out.output_type == "stream":
                assert out.name == "stdout", f"stderr output: {out.text}"
                text += out.text
        tags = [t for t in cell.metadata.get("tags", []) if t.startswith(prefix)]
        if text:
            assert len(tags) == 1, (
                f"a printing cell needs a {prefix} tag:\n{cell.source}")
            printed[tags[0]] = text
        else:
            assert not tags, f"tagged cell {tags} prints nothing"
    return printed, markdown

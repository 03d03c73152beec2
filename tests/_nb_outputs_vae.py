"""Read the printed text of a committed, executed notebook (for the number tests)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NUMBER = r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)"


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


def decimals(value: str) -> int:
    return len(value.split(".")[1]) if "." in value else 0


def assert_printed(printed_value: float, exact: float, places: int) -> None:
    """``printed_value`` is ``exact`` rounded to ``places`` decimals (half a unit)."""
    assert abs(printed_value - exact) <= 0.5 * 10.0**-places + 1e-12, (
        printed_value, exact, places)

"""Shared set-up of the batch-grader tests: two tiny exercise sheets.

Running code is not what most batch tests are about, so the sheets are as
small as a sheet can be (one function, one written answer): each submission
costs one short child process. Everything is built in temporary folders.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat

from itutils.grading.batch import grade_folder
from itutils.grading.runner import Limits
from itutils.grading.spec import load_specs

TINY, OTHER = "01_tiny", "02_tiny"
LIMITS = Limits(wall_seconds=20, step_seconds=5, memory_mb=2000)
PARTS = ["double_tests", "why"]
SOLUTION_CODE = (
    "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
)
MODEL_ANSWER = "Doubling adds the number to itself."


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def sheet(code: str = SOLUTION_CODE, answer: str = MODEL_ANSWER, extra=()):
    """A tiny sheet: imports, ``double`` (2 points), a written answer (1 point)."""
    cells = [
        nbformat.v4.new_markdown_cell("# A tiny sheet\n\n## Part A (core, 2 points)"),
        nbformat.v4.new_code_cell(
            "from itutils.grading import check_equal",
            metadata=_meta("imports", locked=True),
        ),
        nbformat.v4.new_code_cell(code, metadata=_meta("double", solution=True)),
        nbformat.v4.new_code_cell(
            "### BEGIN HIDDEN TESTS\ncheck_equal(double(2), 4)\n"
            "check_equal(double(-1), -2)\n### END HIDDEN TESTS",
            metadata=_meta("double_tests", grade=True, locked=True, points=2),
        ),
        nbformat.v4.new_markdown_cell("## Part B (core, 1 point): why?"),
        nbformat.v4.new_markdown_cell(
            answer, metadata=_meta("why", grade=True, solution=True, points=1)
        ),
    ]
    cells += [nbformat.v4.new_code_cell(src) for src in extra]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def write(nb, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def specs_in(folder: Path, names=(TINY, OTHER)) -> dict:
    """Write the tiny solution sheets to ``folder`` and load their specs."""
    folder = Path(folder)
    for name in names:
        write(sheet(), folder / f"{name}.ipynb")
    return load_specs(folder)


WRONG = "def double(x):\n    return x + 1\n"


def grade(subs, out, specs, **kwargs):
    """grade_folder with the tiny limits; returns (rows, summary text)."""
    log: list = []
    kwargs.setdefault("limits", LIMITS)
    rows = grade_folder(subs, specs, out, log=log.append, **kwargs)
    return rows, log[-1]


def read_rows(out: Path) -> list:
    with open(Path(out) / "grades.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def by_part(rows, student: str, notebook: str = TINY) -> dict:
    return {
        r["part"]: r
        for r in rows
        if r["student"] == student and r["notebook"] == notebook
    }


def tree_bytes(folder: Path) -> dict:
    """{relative path: bytes} of every file under ``folder`` (links not followed)."""
    folder = Path(folder)
    found = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found

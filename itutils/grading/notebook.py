"""Read a submitted notebook file: bounded, strict, never a crash.

The grader reads each submission's bytes itself (it never runs nbformat's
schema validation on them: slow on large files and recursive). Anything that
is not a readable Jupyter notebook of format 4 is a reason, returned to the
caller, not an exception: a file over the size limit, not UTF-8, invalid or
deeply nested JSON, huge numbers, malformed cells, a code cell larger than
the limit. Strings are cleaned of lone surrogates, which could not be written
to a UTF-8 feedback file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from itutils.grading.untrusted import Bounds, UntrustedDataError, loads_bounded

__all__ = ["Cell", "Notebook", "read_notebook", "clean_text"]

_CELL_TYPES = ("code", "markdown", "raw")


@dataclass
class Cell:
    """One cell of a submission, as the grader uses it."""

    index: int
    cell_type: str
    source: str
    grade_id: str | None = None


@dataclass
class Notebook:
    cells: list = field(default_factory=list)


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (from JSON escapes) replaced.

    Examples
    --------
    >>> clean_text("ok \\ud800 end")
    'ok ? end'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _source(raw) -> str | None:
    if type(raw) is str:
        return raw
    if type(raw) is list and all(type(line) is str for line in raw):
        return "".join(raw)
    return None


def read_notebook(
    data: bytes, max_bytes: int, max_cell_bytes: int
) -> tuple[Notebook | None, str | None]:
    """``(notebook, None)`` or ``(None, why it cannot be graded)``.

    Examples
    --------
    >>> nb, why = read_notebook(b'{"cells": [{"cell_type": "code", '
    ...                         b'"source": ["x = 1"], "metadata": {}}]}', 10**6, 10**4)
    >>> nb.cells[0].source
    'x = 1'
    >>> read_notebook(b"[" * 10**5, 10**6, 10**4)[1]
    'the file is nested 100000 deep, over the limit of 100, so not a Jupyter notebook'
    """
    if type(data) is not bytes:
        return None, "the submission could not be read as bytes"
    if len(data) > max_bytes:
        return None, (
            f"the file is {len(data) // 2**20} MB, over the "
            f"{max_bytes // 2**20} MB limit"
        )
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the file is not text (UTF-8), so not a Jupyter notebook"
    # Real notebooks nest about 10 deep; outputs and metadata add a few.
    bounds = Bounds(
        max_bytes, max_depth=100, max_containers=2_000_000, max_int_digits=4300
    )
    try:
        raw = loads_bounded(data, bounds, "the file")
    except UntrustedDataError as exc:
        return None, f"{exc}, so not a Jupyter notebook"
    if type(raw) is not dict or type(raw.get("cells")) is not list:
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)"
    version = raw.get("nbformat", 4)
    if version != 4:
        return None, (
            f"the notebook has format version {version!r}; open it in Jupyter "
            "and save it again (format 4)"
        )
    cells = []
    for index, cell in enumerate(raw["cells"]):
        if type(cell) is not dict or cell.get("cell_type") not in _CELL_TYPES:
            return None, f"the notebook has a malformed cell (cell {index})"
        source = _source(cell.get("source", ""))
        if source is None:
            return None, f"the notebook has a malformed cell (cell {index})"
        if cell["cell_type"] == "code" and len(source) > max_cell_bytes:
            return None, (
                f"code cell {index} is {len(source) // 1024} KB long, over the "
                f"limit of {max_cell_bytes // 1024} KB"
            )
        metadata = cell.get("metadata", {})
        nbgrader = metadata.get("nbgrader") if type(metadata) is dict else None
        grade_id = nbgrader.get("grade_id") if type(nbgrader) is dict else None
        if type(grade_id) is not str or len(grade_id) > 200:
            grade_id = None
        cells.append(
            Cell(
                index,
                cell["cell_type"],
                clean_text(source),
                clean_text(grade_id) if grade_id else None,
            )
        )
    return Notebook(cells), None

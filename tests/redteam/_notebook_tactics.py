"""Notebook files built to crash or hang the grader (see test_protocol_notebooks)."""

from __future__ import annotations

import json

import nbformat
from _sandbox_helpers import solution

SHEET = "01_entropy"


def _raw(cells, **extra) -> bytes:
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **extra}
    ).encode()


def _with_answer(text: str) -> bytes:
    nb = nbformat.reads(solution(SHEET).decode(), as_version=4)
    for cell in nb.cells:
        if (
            cell.metadata.get("nbgrader", {}).get("grade_id")
            == "die_and_coin_explained"
        ):
            cell.source = text
    return json.dumps(nb).encode()  # ASCII: the surrogate stays an escape


BAD_FILES = {
    "nested": (
        b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested 100001 deep, over the limit of 100",
    ),
    "huge_file": (
        b'{"cells": [], "pad": "' + b"x" * (3 * 2**20) + b'"}',
        "over the 2 MB limit",
    ),
    "latin1": ('{"cells": [], "x": "caf\xe9"}'.encode("latin-1"), "not text (UTF-8)"),
    "nan": (b'{"cells": [], "x": NaN}', "non-standard number NaN"),
    "huge_int": (b'{"cells": [], "x": ' + b"9" * 5000 + b"}", "integer of 5000 digits"),
    "cells_not_a_list": (b'{"cells": "nope"}', "no list of cells"),
    "source_not_text": (
        _raw([{"cell_type": "code", "source": 42, "metadata": {}}]),
        "malformed cell (cell 0)",
    ),
    "old_format": (_raw([], nbformat=3), "format version 3"),
    "empty": (b"", "not valid JSON"),
    "long_cell": (
        _raw([{"cell_type": "code", "source": "x = 1\n" * 50_000, "metadata": {}}]),
        "code cell 0 is 292 KB long, over the limit of 200 KB",
    ),
}

# Valid notebooks whose cells break Python's parser: the run goes on.
BAD_CELLS = {
    "minus_cell": "-" * 100_000 + "1",
    "paren_cell": "(" * 100_000,
    "plus_cell": "+0" * 90_000,
    "null_cell": "x = 1\0",
}


def students() -> dict:
    """``nb_<name>`` -> (sheet, bytes)."""
    out = {f"nb_{name}": (SHEET, data) for name, (data, _why) in BAD_FILES.items()}
    for name, code in BAD_CELLS.items():
        out[f"nb_{name}"] = (SHEET, solution(SHEET, extra=code))
    out["nb_surrogate_answer"] = (
        SHEET,
        _with_answer("an answer \ud800 with a surrogate"),
    )
    return out

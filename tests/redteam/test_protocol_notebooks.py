"""Red team: notebook files built to crash or hang the grader.

Nested, huge, non-UTF-8, non-standard JSON and cells that break Python's
parser: each is one student's error with a reason, and the class is still
graded completely (an honest student in the same batch keeps full marks).
"""

from __future__ import annotations

import functools
import json

import nbformat
import pytest
from _sandbox_helpers import (
    grade_class,
    grade_class_as_user,
    notebook,
    require_sandbox,
    solution,
)

from itutils.grading.runner import Limits

SHEET = "01_entropy"
LIMITS = Limits(
    wall_seconds=60,
    step_seconds=15,
    memory_mb=2500,
    max_notebook_mb=2,
    max_cell_kb=200,
)


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
    out = {"honest": (SHEET, solution(SHEET))}
    out.update({name: (SHEET, data) for name, (data, _why) in BAD_FILES.items()})
    for name, code in BAD_CELLS.items():
        out[name] = (SHEET, solution(SHEET, extra=code))
    out["surrogate_answer"] = (SHEET, _with_answer("an answer \ud800 with a surrogate"))
    out["blank"] = (SHEET, notebook(SHEET))
    return out


@functools.cache
def results(mode: str) -> dict:
    if mode == "self":
        return grade_class(students(), LIMITS)
    import os

    if os.geteuid() != 0:
        return {"skip": "the tests already run as an ordinary user"}
    graded, why = grade_class_as_user(students(), LIMITS)
    return graded if graded is not None else {"skip": why}


@pytest.fixture(scope="module", params=["self", "user"])
def graded(request):
    require_sandbox()
    outcome = results(request.param)
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    return outcome


def test_the_class_is_graded_completely(graded):
    assert set(graded["students"]) == set(students())
    honest = graded["students"]["honest"]
    assert honest["status"] == "ok"
    assert all(
        row["status"] in ("pass", "manual") for row in honest["parts"].values()
    ), honest


@pytest.mark.parametrize(
    "name, reason", sorted((n, r) for n, (_d, r) in BAD_FILES.items())
)
def test_unreadable_files_are_one_students_error(graded, name, reason):
    result = graded["students"][name]
    assert result["status"] == "invalid", result
    assert reason in result["message"], result["message"]
    for row in result["parts"].values():
        assert (row["points"], row["status"]) == (0, "error"), row
        assert row["reason"].startswith("not graded: "), row


@pytest.mark.parametrize("name", sorted(BAD_CELLS))
def test_cells_that_break_the_parser_fail_alone(graded, name):
    result = graded["students"][name]
    assert result["status"] == "ok", result
    # The solution's own parts still pass: only the broken cell failed.
    assert all(
        row["status"] in ("pass", "manual") for row in result["parts"].values()
    ), result


def test_lone_surrogates_in_written_answers_are_replaced(graded):
    result = graded["students"]["surrogate_answer"]
    assert result["status"] == "ok"
    row = result["parts"]["die_and_coin_explained"]
    assert row["status"] == "manual"
    assert row["answer"] == "an answer ? with a surrogate"
    json.dumps(result).encode("utf-8")  # writable as UTF-8 anywhere

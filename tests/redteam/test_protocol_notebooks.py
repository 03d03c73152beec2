"""Red team: notebook files built to crash or hang the grader.

Nested, huge, non-UTF-8, non-standard JSON and cells that break Python's
parser (see ``_notebook_tactics.py``), graded in the hostile class: each is
one student's error with a reason, and the class is still graded completely
(the honest students in the same batch keep full marks).
"""

from __future__ import annotations

import json

import pytest
from _hostile_class import results
from _notebook_tactics import BAD_CELLS, BAD_FILES
from _sandbox_helpers import require_sandbox


@pytest.fixture(scope="module", params=["self", "user"])
def graded(request):
    require_sandbox()
    outcome = results(request.param)
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    return outcome


@pytest.mark.parametrize(
    "name, reason", sorted((n, r) for n, (_d, r) in BAD_FILES.items())
)
def test_unreadable_files_are_one_students_error(graded, name, reason):
    result = graded["students"][f"nb_{name}"]
    assert result["status"] == "invalid", result
    assert reason in result["message"], result["message"]
    for row in result["parts"].values():
        assert (row["points"], row["status"]) == (0, "error"), row
        assert row["reason"].startswith("not graded: "), row


@pytest.mark.parametrize("name", sorted(BAD_CELLS))
def test_cells_that_break_the_parser_fail_alone(graded, name):
    result = graded["students"][f"nb_{name}"]
    assert result["status"] == "ok", result
    # The solution's own parts still pass: only the broken cell failed.
    assert all(
        row["status"] in ("pass", "manual") for row in result["parts"].values()
    ), result


def test_lone_surrogates_in_written_answers_are_replaced(graded):
    result = graded["students"]["nb_surrogate_answer"]
    assert result["status"] == "ok"
    row = result["parts"]["die_and_coin_explained"]
    assert row["status"] == "manual"
    assert row["answer"] == "an answer ? with a surrogate"
    json.dumps(result).encode("utf-8")  # writable as UTF-8 anywhere

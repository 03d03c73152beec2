"""Red team: results a submission did not produce, and malformed replies.

The attackers of the hostile class (``_hostile_class.py``) find the
harness's pipes (without naming the tools the static scan flags), write
unrequested, malformed, oversized or forged frames, or take the request pipe
away from the harness and answer the grader themselves. Whatever they send,
the class is graded completely, the honest students keep full marks, and the
attacker earns nothing: a broken protocol voids its automatic parts with the
reason, and a well-formed forged reply is only ever the student's answer,
compared by the grader's own code.
"""

from __future__ import annotations

import pytest
from _hostile_class import AUTO_SHEET_PARTS, results
from _sandbox_helpers import require_sandbox

from itutils.grading.runner import REPLY_BOUNDS


@pytest.fixture(scope="module", params=["self", "user"])
def graded(request):
    require_sandbox()
    outcome = results(request.param)
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    return outcome


VOIDED = {
    "garbage": "a reply over the size limit (a frame of 2065851766 bytes",
    "brackets": "a reply is nested 100000 deep, over the limit of "
    f"{REPLY_BOUNDS['max_depth']}",
    "huge_line": "a reply over the size limit",
    "forger": "a reply that does not answer request",
    # The copy arrives before or after the grader's next request.
    "stealer_duplicate": ("a reply that does not answer request", "no request"),
    "stealer_nan": "the JSON holds the non-standard number NaN",
    "stealer_bigint": "a reply holds an integer of 401 digits",
    "stealer_deep": "a reply is nested 5001 deep",
    "stealer_fields": "with the wrong fields",
    "stealer_calls": "naming something the grader did not ask to trace",
}


@pytest.mark.parametrize("name, reason", sorted(VOIDED.items()))
def test_protocol_breakers_are_voided_with_the_reason(graded, name, reason):
    result = graded["students"][name]
    assert result["status"] == "void", result
    reasons = reason if isinstance(reason, tuple) else (reason,)
    assert any(r in result["message"] for r in reasons), result["message"]
    for part in AUTO_SHEET_PARTS:
        row = result["parts"][part]
        assert (row["points"], row["status"]) == (0, "error"), row
        assert "broke the grading protocol" in row["reason"], row


def test_a_forged_well_formed_reply_is_only_the_students_answer(graded):
    # It answers every check with 1.0 itself: the grader compares that with
    # its own expected values.
    result = graded["students"]["stealer_value"]
    assert result["status"] == "ok", result
    for part in AUTO_SHEET_PARTS:
        row = result["parts"][part]
        assert row["points"] == 0 and row["status"] == "fail", row
    assert "got 1" in result["parts"]["entropy_bits_tests"]["reason"]


def test_a_huge_line_does_not_grow_the_grader(graded):
    before, after = graded["maxrss_kb"]
    assert after - before < 300 * 1024, (before, after)


def test_check_inputs_are_nowhere_before_the_checks(graded):
    result = graded["students"]["job_hunter"]
    assert "HUNT []" in result["output"], result["output"]


def test_symlinks_and_fifos_in_the_scratch_change_nothing(graded):
    result = graded["students"]["scratch_swapper"]
    assert result["status"] == "ok" and "SWAPPED" in result["output"]


def test_answers_too_large_to_send_fail_their_checks_only(graded):
    result = graded["students"]["oversized_answers"]
    assert result["status"] == "ok", result
    parts = result["parts"]
    assert "cannot be graded" in parts["entropy_bits_tests"]["reason"], parts
    assert "nested too deeply" in parts["die_and_coin_tests"]["reason"], parts
    assert "cannot be graded" in parts["half_bit_tests"]["reason"], parts

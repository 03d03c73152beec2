"""Red team: answers that come from a reference implementation.

The tactics (``_reference_tactics.py``) are graded in the hostile class
against a copy of the solutions whose sheet 01 forbids ``scipy.stats.entropy``
and ``scipy.special.entr`` for ``entropy_bits_tests`` and
``scipy.stats.entropy`` for ``die_and_coin_tests``; sheet 04 forbids
``itutils.vae.gaussian_kl`` implicitly (its locked cells do not import it).
Each tactic scores 0 on the part it cheats with the reason "uses the
reference implementation <name>"; honest work (a model solution that uses
allowed scipy functions, a self-test outside the graded cells) keeps full
marks.
"""

from __future__ import annotations

import pytest
from _hostile_class import results
from _reference_tactics import CHEATS_01, CHEATS_04, TAMPER_01
from _sandbox_helpers import require_sandbox

CHEATS = {**CHEATS_01, **CHEATS_04}


# Reference detection is the harness's, the same whoever runs the grader;
# the sandbox's isolation is tested both as root and as an ordinary user in
# test_sandbox_isolation.py. One mode here keeps `make test` short.
@pytest.fixture(scope="module", params=["self"])
def graded(request):
    require_sandbox()
    outcome = results(request.param)
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    return outcome


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_reference_answers_score_zero(graded, name):
    _changes, part, reference = CHEATS[name]
    row = graded["students"][f"ref_{name}"]["parts"][part]
    assert (row["points"], row["status"]) == (0, "fail"), row
    # Named as the function, or as its module when the sheet forbids the
    # whole module and the answer reaches the function through it.
    named = (reference, reference.rsplit(".", 1)[0] + ":")
    assert any(f"uses the reference implementation {n}" in row["reason"]
               for n in named), row


@pytest.mark.parametrize("name", sorted(TAMPER_01))
def test_reaching_into_the_harness_voids_the_automatic_parts(graded, name):
    result = graded["students"][f"ref_{name}"]
    assert result["tampering"], result
    for part, row in result["parts"].items():
        if row["status"] == "manual":
            continue
        assert (row["points"], row["status"]) == (0, "error"), (part, row)
        assert row["reason"].startswith("not graded: the notebook uses"), row


def test_other_parts_of_a_cheater_are_graded_normally(graded):
    # Only the part whose answer comes from scipy loses its points.
    parts = graded["students"]["ref_value_from_scipy"]["parts"]
    assert parts["entropy_bits_tests"]["status"] == "pass"
    assert parts["conditional_entropy_tests"]["status"] == "pass"


@pytest.mark.parametrize("name", ["ref_honest", "ref_self_test_cell"])
def test_honest_work_keeps_full_marks(graded, name):
    result = graded["students"][name]
    assert result["references"] == {} and result["tampering"] == [], result
    for row in result["parts"].values():
        assert row["status"] in ("pass", "manual"), row


def test_own_rate_function_passes_on_the_vae_sheet(graded):
    row = graded["students"]["ref_vae_own"]["parts"]["rate_tests"]
    assert row["status"] == "pass", row

"""exercises/ is generated from solutions/, leaks nothing, and runs unanswered.

- Regenerating into a temporary folder gives byte-identical notebooks
  (a stale exercises/ fails: run ``make exercises``).
- No solution code, hidden test or written model answer survives in exercises/.
- Every generated exercise runs top to bottom in a kernel without an error:
  unanswered parts make the visible self-checks print "[not yet]".
- Every solution notebook parses under the hidden-test rules.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from itutils.grading.generate import CODE_STUB, generate_all
from itutils.grading.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NAMES = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


def test_there_are_six_exercises_and_each_has_a_student_version():
    assert NAMES == [
        "01_entropy",
        "02_kl_cross_entropy",
        "03_mutual_information",
        "04_vae",
        "05_loss_functions",
        "06_elbo",
    ]
    assert sorted(p.stem for p in EXERCISES.glob("*.ipynb")) == NAMES


def test_exercises_are_up_to_date(tmp_path):
    generate_all(SOLUTIONS, tmp_path)
    for name in NAMES:
        fresh = (tmp_path / f"{name}.ipynb").read_bytes()
        committed = (EXERCISES / f"{name}.ipynb").read_bytes()
        assert fresh == committed, (
            f"exercises/{name}.ipynb is stale: run `make exercises`"
        )


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("name", NAMES)
def test_exercises_leak_no_solution_and_no_hidden_test(name):
    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    exercise = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    for marker in (
        "BEGIN SOLUTION",
        "END SOLUTION",
        "BEGIN HIDDEN TESTS",
        "check_raises(",
        "_ref",
    ):
        assert marker not in text, marker
    spec = load_spec(SOLUTIONS / f"{name}.ipynb")
    kinds = {"points": 0, "manual": 0, "auto": 0}
    for sol, ex in zip(solution.cells, exercise.cells, strict=True):
        meta = _meta(sol)
        assert not ex.get("outputs"), "exercise cells carry no outputs"
        if meta.get("solution"):
            body = sol.source.split("### BEGIN SOLUTION")[-1].split("### END SOLUTION")[
                0
            ]
            for line in body.strip().splitlines():
                if len(line.strip()) > 12:
                    assert line.strip() not in ex.source, line
            if sol.cell_type == "code":
                assert CODE_STUB in ex.source
            else:
                assert ex.source.strip() == "YOUR ANSWER HERE"
        if meta.get("grade") and not meta.get("solution"):
            assert "HIDDEN" not in ex.source and "check_" not in ex.source
            kinds["auto"] += 1
        if meta.get("grade") and meta.get("solution"):
            kinds["manual"] += 1
    # several graded parts, of which exactly one is written and graded by hand
    assert kinds["auto"] >= 3 and kinds["manual"] == 1
    assert sum(p.points for p in spec.parts) >= 7


@pytest.mark.parametrize("name", NAMES)
def test_exercise_runs_unanswered_without_error(name, tmp_path):
    nb = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    printed = "\n".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert not any(
        o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", [])
    )
    assert "[not yet]" in printed and "[ok]" not in printed.replace(
        "[ok]       the prior", ""
    )


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_follow_the_rules(name):
    spec = load_spec(SOLUTIONS / f"{name}.ipynb")
    for part in spec.parts:
        assert part.manual or part.checks, part.grade_id
        for check in part.checks:
            assert check.student_names, f"{check.source} tests no student name"

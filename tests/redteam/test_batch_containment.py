"""Red team: a failure inside the grader on one submission stays with it.

Faults are injected at each stage the batch runs for one student (the
runtime, scoring, rendering the feedback, writing it), each triggered by one
student's submission only. The class still gets a complete grades.csv: the
student hit gets error rows that say what happened, everyone else is graded
as usual.
"""

from __future__ import annotations

import pytest

from itutils.grading import batch, runner
from itutils.grading.safefs import OutputFolder
from tests._grading_batch import TINY, by_part, grade, read_rows, sheet, specs_in, write

GRADER = "the grader failed on this notebook ({}); not a mark against the work: "
GRADER += "grade it again, or report the error"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("containment")
    specs = specs_in(base / "solutions", names=(TINY,))
    subs, out = base / "subs", base / "out"
    for student, answer in [
        ("alice", "An honest answer."),
        ("bob", "BOOM-score"),
        ("carol", "Carol's answer."),
        ("dave", "Dave's answer."),
        ("erin", "BOOM-run"),
    ]:
        write(sheet(answer=answer), subs / student / f"{TINY}.ipynb")
    mp = pytest.MonkeyPatch()
    real_score, real_open = batch.score, runner.open_runtime

    def score(spec, run, limits=None):
        if "BOOM-score" in run.answers.get("why", ""):
            raise RuntimeError("scoring exploded")
        return real_score(spec, run, limits)

    class Exploding:
        def __init__(self, runtime):
            self.runtime, self.limits = runtime, runtime.limits

        def run(self, data, spec):
            if b"BOOM-run" in data:
                raise MemoryError("the runtime gave up")
            return self.runtime.run(data, spec)

    class Opened:
        def __init__(self, *args, **kwargs):
            self.inner = real_open(*args, **kwargs)

        def __enter__(self):
            return Exploding(self.inner.__enter__())

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    def render(student, *args, **kwargs):
        if student == "carol":
            raise KeyError("a renderer bug")
        return batch.feedback_markdown(student, *args, **kwargs)

    real_write = OutputFolder.write_feedback

    def write_feedback(self, name, data):
        if name == "dave.md":
            raise OSError(28, "No space left on device")
        return real_write(self, name, data)

    mp.setattr(batch, "score", score)
    mp.setattr(runner, "open_runtime", Opened)
    mp.setattr(batch, "render_feedback", render)
    mp.setattr(OutputFolder, "write_feedback", write_feedback)
    try:
        rows, summary = grade(subs, out, specs)
    finally:
        mp.undo()
    return rows, out, summary


def test_the_class_is_graded_as_usual(graded):
    rows, out, _ = graded
    assert read_rows(out) == rows
    for student in ("alice", "carol", "dave"):
        assert by_part(rows, student)["double_tests"]["points"] == "2"
        assert by_part(rows, student)["why"]["status"] == "manual"


@pytest.mark.parametrize(
    "student, error",
    [
        ("bob", "RuntimeError: scoring exploded"),
        ("erin", "MemoryError: the runtime gave up"),
    ],
)
def test_a_grader_failure_becomes_that_students_error_rows(graded, student, error):
    rows = graded[0]
    parts = by_part(rows, student)
    assert sorted(parts) == ["double_tests", "why"]
    for part, points in (("double_tests", "2"), ("why", "1")):
        assert (parts[part]["points"], parts[part]["max_points"]) == ("0", points)
        assert parts[part]["status"] == "error"
        assert parts[part]["reason"] == GRADER.format(error)
    feedback = (graded[1] / "feedback" / f"{student}.md").read_text()
    assert "**The grader itself failed on this notebook.**" in feedback
    assert (
        f"- {student}: {student}/{TINY}.ipynb: " + GRADER.format(error) in (graded[2])
    )
    assert "hit an error in the grader" in graded[2]


def test_a_feedback_that_cannot_be_rendered_falls_back_to_the_rows(graded):
    rows, out, _ = graded
    row = by_part(rows, "carol", "(all)")["(feedback)"]
    assert (row["points"], row["max_points"], row["status"]) == ("0", "0", "error")
    assert row["reason"] == (
        "the feedback could not be written in full (KeyError: 'a renderer bug'); "
        "the grades are complete"
    )
    text = (out / "feedback" / "carol.md").read_text()
    assert text.startswith("# Feedback for `carol`\n\n**The grader could not write")
    assert "| `01_tiny` | `double_tests` | 2 / 2 | pass | `all checks passed` |" in text


def test_a_feedback_file_that_cannot_be_written_is_an_error_row(graded):
    rows, out, _ = graded
    row = by_part(rows, "dave", "(all)")["(feedback)"]
    assert row["reason"] == (
        "the feedback file could not be written (OSError: [Errno 28] No space "
        "left on device)"
    )
    assert not (out / "feedback" / "dave.md").exists()
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [
        "alice.md",
        "bob.md",
        "carol.md",
        "erin.md",
    ]


def test_a_failure_while_reporting_a_student_still_leaves_a_row(tmp_path, monkeypatch):
    specs = specs_in(tmp_path / "solutions", names=(TINY,))
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in ("gil", "hal"):  # links: reported, nothing to run
        (subs / f"{student}_{TINY}.ipynb").symlink_to(subs / "nowhere")
    real = batch._student_report

    def report(student, *args):
        if student == "gil":
            raise ValueError("reporting exploded")
        return real(student, *args)

    monkeypatch.setattr(batch, "_student_report", report)
    rows, _ = grade(subs, tmp_path / "out", specs)
    assert [(r["student"], r["part"], r["status"]) for r in rows] == [
        ("gil", "(feedback)", "error"),
        ("hal", "(file)", "error"),
        ("hal", "double_tests", "missing"),
        ("hal", "why", "missing"),
    ]
    assert rows[0]["reason"] == (
        "the grader failed while reporting this student's results (ValueError: "
        "reporting exploded); grade again, or report the error"
    )
    assert (
        (tmp_path / "out" / "feedback" / "gil.md")
        .read_text()
        .startswith(
            "# Feedback for `gil`\n\n**The grader could not write your full feedback**"
        )
    )

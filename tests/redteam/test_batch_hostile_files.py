"""Red team: files in the submissions folder that are not honest notebooks.

One class, graded through the command line (in a subprocess with a time
limit, so a FIFO that hung the grader would fail the test instead of hanging
it): an honest student beside symbolic links to the model solution, to a
file outside and to the solutions folder, a FIFO, a deeply nested JSON file,
a file over the size limit, invalid JSON and a name that is not UTF-8. Each
student gets exactly the rows asserted here; nothing that a link points to is
read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._grading_batch import TINY, by_part, read_rows, sheet, specs_in, write

ROOT = Path(__file__).resolve().parents[2]
LINK = (
    "a symbolic link, not graded (links in the submissions folder are never followed)"
)
SECRET = "TOP-SECRET-LINE-7f3a"


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "itutils.grading", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile_files")
    solutions = base / "solutions"
    specs_in(solutions, names=(TINY,))
    subs, out = base / "subs", base / "out"
    write(sheet(), subs / "alice" / f"{TINY}.ipynb")
    secret = base / "secret.txt"
    secret.write_text(SECRET)
    os.symlink(solutions / f"{TINY}.ipynb", subs / f"mallory_{TINY}.ipynb")
    os.symlink(secret, subs / f"eve_{TINY}.ipynb")
    os.symlink(solutions, subs / "trudy")
    os.link(solutions / f"{TINY}.ipynb", subs / f"hardy_{TINY}.ipynb")
    os.mkfifo(subs / f"fifo_{TINY}.ipynb")  # no writer: a blocking open hangs
    (subs / f"nested_{TINY}.ipynb").write_text('{"cells": ' + "[" * 100_000)
    with open(subs / f"huge_{TINY}.ipynb", "wb") as fh:
        fh.truncate(51 * 2**20)  # over the 50 MB limit (sparse, costs no disk)
    (subs / f"garbled_{TINY}.ipynb").write_text("{ not json")
    write(sheet(), subs / os.fsdecode(b"\xff\xfe_" + TINY.encode() + b".ipynb"))
    done = cli(
        "grade", subs, "--out", out, "--solutions", solutions,
        "--timeout", 20, "--step-timeout", 5, "--memory", 2000,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return read_rows(out), out, done.stdout


def _only(rows, student):
    return sorted(
        (r["notebook"], r["part"], r["points"], r["status"], r["reason"], r["file"])
        for r in rows
        if r["student"] == student
    )


def _missing(notebook=TINY):
    return [
        (notebook, "double_tests", "0", "missing", "no submission", ""),
        (notebook, "why", "0", "missing", "no submission", ""),
    ]


def test_honest_students_keep_full_marks(graded):
    rows = graded[0]
    for student in ("alice", "xff_xfe"):
        parts = by_part(rows, student)
        assert parts["double_tests"]["points"] == "2", parts
        assert parts["why"]["status"] == "manual", parts
    assert by_part(rows, "xff_xfe")["why"]["file"] == "\\xff\\xfe_01_tiny.ipynb"


@pytest.mark.parametrize("student", ["mallory", "eve"])
def test_a_link_to_the_solution_or_outside_scores_nothing(graded, student):
    rows = graded[0]
    assert _only(rows, student) == sorted(
        [(TINY, "(file)", "0", "error", LINK, f"{student}_{TINY}.ipynb")] + _missing()
    )


def test_a_hard_link_to_the_solution_scores_nothing(graded):
    reason = (
        "the very file of a model solution or of the grader (a hard link to it), "
        "not graded"
    )
    assert _only(graded[0], "hardy") == sorted(
        [(TINY, "(file)", "0", "error", reason, f"hardy_{TINY}.ipynb")] + _missing()
    )


def test_a_linked_folder_is_not_entered(graded):
    assert _only(graded[0], "trudy") == sorted(
        [("unknown", "(file)", "0", "error", LINK, "trudy")] + _missing()
    )


def test_a_fifo_is_reported_without_blocking(graded):
    assert _only(graded[0], "fifo") == sorted(
        [
            (
                TINY,
                "(file)",
                "0",
                "error",
                "a FIFO (named pipe), not a notebook: not graded",
                f"fifo_{TINY}.ipynb",
            )
        ]
        + _missing()
    )


def test_a_file_over_the_size_limit_is_not_read(graded):
    reason = "not graded: the file is 51 MB, over the 50 MB limit for a notebook"
    file = f"huge_{TINY}.ipynb"
    assert _only(graded[0], "huge") == [
        (TINY, "double_tests", "0", "error", reason, file),
        (TINY, "why", "0", "error", reason, file),
    ]


@pytest.mark.parametrize("student", ["nested", "garbled"])
def test_unreadable_notebooks_are_that_students_error_rows(graded, student):
    rows = _only(graded[0], student)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("double_tests", "0", "error"),
        ("why", "0", "error"),
    ]
    assert all(r[4] for r in rows), rows  # a reason for every lost point


def test_nothing_behind_a_link_reaches_any_output(graded):
    out = graded[1]
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8"), path
    feedback = (out / "feedback" / "mallory.md").read_text()
    assert f"`mallory_{TINY}.ipynb` ({TINY}): {LINK}" in feedback


def test_every_student_has_rows_and_the_summary_counts_them(graded):
    rows, _, stdout = graded
    students = {r["student"] for r in rows}
    assert students == {
        "alice", "eve", "fifo", "garbled", "hardy", "huge", "mallory", "nested",
        "trudy", "xff_xfe",
    }  # fmt: skip
    assert len(rows) == 2 * len(students) + 5  # + one (file) row per link/FIFO
    assert "Graded 5 submissions from 5 students; 3 could not be run to the end" in (
        stdout
    )
    assert "5 files or folders were not graded" in stdout

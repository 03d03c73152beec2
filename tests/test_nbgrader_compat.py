"""nbgrader itself accepts the single source: generate_assignment and autograde.

A temporary nbgrader course is built from all six solution notebooks.
nbgrader generates the student version (it must equal exercises/, cell by
cell); then two students submit: "alice" hands in the solutions, "bob" the
blank exercises. nbgrader's autograde, which runs the hidden tests in the
student's kernel, must give alice full marks on every sheet and bob 0 points
on every automatically graded part, without failing on either.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from itutils.grading.generate import CODE_STUB

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
ASSIGNMENT = "ps1"


def _nbgrader(course: Path, *args: str) -> None:
    exe = Path(sys.executable).with_name("nbgrader")
    result = subprocess.run(
        [str(exe), *args, "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        # nbgrader runs `alembic` from the environment's bin folder
        env={
            **os.environ,
            "PATH": f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "MPLBACKEND": "Agg",
        },
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.ClearSolutions.code_stub = {{'python': {CODE_STUB!r}}}\n"
        "c.Execute.timeout = 300\n"
    )
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in NAMES:
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", source)
    _nbgrader(course, "generate_assignment", ASSIGNMENT)
    for student, folder in (("alice", "solutions"), ("bob", "exercises")):
        submitted = course / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for name in NAMES:
            shutil.copy(ROOT / folder / f"{name}.ipynb", submitted)
        (submitted / "timestamp.txt").write_text("2024-05-01 12:00:00 UTC")
    _nbgrader(course, "autograde", ASSIGNMENT)
    return course


def test_there_are_six_sheets():
    assert len(NAMES) == 6


def test_generate_assignment_matches_our_exercises(course):
    for name in NAMES:
        theirs = nbformat.read(
            course / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4
        )
        ours = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
        assert [c.source for c in theirs.cells] == [c.source for c in ours.cells]


def test_autograde_gives_the_solutions_full_marks(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in NAMES:
            sub = gb.find_submission_notebook(name, ASSIGNMENT, "alice")
            assert sub.max_code_score > 0
            assert sub.code_score == sub.max_code_score, name
            assert not sub.failed_tests, name
            # the written parts wait for the instructor
            assert sub.needs_manual_grade, name


def test_autograde_gives_the_blank_sheets_zero(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in NAMES:
            sub = gb.find_submission_notebook(name, ASSIGNMENT, "bob")
            assert sub.max_code_score > 0
            assert sub.code_score == 0, name
            assert sub.failed_tests, name

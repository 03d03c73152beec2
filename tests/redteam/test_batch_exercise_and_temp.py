"""``--exercise`` grades only what it names; no temporary folder is left behind.

(As an ordinary user, a notebook its owner cannot read is reported too.)

The temporary-folder checks point TMPDIR at an empty folder and compare its
listing before and after a batch, once as root (in this process, when the
tests run as root; otherwise as the current user) and once as an ordinary
user (``nobody``, through ``setpriv``) when the tests run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from itutils.grading import runner
from tests._grading_batch import (
    OTHER,
    TINY,
    WRONG,
    by_part,
    grade,
    read_rows,
    sheet,
    specs_in,
    write,
)

ROOT = Path(__file__).resolve().parents[2]


def _class(subs: Path) -> None:
    write(sheet(), subs / "alice" / f"{TINY}.ipynb")
    write(sheet(WRONG), subs / "alice" / f"{OTHER}.ipynb")
    write(sheet(), subs / f"bob_{OTHER}.ipynb")
    write(sheet(), subs / "carol.ipynb")  # names no sheet: told by its cells


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    base = tmp_path_factory.mktemp("exercise")
    specs = specs_in(base / "solutions")
    _class(base / "subs")
    ran = []
    real_open = runner.open_runtime

    class Counting:
        def __init__(self, *args, **kwargs):
            self.inner = real_open(*args, **kwargs)

        def __enter__(self):
            runtime = self.inner.__enter__()
            real_run = runtime.run

            def run(data, spec):
                ran.append(spec.name)
                return real_run(data, spec)

            runtime.run = run
            return runtime

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    # As root the submissions run as 'nobody', who must be able to reach the
    # scratch folders: a fresh folder in /tmp, not pytest's private one.
    temp = Path(tempfile.mkdtemp(prefix="itgrade-test-", dir="/tmp"))
    temp.chmod(0o755)
    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "open_runtime", Counting)
    mp.setattr(tempfile, "tempdir", str(temp))
    try:
        rows, summary = grade(base / "subs", base / "out", specs, exercises=[TINY])
        left = sorted(temp.iterdir())
    finally:
        mp.undo()
        shutil.rmtree(temp)
    return rows, summary, ran, left


def test_only_the_named_exercise_is_run(filtered):
    rows, summary, ran, _ = filtered
    assert ran == [TINY, TINY]  # alice's and carol's sheet 1; no sheet 2
    assert {r["notebook"] for r in rows} == {TINY}
    assert "2 submissions of other sheets were not graded (--exercise)" in summary


def test_students_without_that_sheet_still_get_rows(filtered):
    rows = filtered[0]
    assert by_part(rows, "alice")["double_tests"]["points"] == "2"
    assert by_part(rows, "carol")["double_tests"]["points"] == "2"
    assert {p: (r["status"], r["points"]) for p, r in by_part(rows, "bob").items()} == {
        "double_tests": ("missing", "0"),
        "why": ("missing", "0"),
    }


def test_no_temporary_folder_is_left_by_this_user(filtered):
    assert filtered[3] == []


def test_an_unknown_exercise_is_refused_before_grading(tmp_path):
    specs_in(tmp_path / "solutions")
    _class(tmp_path / "subs")
    done = subprocess.run(
        [
            sys.executable, "-m", "itutils.grading", "grade", tmp_path / "subs",
            "--out", tmp_path / "out", "--solutions", tmp_path / "solutions",
            "--exercise", "03_nothing",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "error: --exercise 03_nothing: no such exercise in the solutions folder; "
        "choose from 01_tiny, 02_tiny\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None,
    reason="runs the grader as 'nobody', which needs root and setpriv",
)
def test_no_temporary_folder_is_left_by_an_ordinary_user():
    # The grader runs here as `nobody` from this checkout's environment: a
    # checkout inside a folder `nobody` cannot enter (a `mktemp -d` clone, one
    # under /root) cannot be imported by it at all. The sandbox's own runs as
    # an ordinary user are tested on copies in test_sandbox_isolation.py.
    readable = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-c", "import itutils.grading"],
        cwd="/", capture_output=True, timeout=120,
    )  # fmt: skip
    if readable.returncode != 0:
        pytest.skip("`nobody` cannot import itutils from this checkout "
                    "(it lives in a folder only its owner can enter)")
    base = Path(tempfile.mkdtemp(prefix="itgrade-test-", dir="/tmp"))
    try:
        specs_in(base / "solutions")
        _class(base / "subs")
        (base / "tmp").mkdir()
        unreadable = write(sheet(), base / "subs" / f"dora_{TINY}.ipynb")
        for path in [base, *base.rglob("*")]:
            shutil.chown(path, "nobody", "nogroup")
        unreadable.chmod(0)  # its owner cannot read it (no root rights)
        command = [
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            sys.executable, "-m", "itutils.grading", "grade", base / "subs",
            "--out", base / "out", "--solutions", base / "solutions",
            "--timeout", "20", "--exercise", TINY,
        ]  # fmt: skip
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(base),
            "TMPDIR": str(base / "tmp"),
        }
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode == 2 and "--no-sandbox" in done.stderr:
            # The sandbox cannot start for this user here; the temporary
            # folders of an unsandboxed run must still all go.
            done = subprocess.run(
                command + ["--no-sandbox"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr
        left = sorted((base / "tmp").iterdir())
        assert left == [], (left, done.stderr)
        rows = read_rows(base / "out")
        assert {(r["student"], r["notebook"]) for r in rows} == {
            ("alice", TINY),
            ("bob", TINY),
            ("carol", TINY),
            ("dora", TINY),
        }
        assert [
            (r["part"], r["status"], r["reason"])
            for r in rows
            if r["student"] == "dora" and r["part"] == "(file)"
        ] == [
            (
                "(file)",
                "error",
                "the file could not be read (permission denied): not graded",
            )
        ]
        if _can_start_python_as_nobody(env):
            assert by_part(rows, "alice")["double_tests"]["points"] == "2"
    finally:
        shutil.rmtree(base)


def _can_start_python_as_nobody(env) -> bool:
    """False where this interpreter lives under a folder 'nobody' cannot enter.

    (A virtual environment made from an interpreter in /root, for one: the
    grader then cannot start a submission's process as that user, and every
    submission gets an error row with the reason, which is not what this
    test is about.)
    """
    probe = "import subprocess, sys; subprocess.run([sys.executable, '-c', ''])"
    done = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-c", probe],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    return done.returncode == 0

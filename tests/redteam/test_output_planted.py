"""Red team: links, FIFOs and world-writable folders where the grader writes.

Someone who can write where the grades go plants a symbolic link at
grades.csv (to make the grader overwrite a file of their choice), a FIFO at
summary.txt (to hang it), a link at feedback/ (to redirect every feedback
file), or prepares the output folder in /tmp before the grader creates it.
The grader replaces planted files without following them, and refuses the
folders it cannot trust before it grades anything, saying what to do.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from itutils.grading import runner
from itutils.grading.safefs import OutputError
from tests._grading_batch import TINY, by_part, grade, sheet, specs_in, write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base = tmp_path_factory.mktemp("planted")
    specs = specs_in(base / "solutions", names=(TINY,))
    write(sheet(), base / "subs" / "alice" / f"{TINY}.ipynb")
    victims = base / "victims"
    victims.mkdir()
    for name in ("grades", "manual", "feedback"):
        (victims / name).write_text(f"precious {name}")
    out = base / "out"
    (out / "feedback").mkdir(parents=True)
    out.chmod(0o700)
    (out / "grades.csv").symlink_to(victims / "grades")
    (out / "manual_answers.md").symlink_to(victims / "manual")
    (out / "feedback" / "alice.md").symlink_to(victims / "feedback")
    os.mkfifo(out / "summary.txt")
    (out / "feedback" / "stale.md").write_text("from an earlier run")
    (out / "feedback" / ".alice.md.0123.tmp").write_text("a crashed write")
    rows, _ = grade(base / "subs", out, specs)
    return rows, out, victims


def test_planted_links_are_replaced_never_followed(planted):
    rows, out, victims = planted
    for name in ("grades", "manual", "feedback"):
        assert (victims / name).read_text() == f"precious {name}"
    for path in (
        out / "grades.csv",
        out / "manual_answers.md",
        out / "summary.txt",
        out / "feedback" / "alice.md",
    ):
        info = path.lstat()
        assert stat.S_ISREG(info.st_mode), path
        assert stat.S_IMODE(info.st_mode) == 0o600, path
    assert by_part(rows, "alice")["double_tests"]["points"] == "2"
    assert (
        (out / "feedback" / "alice.md").read_text().startswith("# Feedback for `alice`")
    )


def test_stale_and_half_written_files_are_removed(planted):
    out = planted[1]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["alice.md"]
    assert sorted(p.name for p in out.iterdir()) == [
        "feedback",
        "grades.csv",
        "manual_answers.md",
        "summary.txt",
    ]


def _never_run(*args, **kwargs):
    raise AssertionError("the grader started grading with an unsafe output folder")


def _refused(tmp_path, monkeypatch, out, match):
    specs = specs_in(tmp_path / "solutions", names=(TINY,))
    write(sheet(), tmp_path / "subs" / "alice" / f"{TINY}.ipynb")
    monkeypatch.setattr(runner, "open_runtime", _never_run)
    with pytest.raises(OutputError, match=match):
        grade(tmp_path / "subs", out, specs)


def test_a_link_at_feedback_is_refused_before_grading(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "out").mkdir(mode=0o700)
    (tmp_path / "out" / "feedback").symlink_to(victim)
    _refused(tmp_path, monkeypatch, tmp_path / "out", "feedback is a symbolic link")
    assert list(victim.iterdir()) == []


def test_a_link_at_the_output_folder_is_refused(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "out").symlink_to(victim)
    _refused(tmp_path, monkeypatch, tmp_path / "out", "is a symbolic link; the")
    assert list(victim.iterdir()) == []


def test_output_inside_the_submissions_is_refused(tmp_path, monkeypatch):
    _refused(tmp_path, monkeypatch, tmp_path / "subs" / "out", "submissions folder")


def _cli(subs, out, solutions):
    return subprocess.run(
        [
            sys.executable, "-m", "itutils.grading", "grade", subs, "--out", out,
            "--solutions", solutions, "--timeout", "20",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_an_existing_output_folder_in_tmp_is_refused_a_fresh_one_is_private(tmp_path):
    specs_in(tmp_path / "solutions", names=(TINY,))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "x.ipynb").symlink_to(tmp_path / "solutions" / f"{TINY}.ipynb")  # no run
    world = Path("/tmp")
    assert world.stat().st_mode & 0o1002 == 0o1002, "needs the usual /tmp (1777)"
    existing = Path(tempfile.mkdtemp(prefix="itgrade-out-", dir=world))
    fresh = world / (existing.name + "-fresh")
    try:
        done = _cli(subs, existing, tmp_path / "solutions")
        assert done.returncode == 2
        assert done.stderr == (
            f"error: the output folder {existing} already exists inside {world}, a "
            "folder every user can write, so someone else may have made it or put "
            "files in it: name a folder that does not exist yet (the grader then "
            "creates it, private, mode 0700) or one outside world-writable folders "
            "such as /tmp\n"
        )
        assert list(existing.iterdir()) == []
        done = _cli(subs, fresh, tmp_path / "solutions")
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
        assert (fresh / "grades.csv").exists()
    finally:
        shutil.rmtree(existing)
        shutil.rmtree(fresh, ignore_errors=True)

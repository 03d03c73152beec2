"""The command line: refusing to grade without a sandbox, and ``--no-sandbox``.

``sandbox_problem()`` is made to report a missing sandbox; ``grade`` must
stop before reading or running anything (exit code 2) with the message and
the way out, and ``--no-sandbox`` must grade with a warning in the summary
and at the top of every feedback file.
"""

from __future__ import annotations

import pytest

from itutils.grading import batch, runner
from itutils.grading.__main__ import main
from itutils.grading.report import NO_SANDBOX
from tests._grading_batch import TINY, by_part, read_rows, sheet, specs_in, write

MISSING = "bubblewrap is not installed: run 'apt-get install bubblewrap' (as root)"


@pytest.fixture
def course(tmp_path, monkeypatch):
    specs_in(tmp_path / "solutions", names=(TINY,))
    write(sheet(), tmp_path / "subs" / "alice" / f"{TINY}.ipynb")
    (tmp_path / "subs" / "bob").mkdir()
    (tmp_path / "subs" / "bob" / f"{TINY}.ipynb").write_text("{ broken")
    monkeypatch.setattr(runner, "sandbox_problem", lambda: MISSING)
    args = [
        "grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
        "--solutions", str(tmp_path / "solutions"), "--timeout", "20",
    ]  # fmt: skip
    return tmp_path, args


def test_no_sandbox_stops_before_grading(course, monkeypatch, capsys):
    tmp_path, args = course

    def never(*a, **k):
        raise AssertionError("grading started without a sandbox")

    monkeypatch.setattr(runner, "open_runtime", never)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {MISSING}\n\n")
    assert "--no-sandbox" in err and "never do that for students' submissions" in err
    assert not (tmp_path / "out").exists()


def test_the_library_refuses_too(course):
    tmp_path, _ = course
    with pytest.raises(batch.SandboxUnavailable, match="apt-get install bubblewrap"):
        batch.grade_folder(
            tmp_path / "subs", {}, tmp_path / "out", log=lambda text: None
        )
    assert not (tmp_path / "out").exists()


def test_no_sandbox_grades_and_says_so_everywhere(course, capsys):
    tmp_path, args = course
    assert main(args + ["--no-sandbox"]) == 0
    out = capsys.readouterr().out
    assert f"WARNING: {NO_SANDBOX}." in out
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert summary.rstrip().endswith(f"WARNING: {NO_SANDBOX}.")
    for student in ("alice", "bob"):
        text = (tmp_path / "out" / "feedback" / f"{student}.md").read_text()
        assert text.startswith(
            f"# Feedback for `{student}`\n\n**Warning:** {NO_SANDBOX}.\n"
        )
    rows = read_rows(tmp_path / "out")
    assert by_part(rows, "alice")["double_tests"]["points"] == "2"
    assert {r["status"] for r in rows if r["student"] == "bob"} == {"error"}


def test_bad_shard_option_is_a_usage_error(course, capsys):
    with pytest.raises(SystemExit) as stop:
        main(course[1] + ["--no-sandbox", "--shard", "4/3"])
    assert stop.value.code == 2
    assert "K must be between 1 and N" in capsys.readouterr().err

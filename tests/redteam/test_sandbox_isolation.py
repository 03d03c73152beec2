"""Red team: what a submission can reach from inside its sandbox.

Every tactic is a submission of sheet 01 in one hostile class (see
``_hostile_class.py``), graded two at a time beside honest students, once as
the user running the tests and once as an ordinary user. Each test asserts
the exact outcome: honest students keep full marks, attackers earn nothing,
nothing outside the sandbox changes, no process survives.
"""

from __future__ import annotations

import os

import pytest
from _hostile_class import (
    AUTO_SHEET_PARTS as AUTO,
)
from _hostile_class import (
    DAEMON_TOKEN,
    HONEST,
    LIMITS,
    ON_SOLUTION,
    PARTS,
    PWNED,
    TACTICS,
    results,
    students,
)
from _sandbox_helpers import processes_with, require_sandbox

from itutils.grading.sandbox import UID_BASE, lock_slot


@pytest.fixture(scope="module", params=["self", "user"])
def graded(request):
    require_sandbox()
    outcome = results(request.param)
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    return outcome


def student(graded, name) -> dict:
    return graded["students"][name]


def test_every_student_gets_every_part(graded):
    everyone = students()
    assert set(graded["students"]) == set(everyone)
    for name, result in graded["students"].items():
        sheet = everyone[name][0]
        assert list(result["parts"]) == PARTS[sheet], name
        assert result["sandboxed"], name


@pytest.mark.parametrize("name", [*HONEST, *ON_SOLUTION])
def test_honest_students_keep_full_marks(graded, name):
    result = student(graded, name)
    assert result["status"] == "ok", result["message"]
    for part in AUTO:
        assert result["parts"][part]["status"] == "pass", (part, result)


@pytest.mark.parametrize("name", ["blank", *TACTICS])
def test_attackers_earn_nothing(graded, name):
    result = student(graded, name)
    for part in AUTO:
        assert result["parts"][part]["points"] == 0, (part, result)


def test_solutions_and_course_folder_are_out_of_sight(graded):
    # It walks up from sys.executable, /proc/1/cmdline, cwd and sys.path.
    result = student(graded, "reads_solutions")
    assert "NOTEBOOKS-FOUND 0" in result["output"], result["output"]
    assert "STOLE" not in result["output"]


def test_other_students_scratch_is_out_of_sight(graded):
    result = student(graded, "peer_reader")
    assert "PEER-HITS []" in result["output"], result["output"]


def test_kill_minus_one_only_reaches_its_own_sandbox(graded):
    result = student(graded, "killer")
    # The tactic works on its own child (SIGKILL) and nothing else.
    assert "OWN-CHILD -9" in result["output"], result["output"]
    for name in HONEST:
        assert student(graded, name)["status"] == "ok"


def test_stopping_or_killing_the_grader_is_impossible(graded):
    result = student(graded, "stopper")
    assert result["status"] == "ok", result["message"]
    assert "VISIBLE [1, 2]" in result["output"], result["output"]
    assert "STOPPER-DONE" in result["output"]


def test_grader_memory_is_out_of_reach(graded):
    result = student(graded, "mem_writer")
    # Only the sandbox's own first process (bwrap, no capabilities) is there.
    assert (
        "MEM-OPENED [1]" in result["output"] or "MEM-OPENED []" in result["output"]
    ), result["output"]


def test_double_fork_daemon_does_not_survive(graded):
    assert "DAEMON-STARTED" in student(graded, "daemon")["output"]
    assert processes_with(DAEMON_TOKEN) == []


def test_no_process_of_any_sandbox_survives(graded):
    assert processes_with(DAEMON_TOKEN) == []
    if os.geteuid() == 0:
        leftover = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    uid = os.stat(f"/proc/{entry}").st_uid
                    with open(f"/proc/{entry}/stat", "rb") as fh:
                        state = fh.read().rsplit(b")", 1)[1].split()[0]
                except (OSError, IndexError):
                    continue
                # A zombie is already dead, waiting for the system to reap it.
                if UID_BASE <= uid < UID_BASE + 1000 and state != b"Z":
                    leftover.append((int(entry), uid - UID_BASE))
        # A slot another grader holds now (tests running in parallel) is that
        # grader's live sandbox; a process in a free slot outlived its grader.
        survivors = []
        for pid, slot in leftover:
            lock = lock_slot(slot)
            if lock is None:
                continue
            if lock >= 0:
                os.close(lock)
            survivors.append(pid)
        assert survivors == []


def test_process_limit_stops_a_fork_bomb(graded):
    output = student(graded, "fork_bomb")["output"]
    assert "FORK-LIMIT" in output, output
    kids = int(output.split("FORK-LIMIT")[1].split()[0])
    assert 0 < kids < LIMITS.processes


def test_memory_of_a_whole_sandbox_is_capped_as_root(graded):
    output = student(graded, "memory_sum")["output"]
    codes = eval(output.split("KIDS")[1].strip())  # a list of wait statuses
    if graded["uid"] == 0:
        # The slot's cgroup kills what exceeds --memory in total.
        assert 9 in codes, output
    else:
        # As an ordinary user only each process is capped (see the README).
        assert codes == [0, 0, 0, 0], output


def test_private_size_limited_tmpfs(graded):
    output = student(graded, "filler")["output"]
    for folder in ("/scratch", "/tmp", "/dev/shm"):
        line = next(x for x in output.splitlines() if f"FULL {folder} " in x)
        assert int(line.split()[2]) <= LIMITS.tmpfs_mb, line


def test_home_folder_and_host_tmp_are_untouched(graded):
    output = student(graded, "home_writer")["output"]
    assert "WROTE-INSIDE /scratch/.bashrc" in output, output
    assert graded["before"]["home"] == graded["after"]["home"]
    assert not [n for n in graded["after"]["tmp"] if PWNED in n or "peer-" in n]
    assert not os.path.exists(f"/var/tmp/{PWNED}")


def test_library_copy_and_environment_are_read_only(graded):
    output = student(graded, "library_editor")["output"]
    assert "EDITED" not in output, output
    assert "OSError" in output or "PermissionError" in output


def test_no_network(graded):
    output = student(graded, "netcat")["output"]
    assert "NET-OPEN" not in output and output.count("net-closed") == 3, output


def test_loop_that_swallows_the_alarm_is_ended(graded):
    result = student(graded, "stubborn")
    assert result["status"] == "timeout", result
    assert f"time limit of {LIMITS.step_seconds:g} s" in result["message"]


def test_repository_unchanged(graded):
    assert graded["before"]["repo"] == graded["after"]["repo"]


def test_runtime_folder_removed(graded):
    assert graded["runtime_dir_left"] is False
    assert not os.path.exists(graded["runtime_dir"])

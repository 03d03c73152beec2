"""End-to-end tests of the grader: honest, blank, adversarial and batch submissions.

Every submission is built here from the solution notebooks, in a temporary
folder; nothing is committed. Limits are small so that the tactics that
hang or hog memory end quickly.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

import itutils
from itutils.grading.batch import grade_folder
from itutils.grading.runner import Limits
from itutils.grading.spec import load_spec, load_specs

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
ENTROPY = "01_entropy"
AUTO_PARTS = [
    "entropy_bits_tests",
    "die_and_coin_tests",
    "conditional_entropy_tests",
    "half_bit_tests",
]
LIMITS = Limits(wall_seconds=60, step_seconds=15, memory_mb=2500)


def _nb(name: str = ENTROPY, folder: Path = SOLUTIONS):
    return nbformat.read(folder / f"{name}.ipynb", as_version=4)


def _cell(nb, grade_id: str):
    return next(
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _edit(path: Path, changes: dict, delete=(), extra: str | None = None) -> Path:
    """The entropy solution with some cells' sources replaced."""
    nb = _nb()
    for gid, source in changes.items():
        _cell(nb, gid).source = source
    nb.cells = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") not in delete
    ]
    if extra is not None:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return _write(nb, path)


def _rows(out: Path) -> list:
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _by_part(rows, student):
    return {r["part"]: r for r in rows if r["student"] == student}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


WRONG_ENTROPY = '''
def entropy_bits(p):
    """Wrong on purpose: always half a bit."""
    return 0.5
'''
H_CELL = """
h_die = entropy_bits(np.full(6, 1 / 6))
h_coin = entropy_bits([0.8, 0.2])
"""


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    """Grade one batch holding every tactic; return (rows, out, guarded copy)."""
    base = tmp_path_factory.mktemp("adversarial")
    subs, out = base / "submissions", base / "out"
    guarded = base / "solutions_copy"
    shutil.copytree(SOLUTIONS, guarded)
    snapshot_target = "itutils.grading.checks"
    _edit(
        subs / "rebinder.ipynb",
        {
            "entropy_bits": WRONG_ENTROPY
            + """
import builtins, math
builtins.abs = lambda x: 0
builtins.AssertionError = type("Nothing", (Exception,), {})
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
check_close = check_equal = lambda *a, **k: None
"""
        },
    )
    _edit(
        subs / "always_equal.ipynb",
        {
            "entropy_bits": """
class AlwaysEqual:
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False

def entropy_bits(p):
    return AlwaysEqual()
""",
            "die_and_coin": """
class Sneaky(float):
    def __eq__(self, other):
        return True
h_die = Sneaky(0.0)
h_coin = Sneaky(0.0)
""",
        },
    )
    _edit(
        subs / "tamperer.ipynb",
        {"entropy_bits": WRONG_ENTROPY},
        extra=f"""
import importlib, os
results = []
targets = [
    {str(guarded / (ENTROPY + ".ipynb"))!r},
    importlib.import_module({snapshot_target!r}).__file__,
    {str(Path(itutils.__file__).parent / "grading" / "score.py")!r},
]
for target in targets:
    try:
        os.chmod(target, 0o666)
    except OSError as exc:
        results.append(type(exc).__name__)
    try:
        with open(target, "a") as fh:
            fh.write("# tampered")
        results.append("WROTE " + target)
    except OSError as exc:
        results.append(type(exc).__name__)
print(results)
""",
    )
    _edit(
        subs / "looper.ipynb",
        {
            "entropy_bits": """
def entropy_bits(p):
    while True:
        pass
"""
        },
    )
    _edit(
        subs / "stubborn.ipynb",
        {
            "half_bit": """
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
"""
        },
    )
    _edit(
        subs / "hog.ipynb",
        {
            "half_bit": """
import torch  # the limit must hold with torch's large address space too

def _hog():
    blocks = []
    while True:
        blocks.append(np.zeros(10**8))  # 800 MB each; address space counts at once

_hog()
p_half_bit = 0.11
"""
        },
    )
    _edit(subs / "exiter.ipynb", {"die_and_coin": "import sys\nsys.exit(0)\n" + H_CELL})
    _edit(
        subs / "hard_exit.ipynb", {"die_and_coin": "import os\nos._exit(0)\n" + H_CELL}
    )
    _edit(
        subs / "suicide.ipynb",
        {
            "die_and_coin": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
            + H_CELL
        },
    )
    _edit(
        subs / "shouter.ipynb",
        {},
        extra="for _ in range(300):\n    print('x' * 100_000)",
    )
    (subs / "garbled.ipynb").write_text("{ this is not json", encoding="utf-8")
    _edit(subs / "deleter.ipynb", {}, delete=["entropy_bits"])
    _edit(
        subs / "renamer.ipynb",
        {
            "entropy_bits": _cell(_nb(), "entropy_bits").source.replace(
                "def entropy_bits", "def entropy_in_bits"
            )
        },
    )
    grading = Path(itutils.__file__).parent / "grading"
    before = _digest(guarded), _digest(grading)
    specs = {ENTROPY: load_spec(guarded / f"{ENTROPY}.ipynb")}
    log: list = []
    rows = grade_folder(
        subs,
        specs,
        out,
        workers=2,
        limits=LIMITS,
        guard=[guarded, grading],
        log=log.append,
    )
    after = _digest(guarded), _digest(grading)
    return rows, out, before, after, log


def _assert_part(rows, student, part, status, *fragments, points="0"):
    row = _by_part(rows, student)[part]
    assert row["status"] == status, row
    assert row["points"] == points, row
    for fragment in fragments:
        assert fragment in row["reason"], row


def test_every_submission_has_every_part(adversarial):
    rows = adversarial[0]
    students = {r["student"] for r in rows}
    assert len(students) == 13
    for student in students:
        assert len(_by_part(rows, student)) == len(
            load_spec(SOLUTIONS / f"{ENTROPY}.ipynb").parts
        )


def test_rebinding_assert_abs_isclose_gains_nothing(adversarial):
    rows = adversarial[0]
    _assert_part(rows, "rebinder", "entropy_bits_tests", "fail", "expected 1, got 0.5")
    _assert_part(rows, "rebinder", "conditional_entropy_tests", "pass", points="2")


def test_always_equal_objects_are_refused(adversarial):
    rows = adversarial[0]
    _assert_part(rows, "always_equal", "entropy_bits_tests", "fail", "not plain data")
    _assert_part(
        rows, "always_equal", "die_and_coin_tests", "fail", "Sneaky", "not plain data"
    )


def test_tampering_with_grading_files_gains_nothing(adversarial):
    rows, out, before, after, log = adversarial
    _assert_part(rows, "tamperer", "entropy_bits_tests", "fail", "expected 1, got 0.5")
    assert before == after, "a submission changed the solutions or the library"
    feedback = (out / "feedback" / "tamperer.md").read_text()
    # Inside the sandbox the guarded copy does not exist and the library
    # copy is read-only: each attempt fails with an OSError.
    assert "WROTE" not in feedback
    assert feedback.count("Error") >= 6, feedback
    assert "WARNING" not in log[-1]


def test_infinite_loop_in_a_function_times_out_that_part_only(adversarial):
    rows = adversarial[0]
    _assert_part(
        rows,
        "looper",
        "entropy_bits_tests",
        "fail",
        f"did not finish within {LIMITS.step_seconds:g} s",
    )
    _assert_part(rows, "looper", "conditional_entropy_tests", "pass", points="2")


def test_loop_that_swallows_the_alarm_is_ended_by_the_grader(adversarial):
    rows = adversarial[0]
    for part in AUTO_PARTS:
        _assert_part(
            rows,
            "stubborn",
            part,
            "error",
            f"ignored its time limit of {LIMITS.step_seconds:g} s",
            "half_bit",
        )


def test_memory_exhaustion_is_reported(adversarial):
    rows = adversarial[0]
    _assert_part(rows, "hog", "half_bit_tests", "fail", "MemoryError")
    _assert_part(rows, "hog", "entropy_bits_tests", "pass", points="2")


def test_sys_exit_is_caught_and_the_notebook_goes_on(adversarial):
    rows = adversarial[0]
    _assert_part(rows, "exiter", "die_and_coin_tests", "fail", "SystemExit")
    _assert_part(rows, "exiter", "half_bit_tests", "pass", points="1")


@pytest.mark.parametrize(
    "student, fragment",
    [("hard_exit", "exited with code 0"), ("suicide", "killed by signal SIGKILL")],
)
def test_ending_the_process_is_graded_with_a_reason(adversarial, student, fragment):
    rows = adversarial[0]
    for part in AUTO_PARTS:
        _assert_part(rows, student, part, "error", fragment, "die_and_coin")


def test_printing_megabytes_is_capped_and_still_graded(adversarial):
    rows, out = adversarial[0], adversarial[1]
    _assert_part(rows, "shouter", "entropy_bits_tests", "pass", points="2")
    assert (out / "feedback" / "shouter.md").stat().st_size < 20_000


def test_invalid_json_is_graded_zero_with_a_reason(adversarial):
    rows = adversarial[0]
    for part in AUTO_PARTS + ["die_and_coin_explained"]:
        _assert_part(rows, "garbled", part, "error", "not valid JSON")


def test_missing_and_renamed_functions_are_explained(adversarial):
    rows = adversarial[0]
    _assert_part(
        rows,
        "deleter",
        "entropy_bits_tests",
        "fail",
        "`entropy_bits` is not defined",
        "cell entropy_bits is missing",
    )
    _assert_part(
        rows,
        "renamer",
        "entropy_bits_tests",
        "fail",
        "`entropy_bits` is not defined",
        "renamed",
    )


def test_summary_counts_runs_that_failed(adversarial):
    log = adversarial[4]
    assert (
        "Graded 13 submissions from 13 students; 4 could not be run to the end"
        in log[-1]
    )
    assert "1 timed out, 2 ended early, 1 unreadable" in log[-1]


def test_solutions_full_marks_and_blank_exercises_zero(tmp_path):
    subs = tmp_path / "subs"
    for name in sorted(p.stem for p in SOLUTIONS.glob("*.ipynb")):
        _write(_nb(name), subs / "solution" / f"{name}.ipynb")
        _write(_nb(name, EXERCISES), subs / "blank" / f"{name}.ipynb")
    rows = grade_folder(
        subs,
        load_specs(SOLUTIONS),
        tmp_path / "out",
        limits=Limits(),
        log=lambda text: None,
    )
    solution = [r for r in rows if r["student"] == "solution"]
    blank = [r for r in rows if r["student"] == "blank"]
    assert len(solution) == len(blank) > 20
    for r in solution:
        assert (r["status"], r["points"]) in {
            ("pass", r["max_points"]),
            ("manual", ""),
        }, r
    for r in blank:
        assert r["status"] == "fail" and r["points"] == "0", r


def test_newest_submission_counts_and_feedback_says_so(tmp_path):
    subs = tmp_path / "subs"
    _write(_nb(ENTROPY, EXERCISES), subs / "dave_2024-05-01T09-00.ipynb")
    _write(_nb(), subs / "dave_2024-05-02T09-00.ipynb")
    _write(_nb(), subs / "erin" / "old" / "01_entropy.ipynb")
    _write(_nb(ENTROPY, EXERCISES), subs / "erin" / "01_entropy.ipynb")
    os.utime(subs / "erin" / "old" / "01_entropy.ipynb", (1_700_000_000, 1_700_000_000))
    os.utime(subs / "erin" / "01_entropy.ipynb", (1_800_000_000, 1_800_000_000))
    rows = grade_folder(
        subs,
        {ENTROPY: load_spec(SOLUTIONS / f"{ENTROPY}.ipynb")},
        tmp_path / "out",
        limits=LIMITS,
        log=lambda text: None,
    )
    assert _by_part(rows, "dave")["entropy_bits_tests"]["points"] == "2"
    assert _by_part(rows, "erin")["entropy_bits_tests"]["points"] == "0"
    dave = (tmp_path / "out" / "feedback" / "dave.md").read_text()
    assert "Not graded: `dave_2024-05-01T09-00.ipynb`" in dave
    assert "timestamp 2024-05-02T09-00 in the file name" in dave
    erin = (tmp_path / "out" / "feedback" / "erin.md").read_text()
    assert "Not graded: `erin/old/01_entropy.ipynb`" in erin


def _mixed_batch(folder: Path) -> None:
    """30 submissions: honest, blank, wrong, broken, renamed, half done."""
    blank = _nb(ENTROPY, EXERCISES)
    for i in range(30):
        path = folder / f"student{i:02d}.ipynb"
        kind = i % 6
        if kind == 0:
            _write(_nb(), path)
        elif kind == 1:
            _write(blank, path)
        elif kind == 2:
            _edit(path, {"entropy_bits": WRONG_ENTROPY})
        elif kind == 3:
            path.write_text(json.dumps({"cells": "nope"}), encoding="utf-8")
        elif kind == 4:
            _edit(
                path,
                {
                    "entropy_bits": _cell(_nb(), "entropy_bits").source.replace(
                        "def entropy_bits", "def entropy2"
                    )
                },
            )
        else:
            nb = _nb(ENTROPY, EXERCISES)
            for gid in ("entropy_bits", "half_bit"):
                _cell(nb, gid).source = _cell(_nb(), gid).source
            _write(nb, path)


def test_batch_of_thirty_loses_nothing_and_is_reproducible(tmp_path):
    subs = tmp_path / "subs"
    _mixed_batch(subs)
    specs = {ENTROPY: load_spec(SOLUTIONS / f"{ENTROPY}.ipynb")}
    log: list = []
    grade_folder(
        subs, specs, tmp_path / "out1", workers=2, limits=LIMITS, log=log.append
    )
    rows = _rows(tmp_path / "out1")
    parts = [p.grade_id for p in specs[ENTROPY].parts]
    for part in parts:
        assert len([r for r in rows if r["part"] == part]) == 30
    assert len(list((tmp_path / "out1" / "feedback").glob("*.md"))) == 30
    assert "Graded 30 submissions from 30 students" in log[-1]
    points = {
        r["student"]: r["points"] for r in rows if r["part"] == "entropy_bits_tests"
    }
    assert [points[f"student{i:02d}"] for i in range(6)] == [
        "2",
        "0",
        "0",
        "0",
        "0",
        "2",
    ]
    half = {r["student"]: r["points"] for r in rows if r["part"] == "half_bit_tests"}
    assert half["student05"] == "1"
    grade_folder(
        subs, specs, tmp_path / "out2", workers=2, limits=LIMITS, log=log.append
    )
    assert (tmp_path / "out1" / "grades.csv").read_bytes() == (
        tmp_path / "out2" / "grades.csv"
    ).read_bytes()

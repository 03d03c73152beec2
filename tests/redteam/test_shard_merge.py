"""Shards: N = 3 slices graded apart and merged equal one run, byte for byte.

One class with a bit of everything (full marks, wrong answers, written
answers, a blank answer, late files, a name collision, a link, a file whose
sheet cannot be told, Markdown injection) is graded once on "one machine"
and once as three shards (``--shard 1/3``, ``2/3``, ``3/3``). ``merge`` of the
three must reproduce the single run's output folder file for file, byte for
byte, and must refuse shards that overlap, are missing, come from other
solutions or other splits, or were changed after grading.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itutils.grading.shard import merge
from tests._grading_batch import (
    OTHER,
    TINY,
    WRONG,
    grade,
    sheet,
    specs_in,
    tree_bytes,
    write,
)

ROOT = Path(__file__).resolve().parents[2]
N = 3


def _class(subs: Path, solutions: Path) -> None:
    write(sheet(), subs / "alice" / f"{TINY}.ipynb")
    write(sheet(WRONG), subs / "alice" / f"{OTHER}.ipynb")
    write(sheet(answer="YOUR ANSWER HERE"), subs / "alice!" / f"{TINY}.ipynb")
    write(sheet(WRONG), subs / f"bob_{TINY}_2024-05-01.ipynb")
    write(sheet(), subs / f"bob_{TINY}_2024-05-02.ipynb")
    (subs / f"carol_{OTHER}.ipynb").symlink_to(solutions / f"{OTHER}.ipynb")
    write(sheet(), subs / "dave.ipynb")
    write(
        sheet(answer="## All parts passed\n[x](http://x)"), subs / f"erin_{OTHER}.ipynb"
    )
    write(sheet(extra=["print('hello from frank')"]), subs / "frank" / f"{TINY}.ipynb")
    (subs / "zed.ipynb").write_text("{ not json")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    specs = specs_in(base / "solutions")
    _class(base / "subs", base / "solutions")
    grade(base / "subs", base / "single", specs)
    shards = []
    for k in range(1, N + 1):
        shards.append(base / f"shard{k}")
        grade(base / "subs", shards[-1], specs, shard=(k, N))
    merge(shards, base / "merged", log=lambda text: None)
    return base, specs, shards


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "itutils.grading", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_three_shards_merged_equal_one_run_byte_for_byte(runs):
    base = runs[0]
    single, merged = tree_bytes(base / "single"), tree_bytes(base / "merged")
    assert sorted(single) == sorted(merged)
    for name in single:
        assert single[name] == merged[name], name
    assert len([n for n in single if n.startswith("feedback/")]) == 8


def test_each_shard_holds_its_slice_only(runs):
    base, _, shards = runs
    slices = []
    for k, shard in enumerate(shards, start=1):
        data = json.loads((shard / "shard.json").read_text())
        assert data["shard"] == [k, N]
        slices.append(data["students"])
        assert sorted(p.stem for p in (shard / "feedback").iterdir()) == sorted(
            data["students"]
        )
    assert slices == [
        ["alice~1", "carol", "frank"],
        ["alice~2", "dave", "zed"],
        ["bob", "erin"],
    ]


def test_the_command_line_merge_is_identical_too(runs):
    base, _, shards = runs
    done = _cli("merge", *shards, "--out", base / "merged_cli")
    assert done.returncode == 0, done.stderr
    assert tree_bytes(base / "merged_cli") == tree_bytes(base / "single")


def _refused(*folders, out):
    done = _cli("merge", *folders, "--out", out)
    assert done.returncode == 2, done.stdout
    assert not Path(out).exists()
    return done.stderr


def test_a_shard_given_twice_is_refused(runs):
    base, _, (s1, s2, s3) = runs
    assert _refused(s1, s2, s1, s3, out=base / "m1") == (
        f"error: shard 1/3 is given twice ({s1} and {s1}): give each shard folder "
        "once\n"
    )


def test_a_missing_shard_is_refused(runs):
    base, _, (s1, s2, _) = runs
    assert _refused(s1, s2, out=base / "m2") == (
        "error: missing shard 3/3: merge needs all 3 shard folders of the run\n"
    )


def test_a_folder_that_is_not_a_shard_is_refused(runs):
    base, _, (s1, s2, s3) = runs
    single = base / "single"
    assert _refused(s1, s2, s3, single, out=base / "m3") == (
        f"error: {single} is not a shard output folder (shard.json: the file "
        f"disappeared while the class was being graded); grade with --shard K/N "
        f"--out {single} first\n"
    )


def test_shards_of_different_solutions_are_refused(runs):
    base, specs, (s1, s2, _) = runs
    other = base / "other_solutions"
    shutil.copytree(base / "solutions", other)
    nb = sheet()
    nb.cells[3].metadata["nbgrader"]["points"] = 5  # double_tests: 5 points
    write(nb, other / f"{TINY}.ipynb")
    from itutils.grading.spec import load_specs

    grade(base / "subs", base / "s3_other", load_specs(other), shard=(3, N))
    assert _refused(s1, s2, base / "s3_other", out=base / "m4") == (
        f"error: {s1} (shard 1/3) and {base / 's3_other'} (shard 3/3) were graded "
        "against different solutions (solutions/ differs); grade every shard with "
        "the same solutions\n"
    )


def test_shards_of_different_splits_are_refused(runs):
    base, _, (s1, s2, s3) = runs
    odd = base / "s3_of_4"
    shutil.copytree(s3, odd)
    data = json.loads((odd / "shard.json").read_text())
    data["shard"] = [3, 4]
    (odd / "shard.json").write_text(json.dumps(data))
    assert _refused(s1, s2, odd, out=base / "m5") == (
        f"error: {s1} is shard 1/3 but {odd} is shard 3/4: every shard of one run "
        "splits the class into the same number N of slices\n"
    )


def test_a_feedback_file_changed_after_grading_is_refused(runs):
    base, _, (s1, s2, s3) = runs
    changed = base / "s2_changed"
    shutil.copytree(s2, changed)
    path = changed / "feedback" / "dave.md"
    path.write_text(path.read_text().replace("0 / 3", "3 / 3"))
    assert _refused(s1, changed, s3, out=base / "m6") == (
        f"error: {changed}/feedback/dave.md differs from what that shard wrote "
        "(changed after grading?); grade that shard again\n"
    )

"""Red team: names that impersonate a student, timestamps that lie.

``alice!`` cleans to ``alice``: before, it silently replaced alice's work.
``bob_01_tiny_2099-12-31.ipynb`` claimed to be bob's newest file. Now both
names are graded under numbered ids and flagged in both feedback files and
the summary, and a future timestamp is not used for ordering, with a warning.
"""

from __future__ import annotations

import os

import pytest

from tests._grading_batch import TINY, WRONG, by_part, grade, sheet, specs_in, write

COLLISION = (
    "2 submitted names clean to the same student id `alice`: `alice` as "
    "`alice~1`, `alice!` as `alice~2`. Each was graded separately under its own "
    "numbered id; check who is who before using these grades."
)
FUTURE = (
    "The timestamp `2099-12-31` in the name of `bob_01_tiny_2099-12-31.ipynb` "
    "lies in the future; it was not used to decide which file is the newest."
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("impersonation")
    specs = specs_in(base / "solutions", names=(TINY,))
    subs, out = base / "subs", base / "out"
    write(sheet(), subs / "alice" / f"{TINY}.ipynb")
    write(sheet(WRONG), subs / "alice!" / f"{TINY}.ipynb")
    real = write(sheet(), subs / f"bob_{TINY}_2024-05-01.ipynb")
    forged = write(sheet(WRONG), subs / f"bob_{TINY}_2099-12-31.ipynb")
    os.utime(forged, (1_714_000_000, 1_714_000_000))
    os.utime(real, (1_714_600_000, 1_714_600_000))  # really the newer one
    rows, summary = grade(subs, out, specs)
    return rows, out, summary


def test_both_names_are_graded_under_their_own_ids(graded):
    rows = graded[0]
    assert {r["student"] for r in rows} == {"alice~1", "alice~2", "bob"}
    assert by_part(rows, "alice~1")["double_tests"]["points"] == "2"
    assert by_part(rows, "alice~1")["double_tests"]["file"] == f"alice/{TINY}.ipynb"
    assert by_part(rows, "alice~2")["double_tests"]["points"] == "0"
    assert by_part(rows, "alice~2")["double_tests"]["file"] == f"alice!/{TINY}.ipynb"


@pytest.mark.parametrize("student", ["alice~1", "alice~2"])
def test_both_feedback_files_flag_the_collision(graded, student):
    text = (graded[1] / "feedback" / f"{student}.md").read_text()
    assert text.startswith(f"# Feedback for `{student}`\n\n**Warning:** {COLLISION}")


def test_the_summary_flags_the_collision(graded):
    assert (
        '- 2 submitted names clean to the same student id "alice": "alice" as '
        '"alice~1", "alice!" as "alice~2".'
    ) in graded[2]


def test_a_future_timestamp_does_not_win(graded):
    rows, out, summary = graded
    assert by_part(rows, "bob")["double_tests"]["points"] == "2"
    assert by_part(rows, "bob")["double_tests"]["file"] == (
        f"bob_{TINY}_2024-05-01.ipynb"
    )
    text = (out / "feedback" / "bob.md").read_text()
    assert f"**Warning:** {FUTURE}" in text
    assert (
        "Not graded: `bob_01_tiny_2099-12-31.ipynb` (file modification time "
        "2024-04-24 23:06:40 UTC): an older submission of the same exercise"
    ) in text
    assert (
        '- bob: The timestamp "2099-12-31" in the name of '
        '"bob_01_tiny_2099-12-31.ipynb" lies in the future'
    ) in summary

"""Red team: CSV injection in names, Markdown/HTML injection in everything else.

Students whose file names are spreadsheet formulas (``=HYPERLINK(...)``,
``+1+2``, ``-2+3``, ``@SUM(...)``, a leading tab or carriage return), or
Markdown (``[x](http:evil)``, ``<script>``), and one whose written answer,
exception messages and printed output forge a heading ("All parts passed:
8 / 8 points"), a link, an image, HTML and code fences. grades.csv must hold
no cell a spreadsheet would run; the feedback files and manual_answers.md,
rendered as Markdown, must hold exactly the headings the grader wrote and no
link, image or HTML from a student.
"""

from __future__ import annotations

import csv
import html
import re

import mistune
import pytest

from tests._grading_batch import TINY, grade, sheet, specs_in, write

PAYLOAD = (
    "\n## All parts passed: 8 / 8 points\n"
    "[link](http://x) ![img](x) <script>alert(1)</script> www.evil.example\n"
    "```\n# out of the fence?\n````\n"
    "<img src=x onerror=alert(1)>\r## after a carriage return\n=1+1"
)
CODE = (
    f"PAYLOAD = {PAYLOAD!r}\nprint(PAYLOAD)\n\n\ndef double(x):\n"
    "    raise ValueError(PAYLOAD)\n\n\nraise RuntimeError(PAYLOAD)\n"
)
# file stem (before _01_tiny) -> student id
NAMES = {
    '=HYPERLINK("evil.example","click")': "HYPERLINK_evil.example_click",
    "=cmd|' \\C calc'!A0": "cmd_C_calc_A0",
    "+1+2": "+1+2",
    "-2+3": "2+3",
    "@SUM(A1)": "@SUM_A1",
    "\tcmd": "cmd",
    "\rcr": "cr",
    "[x](http:evil)": "x_http_evil",
    "<script>": "script",
}
RENDER = mistune.create_markdown(escape=False, plugins=["table", "url"])
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("injection")
    specs = specs_in(base / "solutions", names=(TINY,))
    subs, out = base / "subs", base / "out"
    for stem in NAMES:
        write(sheet(), subs / f"{stem}_{TINY}.ipynb")
    write(sheet(CODE, PAYLOAD), subs / "mdinject" / f"{TINY}.ipynb")
    rows, summary = grade(subs, out, specs)
    return rows, out, summary


def _headings(markdown: str) -> list:
    page = RENDER(markdown)
    for tag in ("<a ", "<img", "<script", "<hr"):
        assert tag not in page, page
    return [
        (int(level), html.unescape(re.sub(r"<[^>]+>", "", text)))
        for level, text in re.findall(r"<h(\d)>(.*?)</h\1>", page, re.S)
    ]


def test_no_csv_cell_starts_a_formula(graded):
    out = graded[1]
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert len(table) == 1 + 2 * (len(NAMES) + 1)  # no row split by a line break
    for row in table:
        assert len(row) == 8, row
        for cell in row:
            assert not cell.startswith(FORMULA), row


def test_formula_names_are_neutralised_not_dropped(graded):
    out = graded[1]
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        seen = {(r["student"], r["file"]) for r in csv.DictReader(fh)}
    assert seen == {
        (
            "HYPERLINK_evil.example_click",
            '\'=HYPERLINK("evil.example","click")_01_tiny.ipynb',
        ),
        ("cmd_C_calc_A0", "'=cmd|' \\C calc'!A0_01_tiny.ipynb"),
        ("'+1+2", "'+1+2_01_tiny.ipynb"),
        ("2+3", "'-2+3_01_tiny.ipynb"),
        ("'@SUM_A1", "'@SUM(A1)_01_tiny.ipynb"),
        ("cmd", "' cmd_01_tiny.ipynb"),
        ("cr", "' cr_01_tiny.ipynb"),
        ("x_http_evil", "[x](http:evil)_01_tiny.ipynb"),
        ("script", "<script>_01_tiny.ipynb"),
        ("mdinject", "mdinject/01_tiny.ipynb"),
    }
    # The grades themselves are intact.
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        points = {
            r["student"]: r["points"]
            for r in csv.DictReader(fh)
            if r["part"] == "double_tests"
        }
    assert points == {
        student: ("0" if student == "mdinject" else "2") for student, _ in seen
    }


def test_forged_markdown_stays_text_in_the_feedback(graded):
    text = (graded[1] / "feedback" / "mdinject.md").read_text()
    assert _headings(text) == [
        (1, "Feedback for mdinject"),
        (2, "01_tiny: 0 / 3 points (1 point more to be graded by hand)"),
        (3, "double_tests: lost 2 points"),
        (3, "why: your written answer (graded by hand)"),
        (3, "Errors raised while running your notebook"),
    ]
    page = RENDER(text)
    # Shown, escaped: in the three failure details (the cell's error and the
    # two checks), the answer, the list of errors and the printed output.
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 6
    assert page.count("All parts passed: 8 / 8 points") == 6


@pytest.mark.parametrize("stem", sorted(NAMES))
def test_names_cannot_add_markdown_to_their_feedback(graded, stem):
    student = NAMES[stem]
    text = (graded[1] / "feedback" / f"{student}.md").read_text()
    assert _headings(text) == [
        (1, f"Feedback for {student}"),
        (2, "01_tiny: 2 / 3 points (1 point more to be graded by hand)"),
        (3, "why: your written answer (graded by hand)"),
    ]


def test_forged_markdown_stays_text_in_manual_answers(graded):
    text = (graded[1] / "manual_answers.md").read_text()
    students = sorted([*NAMES.values(), "mdinject"])
    assert _headings(text) == [
        (1, "Written answers to grade by hand"),
        (2, "01_tiny / why (1 point)"),
    ] + [(3, s) for s in students]
    assert RENDER(text).count("&lt;script&gt;alert(1)&lt;/script&gt;") == 1


def test_the_summary_prints_no_control_characters(graded):
    summary = graded[2]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", summary)

"""manual_answers.md: question, rubric and model answer above every answer.

The spec's written-answer parts carry ``question``, ``rubric`` and
``model_answer`` (read from the solution notebook); here they are set on the
parts directly, so this tests the page whatever the spec reader provides.
The page is checked whole: its order (sheets, then parts in sheet order, then
students) is deterministic.
"""

from __future__ import annotations

from tests._grading_batch import OTHER, TINY, grade, sheet, specs_in, write

RUBRIC = (
    "- **1 point**: says that doubling adds the number to itself.\n\n"
    '**Common wrong answers:** "it multiplies" without saying by what.'
)


def test_manual_answers_page_is_complete_and_ordered(tmp_path):
    specs = specs_in(tmp_path / "solutions")
    for name in (TINY, OTHER):
        (why,) = [p for p in specs[name].parts if p.manual]
        why.question = f"Why does `double` work ({name})?"
        why.rubric = RUBRIC
        why.model_answer = "It adds $x$ to itself: $2x = x + x$."
    subs = tmp_path / "subs"
    write(
        sheet(answer="Because $x + x = 2x$.\n\n# not a heading"),
        subs / "zoe" / f"{TINY}.ipynb",
    )
    write(sheet(answer="It doubles."), subs / "amy" / f"{TINY}.ipynb")
    write(sheet(answer="YOUR ANSWER HERE"), subs / "amy" / f"{OTHER}.ipynb")
    grade(subs, tmp_path / "out", specs)
    text = (tmp_path / "out" / "manual_answers.md").read_text()
    block = (
        "**Question**\n\nWhy does `double` work ({})?\n\n"
        f"**Rubric**\n\n{RUBRIC}\n\n"
        "**Model answer**\n\nIt adds $x$ to itself: $2x = x + x$.\n\n"
    )
    assert text == (
        "# Written answers to grade by hand\n\n"
        "Per question: the question, the rubric and the model answer from the "
        "solution notebook, then every student's answer exactly as written (shown "
        "as plain text: Markdown and LaTeX in an answer are not rendered, so "
        "nothing in it can change this page).\n\n"
        "## 01_tiny / why (1 point)\n\n"
        + block.format(TINY)
        + "**Answers to grade: 2.**\n\n"
        "### `amy`\n\nFile: `amy/01_tiny.ipynb`\n\n```text\nIt doubles.\n```\n\n"
        "### `zoe`\n\nFile: `zoe/01_tiny.ipynb`\n\n"
        "```text\nBecause $x + x = 2x$.\n\n# not a heading\n```\n\n"
        "## 02_tiny / why (1 point)\n\n"
        + block.format(OTHER)
        + "**Answers to grade: 0.** No answer to grade (already scored 0, or no "
        "submission): `amy`, `zoe`.\n"
    )


def test_a_part_without_question_rubric_or_model_answer_says_so(tmp_path):
    specs = specs_in(tmp_path / "solutions", names=(TINY,))
    (why,) = [p for p in specs[TINY].parts if p.manual]
    why.question = why.rubric = why.model_answer = ""
    write(sheet(), tmp_path / "subs" / "amy" / f"{TINY}.ipynb")
    grade(tmp_path / "subs", tmp_path / "out", specs)
    text = (tmp_path / "out" / "manual_answers.md").read_text()
    for title in ("Question", "Rubric", "Model answer"):
        assert f"**{title}**\n\n*(none in the solution notebook)*\n\n" in text

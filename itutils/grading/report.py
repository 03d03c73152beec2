"""The batch grader's outputs as text: grades.csv, feedback, answers, summary.

Pure functions from plain data (rows, outcomes, answers) to text, so that a
single run and a merge of shards produce the same bytes from the same data.
Everything a submission controls goes through :mod:`itutils.grading.quoting`:
code spans and fenced blocks in Markdown, spreadsheet-safe fields in the CSV.
"""

from __future__ import annotations

import re
import statistics

from itutils.grading.quoting import csv_line, md_block, md_code, one_line

__all__ = [
    "FIELDS",
    "FILE_PART",
    "FEEDBACK_PART",
    "grades_csv",
    "feedback_markdown",
    "fallback_feedback",
    "manual_markdown",
    "summary_text",
    "NO_SANDBOX",
]

FIELDS = [
    "student",
    "notebook",
    "part",
    "points",
    "max_points",
    "status",
    "reason",
    "file",
]
#: ``part`` of a row about a whole file (a link, a special file, an unknown sheet).
FILE_PART = "(file)"
#: ``part`` of a row saying the student's feedback file could not be written.
FEEDBACK_PART = "(feedback)"
#: Longest ``reason`` kept in grades.csv (the feedback has the details).
REASON_CHARS = 1000
#: Printed output shown per notebook in the feedback.
OUTPUT_CHARS = 3000
#: One failure detail in the feedback.
DETAIL_CHARS = 2000

NO_SANDBOX = (
    "graded WITHOUT the sandbox (--no-sandbox): the notebooks ran with the "
    "grader's own rights and could read or change its files; use this only "
    "for files you trust"
)


def fmt_points(points) -> str:
    return "" if points is None else f"{points:g}"


def n_points(points: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def row_key(order: dict):
    """Sort key of grades.csv rows: student, notebook, part in sheet order, file."""

    def key(row):
        parts = order.get(row["notebook"], [])
        part = row["part"]
        if part == FILE_PART:
            rank = -1
        elif part in parts:
            rank = parts.index(part)
        else:
            rank = len(parts) + (part == FEEDBACK_PART)
        return (row["student"], row["notebook"], rank, part, row["file"])

    return key


def grades_csv(rows: list) -> str:
    """grades.csv: a header, then one spreadsheet-safe line per row."""
    lines = [csv_line(FIELDS)]
    for row in rows:
        values = dict(row, reason=one_line(row["reason"], REASON_CHARS))
        lines.append(csv_line(values[f] for f in FIELDS))
    return "".join(lines)


# ---------------------------------------------------------------------------
# Feedback


def _sheet_heading(exercise, outcomes) -> str:
    got = sum(o.points or 0 for o in outcomes)
    total = sum(o.max_points for o in outcomes)
    pending = sum(o.max_points for o in outcomes if o.points is None)
    text = f"## {exercise}: {got:g} / {n_points(total)}"
    if pending:
        text += f" ({n_points(pending)} more to be graded by hand)"
    return text


def _graded_section(g) -> list:
    """Markdown lines for one graded submission (see ``batch.Graded``)."""
    if g.exercise is None:
        return [
            "## unknown exercise",
            "",
            f"File: {md_code(g.relpath)}.",
            "",
            md_block(g.outcomes[0].reason),
            "",
        ]
    lines = [_sheet_heading(g.exercise, g.outcomes), ""]
    lines.append(f"Graded file: {md_code(g.relpath)} (newest by {g.stamp_text}).")
    lines.append("")
    for relpath, stamp_text in g.ignored:
        lines += [
            f"Not graded: {md_code(relpath)} ({stamp_text}): an older submission "
            "of the same exercise; the newest one counts.",
            "",
        ]
    for note in g.notes:
        lines += [f"**Warning:** {note.markdown()}", ""]
    if g.status == "error":
        lines += [
            "**The grader itself failed on this notebook.** This is not a mark "
            "against your work: your instructor will look at it and grade it "
            "again. What went wrong:",
            "",
            md_block(g.message),
            "",
        ]
    elif g.status != "ok":
        lines += [
            "**Your notebook could not be fully run:**",
            "",
            md_block(g.message),
            "",
        ]
    run = g.run
    if run is not None and run.missing_cells:
        cells = ", ".join(md_code(c) for c in run.missing_cells)
        lines += [
            f"Cells missing from your notebook (compared with the exercise): {cells}",
            "",
        ]
    lines += ["| part | points | status |", "|---|---|---|"]
    for o in g.outcomes:
        lines.append(
            f"| {o.part} | {fmt_points(o.points) or '?'} / {o.max_points:g} "
            f"| {o.status} |"
        )
    lines.append("")
    for o in g.outcomes:
        if o.points is not None and o.points < o.max_points:
            details = list(o.details or [o.reason])
            text = "\n".join(
                ("- " if len(details) > 1 else "") + str(d)[:DETAIL_CHARS]
                for d in details
            )
            lines += [
                f"### {o.part}: lost {n_points(o.max_points - o.points)}",
                "",
                md_block(text, limit=None),
                "",
            ]
        if o.answer is not None:
            lines += [
                f"### {o.part}: your written answer (graded by hand)",
                "",
                md_block(o.answer, limit=20_000),
                "",
            ]
    errors = run.cell_errors() if run is not None else []
    if errors:
        text = "\n".join(
            f"code cell {e.get('index')}"
            + (f" ({e.get('grade_id')})" if e.get("grade_id") else "")
            + f": {e.get('type')}: {str(e.get('message'))[:DETAIL_CHARS]}"
            for e in errors
        )
        lines += [
            "### Errors raised while running your notebook",
            "",
            md_block(text, limit=None),
            "",
        ]
    if run is not None and run.output.strip():
        lines += [
            "<details><summary>What your notebook printed</summary>",
            "",
            md_block(run.output, limit=OUTPUT_CHARS),
            "",
            "</details>",
            "",
        ]
    return lines


def feedback_markdown(
    student: str,
    graded: list,
    rejected: list,
    missing: dict,
    notes: list,
    sandbox: bool = True,
) -> str:
    """One student's feedback file.

    ``graded``: their graded submissions (``batch.Graded``); ``rejected``:
    their files that were not graded (``discover.Rejected``); ``missing``:
    {exercise: max points} of sheets with no submission; ``notes``: warnings
    about the student (:class:`~itutils.grading.quoting.Note`).
    """
    lines = [f"# Feedback for {md_code(student)}", ""]
    if not sandbox:
        lines += [f"**Warning:** {NO_SANDBOX}.", ""]
    for note in notes:
        lines += [f"**Warning:** {note.markdown()}", ""]
    for g in sorted(graded, key=lambda g: (g.exercise is None, g.exercise or "")):
        lines += _graded_section(g)
    for exercise, total in sorted(missing.items()):
        lines += [
            f"## {exercise}: 0 / {n_points(total)}",
            "",
            "No submission found for this exercise.",
            "",
        ]
    if rejected:
        lines += ["## Files not graded", ""]
        for r in rejected:
            sheet = f" ({r.exercise})" if r.exercise else ""
            lines.append(f"- {md_code(r.relpath)}{sheet}: {one_line(r.reason)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def fallback_feedback(student: str, rows: list, problem: str) -> str:
    """A plain feedback file from grades.csv rows, when the full one failed."""
    lines = [
        f"# Feedback for {md_code(student)}",
        "",
        "**The grader could not write your full feedback** (the grades below "
        "are complete; your instructor can grade again for the details):",
        "",
        md_block(problem),
        "",
        "| notebook | part | points | status | reason |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            md_code(r["notebook"]),
            md_code(r["part"]),
            f"{r['points'] or '?'} / {r['max_points']}",
            r["status"],
            md_code(r["reason"]).replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Written answers


def demote_headings(markdown: str) -> str:
    r"""The instructor's Markdown with its headings turned into bold lines.

    A question copied from the solution notebook starts with its part heading
    (``## Part B (core, 1 point): ...``); left as a heading it would sit at the
    level of the page's own questions and students. Fenced code is untouched.

    >>> demote_headings("## Part B: why?\n\nSay why.")
    '**Part B: why?**\n\nSay why.'
    """
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        out.append(f"**{heading.group(1)}**" if heading and heading.group(1) else line)
    return "\n".join(out)


def manual_markdown(questions: list, answers: list, rows: list) -> str:
    """manual_answers.md: per question, its text, rubric and model answer,
    then every student's answer, quoted literally.

    ``questions``: dicts with exercise, part, points, question, rubric,
    model_answer (from the solutions, in sheet order); ``answers``: dicts with
    exercise, part, student, file, answer.
    """
    lines = [
        "# Written answers to grade by hand",
        "",
        "Per question: the question, the rubric and the model answer from the "
        "solution notebook, then every student's answer exactly as written "
        "(shown as plain text: Markdown and LaTeX in an answer are not "
        "rendered, so nothing in it can change this page).",
        "",
    ]
    if not questions:
        lines += ["The graded sheets have no written answers.", ""]
    for q in questions:
        mine = sorted(
            (
                a
                for a in answers
                if (a["exercise"], a["part"]) == (q["exercise"], q["part"])
            ),
            key=lambda a: (a["student"], a["file"]),
        )
        none = sorted(
            {
                r["student"]
                for r in rows
                if (r["notebook"], r["part"]) == (q["exercise"], q["part"])
                and r["status"] != "manual"
            }
        )
        lines += [f"## {q['exercise']} / {q['part']} ({n_points(q['points'])})", ""]
        for title, key in (
            ("Question", "question"),
            ("Rubric", "rubric"),
            ("Model answer", "model_answer"),
        ):
            text = demote_headings((q.get(key) or "").strip())
            lines += [
                f"**{title}**",
                "",
                text or "*(none in the solution notebook)*",
                "",
            ]
        summary = f"**Answers to grade: {len(mine)}.**"
        if none:
            summary += " No answer to grade (already scored 0, or no submission): "
            summary += ", ".join(md_code(s) for s in none) + "."
        lines += [summary, ""]
        for a in mine:
            lines += [
                f"### {md_code(a['student'])}",
                "",
                f"File: {md_code(a['file'])}",
                "",
                md_block(a["answer"], limit=20_000),
                "",
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Summary


def summary_text(
    rows: list,
    statuses: list,
    order: dict,
    warnings: list,
    notes: list,
    rejected: int = 0,
    other_sheets: int = 0,
    sandbox: bool = True,
    tampered: bool = False,
) -> str:
    """The text printed at the end of a batch (and written to summary.txt).

    ``statuses``: one ``[student, status]`` per graded file; ``warnings``:
    lines about the class (names, timestamps); ``notes``: lines about single
    submissions (grader failures).
    """
    count = {
        s: sum(1 for _, st in statuses if st == s)
        for s in ("timeout", "ended", "invalid", "unknown", "error")
    }
    failed = sum(1 for _, st in statuses if st != "ok")
    lines = [
        f"Graded {len(statuses)} submissions from "
        f"{len({student for student, _ in statuses})} students; "
        f"{failed} could not be run to the end "
        f"({count['timeout']} timed out, {count['ended']} ended early, "
        f"{count['invalid'] + count['unknown']} unreadable"
        + (f", {count['error']} hit an error in the grader" if count["error"] else "")
        + ")."
    ]
    if rejected:
        lines.append(
            f"{rejected} files or folders were not graded (symbolic links, "
            "special files or folders nested too deep; see grades.csv)."
        )
    if other_sheets:
        lines.append(
            f"{other_sheets} submissions of other sheets were not graded (--exercise)."
        )
    lines += [
        "",
        f"{'notebook':<24} {'part':<26} {'n':>4} {'mean':>6} {'min':>5} {'max':>5} "
        f"{'full':>5} {'manual':>6}",
    ]
    parts: dict = {}
    for r in rows:
        parts.setdefault((r["notebook"], r["part"]), []).append(r)

    def rank(key):
        notebook, part = key
        names = order.get(notebook, [])
        return (notebook, names.index(part) if part in names else len(names), part)

    for notebook, part in sorted(parts, key=rank):
        group = parts[(notebook, part)]
        scored = [float(r["points"]) for r in group if r["points"] != ""]
        full = sum(1 for r in group if r["status"] == "pass")
        manual = sum(1 for r in group if r["status"] == "manual")
        mean = f"{statistics.fmean(scored):.2f}" if scored else "-"
        lo = f"{min(scored):g}" if scored else "-"
        hi = f"{max(scored):g}" if scored else "-"
        lines.append(
            f"{one_line(notebook):<24} {one_line(part):<26} {len(group):>4} "
            f"{mean:>6} {lo:>5} {hi:>5} {full:>5} {manual:>6}"
        )
    if warnings or notes:
        lines += ["", "Warnings:"] + [f"- {one_line(w)}" for w in [*warnings, *notes]]
    if not sandbox:
        lines += ["", f"WARNING: {NO_SANDBOX}."]
    if tampered:
        lines += [
            "",
            "WARNING: the solutions or the itutils package changed on disk "
            "during grading; the grades were computed from copies read before, "
            "but check the files (git status).",
        ]
    return "\n".join(lines)

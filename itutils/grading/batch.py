"""Grade a folder of submissions: grades.csv, one feedback file per student.

The steps, each in its own module:

1. :mod:`~itutils.grading.discover` walks the (untrusted) submissions folder:
   who submitted what, the newest file per student and exercise, files that
   are not graded (links, FIFOs, devices) and names that collide;
2. each chosen file is read safely (:mod:`~itutils.grading.safefs`) and run
   by the runtime (:mod:`~itutils.grading.runner`), then scored
   (:mod:`~itutils.grading.score`); anything that goes wrong with one
   submission, in the runtime, in scoring or in writing its feedback,
   becomes that student's error rows with the reason, never a crash;
3. :mod:`~itutils.grading.report` turns the results into text, and the
   output folder gets grades.csv, ``feedback/<student>.md``,
   ``manual_answers.md`` and ``summary.txt``, each written completely or not
   at all (:class:`~itutils.grading.safefs.OutputFolder`).

With ``shard=(K, N)`` only the K-th of N slices of the students is graded and
the folder also gets ``shard.json``, from which
:func:`itutils.grading.shard.merge` rebuilds the single-run output byte for
byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from itutils.grading import runner
from itutils.grading.discover import Discovery, Submission, discover
from itutils.grading.report import (
    FEEDBACK_PART,
    FIELDS,
    FILE_PART,
    OUTPUT_CHARS,
    fallback_feedback,
    feedback_markdown,
    fmt_points,
    grades_csv,
    manual_markdown,
    row_key,
    summary_text,
)
from itutils.grading.runner import Limits, RunResult
from itutils.grading.safefs import (
    NotGradable,
    OutputFolder,
    file_ids,
    read_regular,
    tree_digest,
)
from itutils.grading.score import Outcome, score

__all__ = [
    "FIELDS",
    "Graded",
    "Report",
    "SandboxUnavailable",
    "Submission",
    "discover",
    "grade_folder",
    "spec_fingerprint",
    "write_report",
]


class SandboxUnavailable(RuntimeError):
    """Submissions cannot be sandboxed here; the message says what to install."""


@dataclass
class Graded:
    """One graded submission: where it came from and what it scored."""

    student: str
    exercise: str | None
    relpath: str
    status: str  # ok, timeout, ended, invalid (runner); unknown, error (batch)
    message: str
    outcomes: list
    run: RunResult | None = None
    stamp_text: str = ""
    ignored: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Report:
    """Everything written to an output folder, as plain data.

    ``identity`` is the same for every shard of one run (solutions, what was
    found, options, all students); the rest covers ``students`` only.
    """

    identity: dict
    students: list
    rows: list
    feedback: dict  # student -> Markdown text
    answers: list  # written answers: exercise, part, student, file, answer
    statuses: list  # [student, status] per graded file
    notes: list  # summary lines about single submissions
    tampered: bool = False


def spec_fingerprint(specs: dict) -> str:
    """A hash of what the grader grades against: parts, checks, points, texts."""
    data = []
    for name in sorted(specs):
        spec = specs[name]
        parts = [
            [
                p.grade_id,
                p.points,
                p.manual,
                [c.source for c in p.checks],
                p.solution_cells,
                *(
                    str(getattr(p, attr, ""))
                    for attr in ("question", "rubric", "model_answer", "forbidden")
                ),
            ]
            for p in spec.parts
        ]
        data.append(
            [
                name,
                parts,
                sorted(spec.locked.items()),
                sorted(map(str, spec.skipped)),
                sorted(map(str, spec.solution_ids)),
            ]
        )
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def _questions(specs: dict, exercises: list) -> list:
    return [
        {
            "exercise": name,
            "part": p.grade_id,
            "points": p.points,
            "question": str(getattr(p, "question", "") or ""),
            "rubric": str(getattr(p, "rubric", "") or ""),
            "model_answer": str(getattr(p, "model_answer", "") or ""),
        }
        for name in exercises
        for p in specs[name].parts
        if p.manual
    ]


def _row(student, notebook, part, points, max_points, status, reason, file) -> dict:
    return {
        "student": student,
        "notebook": notebook,
        "part": part,
        "points": points,
        "max_points": max_points,
        "status": status,
        "reason": reason,
        "file": file,
    }


def _failure(sub: Submission, spec, exc: BaseException) -> Graded:
    """The rows of a submission on which the grader itself raised."""
    what = f"{type(exc).__name__}: {exc}"[:500]
    message = (
        f"the grader failed on this notebook ({what}); not a mark against the "
        "work: grade it again, or report the error"
    )
    outcomes = [
        Outcome(p.grade_id, 0.0, p.points, "error", message) for p in spec.parts
    ]
    return _graded(sub, "error", message, outcomes)


def _graded(sub: Submission, status, message, outcomes, run=None) -> Graded:
    return Graded(
        sub.student,
        sub.exercise,
        sub.relpath,
        status,
        message,
        outcomes,
        run,
        sub.stamp_text,
        sub.ignored,
        sub.warnings,
    )


def _grade_one(runtime, root_fd: int, sub: Submission, specs: dict) -> Graded:
    """Run and score one submission; never raises."""
    spec = specs.get(sub.exercise)
    if spec is None:
        reason = (
            "could not tell which exercise this file is: its name names none "
            "and its cells match none"
        )
        return _graded(
            sub, "unknown", reason, [Outcome(FILE_PART, 0.0, 0.0, "error", reason)]
        )
    try:
        limits = runtime.limits
        try:
            data = read_regular(
                root_fd, sub.parts, limits.max_notebook_mb * 2**20, sub.ident
            )
        except NotGradable as exc:
            run = RunResult("invalid", str(exc))
        else:
            run = runtime.run(data, spec)
        outcomes = score(spec, run, limits)
        return _graded(sub, run.status, run.message, outcomes, _slim(run))
    except Exception as exc:  # the grader's fault, not a reason to stop the class
        return _failure(sub, spec, exc)


#: Errors raised by cells that the feedback lists, per notebook.
MAX_CELL_ERRORS = 50


def _slim(run: RunResult) -> RunResult:
    """What the feedback shows of a run, kept until the class is done.

    (A run may hold 200,000 characters of output and thousands of events; the
    feedback shows 3000 characters and the cells' errors.)
    """
    return RunResult(
        status=run.status,
        message=run.message,
        events=run.cell_errors()[:MAX_CELL_ERRORS],
        output=run.output[: OUTPUT_CHARS + 1],
        missing_cells=run.missing_cells,
    )


def _rows_of(g: Graded) -> list:
    return [
        _row(
            g.student,
            g.exercise or "unknown",
            o.part,
            fmt_points(o.points),
            f"{o.max_points:g}",
            o.status,
            " ".join(str(o.reason).split()),
            g.relpath,
        )
        for o in g.outcomes
    ]


def _student_report(
    student, graded, rejected, in_play, specs, disc: Discovery, sandbox: bool
):
    """(rows, feedback text, answers) of one student; never raises."""
    rows = [r for g in graded for r in _rows_of(g)]
    for r in rejected:
        rows.append(
            _row(
                student,
                r.exercise or "unknown",
                FILE_PART,
                "0",
                "0",
                "error",
                r.reason,
                r.relpath,
            )
        )
    have = {g.exercise for g in graded}
    missing = {e: specs[e].max_points for e in in_play if e not in have}
    for exercise in missing:
        for part in specs[exercise].parts:
            rows.append(
                _row(
                    student,
                    exercise,
                    part.grade_id,
                    "0",
                    f"{part.points:g}",
                    "missing",
                    "no submission",
                    "",
                )
            )
    answers = [
        {
            "exercise": g.exercise,
            "part": o.part,
            "student": student,
            "file": g.relpath,
            "answer": str(o.answer),
        }
        for g in graded
        for o in g.outcomes
        if o.answer is not None
    ]
    try:
        text = render_feedback(
            student,
            graded,
            rejected,
            missing,
            disc.student_warnings.get(student, []),
            sandbox,
        )
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"[:500]
        rows.append(
            _feedback_row(
                student,
                f"the feedback could not be written in "
                f"full ({problem}); the grades are complete",
            )
        )
        text = fallback_feedback(student, rows, problem)
    return rows, text, answers


#: The feedback renderer (a name of this module so a test can make it fail).
render_feedback = feedback_markdown


def _feedback_row(student: str, reason: str) -> dict:
    return _row(student, "(all)", FEEDBACK_PART, "0", "0", "error", reason, "")


def _select(exercises, specs: dict) -> list | None:
    if exercises is None:
        return None
    unknown = [e for e in exercises if e not in specs]
    if unknown:
        raise ValueError(
            f"--exercise {', '.join(unknown)}: no such exercise in the solutions "
            f"folder; choose from {', '.join(sorted(specs))}"
        )
    return sorted(set(exercises))


def grade_folder(
    submissions,
    specs: dict,
    out,
    workers: int = 2,
    limits: Limits | None = None,
    exercises: list | None = None,
    guard: list | None = None,
    log=print,
    *,
    sandbox: bool = True,
    shard: tuple | None = None,
    now: dt.datetime | None = None,
) -> list:
    """Grade every submission under ``submissions``; write the results to ``out``.

    Writes ``out/grades.csv``, ``out/feedback/<student>.md``,
    ``out/manual_answers.md`` and ``out/summary.txt`` (plus ``shard.json``
    with ``shard=(K, N)``); returns the rows of grades.csv. ``exercises``
    limits grading to those sheets; ``guard`` lists folders (solutions, the
    library) whose contents must not change during grading (and whose files,
    hard-linked into the submissions, are not graded); ``sandbox=False``
    runs submissions without the sandbox (trusted files only; every output
    says so). Raises :class:`SandboxUnavailable` before anything else when the
    sandbox is wanted but cannot run, ``ValueError`` for an unknown exercise
    and :class:`~itutils.grading.safefs.OutputError` for an unsafe ``out``.
    """
    limits = limits or Limits()
    if sandbox:
        problem = runner.sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem)
    selected = _select(exercises, specs)
    with OutputFolder.prepare(
        out, avoid=[(submissions, "the submissions folder")]
    ) as output:
        disc = discover(
            submissions,
            specs,
            limits.max_notebook_mb * 2**20,
            now,
            selected,
            own_files=file_ids(guard or []),
        )
        subs, rejected, other = disc.submissions, disc.rejected, 0
        if selected is not None:
            keep = set(selected) | {None}
            other = sum(1 for s in subs if s.exercise not in keep)
            subs = [s for s in subs if s.exercise in keep]
            rejected = [r for r in rejected if r.exercise in keep]
        # The sheets in play: named, or that someone submitted (even a link).
        named = {s.exercise for s in subs} | {r.exercise for r in rejected}
        in_play = selected or sorted(e for e in named if e)
        students = disc.students
        if shard is not None:
            from itutils.grading.shard import slice_students

            students = slice_students(students, *shard)
        mine = set(students)
        identity = {
            "solutions": spec_fingerprint(specs),
            "submissions": disc.listing_digest(),
            "students": disc.students,
            "exercises": in_play,
            "order": {e: [p.grade_id for p in specs[e].parts] for e in in_play},
            "questions": _questions(specs, in_play),
            "options": {
                "limits": asdict(limits),
                "sandbox": sandbox,
                "exercise": selected,
            },
            "warnings": disc.warnings,
            "rejected": len(rejected),
            "other_sheets": other,
        }
        before = tree_digest(guard) if guard else None
        graded = _run_all(
            [s for s in subs if s.student in mine],
            specs,
            submissions,
            limits,
            workers,
            sandbox,
        )
        tampered = bool(guard) and tree_digest(guard) != before
        report = _build(
            identity, students, graded, rejected, in_play, specs, disc, sandbox
        )
        report.tampered = tampered
        text = write_report(output, report, shard)
    log(text)
    return report.rows


def _run_all(subs, specs, folder, limits, workers, sandbox) -> list:
    root_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with runner.open_runtime(limits, sandbox=sandbox) as runtime:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                return list(
                    pool.map(lambda s: _grade_one(runtime, root_fd, s, specs), subs)
                )
    finally:
        os.close(root_fd)


def _build(identity, students, graded, rejected, in_play, specs, disc, sandbox):
    by_student: dict = {s: [] for s in students}
    for g in graded:
        by_student[g.student].append(g)
    rejected_by: dict = {}
    for r in rejected:
        rejected_by.setdefault(r.student, []).append(r)
    rows, feedback, answers = [], {}, []
    for student in students:
        try:
            r, text, a = _student_report(
                student,
                by_student[student],
                rejected_by.get(student, []),
                in_play,
                specs,
                disc,
                sandbox,
            )
        except Exception as exc:  # a last resort: this student still gets a row
            problem = f"{type(exc).__name__}: {exc}"[:500]
            r = [
                _feedback_row(
                    student,
                    f"the grader failed while reporting this student's results "
                    f"({problem}); grade again, or report the error",
                )
            ]
            text, a = fallback_feedback(student, r, problem), []
        rows += r
        feedback[student] = text
        answers += a
    notes = [
        f"{g.student}: {g.relpath}: {g.message}" for g in graded if g.status == "error"
    ]
    return Report(
        identity,
        list(students),
        rows,
        feedback,
        answers,
        [[g.student, g.status] for g in graded],
        notes,
    )


def write_report(output: OutputFolder, report: Report, shard=None) -> str:
    """Write ``report`` into ``output``; return the summary text.

    Feedback files first (a failure becomes that student's error row), then
    manual_answers.md, summary.txt and grades.csv, and last ``shard.json``
    (only for a shard), so a folder with shard.json is complete. Stale
    feedback files of earlier runs are removed.
    """
    identity = report.identity
    written = set()
    for student in report.students:
        name = f"{student}.md"
        try:
            output.write_feedback(name, report.feedback[student].encode("utf-8"))
            written.add(name)
        except Exception as exc:
            report.rows.append(
                _feedback_row(
                    student,
                    f"the feedback file could not be written "
                    f"({type(exc).__name__}: {exc})",
                )
            )
    for name in output.feedback_names():
        if name not in written and (name.endswith(".md") or name.endswith(".tmp")):
            output.remove(name, feedback=True)
    report.rows.sort(key=row_key(identity["order"]))
    output.write(
        "manual_answers.md",
        manual_markdown(identity["questions"], report.answers, report.rows).encode(),
    )
    summary = summary_text(
        report.rows,
        report.statuses,
        identity["order"],
        identity["warnings"],
        sorted(report.notes),
        identity["rejected"],
        identity["other_sheets"],
        identity["options"]["sandbox"],
        report.tampered,
    )
    output.write("summary.txt", (summary + "\n").encode("utf-8"))
    output.write("grades.csv", grades_csv(report.rows).encode("utf-8"))
    if shard is not None:
        from itutils.grading.shard import manifest

        output.write("shard.json", manifest(report, shard))
    else:
        output.remove("shard.json")
    output.sync()
    return summary

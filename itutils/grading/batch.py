"""Grade a folder of submissions: grades.csv, one feedback file per student.

Layouts accepted under the submissions folder (both may be mixed):

- ``<student>/<exercise>.ipynb``: a folder per student;
- ``<student>.ipynb`` or ``<student>_<exercise>.ipynb``: one file per student.

The exercise is read from the file name when it names one (``01_entropy``),
otherwise from the notebook's cell ids. Several files of one student for one
exercise: the newest counts. "Newest" is decided by a timestamp in the file
name when every file of the group has one (``2024-05-02``, optionally
followed by a time such as ``T14-30`` or ``_14-30-05``, as LMS downloads
carry), otherwise by the files' modification times; ties go to the file name
that sorts last. The feedback names the file graded and the files ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from itutils.grading.runner import Limits, open_runtime
from itutils.grading.score import Outcome, sanitize, score

__all__ = ["Submission", "discover", "grade_folder", "FIELDS"]

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
_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T_ -](\d{2})[-:.h]?(\d{2})(?:[-:.m]?(\d{2}))?)?"
)


@dataclass
class Submission:
    """One submitted file, with who and what it is."""

    student: str
    exercise: str | None
    path: Path
    relpath: str
    stamp: tuple  # sort key: newest is largest
    stamp_text: str
    ignored: list = field(default_factory=list)  # older files of the same pair
    named: tuple | None = None  # (datetime, text) of a timestamp in the name


def _stamp_from_name(name: str):
    match = _STAMP.search(name)
    if not match:
        return None
    parts = [int(g) if g else 0 for g in match.groups()]
    try:
        return dt.datetime(*parts), match.group(0)
    except ValueError:
        return None


def _exercise_from_content(path: Path, specs: dict) -> str | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        ids = {
            c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for c in raw.get("cells", [])
            if isinstance(c, dict)
        }
    except Exception:
        return None
    best = max(
        specs,
        key=lambda n: len(ids & (specs[n].solution_ids | set(specs[n].locked))),
        default=None,
    )
    if best and ids & (specs[best].solution_ids | set(specs[best].locked)):
        return best
    return None


def _clean_student(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._-")
    return text or "unnamed"


def discover(folder: Path, specs: dict) -> list:
    """Every submission under ``folder``, newest per student and exercise."""
    folder = Path(folder)
    found = []
    names = sorted(specs, key=len, reverse=True)
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or not path.is_file():
            continue
        rel = path.relative_to(folder)
        stem = path.stem
        exercise = next((n for n in names if n in stem), None)
        if exercise is None:
            exercise = _exercise_from_content(path, specs)
        stamped = _stamp_from_name(stem)
        if len(rel.parts) > 1:
            student = rel.parts[0]
        else:
            rest = stem
            if stamped:
                rest = rest.replace(stamped[1], "")
            for n in names:
                rest = rest.replace(n, "")
            student = rest.strip("._- ") or stem
        found.append(
            Submission(
                _clean_student(student),
                exercise,
                path,
                rel.as_posix(),
                (),
                "",
                named=stamped,
            )
        )
    # A file that names no exercise and cannot be read belongs to the only
    # exercise in play, if there is just one.
    known = {s.exercise for s in found if s.exercise}
    only = list(specs) if len(specs) == 1 else sorted(known) if len(known) == 1 else []
    for sub in found:
        if sub.exercise is None and len(only) == 1:
            sub.exercise = only[0]
    groups: dict = {}
    for sub in found:
        groups.setdefault((sub.student, sub.exercise), []).append(sub)
    chosen = []
    for group in groups.values():
        by_name = all(s.named for s in group)
        for s in group:
            if by_name:
                s.stamp = (s.named[0].timestamp(), s.relpath)
                s.stamp_text = f"timestamp {s.named[1]} in the file name"
            else:
                mtime = s.path.stat().st_mtime
                s.stamp = (mtime, s.relpath)
                s.stamp_text = "file modification time " + dt.datetime.fromtimestamp(
                    mtime, dt.UTC
                ).strftime("%Y-%m-%d %H:%M:%S UTC")
        group.sort(key=lambda s: s.stamp)
        newest = group[-1]
        newest.ignored = [s for s in reversed(group[:-1])]
        chosen.append(newest)
    return sorted(chosen, key=lambda s: (s.student, s.exercise or "", s.relpath))


def _digest(paths) -> str:
    h = hashlib.sha256()
    for root in paths:
        for p in sorted(Path(root).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def _fmt(points) -> str:
    return "" if points is None else f"{points:g}"


def _feedback(student: str, graded: list, missing: list) -> str:
    lines = [f"# Feedback for {student}", ""]
    for sub, run, outcomes, _spec in graded:
        got = sum(o.points or 0 for o in outcomes)
        pending = sum(o.max_points for o in outcomes if o.points is None)
        total = sum(o.max_points for o in outcomes)
        lines += [
            f"## {sub.exercise or 'unknown exercise'}: {got:g} / {total:g} points"
            + (f" ({pending:g} more to be graded by hand)" if pending else ""),
            "",
        ]
        lines.append(f"Graded file: `{sub.relpath}` (newest by {sub.stamp_text}).")
        for old in sub.ignored:
            lines.append(
                f"Not graded: `{old.relpath}` ({old.stamp_text}): an older "
                "submission of the same exercise; the newest one counts."
            )
        lines.append("")
        if run is not None and run.status != "ok":
            lines += [
                f"**Your notebook could not be fully run:** {sanitize(run.message)}.",
                "",
            ]
        if run is not None and run.missing_cells:
            lines += [
                "Cells missing from your notebook (compared with the exercise): "
                + ", ".join(f"`{g}`" for g in run.missing_cells),
                "",
            ]
        lines += ["| part | points | status | reason |", "|---|---|---|---|"]
        for o in outcomes:
            pts = f"{_fmt(o.points) or '?'} / {o.max_points:g}"
            lines.append(
                f"| {o.part} | {pts} | {o.status} | {o.reason.replace('|', '/')} |"
            )
        lines.append("")
        for o in outcomes:
            if o.points is not None and o.points < o.max_points:
                lines.append(f"### {o.part}: lost {o.max_points - o.points:g} points")
                for d in o.details or [o.reason]:
                    lines.append(f"- {d}")
                lines.append("")
            if o.answer is not None:
                quoted = "\n".join("> " + line for line in o.answer.splitlines())
                lines += [
                    f"### {o.part}: your written answer (graded by hand)",
                    quoted,
                    "",
                ]
        if run is not None and run.cell_errors():
            lines.append("### Errors raised while running your notebook")
            for e in run.cell_errors():
                name = f" ({e.get('grade_id')})" if e.get("grade_id") else ""
                lines.append(
                    f"- code cell {e.get('index')}{name}: {e.get('type')}: "
                    f"{sanitize(str(e.get('message')))}"
                )
            lines.append("")
        if run is not None and run.output.strip():
            text = sanitize(run.output[:3000])
            more = "\n[... cut here]" if len(run.output) > 3000 else ""
            lines += [
                "<details><summary>What your notebook printed</summary>",
                "",
                "```",
                text + more,
                "```",
                "</details>",
                "",
            ]
    for exercise in missing:
        lines += [
            f"## {exercise}: 0 points",
            "",
            "No submission found for this exercise.",
            "",
        ]
    return "\n".join(lines) + "\n"


def grade_folder(
    submissions: Path,
    specs: dict,
    out: Path,
    workers: int = 2,
    limits: Limits | None = None,
    exercises: list | None = None,
    guard: list | None = None,
    log=print,
) -> list:
    """Grade every submission under ``submissions``; write the results to ``out``.

    Writes ``out/grades.csv``, ``out/feedback/<student>.md`` and
    ``out/manual_answers.md``; returns the CSV rows. ``guard`` lists folders
    (solutions, the library) whose contents must not change during grading.
    """
    out = Path(out)
    subs = discover(submissions, specs)
    if exercises is None:
        exercises = sorted({s.exercise for s in subs if s.exercise in specs})
    before = _digest(guard) if guard else None
    with open_runtime(limits or Limits()) as runtime:

        def one(sub):
            spec = specs.get(sub.exercise)
            if spec is None:
                return sub, None, None, None
            run = runtime.run(sub.path.read_bytes(), spec)
            return sub, run, score(spec, run, runtime.limits), spec

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(pool.map(one, subs))
    rows, per_student = [], {}
    for sub, run, outcomes, spec in results:
        per_student.setdefault(sub.student, [])
        if outcomes is None:
            rows.append(
                {
                    "student": sub.student,
                    "notebook": sub.exercise or "unknown",
                    "part": "-",
                    "points": "0",
                    "max_points": "0",
                    "status": "error",
                    "reason": "could not tell which exercise this file is: its name "
                    "names none and its cells match none",
                    "file": sub.relpath,
                }
            )
            per_student[sub.student].append(
                (sub, None, [Outcome("-", 0.0, 0.0, "error", rows[-1]["reason"])], None)
            )
            continue
        per_student[sub.student].append((sub, run, outcomes, spec))
        for o in outcomes:
            rows.append(
                {
                    "student": sub.student,
                    "notebook": sub.exercise,
                    "part": o.part,
                    "points": _fmt(o.points),
                    "max_points": f"{o.max_points:g}",
                    "status": o.status,
                    "reason": " ".join(o.reason.split()),
                    "file": sub.relpath,
                }
            )
    missing_by_student = {}
    for student in per_student:
        have = {s.exercise for s, *_ in per_student[student]}
        missing_by_student[student] = [e for e in exercises if e not in have]
        for exercise in missing_by_student[student]:
            for part in specs[exercise].parts:
                rows.append(
                    {
                        "student": student,
                        "notebook": exercise,
                        "part": part.grade_id,
                        "points": "0",
                        "max_points": f"{part.points:g}",
                        "status": "missing",
                        "reason": "no submission",
                        "file": "",
                    }
                )
    order = {
        e: {p.grade_id: i for i, p in enumerate(s.parts)} for e, s in specs.items()
    }
    rows.sort(
        key=lambda r: (
            r["student"],
            r["notebook"],
            order.get(r["notebook"], {}).get(r["part"], -1),
            r["file"],
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    for student, graded in per_student.items():
        (feedback_dir / f"{student}.md").write_text(
            _feedback(student, graded, missing_by_student[student]), encoding="utf-8"
        )
    _write_manual(out / "manual_answers.md", results)
    tampered = guard and _digest(guard) != before
    log(summary(rows, results, tampered))
    return rows


def _write_manual(path: Path, results) -> None:
    lines = ["# Written answers to grade by hand", ""]
    by_part: dict = {}
    for sub, _run, outcomes, _spec in results:
        for o in outcomes or []:
            if o.answer is not None:
                by_part.setdefault((sub.exercise, o.part, o.max_points), []).append(
                    (sub.student, o.answer)
                )
    for (exercise, part, points), answers in sorted(by_part.items()):
        lines += [f"## {exercise} / {part} ({points:g} points)", ""]
        for student, answer in sorted(answers):
            lines += [f"### {student}", "", answer.strip(), ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(rows: list, results: list, tampered: bool = False) -> str:
    """The text printed at the end of a batch: counts and per-part statistics."""
    runs = [r for _s, r, _o, _sp in results]
    failed = sum(1 for r in runs if r is None or r.status != "ok")
    lines = [
        f"Graded {len(results)} submissions from "
        f"{len({s.student for s, *_ in results})} students; "
        f"{failed} could not be run to the end "
        f"({sum(1 for r in runs if r is not None and r.status == 'timeout')} "
        "timed out, "
        f"{sum(1 for r in runs if r is not None and r.status == 'ended')} ended early, "
        f"{sum(1 for r in runs if r is None or r.status == 'invalid')} unreadable).",
        "",
        f"{'notebook':<24} {'part':<26} {'n':>4} {'mean':>6} {'min':>5} {'max':>5} "
        f"{'full':>5} {'manual':>6}",
    ]
    parts: dict = {}
    for r in rows:
        parts.setdefault((r["notebook"], r["part"]), []).append(r)
    for (notebook, part), group in parts.items():
        scored = [float(r["points"]) for r in group if r["points"] != ""]
        full = sum(1 for r in group if r["status"] == "pass")
        manual = sum(1 for r in group if r["status"] == "manual")
        mean = f"{statistics.fmean(scored):.2f}" if scored else "-"
        lo = f"{min(scored):g}" if scored else "-"
        hi = f"{max(scored):g}" if scored else "-"
        lines.append(
            f"{notebook:<24} {part:<26} {len(group):>4} {mean:>6} {lo:>5} "
            f"{hi:>5} {full:>5} {manual:>6}"
        )
    if tampered:
        lines += [
            "",
            "WARNING: the solutions or the itutils package changed on disk "
            "during grading; the grades were computed from copies read before, "
            "but check the files (git status).",
        ]
    return "\n".join(lines)

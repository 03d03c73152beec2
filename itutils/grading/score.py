"""Turn one run's plain-data results into points, in the grader's process.

Every comparison happens here, with the grader's own decoding
(:func:`itutils.grading.plain.from_plain`) and comparisons
(:mod:`itutils.grading.checks`); the expected values come from the spec,
computed from references. A part is worth its points when all its checks
pass, and nothing otherwise, as in nbgrader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from itutils.grading.checks import compare_close, compare_equal, compare_that, describe
from itutils.grading.plain import NotPlainData, from_plain
from itutils.grading.runner import Limits, RunResult
from itutils.grading.spec import ExerciseSpec, Part

__all__ = ["Outcome", "score", "TEXT_STUB", "sanitize"]

#: What nbgrader leaves in a written-answer cell of a blank exercise.
TEXT_STUB = "YOUR ANSWER HERE"

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_SCRATCH = re.compile(r"/[^\s'\"]*itgrade-[^\s'\"/]*")


def sanitize(text: str) -> str:
    """Drop what differs between runs (addresses, scratch paths).

    Examples
    --------
    >>> sanitize("<object at 0x7f3a2b1c> in /tmp/itgrade-ab12/job.json")
    '<object at 0xADDRESS> in <scratch>/job.json'
    """
    return _SCRATCH.sub("<scratch>", _ADDRESS.sub("0xADDRESS", text))


@dataclass
class Outcome:
    """The grade of one part for one submission."""

    part: str
    points: float | None  # None: awaiting hand grading
    max_points: float
    status: str  # pass, fail, error, manual, missing
    reason: str
    details: list = field(default_factory=list)
    answer: str | None = None


def _raised_reason(
    check, raised: dict, part: Part, run: RunResult, limits: Limits
) -> str:
    kind, message = raised.get("type", "?"), raised.get("message", "")
    if kind == "StepTimeout":
        return (
            f"{check.actual} did not finish within {limits.step_seconds:g} s "
            "(an infinite loop?)"
        )
    if kind == "MemoryError":
        return f"{check.actual} ran out of memory (limit {limits.memory_mb} MB)"
    text = f"{check.actual} raised {kind}: {message}"
    if kind == "NotImplementedError":
        return f"{check.actual}: not answered (NotImplementedError)"
    if kind == "NameError":
        name = next((n for n in check.student_names if f"'{n}'" in message), None)
        if name:
            text = (
                f"`{name}` is not defined in your notebook: was it renamed, or its "
                "cell deleted or broken?"
            )
            lost = [g for g in part.solution_cells if g in run.missing_cells]
            broken = [
                e for e in run.cell_errors() if e.get("grade_id") in part.solution_cells
            ]
            if lost:
                text += f" The cell {', '.join(lost)} is missing."
            for err in broken:
                text += f" Its cell raised {err.get('type')}: {err.get('message')}."
    return text


def _check_outcome(check, probe, part, run, limits) -> str | None:
    """None when the check passes, else the reason it does not."""
    if probe is None:
        return (
            f"{check.actual}: not evaluated, {run.message or 'the run stopped early'}"
        )
    if "rejected" in probe:
        return (
            f"{check.actual} returned a value the grader does not accept: "
            f"{probe['rejected']}"
        )
    if "raised" in probe:
        raised = probe["raised"] if type(probe["raised"]) is dict else {}
        if check.kind == "raises":
            want = f"{check.expected.__module__}.{check.expected.__qualname__}"
            mro = raised.get("mro", [])
            if type(mro) is list and want in mro:
                return None
            return (
                f"{check.actual}: expected {check.expected.__name__}, got "
                f"{raised.get('type')}: {raised.get('message')}"
            )
        return _raised_reason(check, raised, part, run, limits)
    try:
        value = from_plain(probe.get("value"))
    except NotPlainData as exc:
        return f"{check.actual}: {exc}"
    if check.kind == "raises":
        return (
            f"{check.actual}: expected {check.expected.__name__} to be raised, got "
            f"the value {describe(value)}"
        )
    if check.kind == "close":
        message = compare_close(value, check.expected, **check.options)
    elif check.kind == "equal":
        message = compare_equal(value, check.expected)
    else:
        message = compare_that(value, check.expected, *check.args)
    return None if message is None else f"{check.actual}: {message}"


def _manual(part: Part, run: RunResult) -> Outcome:
    answer = run.answers.get(part.grade_id)
    if answer is None:
        return Outcome(
            part.grade_id,
            0.0,
            part.points,
            "fail",
            "the cell for this written answer is missing",
        )
    if answer.strip() in ("", TEXT_STUB):
        return Outcome(part.grade_id, 0.0, part.points, "fail", "no answer written")
    return Outcome(
        part.grade_id,
        None,
        part.points,
        "manual",
        "written answer: graded by hand",
        answer=answer,
    )


def _not_graded(part: Part, run: RunResult) -> Outcome | None:
    """The outcome of an automatic part that is not graded from its checks."""
    if run.status == "void":
        return Outcome(
            part.grade_id, 0.0, part.points, "error", f"not graded: {run.message}"
        )
    if run.tampering:
        tools = ", ".join(f"`{t}`" for t in run.tampering[:3])
        return Outcome(
            part.grade_id,
            0.0,
            part.points,
            "error",
            f"not graded: the notebook uses {tools}, which can reach into the "
            "grader's own code (its frames, or the tracing of reference "
            "implementations); remove it and resubmit",
        )
    name = run.references.get(part.grade_id)
    if name:
        return Outcome(
            part.grade_id,
            0.0,
            part.points,
            "fail",
            f"uses the reference implementation {name}: this part asks for "
            "your own code",
        )
    return None


def score(spec: ExerciseSpec, run: RunResult, limits: Limits | None = None) -> list:
    """One :class:`Outcome` per part of ``spec``, in notebook order."""
    limits = limits or Limits()
    outcomes = []
    probes = run.probes()
    for part in spec.parts:
        if run.status == "invalid":
            outcomes.append(
                Outcome(
                    part.grade_id,
                    0.0,
                    part.points,
                    "error",
                    f"not graded: {run.message}",
                )
            )
            continue
        if part.manual:
            outcomes.append(_manual(part, run))
            continue
        verdict = _not_graded(part, run)
        if verdict is not None:
            outcomes.append(verdict)
            continue
        failures, unevaluated = [], 0
        for k, check in enumerate(part.checks):
            probe = probes.get(f"{part.grade_id}:{k}")
            unevaluated += probe is None
            reason = _check_outcome(check, probe, part, run, limits)
            if reason is not None:
                failures.append(sanitize(reason))
        stopped = bool(failures) and unevaluated == len(failures)
        if failures and unevaluated == len(part.checks):
            failures = [f"not evaluated: {sanitize(run.message)}"]
        elif failures:
            for err in run.cell_errors():
                if err.get("grade_id") in part.solution_cells:
                    kind = err.get("type")
                    what = f"raised {kind}: {err.get('message')}"
                    if kind == "StepTimeout":
                        what = f"did not finish within {limits.step_seconds:g} s"
                    elif "builtins.MemoryError" in (err.get("mro") or []):
                        what = (
                            f"ran out of memory (limit {limits.memory_mb} MB): "
                            f"{kind}: {err.get('message')}"
                        )
                    failures.insert(
                        0,
                        sanitize(
                            f"code cell {err.get('index')} "
                            f"({err.get('grade_id')}) {what}"
                        ),
                    )
        if not failures:
            outcomes.append(
                Outcome(
                    part.grade_id, part.points, part.points, "pass", "all checks passed"
                )
            )
        else:
            status = "error" if stopped else "fail"
            outcomes.append(
                Outcome(
                    part.grade_id,
                    0.0,
                    part.points,
                    status,
                    failures[0]
                    if len(failures) == 1
                    else f"{failures[0]} (and {len(failures) - 1} more failed checks)",
                    details=failures,
                )
            )
    return outcomes

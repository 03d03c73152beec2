"""The plan of one run: which cells and checks to request, and whose they are.

Each cell step knows the part it computes for (its own solution cells, or
the learner's extra cells just before a part's test cell) and the names it
binds, so that a call of a reference implementation while it runs is laid at
the right part's door (:func:`static_verdicts` and the session's runtime
verdicts).
"""

from __future__ import annotations

from dataclasses import dataclass

from itutils.grading.notebook import Notebook
from itutils.grading.parsing import parse
from itutils.grading.references import References
from itutils.grading.result import RunResult
from itutils.grading.spec import TRUSTED_MODULES, ExerciseSpec

__all__ = ["Step", "Plan", "make_plan", "assigned_names", "static_verdicts"]


@dataclass
class Step:
    """One request the grader will send: run a cell, or evaluate a check."""

    op: str  # "cell" or "probe"
    payload: dict
    part: str | None = None  # cells: the part they compute for; probes: theirs
    student: bool = False  # a cell the learner wrote (not restored)
    assigns: frozenset = frozenset()  # names a cell binds ("*": any, globals())


def assigned_names(source: str) -> frozenset:
    """Names a cell binds at top level; ``"*"`` when it writes ``globals()``."""
    import ast

    from itutils.grading.child import _MAGIC

    try:
        tree = parse(_MAGIC.sub(r"\1pass", source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("globals", "vars", "locals")
        ):
            names.add("*")
    return frozenset(names)


@dataclass
class Plan:
    """Every step of one run, what the notebook lacks and its written answers."""

    steps: list
    missing: list
    answers: dict
    scans: list  # CellScan per cell step


def make_plan(nb: Notebook, spec: ExerciseSpec) -> Plan:
    automatic = {p.grade_id: p for p in spec.parts if not p.manual}
    home = {g: p.grade_id for p in automatic.values() for g in p.solution_cells}
    cells, waiting, seen, answers = [], [], set(), {}
    for cell in nb.cells:
        seen.add(cell.grade_id)
        if cell.cell_type == "markdown" and cell.grade_id is not None:
            answers[cell.grade_id] = cell.source
        if cell.grade_id in automatic:  # a test cell: never run, marks a part
            for step in waiting:
                step.part = step.part or cell.grade_id
            waiting = []
            continue
        if cell.cell_type != "code" or cell.grade_id in spec.skipped:
            continue
        # Read-only cells (imports, set-up) are restored from the source, as
        # nbgrader's autograde does; student cells run as written.
        restored = cell.grade_id in spec.locked
        step = Step(
            "cell",
            {
                "index": cell.index,
                "grade_id": cell.grade_id,
                "source": spec.locked.get(cell.grade_id, cell.source),
            },
            part=home.get(cell.grade_id),
            student=not restored,
        )
        if step.student:
            step.assigns = assigned_names(step.payload["source"])
            waiting.append(step)
        cells.append(step)
    probes = []
    for part in automatic.values():
        for k, check in enumerate(part.checks):
            probes.append(
                Step(
                    "probe",
                    {
                        "id": f"{part.grade_id}:{k}",
                        "expr": check.actual,
                        "shipped": check.shipped,
                        "modules": {m: TRUSTED_MODULES[m] for m in check.modules},
                    },
                    part=part.grade_id,
                )
            )
    expected = spec.solution_ids | set(spec.locked)
    missing = sorted(g for g in expected if g not in seen)
    return Plan(cells + probes, missing, answers, [])


def static_verdicts(result: RunResult, plan: Plan, refs: References) -> None:
    """Static findings: tampering (whole submission) and references (parts)."""
    tools = []
    cell_steps = [s for s in plan.steps if s.op == "cell"]
    for step, scan in zip(cell_steps, plan.scans, strict=True):
        tools += [t for t in scan.tampering if t not in tools]
        if step.part is None:
            continue
        for name in scan.names:
            if refs.forbids(step.part, name):
                result.references.setdefault(step.part, name)
    result.tampering = tools

"""Plausible wrong answers lose exactly the points they should, and self-checks say so.

Each sheet has a set of wrong answers in ``tests/wrong_answers/NN_<sheet>.py``
(the list ``WRONG`` of ``(solution_cell_grade_id, label, replacement_source,
parts_that_must_fail)``). Every variant is the solution notebook with that one
cell replaced. All variants of all sheets are graded as one class in a single
run of the public command ``python -m itutils.grading grade``, and for each
variant:

- the listed parts score 0 and every other automatically graded part keeps
  full marks (so a check neither misses the mistake nor punishes the wrong
  part);
- when the replaced cell is an "implement this function" cell, or the
  variant names a hint in ``HINTS``, the part's visible self-check prints
  ``[not yet]``, with that hint when there is one (so a learner is warned
  before handing in).

Each set also lists in ``FORBIDDEN`` correct answers that call a reference
implementation their part forbids (``_forbidden`` in the hidden tests). They
are graded in the same run; the part must score 0 with the reason "uses the
reference implementation" and the name of the reference.
"""

from __future__ import annotations

import ast
import csv
import functools
import importlib.util
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from itutils.grading.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
WRONG_DIR = ROOT / "tests" / "wrong_answers"
SHEETS = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


def _load(sheet: str):
    path = WRONG_DIR / f"{sheet}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_{sheet}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SETS = {s: _load(s) for s in SHEETS if (WRONG_DIR / f"{s}.py").exists()}
VARIANTS = [
    (sheet, index, *entry)
    for sheet, module in SETS.items()
    for index, entry in enumerate(module.WRONG)
]
IDS = [f"{sheet[:2]}-{gid}-{label}" for sheet, _, gid, label, _, _ in VARIANTS]
FORBIDDEN = [
    (sheet, index, *entry)
    for sheet, module in SETS.items()
    for index, entry in enumerate(getattr(module, "FORBIDDEN", []))
]
FORBIDDEN_IDS = [f"{sheet[:2]}-{gid}-{name}" for sheet, _, gid, name, _, _ in FORBIDDEN]


@functools.cache
def _spec(sheet: str):
    return load_spec(SOLUTIONS / f"{sheet}.ipynb")


def _student(sheet: str, index: int, kind: str = "s") -> str:
    return f"{kind}{sheet[:2]}v{index:02d}"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) or {}


def _variant(sheet: str, grade_id: str, source: str):
    nb = nbformat.read(SOLUTIONS / f"{sheet}.ipynb", as_version=4)
    cells = [c for c in nb.cells if _meta(c).get("grade_id") == grade_id]
    assert len(cells) == 1 and _meta(cells[0]).get("solution"), (
        f"{sheet}: {grade_id!r} is not one solution cell"
    )
    cells[0].source = source
    return nb


def test_every_sheet_has_a_set_of_wrong_answers():
    assert sorted(SETS) == SHEETS
    for sheet, module in SETS.items():
        auto = {p.grade_id for p in _spec(sheet).parts if not p.manual}
        hit = defaultdict(int)
        for _gid, label, _source, must_fail in module.WRONG:
            assert set(must_fail) <= auto, (sheet, label, set(must_fail) - auto)
            for part in must_fail:
                hit[part] += 1
        # every automatically graded part is the target of two wrong answers
        for part in auto:
            assert hit[part] >= 2, f"{sheet}: only {hit[part]} wrong answers hit {part}"
        assert set(getattr(module, "HINTS", {})) <= {e[1] for e in module.WRONG}
        # every sheet tries a forbidden reference, on a part that forbids it
        assert module.FORBIDDEN, sheet
        for _gid, name, _source, part in module.FORBIDDEN:
            assert name in _forbidden_names(sheet, part), (sheet, name, part)


def _forbidden_names(sheet: str, part: str) -> tuple:
    nb = nbformat.read(SOLUTIONS / f"{sheet}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if _meta(c).get("grade_id") == part)
    for stmt in ast.parse(cell.source).body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_forbidden" for t in stmt.targets
        ):
            return ast.literal_eval(stmt.value)
    return ()


def _selected(request, variants, key="index"):
    """The variants whose tests were collected (all, unless ``-k`` narrows them)."""
    wanted = {
        (item.callspec.params["sheet"], item.callspec.params[key])
        for item in request.session.items
        if hasattr(item, "callspec") and key in item.callspec.params
    }
    return [v for v in variants if (v[0], v[1]) in wanted]


@pytest.fixture(scope="module")
def grades(request, tmp_path_factory):
    """Grade every selected variant of every sheet in one run; rows by student."""
    base = tmp_path_factory.mktemp("wrong_answers")
    subs, out = base / "submissions", base / "out"
    jobs = [
        (_student(sheet, index), sheet, gid, source)
        for sheet, index, gid, _label, source, _fail in _selected(request, VARIANTS)
    ] + [
        (_student(sheet, index, "f"), sheet, gid, source)
        for sheet, index, gid, _name, source, _part in _selected(
            request, FORBIDDEN, "findex"
        )
    ]
    for student, sheet, gid, source in jobs:
        path = subs / student / f"{sheet}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_variant(sheet, gid, source), path)
    result = subprocess.run(
        [sys.executable, "-m", "itutils.grading", "grade", str(subs),
         "--out", str(out), "--solutions", str(SOLUTIONS)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_student = defaultdict(dict)
    for row in rows:
        by_student[row["student"]][row["part"]] = row
    return by_student


ARGS = "sheet, index, gid, label, source, must_fail"


@pytest.mark.parametrize(ARGS, VARIANTS, ids=IDS)
def test_wrong_answer_loses_exactly_its_parts(
    grades, sheet, index, gid, label, source, must_fail
):
    rows = grades[_student(sheet, index)]
    for part in _spec(sheet).parts:
        row = rows[part.grade_id]
        if part.manual:
            assert row["status"] == "manual", row
        elif part.grade_id in must_fail:
            assert row["points"] == "0", f"{label}: {part.grade_id} kept points: {row}"
        else:
            assert (row["status"], row["points"]) == ("pass", row["max_points"]), (
                f"{label}: {part.grade_id} lost points it should keep: {row}"
            )


def _defines_function(source: str) -> bool:
    """An "implement this" cell: the sheet itself gives the ``def`` line."""
    given = source.split("### BEGIN SOLUTION")[0]
    return any(line.startswith("def ") for line in given.splitlines())


def _selfcheck_job(sheet: str, gid: str, source: str):
    """Code cells up to the self-check after cell ``gid``, hidden tests left out."""
    nb = _variant(sheet, gid, source)
    cells, seen = [], False
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        cells.append(cell.source)
        seen = seen or meta.get("grade_id") == gid
        if seen and str(meta.get("grade_id", "")).startswith("selfcheck"):
            return {"cells": cells, "watch": len(cells) - 1}
    return None


def _solution_source(sheet: str, gid: str) -> str:
    nb = nbformat.read(SOLUTIONS / f"{sheet}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if _meta(c).get("grade_id") == gid)


IMPLEMENT_VARIANTS = [
    v for v in VARIANTS
    if _defines_function(_solution_source(v[0], v[2]))
    or v[3] in getattr(SETS[v[0]], "HINTS", {})
]
IMPLEMENT_IDS = [f"{v[0][:2]}-{v[2]}-{v[3]}" for v in IMPLEMENT_VARIANTS]


@pytest.fixture(scope="module")
def selfcheck_output(request):
    """What the self-check after each replaced function cell prints, per variant."""
    jobs, keys = [], []
    for sheet, index, gid, _label, source, _fail in _selected(
        request, IMPLEMENT_VARIANTS
    ):
        job = _selfcheck_job(sheet, gid, source)
        assert job is not None, f"{sheet}: no self-check follows {gid}"
        jobs.append(job)
        keys.append((sheet, index))
    result = subprocess.run(
        [sys.executable, str(WRONG_DIR / "_run_cells.py")],
        input=json.dumps(jobs), capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(zip(keys, json.loads(result.stdout), strict=True))


@pytest.mark.parametrize(ARGS, IMPLEMENT_VARIANTS, ids=IMPLEMENT_IDS)
def test_self_check_flags_a_wrong_implementation(
    selfcheck_output, sheet, index, gid, label, source, must_fail
):
    printed = selfcheck_output[(sheet, index)]
    flagged = [line for line in printed.splitlines() if line.startswith("[not yet]")]
    assert flagged, f"{label}: no [not yet] after {gid}:\n{printed}"
    hint = getattr(SETS[sheet], "HINTS", {}).get(label)
    if hint:
        assert any(hint in line for line in flagged), (
            f"{label}: expected the hint {hint!r} in:\n{printed}"
        )


@pytest.mark.parametrize(
    "sheet, findex, gid, name, source, part", FORBIDDEN, ids=FORBIDDEN_IDS
)
def test_forbidden_reference_scores_zero(
    grades, sheet, findex, gid, name, source, part
):
    row = grades[_student(sheet, findex, "f")][part]
    assert row["points"] == "0", row
    assert "reference implementation" in row["reason"] and name in row["reason"], row

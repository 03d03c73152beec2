"""exercises/ is generated from solutions/, leaks nothing, and runs unanswered.

- Regenerating into a temporary folder gives byte-identical notebooks
  (a stale exercises/ fails: run ``make exercises``).
- No solution code, hidden test or written model answer survives in exercises/.
- Every generated exercise runs top to bottom in a kernel without an error:
  unanswered parts make the visible self-checks print "[not yet]".
- Every solution notebook parses under the hidden-test rules.
- Every sheet climbs and says so: the first cell gives the time it should
  take, each part's heading its level and points (matching the graded
  cells), there are derivations and experiments, every hand-graded answer
  carries a rubric whose points add up, every "implement this" part lists
  the reference implementations it forbids (and the sheet's first cell names
  them), and the numpy sheets never import torch.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from itutils.grading.generate import CODE_STUB, generate_all
from itutils.grading.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NAMES = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


def test_there_are_six_exercises_and_each_has_a_student_version():
    assert NAMES == [
        "01_entropy",
        "02_kl_cross_entropy",
        "03_mutual_information",
        "04_vae",
        "05_loss_functions",
        "06_elbo",
    ]
    assert sorted(p.stem for p in EXERCISES.glob("*.ipynb")) == NAMES


def test_exercises_are_up_to_date(tmp_path):
    generate_all(SOLUTIONS, tmp_path)
    for name in NAMES:
        fresh = (tmp_path / f"{name}.ipynb").read_bytes()
        committed = (EXERCISES / f"{name}.ipynb").read_bytes()
        assert fresh == committed, (
            f"exercises/{name}.ipynb is stale: run `make exercises`"
        )


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("name", NAMES)
def test_exercises_leak_no_solution_and_no_hidden_test(name):
    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    exercise = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    for marker in (
        "BEGIN SOLUTION",
        "END SOLUTION",
        "BEGIN HIDDEN TESTS",
        "_forbidden",
        "#### Rubric",
        "Common wrong answers",
        "_ref",
    ):
        assert marker not in text, marker
    spec = load_spec(SOLUTIONS / f"{name}.ipynb")
    kinds = {"points": 0, "manual": 0, "auto": 0}
    for sol, ex in zip(solution.cells, exercise.cells, strict=True):
        meta = _meta(sol)
        assert not ex.get("outputs"), "exercise cells carry no outputs"
        if meta.get("solution"):
            body = sol.source.split("### BEGIN SOLUTION")[-1].split("### END SOLUTION")[
                0
            ]
            for line in body.strip().splitlines():
                if len(line.strip()) > 12:
                    assert line.strip() not in ex.source, line
            if sol.cell_type == "code":
                assert CODE_STUB in ex.source
            else:
                assert ex.source.strip() == "YOUR ANSWER HERE"
        if meta.get("grade") and not meta.get("solution"):
            assert "HIDDEN" not in ex.source and "check_" not in ex.source
            kinds["auto"] += 1
        if meta.get("grade") and meta.get("solution"):
            kinds["manual"] += 1
    # graded automatically and by hand (a derivation and an explanation at least)
    assert kinds["auto"] >= 4 and kinds["manual"] >= 2
    assert sum(p.points for p in spec.parts) >= 12


@pytest.mark.parametrize("name", NAMES)
def test_exercise_runs_unanswered_without_error(name, tmp_path):
    nb = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    printed = "\n".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert not any(
        o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", [])
    )
    assert "[not yet]" in printed and "[ok]" not in printed


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_follow_the_rules(name):
    spec = load_spec(SOLUTIONS / f"{name}.ipynb")
    for part in spec.parts:
        assert part.manual or part.checks, part.grade_id
        for check in part.checks:
            assert check.student_names, f"{check.source} tests no student name"


HEADING = re.compile(
    r"^## Part (?P<letter>[A-Z]) \((?:(?P<kind>derivation|experiment), )?"
    r"(?P<level>warm-up|core|stretch), (?P<points>\d+) points?"
    r"(?P<manual>, graded by hand)?\): \S"
)


def _solutions(name):
    return nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_first_cell_says_how_long_and_how_it_is_graded(name):
    intro = _solutions(name).cells[0].source
    minutes = re.search(r"\*\*Time: about (\d+) minutes\*\*", intro)
    assert minutes and 45 <= int(minutes.group(1)) <= 90, intro[:300]
    assert "How it is graded" in intro and "Off limits" in intro
    assert "by hand" in intro and "rubric" in intro


@pytest.mark.parametrize("name", NAMES)
def test_every_part_heading_gives_level_and_points(name):
    """Each part starts with a heading whose points are those of its graded cells."""
    nb = _solutions(name)
    parts, current = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Part "):
            match = HEADING.match(cell.source)
            assert match, f"bad part heading: {cell.source.splitlines()[0]!r}"
            current = {**match.groupdict(), "graded": []}
            parts.append(current)
        meta = _meta(cell)
        if meta.get("grade"):
            assert current is not None, f"graded cell {meta['grade_id']} before Part A"
            points, manual = float(meta["points"]), bool(meta.get("solution"))
            current["graded"].append((points, manual))
    letters = [p["letter"] for p in parts]
    assert letters == [chr(ord("A") + i) for i in range(len(parts))], letters
    for part in parts:
        assert len(part["graded"]) == 1, f"Part {part['letter']}: one graded cell"
        points, manual = part["graded"][0]
        assert points == int(part["points"]), part
        assert manual == bool(part["manual"]), part
    kinds = [p["kind"] for p in parts]
    assert "derivation" in kinds and "experiment" in kinds, kinds
    # an experiment's outcome is measured (graded automatically) and explained
    assert any(p["kind"] == "experiment" and not p["manual"] for p in parts)
    assert any(p["kind"] == "experiment" and p["manual"] for p in parts)
    assert all(p["manual"] for p in parts if p["kind"] == "derivation")
    assert any(not p["manual"] for p in parts if p["kind"] is None)


RUBRIC_POINT = re.compile(r"^- \*\*(\d+) points?\*\*: \S", re.MULTILINE)


@pytest.mark.parametrize("name", NAMES)
def test_every_written_part_has_a_rubric(name):
    for cell in _solutions(name).cells:
        meta = _meta(cell)
        if not (meta.get("grade") and meta.get("solution")):
            continue
        answer, _, rubric = cell.source.partition("\n#### Rubric\n")
        assert rubric, f"{meta['grade_id']}: no '#### Rubric' line"
        assert len(answer.split()) >= 40, f"{meta['grade_id']}: model answer too short"
        points = [int(n) for n in RUBRIC_POINT.findall(rubric)]
        assert sum(points) == meta["points"], (meta["grade_id"], points)
        assert "**Common wrong answers:**" in rubric, meta["grade_id"]


def _forbidden(source: str):
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_forbidden" for t in stmt.targets
        ):
            return ast.literal_eval(stmt.value)
    return None


@pytest.mark.parametrize("name", NAMES)
def test_implement_parts_forbid_the_reference_implementations(name):
    """A part whose answer defines a function lists what it must not call."""
    nb = _solutions(name)
    intro = nb.cells[0].source
    defines = False
    for cell in nb.cells:
        meta = _meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            given = cell.source.split("### BEGIN SOLUTION")[0]
            defines = defines or bool(re.search(r"^def ", given, re.MULTILINE))
        if meta.get("grade") and not meta.get("solution"):
            forbidden = _forbidden(cell.source)
            if defines:
                assert isinstance(forbidden, tuple), meta["grade_id"]
            for dotted in forbidden or ():
                assert re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", dotted), dotted
                assert f"`{dotted}`" in intro, f"the first cell does not name {dotted}"
            defines = False


NUMPY_ONLY = ["01_entropy", "02_kl_cross_entropy", "03_mutual_information",
              "05_loss_functions"]


@pytest.mark.parametrize("name", NUMPY_ONLY)
def test_numpy_sheets_never_import_torch(name):
    for cell in _solutions(name).cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        assert not re.search(r"^\s*(import|from) torch", cell.source, re.MULTILINE), (
            meta.get("grade_id")
        )


@pytest.mark.parametrize("name", NAMES)
def test_code_lines_fit_88_characters(name):
    for cell in _solutions(name).cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                assert len(line) <= 88, f"{_meta(cell).get('grade_id')}: {line}"


_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+")
#: Self-evident constants a sheet may state anywhere (in the text, as a bound).
_COMMON = {0.5, 0.25, 0.125, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0}


def _by_part(nb):
    """(part letter or None before Part A, cell) for every cell, in order."""
    part = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Part "):
            part = cell.source[len("## Part ")]
        yield part, cell


def _numbers(text: str):
    """(value, decimals) of every decimal number with at least 3 decimals."""
    for match in _NUMBER.finditer(text):
        decimals = len(match.group().split(".")[1])
        if decimals >= 3:
            yield float(match.group()), decimals


def _stream(cell) -> str:
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    )


#: A locked cell tagged so prints only what the learner's own code computed
#: earlier (a results table again, next to a noise floor): it neither owns
#: those numbers as answers nor reveals them.
REPRINTS = "reprints-learner-results"


def _answers(solution) -> dict:
    """Per part, the numbers its cells print when the model solution runs."""
    answers = defaultdict(set)
    for part, cell in _by_part(solution):
        if REPRINTS in cell.metadata.get("tags", []):
            continue
        if part and cell.cell_type == "code":
            for value, decimals in _numbers(_stream(cell)):
                if round(value, decimals) not in _COMMON:
                    answers[part].add((value, decimals))
    return answers


def _same(value: float, decimals: int, answer: float, answer_decimals: int) -> bool:
    shared = min(decimals, answer_decimals)
    return round(value, shared) == round(answer, shared)


@pytest.mark.parametrize("name", NAMES)
def test_no_part_reveals_another_parts_answer(name):
    """No visible cell, and no self-check output, shows another part's answer.

    A part's answers are the numbers its cells print in the executed model
    solution (to 3 or more decimals). What a learner sees of part Y (every
    cell of the exercise, and what Y's locked cells print when run) must not
    contain any of them for X != Y, to the precision either is written in.
    """
    solution = _solutions(name)
    exercise = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    answers = _answers(solution)
    shown = defaultdict(list)
    for part, cell in _by_part(exercise):
        shown[part].append(("exercise cell", cell.source))
    for part, cell in _by_part(solution):
        meta = _meta(cell)
        if REPRINTS in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade"):
            shown[part].append(("printed by a locked cell", _stream(cell)))
    leaks = []
    for part, texts in shown.items():
        for where, text in texts:
            for value, decimals in _numbers(text):
                for other, numbers in answers.items():
                    if other == part:
                        continue
                    for answer, answer_decimals in numbers:
                        if _same(value, decimals, answer, answer_decimals):
                            leaks.append(f"Part {part} ({where}) shows {value}, "
                                         f"an answer of Part {other} ({answer})")
    assert not leaks, "\n".join(sorted(set(leaks)))

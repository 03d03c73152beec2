"""Read an exercise's single source (a notebook in ``solutions/``) into a spec.

The graded test cells of a solution notebook are read with :mod:`ast`, never
executed as a whole. Each statement must be one of:

- ``import m as _m`` / ``from m import f as _f`` (modules under numpy, scipy,
  math, torch, sklearn, itutils): run in the grader's reference namespace;
- ``_name = <expression>``: a reference value, computed in the grader;
- a call ``check_close/check_equal/check_that/check_raises(...)``.

Names bound in a test cell start with ``_`` so that running the cell in a
kernel (nbval, nbgrader autograde) never shadows a student's name. The
assignment ``_forbidden = ("scipy.stats.entropy", ...)`` in a test cell names
reference implementations the part must not use (see
:mod:`itutils.grading.references`); each name must resolve to an object. The first
argument of a check (the lambda's body for ``check_raises``) is the
*student side*: its source is sent to the student's process and evaluated
there; the ``_names`` it uses are sent along as plain data. Every other
argument (the expected value, tolerances, predicates) is evaluated here, in
the grader, from references (numpy, scipy, itutils) only.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from itutils.grading import checks
from itutils.grading.parsing import compile_ast, parse
from itutils.grading.plain import to_plain

__all__ = [
    "Check",
    "Part",
    "ExerciseSpec",
    "SpecError",
    "load_spec",
    "load_specs",
    "split_rubric",
]

_ALLOWED_MODULES = ("numpy", "scipy", "math", "torch", "sklearn", "itutils")
_CHECKS = {"check_close", "check_equal", "check_that", "check_raises"}
#: Modules the student side may name directly; the grader's child imports them.
TRUSTED_MODULES = {"np": "numpy", "torch": "torch", "math": "math"}
#: Prefix of the grade_id of visible self-check cells (not run when grading).
SELFCHECK_PREFIX = "selfcheck"


class SpecError(ValueError):
    """A solution notebook breaks the rules of the hidden-test format."""


@dataclass
class Check:
    """One check: the student-side source and what the grader compares it with."""

    kind: str  # "close", "equal", "that" or "raises"
    actual: str  # source evaluated in the student's process
    shipped: dict  # _name -> plain value the student side needs
    student_names: list  # names the student must define
    modules: list = field(default_factory=list)  # trusted module aliases used
    expected: object = None  # reference value, or exception class, or predicate
    options: dict = field(default_factory=dict)
    args: tuple = ()
    source: str = ""

    def label(self) -> str:
        """How the check is shown in feedback."""
        return self.source

    @property
    def reads_value(self) -> bool:
        """True when the student side reads stored values and calls nothing.

        Such a check grades what the cells computed (``h_die``), so the
        cells matter when looking for reference implementations; a check
        that calls the learner's function grades what that call does.
        """
        try:
            tree = parse(self.actual, mode="eval")
        except SyntaxError:
            return False
        return not any(isinstance(n, ast.Call) for n in ast.walk(tree))


@dataclass
class Part:
    """A graded cell: automatic (checks) or written (graded by hand)."""

    grade_id: str
    points: float
    manual: bool
    checks: list
    solution_cells: list  # grade_ids of the solution cells this part grades
    stub: str = ""  # for written answers: the text a blank exercise holds
    forbidden: tuple = ()  # dotted names of reference implementations it forbids
    question: str = ""  # the Markdown before the part (its heading and task)
    model_answer: str = ""  # written answers: the solution, before "#### Rubric"
    rubric: str = ""  # written answers: what earns each point (after the line)


@dataclass
class ExerciseSpec:
    """Everything the grader needs to know about one exercise notebook."""

    name: str
    parts: list
    locked: dict  # grade_id -> source of locked code cells (restored)
    skipped: set  # grade_ids of cells never run when grading
    solution_ids: set

    @property
    def max_points(self) -> float:
        return sum(p.points for p in self.parts)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _names(node: ast.AST) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _reference_namespace() -> dict:
    return {"np": np, "math": math, "__builtins__": __builtins__}


def _import(stmt, ns: dict, where: str) -> None:
    modules = (
        [a.name for a in stmt.names]
        if isinstance(stmt, ast.Import)
        else [stmt.module or ""]
    )
    for module in modules:
        if not module.startswith(_ALLOWED_MODULES):
            raise SpecError(f"{where}: import of {module!r} is not allowed")
    for alias in stmt.names:
        bound = alias.asname or alias.name.split(".")[0]
        if not bound.startswith("_"):
            raise SpecError(
                f"{where}: bind imports to names starting with '_' "
                f"(got {bound!r}) so they never shadow a student's name"
            )
    exec(compile_ast(ast.Module([stmt], []), where, "exec"), ns)


def _bind(call: ast.Call, names: list, where: str) -> dict:
    if any(isinstance(a, ast.Starred) for a in call.args):
        raise SpecError(f"{where}: *args are not supported in checks")
    bound = dict(zip(names, call.args, strict=False))
    extra = call.args[len(names) :]
    for kw in call.keywords:
        if kw.arg is None or kw.arg in bound:
            raise SpecError(f"{where}: bad keyword in {ast.unparse(call)}")
        bound[kw.arg] = kw.value
    bound["*"] = extra
    return bound


def _parse_check(call: ast.Call, ns: dict, where: str) -> Check:
    kind = call.func.id[len("check_") :]
    source = ast.unparse(call)

    def value(node):
        try:
            return eval(compile_ast(ast.Expression(node), where, "eval"), ns)
        except Exception as exc:
            raise SpecError(
                f"{where}: cannot compute {ast.unparse(node)!r} from references "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    if kind == "raises":
        b = _bind(call, ["exception", "func"], where)
        func = b.get("func")
        if not isinstance(func, ast.Lambda) or func.args.args:
            raise SpecError(f"{where}: check_raises needs a lambda of no arguments")
        actual = func.body
        expected = value(b["exception"])
        options, args = {}, ()
    else:
        params = {
            "close": ["actual", "expected", "atol", "rtol"],
            "equal": ["actual", "expected"],
            "that": ["actual", "predicate"],
        }[kind]
        b = _bind(call, params, where)
        actual = b["actual"]
        expected = value(b["predicate"] if kind == "that" else b["expected"])
        options = {k: value(b[k]) for k in ("atol", "rtol") if k in b}
        args = tuple(value(a) for a in b["*"]) if kind == "that" else ()
        if b["*"] and kind != "that":
            raise SpecError(f"{where}: too many arguments in {source}")
        if kind == "equal":
            expected = checks._through_plain(expected)
    used = _names(actual)
    shipped, student, modules = {}, [], []
    for name in sorted(used):
        if name.startswith("_") and name in ns:
            shipped[name] = to_plain(ns[name])
        elif name in TRUSTED_MODULES:
            modules.append(name)
        else:
            student.append(name)
    return Check(
        kind=kind,
        actual=ast.unparse(actual),
        shipped=shipped,
        student_names=student,
        modules=modules,
        expected=expected,
        options=options,
        args=args,
        source=source,
    )


def parse_test_cell(source: str, ns: dict, where: str) -> list:
    """Parse one graded test cell; return its checks (see module docstring)."""
    try:
        tree = parse(source)
    except SyntaxError as exc:
        raise SpecError(f"{where}: {exc}") from exc
    found = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            _import(stmt, ns, where)
        elif isinstance(stmt, ast.Assign):
            names = [
                n
                for t in stmt.targets
                for n in (t.elts if isinstance(t, ast.Tuple) else [t])
            ]
            if not all(isinstance(n, ast.Name) and n.id.startswith("_") for n in names):
                raise SpecError(f"{where}: assign only to names starting with '_'")
            exec(compile_ast(ast.Module([stmt], []), where, "exec"), ns)
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name)
            and stmt.value.func.id in _CHECKS
        ):
            found.append(_parse_check(stmt.value, ns, where))
        else:
            raise SpecError(
                f"{where}: unsupported statement {ast.unparse(stmt)!r}; a test cell "
                "holds imports, '_name = ...' and check_* calls only"
            )
    return found


_RUBRIC = re.compile(
    r"^#{1,6}[ \t]*Rubric[ \t]*:?[ \t]*$", re.MULTILINE | re.IGNORECASE
)


def split_rubric(text: str) -> tuple[str, str]:
    """(model answer, rubric) of a written answer's solution cell.

    The rubric starts at a line ``#### Rubric``; without one, the whole cell
    is the model answer.

    Examples
    --------
    >>> split_rubric("H = 1 bit.\\n\\n#### Rubric\\n- **1 point**: the value")
    ('H = 1 bit.', '- **1 point**: the value')
    >>> split_rubric("no rubric here")
    ('no rubric here', '')
    """
    match = _RUBRIC.search(text)
    if match is None:
        return text.strip(), ""
    return text[: match.start()].strip(), text[match.end() :].strip()


def _forbidden_names(source: str, ns: dict, where: str) -> tuple:
    """The ``_forbidden`` names a test cell assigns (validated), or ()."""
    try:
        tree = parse(source)
    except SyntaxError:
        return ()
    assigned = any(
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "_forbidden" for t in stmt.targets)
        for stmt in tree.body
    )
    if not assigned:
        return ()
    value = ns.pop("_forbidden", None)
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise SpecError(
            f"{where}: _forbidden must be a tuple of dotted names such as "
            f'("scipy.stats.entropy",), got {value!r}'
        )
    from itutils.grading.references import resolve_name

    names = []
    for name in value:
        if not isinstance(name, str) or not name.startswith(_ALLOWED_MODULES):
            raise SpecError(
                f"{where}: _forbidden lists {name!r}; name functions of "
                f"{', '.join(_ALLOWED_MODULES)} by their dotted path"
            )
        if resolve_name(name) is None:
            raise SpecError(
                f"{where}: _forbidden lists {name!r}, which does not exist "
                "(check the spelling and the module path)"
            )
        names.append(name)
    return tuple(names)


def load_spec(path: Path) -> ExerciseSpec:
    """Read ``path`` (a solution notebook) into an :class:`ExerciseSpec`."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    ns = _reference_namespace()
    parts, locked, skipped, solution_ids, pending = [], {}, set(), set(), []
    prose: list = []  # Markdown cells since the last code or graded cell
    question = ""  # the prose before the pending solution cells
    for index, cell in enumerate(nb.cells):
        meta = _meta(cell)
        gid = meta.get("grade_id")
        where = f"{path.name}, cell {index} ({gid})"
        if meta.get("solution"):
            solution_ids.add(gid)
        if meta.get("grade") and not meta.get("solution"):
            if cell.cell_type != "code":
                raise SpecError(f"{where}: a test cell must be a code cell")
            found = parse_test_cell(cell.source, ns, where)
            parts.append(
                Part(
                    gid,
                    float(meta.get("points", 0)),
                    False,
                    found,
                    pending,
                    forbidden=_forbidden_names(cell.source, ns, where),
                    question=question,
                )
            )
            skipped.add(gid)
            pending, question = [], ""
        elif meta.get("grade") and meta.get("solution"):
            if cell.cell_type != "markdown":
                raise SpecError(f"{where}: autograded answers go in separate cells")
            model, rubric = split_rubric(cell.source)
            parts.append(
                Part(
                    gid,
                    float(meta.get("points", 0)),
                    True,
                    [],
                    [gid],
                    # The task may sit above a code cell the answer discusses.
                    question="\n\n".join(prose).strip() or question,
                    model_answer=model,
                    rubric=rubric,
                )
            )
        elif meta.get("solution"):
            if not pending:
                question = "\n\n".join(prose).strip()
            pending = pending + [gid]
        elif meta.get("locked") and cell.cell_type == "code":
            if gid.startswith(SELFCHECK_PREFIX):
                skipped.add(gid)
            else:
                locked[gid] = cell.source
        if cell.cell_type == "markdown" and not meta.get("grade"):
            prose.append(cell.source)
        elif not (
            cell.cell_type == "code" and gid and gid.startswith(SELFCHECK_PREFIX)
        ):
            prose = []
    return ExerciseSpec(path.stem, parts, locked, skipped, solution_ids)


def load_specs(solutions: Path) -> dict:
    """Specs of every ``*.ipynb`` in the ``solutions`` folder, by name."""
    return {p.stem: load_spec(p) for p in sorted(Path(solutions).glob("*.ipynb"))}

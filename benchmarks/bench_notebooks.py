"""How long each chapter notebook takes top to bottom, against its import floor.

Each notebook runs in a fresh kernel with nbclient from its own folder, the
way tools.execute_notebook and nbval run it (nothing is written back). The
*floor* is a one-cell notebook holding only that notebook's own import lines
(and ``%matplotlib inline``): what any notebook using the same libraries pays
before it teaches anything (kernel start, numpy, matplotlib, torch, ...).

Targets (issue 7): every chapter within 20 s of its floor; the whole course
under 2 minutes on 2 cores. Each time is the minimum of ``REPEATS`` runs.
"""

from __future__ import annotations

import ast
import statistics
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
REPEATS = 2
CHAPTER_TARGET_S = 20.0  # above the floor
COURSE_TARGET_S = 120.0


def import_lines(nb) -> str:
    """The notebook's top-level import statements, in order, as source."""
    lines = ["%matplotlib inline"]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # Drop IPython magics so the cell parses as Python.
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.append(ast.unparse(node))
    return "\n".join(dict.fromkeys(lines))  # keep order, drop repeats


def run(nb, folder: Path, attempts: int = 3) -> tuple[float, nbformat.NotebookNode]:
    """Execute a copy of ``nb`` in a fresh kernel; wall-clock seconds.

    A cell limit of 120 s (a chapter that slow misses its target anyway)
    bounds a rare hang seen on a loaded machine, where the kernel sat idle
    and the client kept waiting for a message; such a run is retried.
    """
    for attempt in range(attempts):
        copy = nbformat.from_dict(nb)
        client = NotebookClient(copy, timeout=120, startup_timeout=60,
                                kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        start = time.perf_counter()
        try:
            client.execute()
        except (CellTimeoutError, TimeoutError, RuntimeError):
            if attempt == attempts - 1:
                raise
            continue
        return time.perf_counter() - start, copy
    raise AssertionError("unreachable")


def _cell_seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    try:
        begin = datetime.fromisoformat(timing["iopub.execute_input"])
        end = datetime.fromisoformat(timing["shell.execute_reply"])
    except (KeyError, ValueError):
        return 0.0
    return (end - begin).total_seconds()


def slowest_cell(nb) -> tuple[int, float]:
    """(index among code cells, seconds) of the slowest cell of a run."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return 0, 0.0
    times = [_cell_seconds(c) for c in code]
    i = max(range(len(times)), key=times.__getitem__)
    return i + 1, times[i]


def measure(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    floor_nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(import_lines(nb))])
    runs, last = [], None
    for _ in range(REPEATS):
        seconds, last = run(nb, path.parent)
        runs.append(seconds)
    floors = [run(floor_nb, path.parent)[0] for _ in range(REPEATS)]
    cell, cell_s = slowest_cell(last)
    return {"name": path.stem, "run": min(runs), "median": statistics.median(runs),
            "floor": min(floors), "cell": cell, "cell_s": cell_s}


def main() -> str:
    rows = [measure(p) for p in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))]
    lines = [
        "## Notebook execution time",
        "",
        "Each chapter top to bottom in a fresh kernel (nbclient, the notebook's "
        f"folder as working directory), minimum of {REPEATS} runs, next to its "
        "*floor*: a one-cell notebook with only the chapter's own import lines. "
        f"Targets: run - floor <= {CHAPTER_TARGET_S:.0f} s per chapter; whole "
        f"course <= {COURSE_TARGET_S:.0f} s. Reproduce: `make bench ONLY=notebooks`.",
        "",
        "| notebook | run (s) | median (s) | floor (s) | run - floor (s) "
        "| slowest code cell (s) | target |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        extra = r["run"] - r["floor"]
        ok = "pass" if extra <= CHAPTER_TARGET_S else "**FAIL**"
        lines.append(
            f"| {r['name']} | {r['run']:.1f} | {r['median']:.1f} | {r['floor']:.1f} "
            f"| {extra:.1f} | #{r['cell']}: {r['cell_s']:.1f} | {ok} |"
        )
    total = sum(r["run"] for r in rows)
    ok = "pass" if total <= COURSE_TARGET_S else "**FAIL**"
    lines += [
        f"| **course ({len(rows)} notebooks)** | **{total:.1f}** | | "
        f"{sum(r['floor'] for r in rows):.1f} | | | {ok} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())

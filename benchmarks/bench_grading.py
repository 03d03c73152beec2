"""Grading speed: a class of 30 students x 6 sheets, sandboxed, on 2 workers.

Three measurements, in one run:

1. **The sandbox's own overhead per submission.** A bare interpreter
   (``python -I -S -c pass``) started directly and started in the sandbox
   (bubblewrap, and as root ``unshare`` + ``setpriv`` first), and a whole
   grading run of an empty notebook (harness start, set-up and end
   requests) with and without the sandbox; the differences are what
   isolation costs.
2. **Per-sheet cost.** Each sheet's model solution and blank exercise graded
   alone, one after the other: wall time and CPU time (user + system of the
   submission's processes).
3. **The class.** 30 students x 6 sheets graded as ``make grade`` does (one
   runtime, 2 workers), twice: every student handing in the model solutions,
   and a mixed class (even students the model solutions, odd students the
   blank exercises). Total wall time against the target of 150 s, and the
   CPU time, whose half is the wall time 2 quiet cores would need.

The machine may be shared: compare the ratios and the CPU times, and look at
the load average printed with each figure. ``BENCH_GRADING_STUDENTS=N``
grades a smaller class (the figures say how many).
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from itutils.grading import sandbox as sbx
from itutils.grading.runner import Limits, open_runtime
from itutils.grading.spec import ExerciseSpec, load_specs

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 150.0
WORKERS = 2
LIMITS = Limits()


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _median(values: list) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def startup(repeats: int = 15) -> list:
    """Rows: (what, direct, sandboxed) as (wall, cpu or None) in seconds."""
    rows = []
    with open_runtime(LIMITS) as runtime:
        layout = runtime._layout
        view = runtime._view(_EMPTY)[0]
        slot = runtime._slot()
        try:
            bare = [layout.python, "-I", "-S", "-c", "pass"]
            boxed = layout.command(
                sbx.UID_BASE + slot if layout.as_root else None,
                view,
                {"PATH": "/usr/bin:/bin"},
                2**20,
                bare,
            )

            def wall(argv):
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    subprocess.run(argv, stdin=subprocess.DEVNULL, check=True)
                    times.append(time.perf_counter() - start)
                return _median(times), None

            rows.append(
                ("interpreter start (`python -I -S -c pass`)", wall(bare), wall(boxed))
            )
        finally:
            runtime._release(slot)
    with open_runtime(LIMITS, sandbox=False) as plain, open_runtime(LIMITS) as boxed:

        def runs(runtime):
            done = [runtime.run(_EMPTY_NOTEBOOK, _EMPTY) for _ in range(repeats)]
            assert all(r.status == "ok" for r in done), [r.message for r in done]
            return (
                _median([r.seconds for r in done]),
                _median([r.cpu_seconds for r in done]),
            )

        rows.append(
            (
                "grading run of an empty notebook (start, harness, set-up, end)",
                runs(plain),
                runs(boxed),
            )
        )
    return rows


_EMPTY = ExerciseSpec("empty", [], {}, set(), set())
_EMPTY_NOTEBOOK = (
    b'{"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}}], '
    b'"metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
)


def per_sheet(specs: dict) -> list:
    """Rows: (sheet, kind, wall, cpu, status) for one submission at a time."""
    rows = []
    with open_runtime(LIMITS) as runtime:
        for name, spec in specs.items():
            for kind, folder in (
                ("model solution", "solutions"),
                ("blank", "exercises"),
            ):
                data = (ROOT / folder / f"{name}.ipynb").read_bytes()
                run = runtime.run(data, spec)
                rows.append(
                    (name, kind, run.seconds, run.cpu_seconds or 0.0, run.status)
                )
    return rows


def grade_class(specs: dict, students: int, mixed: bool) -> dict:
    """Grade ``students`` x sheets on ``WORKERS`` threads, as ``make grade`` does."""
    files = {}
    for name in specs:
        for folder in ("solutions", "exercises"):
            files[name, folder] = (ROOT / folder / f"{name}.ipynb").read_bytes()
    jobs = [
        (s, name, files[name, "exercises" if mixed and s % 2 else "solutions"])
        for s in range(students)
        for name in specs
    ]
    load_before = _load()
    start = time.perf_counter()
    with open_runtime(LIMITS) as runtime:

        def one(job):
            _student, name, data = job
            run = runtime.run(data, specs[name])
            return name, run.seconds, run.cpu_seconds or 0.0, run.status

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            done = list(pool.map(one, jobs))
    wall = time.perf_counter() - start
    per = {}
    for name, seconds, _cpu, _status in done:
        per.setdefault(name, []).append(seconds)
    return {
        "wall": wall,
        "cpu": sum(cpu for _n, _s, cpu, _st in done),
        "runs": len(done),
        "not_ok": sum(1 for *_x, status in done if status != "ok"),
        "per_sheet": {name: sum(v) / len(v) for name, v in per.items()},
        "load": f"{load_before} -> {_load()}",
    }


def main() -> str:
    problem = sbx.sandbox_problem()
    if problem:
        return f"## Grading speed\n\nNot measured: {problem}\n"
    students = int(os.environ.get("BENCH_GRADING_STUDENTS", "30"))
    specs = load_specs(ROOT / "solutions")
    who = (
        "root (submissions as unprivileged uids)"
        if os.geteuid() == 0
        else "an ordinary user"
    )
    lines = [
        "## Grading speed (sandboxed)",
        "",
        f"Each submission in its own bubblewrap sandbox, limits as `make grade` "
        f"(`Limits()`), {WORKERS} workers; run as "
        f"{who}. "
        "CPU = user + system time of the submission's interpreter and the "
        "processes it waited for, as its harness reports it (bubblewrap does "
        "not pass it on to the grader). Load average "
        "(1/5/15 min) shows how busy the machine was.",
        "",
        "### The sandbox's own overhead per submission",
        "",
        "| what | direct: wall / CPU | sandboxed: wall / CPU | overhead: wall / CPU |",
        "|---|---|---|---|",
    ]

    def ms(x):
        return "-" if x is None else f"{x * 1000:.0f}"

    overhead = startup()
    empty_cpu = overhead[1][2][1]
    for what, (dw, dc), (sw, sc) in overhead:
        extra = "-" if dc is None or sc is None else f"{(sc - dc) * 1000:+.0f}"
        lines.append(
            f"| {what} | {ms(dw)} / {ms(dc)} ms | {ms(sw)} / {ms(sc)} ms | "
            f"{(sw - dw) * 1000:+.0f} / {extra} ms |"
        )
    lines += [
        "",
        f"Medians of 15 starts; load {_load()}.",
        "",
        "### Per-sheet cost (one submission at a time)",
        "",
        "| sheet | model solution: wall / CPU | blank: wall / CPU |",
        "|---|---|---|",
    ]
    rows = per_sheet(specs)
    by = {(name, kind): (w, c, s) for name, kind, w, c, s in rows}
    for name in specs:
        sw, sc, ss = by[name, "model solution"]
        bw, bc, bs = by[name, "blank"]
        flag = "" if ss == bs == "ok" else f" ({ss}/{bs})"
        lines.append(
            f"| {name} | {sw:.1f} s / {sc:.1f} s | {bw:.1f} s / {bc:.1f} s{flag} |"
        )
    solution_cpu = sum(by[n, "model solution"][1] for n in specs)
    blank_cpu = sum(by[n, "blank"][1] for n in specs)
    heavy = max(specs, key=lambda n: by[n, "blank"][1])
    lines += [
        "",
        f"Where the time goes, in CPU: an empty notebook costs {empty_cpu:.2f} s "
        "(interpreter, harness, numpy); a blank sheet adds what its locked cells "
        f"import (the heaviest, {heavy}: {by[heavy, 'blank'][1]:.1f} s, torch and "
        "scikit-learn); the rest of a model solution is the student's own work. "
        f"One student's six model solutions: {solution_cpu:.1f} s; six blanks: "
        f"{blank_cpu:.1f} s. Load {_load()}.",
        "",
        f"### The class: {students} students x {len(specs)} sheets",
        "",
        "Wall is measured; CPU / 2 is the wall time 2 otherwise idle cores would "
        "need (the grading keeps both busy). Both are scaled to 30 students when "
        "fewer were graded.",
        "",
        "| class | runs | wall | CPU | CPU / 2 cores | under 150 s: measured / "
        "on 2 quiet cores | mean wall per submission, by sheet |",
        "|---|---|---|---|---|---|---|",
    ]
    loads = []
    for label, mixed in (("all model solutions", False), ("mixed", True)):
        result = grade_class(specs, students, mixed)
        scale = 30 / students
        wall, cpu = result["wall"] * scale, result["cpu"] * scale
        verdict = "/".join(
            "yes" if x <= TARGET_SECONDS else "no" for x in (wall, cpu / WORKERS)
        )
        per = ", ".join(f"{n[:2]} {s:.1f} s" for n, s in result["per_sheet"].items())
        note = f" ({result['not_ok']} not ok)" if result["not_ok"] else ""
        lines.append(
            f"| {label}{note} | {result['runs']} | {wall:.0f} s | {cpu:.0f} s | "
            f"{cpu / WORKERS:.0f} s | {verdict} | {per} |"
        )
        loads.append(f"{label}: {result['load']}")
    lines += ["", "Load average during the classes: " + "; ".join(loads) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())

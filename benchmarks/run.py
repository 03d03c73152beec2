"""Run the benchmarks and assemble benchmarks/RESULTS.md.

Usage: python -m benchmarks.run [name ...]

Each ``benchmarks/bench_<name>.py`` has ``main() -> str`` returning a
Markdown section (tables of times and ratios against the reference library,
measured in the same run). Its section is written to
``benchmarks/results/<name>.md``; RESULTS.md is all sections in order, so a
single benchmark can be re-run without losing the others.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def machine() -> str:
    import numpy
    import torch

    return (
        f"{platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, "
        f"torch {torch.__version__}"
    )


def assemble() -> None:
    parts = [
        "# Benchmark results\n",
        "Written by `make bench` (`python -m benchmarks.run`); each section "
        "says how it was measured. Ratios put the reference library at 1.\n",
    ]
    for name in available():
        section = RESULTS / f"{name}.md"
        if section.exists():
            parts.append(section.read_text().rstrip() + "\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts))


def main(names: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    for name in names or available():
        module = importlib.import_module(f"benchmarks.bench_{name}")
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        section = module.main()
        took = time.perf_counter() - start
        day = time.strftime("%Y-%m-%d")
        stamp = f"\n_Measured {day} on {machine()}; took {took:.0f} s._\n"
        (RESULTS / f"{name}.md").write_text(section.rstrip() + "\n" + stamp)
        print(section)
    assemble()


if __name__ == "__main__":
    main(sys.argv[1:])

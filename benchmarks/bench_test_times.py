"""How long ``make test`` takes, split by test group.

Runs the same pytest command as ``make test`` once per group (the groups
below partition what ``make test`` collects) and reads each test's time from
a JUnit XML report. Groups:

* unit: tests/ (unit, property, widget, notebook-number tests) and the
  doctests of itutils/;
* notebooks: nbval re-running every notebook in notebooks/;
* grading: tests/test_grading*.py (runs submissions in subprocesses);
* browser: tests/test_browser.py (JupyterLab + headless Chromium).

``BENCH_TEST_GROUPS=unit,browser`` measures only some groups.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "--nbval",
          "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-q"]
GROUPS = {
    "unit": ["tests", "itutils", "--ignore=tests/test_browser.py",
             "--ignore-glob=tests/test_grading*.py"],
    "notebooks": ["notebooks"],
    "grading": ["--ignore-glob=tests/test_[!g]*.py", "tests"],
    "browser": ["tests/test_browser.py"],
}


def run_group(args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        start = time.perf_counter()
        done = subprocess.run([*PYTEST, f"--junitxml={report}", *args], cwd=ROOT,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        cases = []
        if report.exists():
            for case in ET.parse(report).iter("testcase"):
                outcome = ("failed" if case.find("failure") is not None
                           or case.find("error") is not None
                           else "skipped" if case.find("skipped") is not None
                           else "passed")
                cases.append((float(case.get("time", 0)), case.get("name"), outcome))
    counts = {k: sum(1 for c in cases if c[2] == k)
              for k in ("passed", "failed", "skipped")}
    slowest = sorted(cases, reverse=True)[:3]
    return {"wall": wall, "exit": done.returncode, "counts": counts, "slowest": slowest}


def main() -> str:
    wanted = os.environ.get("BENCH_TEST_GROUPS")
    names = wanted.split(",") if wanted else list(GROUPS)
    rows = {name: run_group(GROUPS[name]) for name in names}
    lines = [
        "## Time of `make test`, by group",
        "",
        "The `make test` pytest command run once per group (JUnit XML for each "
        "test's time; wall time includes collection and imports). Measured "
        "while other work may share the 2 cores: read it as a profile, not a "
        "promise. Reproduce: `make bench ONLY=test_times`.",
        "",
        "| group | wall (s) | passed | failed | skipped | slowest tests (s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        slow = "; ".join(f"{n} {t:.1f}" for t, n, _ in r["slowest"])
        c = r["counts"]
        lines.append(f"| {name} | {r['wall']:.0f} | {c['passed']} | {c['failed']} "
                     f"| {c['skipped']} | {slow} |")
    lines += [f"| **total** | **{sum(r['wall'] for r in rows.values()):.0f}** "
              "| | | | |", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())

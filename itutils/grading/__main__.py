"""Command line: ``python -m itutils.grading {grade,generate} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import itutils
from itutils.grading.batch import grade_folder
from itutils.grading.generate import generate_all
from itutils.grading.runner import Limits
from itutils.grading.spec import load_specs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m itutils.grading")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=Path("grading-output"))
    g.add_argument("--solutions", type=Path, default=Path("solutions"))
    g.add_argument("--workers", type=int, default=2)
    g.add_argument(
        "--timeout",
        type=float,
        default=Limits.wall_seconds,
        help="wall-clock seconds per submission",
    )
    g.add_argument(
        "--step-timeout",
        type=float,
        default=Limits.step_seconds,
        help="seconds per cell or check",
    )
    g.add_argument(
        "--memory",
        type=int,
        default=Limits.memory_mb,
        help="address-space limit per submission, MB",
    )
    g.add_argument(
        "--exercise", action="append", help="grade these exercises (default: all found)"
    )
    e = sub.add_parser("generate", help="write exercises/ from solutions/")
    e.add_argument("--solutions", type=Path, default=Path("solutions"))
    e.add_argument("--out", type=Path, default=Path("exercises"))
    args = parser.parse_args(argv)
    if args.command == "generate":
        for path in generate_all(args.solutions, args.out):
            print(f"wrote {path}")
        return 0
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    specs = load_specs(args.solutions)
    limits = Limits(
        wall_seconds=args.timeout,
        step_seconds=min(args.step_timeout, args.timeout),
        memory_mb=args.memory,
    )
    guard = [args.solutions, Path(itutils.__file__).parent]
    grade_folder(
        args.submissions,
        specs,
        args.out,
        workers=args.workers,
        limits=limits,
        exercises=args.exercise,
        guard=guard,
    )
    print(
        f"\nWrote {args.out / 'grades.csv'}, {args.out / 'feedback'}/ and "
        f"{args.out / 'manual_answers.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m itutils.grading {grade,merge,generate} ...``.

Exit codes: 0 done (whatever the submissions did: their problems are in
grades.csv), 2 refused before grading (no sandbox, unsafe output folder,
unknown exercise, shards that do not belong together), 1 an unexpected
error of the grader.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import itutils
from itutils.grading.runner import Limits

_NO_SANDBOX_HINT = (
    "If you are grading only files you trust (your own test notebooks), you "
    "can run without the sandbox by adding --no-sandbox; never do that for "
    "students' submissions."
)


def _parser() -> argparse.ArgumentParser:
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
        "--exercise",
        action="append",
        metavar="NAME",
        help="grade only this exercise (repeat for several; default: all found)",
    )
    g.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run submissions without the sandbox: ONLY for files you trust",
    )
    g.add_argument(
        "--shard",
        metavar="K/N",
        help="grade only the K-th of N slices of the students (then: merge)",
    )
    m = sub.add_parser("merge", help="merge the output folders of --shard runs")
    m.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR")
    m.add_argument("--out", type=Path, required=True)
    e = sub.add_parser("generate", help="write exercises/ from solutions/")
    e.add_argument("--solutions", type=Path, default=Path("solutions"))
    e.add_argument("--out", type=Path, default=Path("exercises"))
    return parser


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _wrote(out: Path) -> None:
    print(
        f"\nWrote {out / 'grades.csv'}, {out / 'feedback'}/, "
        f"{out / 'manual_answers.md'} and {out / 'summary.txt'}"
    )


def _grade(args, parser) -> int:
    from itutils.grading import runner
    from itutils.grading.batch import SandboxUnavailable, grade_folder
    from itutils.grading.safefs import OutputError
    from itutils.grading.shard import parse_shard
    from itutils.grading.spec import load_specs

    shard = None
    if args.shard is not None:
        try:
            shard = parse_shard(args.shard)
        except ValueError as exc:
            parser.error(str(exc))
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if not args.no_sandbox:
        problem = runner.sandbox_problem()
        if problem:  # stop before reading or running anything
            return _refuse(f"{problem}\n\n{_NO_SANDBOX_HINT}")
    specs = load_specs(args.solutions)
    if not specs:
        parser.error(f"{args.solutions} holds no solution notebooks (*.ipynb)")
    limits = Limits(
        wall_seconds=args.timeout,
        step_seconds=min(args.step_timeout, args.timeout),
        memory_mb=args.memory,
    )
    guard = [args.solutions, Path(itutils.__file__).parent]
    try:
        grade_folder(
            args.submissions,
            specs,
            args.out,
            workers=args.workers,
            limits=limits,
            exercises=args.exercise,
            guard=guard,
            sandbox=not args.no_sandbox,
            shard=shard,
        )
    except SandboxUnavailable as exc:
        return _refuse(f"{exc}\n\n{_NO_SANDBOX_HINT}")
    except (OutputError, ValueError) as exc:
        return _refuse(str(exc))
    _wrote(args.out)
    if shard is not None:
        print(
            f"This is shard {shard[0]}/{shard[1]}; when all {shard[1]} are done: "
            "python -m itutils.grading merge SHARD_DIR... --out OUT"
        )
    return 0


def _merge(args) -> int:
    from itutils.grading.safefs import OutputError
    from itutils.grading.shard import MergeError, merge

    try:
        merge(args.shards, args.out)
    except (MergeError, OutputError) as exc:
        return _refuse(str(exc))
    _wrote(args.out)
    return 0


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "generate":
        from itutils.grading.generate import generate_all

        for path in generate_all(args.solutions, args.out):
            print(f"wrote {path}")
        return 0
    if args.command == "merge":
        return _merge(args)
    return _grade(args, parser)


if __name__ == "__main__":
    sys.exit(main())

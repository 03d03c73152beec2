"""Run the cells of notebook variants in plain Python; report what chosen cells print.

Used by ``tests/test_wrong_answers.py`` to see whether a self-check flags a
wrong answer, without a kernel per variant. Reads a JSON list of jobs on
stdin, each ``{"cells": [source, ...], "watch": index}``, runs every job's
cells in a fresh namespace and prints one JSON list: per job, the text that
the watched cell printed, or the error that stopped the job before it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys

_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def run(job: dict) -> str:
    ns = {"__name__": "__main__", "display": print}
    for index, source in enumerate(job["cells"]):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                code = compile(_MAGIC.sub(r"\1pass", source), f"<cell {index}>", "exec")
                exec(code, ns)
        except BaseException as exc:  # report it; never stop the batch
            stopped = f"[cell {index} raised {type(exc).__name__}: {exc}]\n"
            return stopped + out.getvalue()
        if index == job["watch"]:
            return out.getvalue()
    return "[the watched cell was not reached]"


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    jobs = json.load(sys.stdin)
    json.dump([run(job) for job in jobs], sys.stdout)

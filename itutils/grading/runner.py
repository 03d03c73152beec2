"""Run one submission in its own process, in a scratch folder, under limits.

The grader (this process) never runs student code. For each submission it:

1. reads the notebook itself (invalid JSON is a graded failure, not a crash);
2. writes a job into a fresh scratch folder (``tempfile``) holding a copy of
   the notebook: the code cells to run and the student-side expressions of
   the checks, never the hidden tests or the expected values;
3. starts ``python -I`` there with stdin closed, a minimal environment,
   output redirected to a file it reads back capped in size, and, before
   any student code runs: an address-space limit (``RLIMIT_AS``), a CPU
   limit, a file-size limit, no core dumps, and, when the grader runs as
   root, a switch to the unprivileged user ``nobody`` so that the
   submission cannot write anything outside its scratch folder;
4. kills the whole process group at the wall-clock limit;
5. collects the JSON events the child sent on a private pipe.
"""

from __future__ import annotations

import ast
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from itutils.grading.child import _MAGIC
from itutils.grading.spec import TRUSTED_MODULES, ExerciseSpec

__all__ = [
    "Limits",
    "RunResult",
    "Runtime",
    "open_runtime",
    "sandbox_problem",
    "read_notebook",
    "build_job",
    "run_submission",
]

# Runs in the child before anything else: limits first, then privileges,
# then the child's main. Only the standard library is touched until then.
_BOOT = """\
import os, resource, sys
for name, value in {limits!r}.items():
    resource.setrlimit(getattr(resource, name), (value, value))
sys.path.insert(0, sys.argv[1])
from itutils.grading import child
uid, gid = {uid!r}, {gid!r}
if uid is not None:
    child.preload({preload!r}, stdlib={stdlib!r})
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
child.main(sys.argv[2:])
"""

#: Loaded before privileges are dropped, besides what the notebook imports.
PRELOAD = ["numpy", "itutils", "itutils.measures", "itutils.grading.plain"]


def _stdlib_hidden() -> bool:
    """True when 'nobody' cannot read this interpreter's standard library."""
    import stat

    path = Path(os.__file__).resolve().parent
    for folder in [*reversed(path.parents), path]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH or (folder == path and not mode & stat.S_IROTH):
            return True
    return False


def _imports(cells: list) -> list:
    """Top-level modules (and submodules) the notebook's cells import."""
    found = []
    for cell in cells:
        try:
            tree = ast.parse(_MAGIC.sub(r"\1pass", cell["source"]))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
                found += [f"{node.module}.{a.name}" for a in node.names]
    return sorted(set(found))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's process."""

    wall_seconds: float = 120.0  # the whole run, enforced by the grader
    step_seconds: float = 60.0  # one cell or one check, enforced in the child
    memory_mb: int = 4096  # address space; torch alone maps ~0.7 GB
    output_chars: int = 200_000  # captured stdout+stderr kept per submission
    file_mb: int = 32  # largest file the submission may write
    max_notebook_mb: int = 50


@dataclass
class RunResult:
    """What came back from one submission's run."""

    status: str  # "ok", "invalid", "timeout", "ended"
    message: str = ""
    events: list = field(default_factory=list)
    output: str = ""
    missing_cells: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)  # grade_id -> markdown text

    def probes(self) -> dict:
        return {e["id"]: e for e in self.events if e.get("event") == "probe"}

    def cell_errors(self) -> list:
        return [e for e in self.events if e.get("event") == "cell_error"]

    def last_step(self) -> str:
        for event in reversed(self.events):
            if event.get("event") == "probe_start":
                return f"while evaluating check {event['id']}"
            if event.get("event") == "cell":
                gid = event.get("grade_id")
                named = f" ({gid})" if gid else ""
                return f"while running code cell {event['index']}{named}"
        return "before running any cell"


def read_notebook(source, limits: Limits):
    """Return (notebook, None) or (None, reason it cannot be graded).

    ``source`` is the notebook file's bytes (or a path to read them from).
    """
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        size = len(data)
        if size > limits.max_notebook_mb * 2**20:
            return (
                None,
                f"the file is {size // 2**20} MB, over the "
                f"{limits.max_notebook_mb} MB limit",
            )
        text = data.decode("utf-8")
        raw = json.loads(text)
    except UnicodeDecodeError:
        return None, "the file is not text (UTF-8), so not a Jupyter notebook"
    except json.JSONDecodeError as exc:
        return (
            None,
            f"the file is not valid JSON ({exc.msg} at line {exc.lineno}), "
            "so not a Jupyter notebook",
        )
    if type(raw) is not dict or type(raw.get("cells")) is not list:
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        return (
            None,
            f"the file is not a readable Jupyter notebook ({type(exc).__name__})",
        )
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or "cell_type" not in cell:
            return None, "the notebook has a malformed cell"
    return nb, None


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def build_job(nb, spec: ExerciseSpec, limits: Limits):
    """The child's job, the missing cells and the written answers."""
    cells, seen, answers = [], set(), {}
    for index, cell in enumerate(nb.cells):
        gid = _grade_id(cell)
        seen.add(gid)
        if cell.cell_type == "markdown" and gid is not None:
            answers[gid] = cell.source
        if cell.cell_type != "code" or gid in spec.skipped:
            continue
        # Read-only cells (imports, set-up) are restored from the source, as
        # nbgrader's autograde does; student cells run as written.
        source = spec.locked.get(gid, cell.source)
        cells.append({"index": index, "grade_id": gid, "source": source})
    probes = []
    for part in spec.parts:
        for k, check in enumerate(part.checks):
            probes.append(
                {
                    "id": f"{part.grade_id}:{k}",
                    "expr": check.actual,
                    "shipped": check.shipped,
                    "modules": check.modules,
                }
            )
    expected_ids = spec.solution_ids | set(spec.locked)
    missing = sorted(g for g in expected_ids if g not in seen)
    job = {
        "cells": cells,
        "probes": probes,
        "trusted": TRUSTED_MODULES,
        "step_limit": limits.step_seconds,
        "output_limit": limits.output_chars,
    }
    return job, missing, answers


def _unprivileged():
    """(uid, gid) of ``nobody`` when running as root, else (None, None)."""
    if os.getuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None, None
    return entry.pw_uid, entry.pw_gid


def _reader(fd: int, sink: list, cap: int) -> None:
    total = 0
    with os.fdopen(fd, "rb") as fh:
        for line in fh:
            total += len(line)
            if total <= cap:
                sink.append(line)


def _environment(scratch: Path) -> dict:
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }


def run_submission(
    notebook, spec: ExerciseSpec, library: Path, limits: Limits = Limits()
) -> RunResult:
    """Grade-run ``notebook`` against ``spec``; never raises for bad submissions.

    ``library`` is a folder holding a pristine copy of the ``itutils``
    package, put first on the child's ``sys.path``.
    """
    data = notebook if isinstance(notebook, bytes) else Path(notebook).read_bytes()
    nb, problem = read_notebook(data, limits)
    if nb is None:
        return RunResult("invalid", problem)
    job, missing, answers = build_job(nb, spec, limits)
    scratch = Path(tempfile.mkdtemp(prefix="itgrade-"))
    uid, gid = _unprivileged()
    try:
        (scratch / "submission.ipynb").write_bytes(data)
        (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
        if uid is not None:
            for path in [scratch, *scratch.iterdir()]:
                os.chown(path, uid, gid)
        rlimits = {
            "RLIMIT_AS": limits.memory_mb * 2**20,
            "RLIMIT_CPU": int(limits.wall_seconds) + 5,
            "RLIMIT_FSIZE": limits.file_mb * 2**20,
            "RLIMIT_CORE": 0,
        }
        preload = (
            PRELOAD
            + _imports(job["cells"])
            + sorted(
                set(TRUSTED_MODULES.values())
                & {
                    m
                    for p in job["probes"]
                    for m in map(TRUSTED_MODULES.get, p["modules"])
                }
            )
        )
        boot = _BOOT.format(
            limits=rlimits,
            uid=uid,
            gid=gid,
            preload=preload,
            stdlib=uid is not None and _stdlib_hidden(),
        )
        read_fd, write_fd = os.pipe()
        events_raw: list = []
        reader = threading.Thread(
            target=_reader, args=(read_fd, events_raw, 8 * 2**20), daemon=True
        )
        reader.start()
        with open(scratch / "output.txt", "wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-c",
                    boot,
                    str(library),
                    str(scratch / "job.json"),
                    str(write_fd),
                ],
                cwd=scratch,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                env=_environment(scratch),
                start_new_session=True,
            )
        os.close(write_fd)
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        try:  # the whole group: children the notebook started die too
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        reader.join(timeout=5)
        events = []
        for line in events_raw:
            try:
                event = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if type(event) is dict and isinstance(event.get("event"), str):
                events.append(event)
        with open(scratch / "output.txt", "rb") as fh:
            output = fh.read(limits.output_chars).decode("utf-8", "replace")
        result = RunResult("ok", "", events, output, missing, answers)
        done = any(e["event"] == "done" for e in events)
        if timed_out:
            result.status = "timeout"
            result.message = (
                f"the notebook exceeded the time limit of {limits.wall_seconds:g} s "
                f"{result.last_step()}"
            )
        elif not done:
            result.status = "ended"
            code = proc.returncode
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code < 0
                else f"exited with code {code}"
            )
            hint = ""
            if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV):
                hint = (
                    f" (exceeding the memory limit of {limits.memory_mb} MB "
                    "can cause this)"
                )
            if code == -signal.SIGXCPU:
                hint = " (CPU time limit)"
            result.message = (
                f"the grading process {how} {result.last_step()}, before grading "
                "finished: a call such as os._exit(), os.kill() or a crash "
                f"ends it{hint}"
            )
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sandbox_problem() -> str | None:
    """None when submissions can be sandboxed here, else what to install.

    (Interface for the batch grader; the sandbox itself is not built yet.)
    """
    return None


class Runtime:
    """Everything a batch of runs shares; removed again by :meth:`close`.

    Use as a context manager (``with open_runtime(limits) as rt``) and call
    :meth:`run` from any number of threads.
    """

    def __init__(self, limits: Limits | None = None, sandbox: bool = True):
        self.limits = limits or Limits()
        self.sandbox = sandbox
        self._dir = Path(tempfile.mkdtemp(prefix="itgrade-batch-"))
        self._library = _snapshot_library(self._dir)

    def run(self, notebook: bytes, spec: ExerciseSpec) -> RunResult:
        """Grade-run one notebook (its file's bytes); never raises for bad input."""
        return run_submission(notebook, spec, self._library, self.limits)

    def close(self) -> None:
        for root, dirs, _files in os.walk(self._dir):
            for d in dirs:
                os.chmod(Path(root) / d, 0o755)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_runtime(limits: Limits | None = None, sandbox: bool = True) -> Runtime:
    """A :class:`Runtime` for one batch of submissions."""
    return Runtime(limits, sandbox)


def _snapshot_library(into: Path) -> Path:
    """A read-only copy of the itutils package for the submissions to import."""
    import itutils

    source = Path(itutils.__file__).parent
    target = into / "lib"
    shutil.copytree(
        source,
        target / "itutils",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for root, dirs, files in os.walk(target):
        for d in dirs:
            os.chmod(Path(root) / d, 0o555)
        for f in files:
            os.chmod(Path(root) / f, 0o444)
    os.chmod(into, 0o755)
    os.chmod(target, 0o555)
    return target

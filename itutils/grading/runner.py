"""Run one submission in its own sandbox and collect what it answers.

The grader (this process) never runs student code. For each submission it:

1. reads the notebook's bytes itself, within bounds
   (:mod:`itutils.grading.notebook`): a bad file is a reason, not a crash;
2. scans the learner's cells for reference implementations and for tools
   that reach into the harness (:mod:`itutils.grading.references`);
3. starts the harness (:mod:`itutils.grading.child`) in a bubblewrap
   sandbox (:mod:`itutils.grading.sandbox`) under resource limits, with
   three pipes it created: requests (grader to harness), replies (harness
   to grader) and printed output (stdout and stderr, read capped);
4. sends one request at a time, each with a fresh random nonce and a
   sequence number: set up, run each code cell, evaluate the student side
   of each check, end. The check expressions and their inputs leave the
   grader only now, after every cell has run;
5. accepts exactly one reply per request: same nonce, same sequence number,
   the schema of that kind of request, within the size limit. Anything else
   (a reply nobody asked for, a duplicate, one out of order, malformed
   JSON, an unknown field, a frame over the limit) voids the automatic parts
   of that submission with the reason, and its sandbox is ended;
6. ends the sandbox at the wall-clock limit, when a step overruns, or when
   grading ends, and checks that no process of it is left.

The grader reads nothing from a place the submission can write: only the
pipes it made.
"""

from __future__ import annotations

import json
import os
import py_compile
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from itutils.grading import sandbox as sbx
from itutils.grading.notebook import Notebook, clean_text, read_notebook
from itutils.grading.plain import NotPlainData, from_plain
from itutils.grading.protocol import FrameReader, ProtocolError, encode
from itutils.grading.references import (
    References,
    library_modules,
    module_file,
    references_for,
    scan_cells,
)
from itutils.grading.spec import TRUSTED_MODULES, ExerciseSpec
from itutils.grading.untrusted import Bounds, UntrustedDataError, loads_bounded

__all__ = [
    "Limits",
    "RunResult",
    "Runtime",
    "SandboxUnavailable",
    "open_runtime",
    "sandbox_problem",
    "run_submission",
]

sandbox_problem = sbx.sandbox_problem


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission."""

    wall_seconds: float = 120.0  # the whole run, enforced by the grader
    step_seconds: float = 60.0  # one cell or one check (alarm in the harness)
    memory_mb: int = 4096  # per process (address space; torch maps ~0.7 GB),
    # and, as root, for the whole sandbox (its cgroup, tmpfs included)
    output_chars: int = 200_000  # captured stdout+stderr kept per submission
    file_mb: int = 32  # largest file the submission may write
    max_notebook_mb: int = 50
    processes: int = 64  # tasks (processes and threads) in one sandbox
    tmpfs_mb: int = 64  # each of /scratch, /tmp, /dev/shm in the sandbox
    reply_kb: int = 4096  # largest reply (one check's value) accepted
    max_cell_kb: int = 1024  # longest code cell read


@dataclass
class RunResult:
    """What came back from one submission's run.

    ``status``: ``ok``; ``invalid`` (the file is not a readable notebook);
    ``timeout`` (the wall-clock limit, or a step that never returned);
    ``ended`` (the process ended before grading finished); ``void`` (it
    broke the protocol, see ``message``: its automatic parts are not graded).
    """

    status: str
    message: str = ""
    events: list = field(default_factory=list)
    output: str = ""
    missing_cells: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)  # grade_id -> markdown text
    references: dict = field(default_factory=dict)  # part -> forbidden name used
    tampering: list = field(default_factory=list)  # harness-reaching tools used
    sandboxed: bool = True
    leftover: int = 0  # processes the grader had to kill after the sandbox ended
    seconds: float = 0.0  # wall-clock time of the run
    cpu_seconds: float | None = None  # as reported by the harness (benchmarks only)

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


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot sandbox submissions here; the message says the fix."""


# --------------------------------------------------------------------------
# The plan: what to ask the harness, and who each step counts for.


@dataclass
class _Step:
    op: str  # "cell" or "probe"
    payload: dict
    part: str | None = None  # cells: the part they compute for; probes: theirs
    student: bool = False  # a cell the learner wrote (not restored)
    assigns: frozenset = frozenset()  # names a cell binds ("*": any, globals())


def _assigned_names(source: str) -> frozenset:
    """Names a cell binds at top level; ``"*"`` when it writes ``globals()``."""
    import ast

    from itutils.grading.child import _MAGIC

    try:
        tree = ast.parse(_MAGIC.sub(r"\1pass", source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("globals", "vars", "locals")
        ):
            names.add("*")
    return frozenset(names)


@dataclass
class _Plan:
    steps: list
    missing: list
    answers: dict
    scans: list  # CellScan per cell step


def _plan(nb: Notebook, spec: ExerciseSpec) -> _Plan:
    automatic = {p.grade_id: p for p in spec.parts if not p.manual}
    home = {g: p.grade_id for p in automatic.values() for g in p.solution_cells}
    cells, waiting, seen, answers = [], [], set(), {}
    for cell in nb.cells:
        seen.add(cell.grade_id)
        if cell.cell_type == "markdown" and cell.grade_id is not None:
            answers[cell.grade_id] = cell.source
        if cell.grade_id in automatic:  # a test cell: never run, marks a part
            for step in waiting:
                step.part = step.part or cell.grade_id
            waiting = []
            continue
        if cell.cell_type != "code" or cell.grade_id in spec.skipped:
            continue
        # Read-only cells (imports, set-up) are restored from the source, as
        # nbgrader's autograde does; student cells run as written.
        restored = cell.grade_id in spec.locked
        step = _Step(
            "cell",
            {
                "index": cell.index,
                "grade_id": cell.grade_id,
                "source": spec.locked.get(cell.grade_id, cell.source),
            },
            part=home.get(cell.grade_id),
            student=not restored,
        )
        if step.student:
            step.assigns = _assigned_names(step.payload["source"])
            waiting.append(step)
        cells.append(step)
    probes = []
    for part in automatic.values():
        for k, check in enumerate(part.checks):
            probes.append(
                _Step(
                    "probe",
                    {
                        "id": f"{part.grade_id}:{k}",
                        "expr": check.actual,
                        "shipped": check.shipped,
                        "modules": {m: TRUSTED_MODULES[m] for m in check.modules},
                    },
                    part=part.grade_id,
                )
            )
    expected = spec.solution_ids | set(spec.locked)
    missing = sorted(g for g in expected if g not in seen)
    return _Plan(cells + probes, missing, answers, [])


# --------------------------------------------------------------------------
# Replies: a strict schema per request.

_ERROR_KEYS = {"type", "mro", "message", "where"}
_TEXT_LIMITS = {"type": 200, "message": 2000, "where": 4000}


def _error_problem(error) -> str | None:
    if type(error) is not dict or set(error) != _ERROR_KEYS:
        return "an error report with the wrong fields"
    for key, limit in _TEXT_LIMITS.items():
        if type(error[key]) is not str or len(error[key]) > limit:
            return f"an error report whose {key} is not a short text"
    mro = error["mro"]
    if type(mro) is not list or len(mro) > 64:
        return "an error report with a malformed class list"
    if any(type(m) is not str or len(m) > 300 for m in mro):
        return "an error report with a malformed class list"
    return None


def _reply_problem(reply, request: dict, traced: set) -> str | None:
    """Why ``reply`` is not an acceptable answer to ``request``, or None."""
    if type(reply) is not dict:
        return "a reply that is not a JSON object"
    if reply.get("nonce") != request["nonce"] or reply.get("seq") != request["seq"]:
        return (
            f"a reply that does not answer request {request['seq']} (a forged, "
            "repeated or out-of-order reply)"
        )
    op = request["op"]
    if reply.get("op") != op:
        return f"a reply of the wrong kind to request {request['seq']}"
    base = {"nonce", "seq", "op"}
    keys = set(reply) - base
    if op == "end" and "cpu" in keys:
        cpu = reply["cpu"]
        if type(cpu) not in (int, float) or not 0 <= cpu < 1e7:
            return "a malformed reply to the end request"
        keys = keys - {"cpu"}
    if op in ("setup", "end"):
        if keys != {"ok"} or reply["ok"] is not True:
            return f"a malformed reply to the {op} request"
        return None
    if "calls" not in keys:
        return f"a reply to request {request['seq']} without its list of calls"
    calls = reply["calls"]
    if type(calls) is not list or len(calls) > 100:
        return "a malformed list of calls"
    if any(type(c) is not str or c not in traced for c in calls):
        return "a list of calls naming something the grader did not ask to trace"
    if op == "cell":
        if keys != {"calls", "error"}:
            return f"a reply to cell request {request['seq']} with the wrong fields"
        if reply["error"] is not None:
            return _error_problem(reply["error"])
        return None
    outcome = keys - {"calls"}
    if len(outcome) != 1 or not outcome <= {"value", "rejected", "raised"}:
        return f"a reply to check request {request['seq']} with the wrong fields"
    (kind,) = outcome
    if kind == "raised":
        return _error_problem(reply["raised"])
    if kind == "rejected":
        if type(reply["rejected"]) is not str or len(reply["rejected"]) > 2000:
            return "a malformed refusal"
        return None
    try:
        from_plain(reply["value"])
    except (NotPlainData, RecursionError, OverflowError, ValueError, TypeError):
        return "a value that is not well-formed plain data"
    return None


# --------------------------------------------------------------------------
# The runtime: what a batch of runs shares.

_BOOT = """\
import resource, sys
for name, value in {limits!r}:
    resource.setrlimit(getattr(resource, name), (value, value))
sys.path[:] = {path!r}
from itutils.grading import child
child.main(sys.argv[1:])
"""
_GRACE = 5.0  # seconds a step may overrun its alarm before the grader ends it
#: Shape limits of a reply (besides its size); the harness refuses a value
#: that would break them, so an honest submission never does.
REPLY_BOUNDS = {"max_depth": 64, "max_containers": 100_000, "max_int_digits": 20}


class Runtime:
    """Everything a batch of runs shares; removed again by :meth:`close`.

    Use as a context manager (``with open_runtime(limits) as rt``) and call
    :meth:`run` from any number of threads. ``sandbox=False`` runs each
    submission as a plain process of the current user (for trusted files
    only: it can read and write whatever that user can).
    """

    def __init__(self, limits: Limits | None = None, sandbox: bool = True):
        self.limits = limits or Limits()
        self.sandbox = sandbox
        if sandbox:
            problem = sbx.sandbox_problem()
            if problem:
                raise SandboxUnavailable(problem)
        self._dir = tempfile.mkdtemp(prefix="itgrade-run-", dir=sbx._tmp_root())
        self._lock = threading.Lock()
        self._views: dict = {}
        self._refs: dict = {}
        self._slots: dict = {}  # slot -> lock descriptor (root) or None
        self._cgroup_files: dict = {}  # slot -> cgroup.procs files (root)
        self._closed = False
        try:
            if os.geteuid() == 0:
                os.chmod(self._dir, 0o711)  # the sandbox's uid must reach in
            self._layout = sbx.Layout.here(self._dir)
            problem = sbx.layout_problem(self._layout)
            if problem and sandbox:
                raise SandboxUnavailable(problem)
            self._layout.prepare()
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    # -- shared, built once -------------------------------------------------

    def _view(self, spec: ExerciseSpec) -> tuple[str, list]:
        """The library folder for ``spec``'s sandboxes, and its modules."""
        modules = tuple(library_modules(spec))
        with self._lock:
            if modules in self._views:
                return self._views[modules], list(modules)
            path = Path(self._dir) / f"view{len(self._views)}"
            for name in modules:
                source = module_file(name)
                rel = Path(*name.split(".")[1:])
                target = path / "itutils" / rel
                target = (
                    target / "__init__.py"
                    if source.name == "__init__.py"
                    else target.with_suffix(".py")
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                if name == "itutils":
                    target.write_text(_STUB)
                else:
                    shutil.copyfile(source, target)
                py_compile.compile(
                    str(target),
                    doraise=False,
                    quiet=2,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            for folder in [path, *path.rglob("*")]:
                folder.chmod(0o755 if folder.is_dir() else 0o644)
            self._views[modules] = str(path)
            return str(path), list(modules)

    def _mpl_cache(self, spec: ExerciseSpec) -> str | None:
        """A matplotlib font cache, built once, for sheets that import it.

        Without it every submission rebuilds the font list in its fresh
        config folder (a few tenths of a second, and a ``fc-list`` call).
        """
        if not any("matplotlib" in source for source in spec.locked.values()):
            return None
        with self._lock:
            folder = Path(self._dir) / "mpl"
            if not folder.exists():
                folder.mkdir(mode=0o755)
                code = (
                    f"import sys; sys.path[:] = {sbx.child_sys_path()!r}; "
                    "import matplotlib.font_manager"
                )
                try:
                    subprocess.run(
                        [sys.executable, "-I", "-S", "-c", code],
                        env={
                            "MPLCONFIGDIR": str(folder),
                            "MPLBACKEND": "Agg",
                            "PATH": "/usr/bin:/bin",
                        },
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        timeout=120,
                        check=False,
                    )
                except (OSError, subprocess.TimeoutExpired):
                    pass
                for item in folder.iterdir():
                    item.chmod(0o644)
            caches = sorted(p.name for p in folder.glob("fontlist-*.json"))
            return str(folder / caches[-1]) if caches else None

    def _references(self, spec: ExerciseSpec, view: list) -> References:
        with self._lock:
            key = id(spec)
            if key not in self._refs:
                self._refs[key] = (spec, references_for(spec, view))
            return self._refs[key][1]

    def _slot(self) -> int:
        """A sandbox slot (its uid when root), unique on this machine.

        As root, slot ``n`` runs as uid ``UID_BASE + n``; a lock on
        ``/run/itgrade/slot-n.lock`` (held until the run ends, dropped by the
        kernel if this process dies) keeps two graders on one machine from
        sharing a uid, so that one never mistakes the other's processes for
        its own leftovers.
        """
        with self._lock:
            slot = 0
            while True:
                if slot not in self._slots:
                    lock = sbx.lock_slot(slot) if self._layout.as_root else None
                    if lock is not None or not self._layout.as_root:
                        self._slots[slot] = lock
                        return slot
                slot += 1

    def _cgroups(self, slot: int) -> list:
        """The slot's cgroups (root): the sandbox's total memory and tasks."""
        procs = sbx.slot_cgroups(
            slot, self.limits.memory_mb * 2**20, self.limits.processes
        )
        with self._lock:
            self._cgroup_files[slot] = procs
        return procs

    def _release(self, slot: int) -> None:
        with self._lock:
            lock = self._slots.pop(slot, None)
            procs = self._cgroup_files.pop(slot, [])
        # Removed while the slot is still ours (another grader may take it
        # next); a cgroup still holding a dying process stays for reuse.
        sbx.remove_cgroups(procs)
        if lock is not None and lock >= 0:
            os.close(lock)  # releases the flock

    # -- one run ------------------------------------------------------------

    def run(self, notebook: bytes, spec: ExerciseSpec) -> RunResult:
        """Grade-run one notebook (its file's bytes); never raises for bad input."""
        limits = self.limits
        nb, problem = read_notebook(
            notebook, limits.max_notebook_mb * 2**20, limits.max_cell_kb * 1024
        )
        if nb is None:
            return RunResult("invalid", problem, sandboxed=self.sandbox)
        try:
            view, modules = self._view(spec)
            refs = self._references(spec, modules)
            plan = _plan(nb, spec)
            cell_steps = [s for s in plan.steps if s.op == "cell"]
            plan.scans = scan_cells(
                [(s.payload["source"], s.student) for s in cell_steps], refs
            )
        except Exception as exc:  # a grader bug must not cost the class
            return RunResult(
                "invalid",
                f"the grader could not prepare this submission "
                f"({type(exc).__name__}: {exc})",
                sandboxed=self.sandbox,
            )
        mplcache = self._mpl_cache(spec) if self.sandbox else None
        slot = self._slot()
        try:
            result = _Session(self, spec, plan, refs, view, slot, mplcache).run()
        finally:
            self._release(slot)
        result.missing_cells = plan.missing
        result.answers = plan.answers
        _static_verdicts(result, plan, refs)
        return result

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


_STUB = '''"""itutils as a graded submission sees it: only what the sheet imports.

The reference implementations (itutils.measures, ...) are not available
while grading: the exercise asks for your own.
"""

__version__ = "grading"


def __getattr__(name):
    raise AttributeError(
        f"itutils.{name} is not available while grading: the exercise asks "
        "you to write your own"
    )
'''


def _static_verdicts(result: RunResult, plan: _Plan, refs: References) -> None:
    """Static findings: tampering (whole submission) and references (parts)."""
    tools = []
    cell_steps = [s for s in plan.steps if s.op == "cell"]
    for step, scan in zip(cell_steps, plan.scans, strict=True):
        tools += [t for t in scan.tampering if t not in tools]
        if step.part is None:
            continue
        for name in scan.names:
            if refs.forbids(step.part, name):
                result.references.setdefault(step.part, name)
    result.tampering = tools


class _Session:
    """One submission's sandbox, from start to the last process's end."""

    def __init__(self, runtime, spec, plan, refs, view, slot, mplcache=None):
        self.rt, self.spec, self.plan, self.refs = runtime, spec, plan, refs
        self.view, self.slot, self.mplcache = view, slot, mplcache
        self.limits = runtime.limits
        self.events: list = []
        self.output = bytearray()
        self.out_cap = self.limits.output_chars * 4  # bytes of UTF-8
        self.violation = ""
        self.traced = set(refs.traced) | set(refs.absent)
        self.calls: dict = {}  # step index -> names called
        self.stalled: set = set()  # parts with a check that ran out of time

    # -- starting ----------------------------------------------------------

    def _child(self, library: str) -> list:
        lim = self.limits
        rlimits = [
            ("RLIMIT_AS", lim.memory_mb * 2**20),
            ("RLIMIT_CPU", int(lim.wall_seconds) + 5),
            ("RLIMIT_FSIZE", lim.file_mb * 2**20),
            ("RLIMIT_CORE", 0),
        ]
        if self.rt.sandbox:
            # Counted per user namespace: only this sandbox's tasks.
            rlimits.append(("RLIMIT_NPROC", lim.processes))
        boot = _BOOT.format(limits=rlimits, path=[library, *sbx.child_sys_path()])
        # -u: what a cell printed reaches the grader even if it never ends.
        return [self.rt._layout.python, "-I", "-S", "-B", "-u", "-c", boot]

    def _environment(self, home: str, tmp: str) -> dict:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": tmp,
            "USER": "student",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.matplotlib",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "TQDM_DISABLE": "1",
        }

    def _start(self):
        rt = self.rt
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.info_r, info_w = os.pipe()
        self.scratch = None
        if rt.sandbox:
            uid = sbx.UID_BASE + self.slot if rt._layout.as_root else None
            env = self._environment(sbx.SCRATCH, "/tmp")
            child = self._child(sbx.LIBRARY)
            argv = rt._layout.command(
                uid,
                self.view,
                env,
                self.limits.tmpfs_mb * 2**20,
                child,
                mplcache=self.mplcache,
                info_fd=info_w,
                cgroups=rt._cgroups(self.slot) if uid is not None else None,
            )
            argv += [str(req_r), str(rep_w)]
            host_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
            cwd = "/"
            self.library = f"{sbx.LIBRARY}/itutils/"
            self.uid = uid
        else:
            self.scratch = tempfile.mkdtemp(prefix="itgrade-scratch-")
            os.mkdir(f"{self.scratch}/tmp")
            host_env = self._environment(self.scratch, f"{self.scratch}/tmp")
            argv = [*self._child(self.view), str(req_r), str(rep_w)]
            cwd = self.scratch
            self.library = f"{self.view}/itutils/"
            self.uid = None
            os.close(info_w)
            info_w = None
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=tuple(f for f in (req_r, rep_w, info_w) if f is not None),
                env=host_env,
                cwd=cwd,
                start_new_session=True,
            )
        finally:
            for fd in (req_r, rep_w, out_w, info_w):
                if fd is not None:
                    os.close(fd)
        for fd in (self.req_w, self.rep_r, self.out_r, self.info_r):
            os.set_blocking(fd, False)
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.pidfd = None

    # -- the conversation ---------------------------------------------------

    def run(self) -> RunResult:
        start = self.started = time.monotonic()
        self.cpu = self.end_cpu = None
        self.survivors: list = []
        self.wall_deadline = start + self.limits.wall_seconds
        self.reader = FrameReader(self.limits.reply_kb * 1024)
        self.bounds = Bounds(self.limits.reply_kb * 1024, **REPLY_BOUNDS)
        self.info = bytearray()
        self.timed_out = False
        self.step_overrun = False
        self.done = False
        try:
            self._start()
        except OSError as exc:
            self._cleanup_fds()
            return RunResult(
                "ended", f"the sandbox could not be started ({exc})", sandboxed=False
            )
        try:
            self._converse()
        finally:
            self._end()
        return self._result()

    def _requests(self):
        lim = self.limits
        yield (
            "setup",
            {
                "step_limit": lim.step_seconds,
                "output_limit": lim.output_chars,
                "reply_limit": lim.reply_kb * 1024,
                "reply_bounds": REPLY_BOUNDS,
                "forbidden": list(self.refs.traced),
                "absent": list(self.refs.absent),
                "library": self.library,
            },
            None,
        )
        for index, step in enumerate(self.plan.steps):
            if step.op == "probe" and step.part in self.stalled:
                # One check that ran out of time is enough to know: the others
                # of that part would each take as long.
                self.events.append(
                    {
                        "event": "probe",
                        "id": step.payload["id"],
                        "raised": {
                            "type": "StepTimeout",
                            "mro": [],
                            "message": "skipped after an earlier check timed out",
                            "where": "",
                        },
                    }
                )
                continue
            yield step.op, step.payload, index
        yield "end", {}, None

    def _converse(self) -> None:
        pending = b""  # bytes of the current request not yet written
        outstanding = None  # the request waiting for its reply
        index = None  # its step in the plan
        requests = self._requests()
        seq = 0
        exited = False
        reading = {self.rep_r, self.out_r, self.info_r}
        while True:
            now = time.monotonic()
            if outstanding is None and not exited:
                try:
                    op, payload, index = next(requests)
                except StopIteration:
                    return
                outstanding = {
                    "op": op,
                    "nonce": secrets.token_hex(16),
                    "seq": seq,
                    **payload,
                }
                seq += 1
                self._note_start(op, payload)
                pending = encode(outstanding)
                grace = 30.0 if op == "setup" else _GRACE
                step_deadline = now + self.limits.step_seconds + grace
            deadline = min(self.wall_deadline, step_deadline)
            if now >= deadline:
                self.timed_out = True
                self.step_overrun = deadline < self.wall_deadline
                return
            poller = select.poll()
            for fd in reading:
                poller.register(fd, select.POLLIN)
            if pending:
                poller.register(self.req_w, select.POLLOUT)
            if self.pidfd is not None and not exited:
                poller.register(self.pidfd, select.POLLIN)
            timeout = min(deadline - now, 0.2 if self.pidfd is None else 3600)
            events = poller.poll(max(1, int(timeout * 1000)))
            if self.pidfd is None and self.proc.poll() is not None:
                exited = True
            for fd, _mask in events:
                if fd == self.out_r:
                    if self._drain_output():
                        reading.discard(fd)
                elif fd == self.info_r:
                    if self._drain_info():
                        reading.discard(fd)
                elif fd == self.req_w:
                    try:
                        pending = pending[os.write(self.req_w, pending) :]
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        pending = b""
                elif fd == self.pidfd:
                    exited = True
            if self.rep_r in reading or exited:
                frames, closed = self._drain_replies()
                if closed:
                    reading.discard(self.rep_r)
                    exited = True
                for frame in frames:
                    if outstanding is None:
                        self.violation = "a reply that no request asked for"
                    else:
                        self.violation = self._accept(frame, outstanding, index)
                    if self.violation:
                        return
                    if outstanding["op"] == "end":
                        self.done = True
                        self.cpu = self.end_cpu
                        return
                    outstanding = None
                if self.violation:
                    return
            if exited:
                self._drain_output()
                return

    def _note_start(self, op: str, payload: dict) -> None:
        if op == "cell":
            self.events.append(
                {
                    "event": "cell",
                    "index": payload["index"],
                    "grade_id": payload["grade_id"],
                }
            )
        elif op == "probe":
            self.events.append({"event": "probe_start", "id": payload["id"]})

    def _accept(self, frame: bytes, request: dict, index) -> str:
        try:
            reply = loads_bounded(frame, self.bounds, "a reply")
        except UntrustedDataError as exc:
            return str(exc)
        problem = _reply_problem(reply, request, self.traced)
        if problem:
            return problem
        op = request["op"]
        if op == "end":
            self.end_cpu = reply.get("cpu")
        if op in ("cell", "probe"):
            self.calls[index] = list(reply["calls"])
        if op == "cell" and reply["error"] is not None:
            error = {
                k: clean_text(v) if isinstance(v, str) else v
                for k, v in reply["error"].items()
            }
            self.events.append(
                {
                    "event": "cell_error",
                    "index": request["index"],
                    "grade_id": request["grade_id"],
                    **error,
                }
            )
        elif op == "probe":
            event = {"event": "probe", "id": request["id"]}
            for key in ("value", "rejected", "raised"):
                if key in reply:
                    value = reply[key]
                    if key == "rejected":
                        value = clean_text(value)
                    elif key == "raised":
                        value = {
                            k: clean_text(v) if isinstance(v, str) else v
                            for k, v in value.items()
                        }
                    event[key] = value
            self.events.append(event)
            if event.get("raised", {}).get("type") == "StepTimeout":
                self.stalled.add(self.plan.steps[index].part)
        return ""

    def _drain_replies(self) -> tuple[list, bool]:
        frames, closed = [], False
        while True:
            try:
                chunk = os.read(self.rep_r, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                closed = True
                break
            try:
                frames += self.reader.feed(chunk)
            except ProtocolError as exc:
                self.violation = f"a reply over the size limit ({exc})"
                return [], True
        return frames, closed

    def _drain_output(self) -> bool:
        """Read what the submission printed; True at end of file."""
        while True:
            try:
                chunk = os.read(self.out_r, 1 << 16)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            room = self.out_cap - len(self.output)
            if room > 0:
                self.output += chunk[:room]

    def _drain_info(self) -> bool:
        while True:
            try:
                chunk = os.read(self.info_r, 4096)
            except BlockingIOError:
                return False
            if not chunk or len(self.info) > 65536:
                return True
            self.info += chunk

    # -- ending ------------------------------------------------------------

    def _sandbox_pid(self) -> int | None:
        """Host pid of the sandbox's first process (from bwrap's --info-fd)."""
        self._drain_info()
        try:
            pid = int(json.loads(bytes(self.info))["child-pid"])
            with open(f"/proc/{pid}/stat", "rb") as fh:
                parent = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (ValueError, KeyError, TypeError, OSError, IndexError):
            return None
        # Only a process that bwrap itself started (it is still its child).
        return pid if parent == self.proc.pid else None

    def _end(self) -> None:
        inner = self._sandbox_pid() if self.rt.sandbox else None
        namespace = _pid_namespace(inner) if inner else None
        if not (self.timed_out or self.violation):
            # It said goodbye, or its process ended: let it exit by itself so
            # that its exit status is its own.
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if inner:
            try:
                os.kill(inner, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        self.survivors = _reap(namespace, self.uid)
        self._drain_output()
        self._cleanup_fds()
        if self.scratch:
            _remove_tree(self.scratch)

    def _cleanup_fds(self) -> None:
        for name in ("req_w", "rep_r", "out_r", "info_r", "pidfd"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def _result(self) -> RunResult:
        output = clean_text(
            bytes(self.output).decode("utf-8", "replace")[: self.limits.output_chars]
        )
        result = RunResult(
            "ok",
            "",
            self.events,
            output,
            sandboxed=self.rt.sandbox,
            leftover=len(self.survivors),
            seconds=time.monotonic() - self.started,
            cpu_seconds=self.cpu,
        )

        if self.violation:
            result.status = "void"
            result.message = (
                f"the submission broke the grading protocol: {self.violation}; "
                "its automatic parts are not graded"
            )
            return result
        self._runtime_verdicts(result)
        if self.timed_out:
            result.status = "timeout"
            if self.step_overrun:
                result.message = (
                    f"a step ignored its time limit of {self.limits.step_seconds:g} s "
                    f"and was ended {result.last_step()}"
                )
            else:
                result.message = (
                    f"the notebook exceeded the time limit of "
                    f"{self.limits.wall_seconds:g} s {result.last_step()}"
                )
        elif not self.done:
            result.status = "ended"
            code = self.proc.returncode
            if code is not None and self.rt.sandbox and 128 < code < 128 + 65:
                code = -(code - 128)  # bwrap reports a signal as 128 + its number
            try:
                how = (
                    f"was killed by signal {signal.Signals(-code).name}"
                    if code is not None and code < 0
                    else f"exited with code {code}"
                )
            except ValueError:
                how = f"was killed by signal {-code}"
            hint = ""
            if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV):
                hint = (
                    f" (exceeding the memory limit of {self.limits.memory_mb} MB "
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

    def _runtime_verdicts(self, result: RunResult) -> None:
        """Traced calls of forbidden functions, attributed to parts."""
        steps = self.plan.steps
        # Parts graded by stored values, and the names those checks read.
        reads = {
            p.grade_id: {n for c in p.checks if c.reads_value for n in c.student_names}
            for p in self.spec.parts
            if not p.manual and any(c.reads_value for c in p.checks)
        }
        for index, names in sorted(self.calls.items()):
            step = steps[index]
            if step.op == "probe":
                parts = [step.part]
            elif not step.student:
                continue
            else:
                # A cell computes for its own part, and for every part whose
                # checks read a name it binds (wherever the learner put it).
                parts = [
                    part
                    for part, wanted in reads.items()
                    if part == step.part or "*" in step.assigns or wanted & step.assigns
                ]
            for part in parts:
                for name in names:
                    if self.refs.forbids(part, name):
                        result.references.setdefault(part, name)


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _processes_in(namespace: str | None, uid: int | None) -> list:
    """Host pids in PID namespace ``namespace`` or owned by host ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read(512).rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in (b"Z", b"X"):  # already dead, waiting to be reaped
            continue
        if namespace is not None and _pid_namespace(pid) == namespace:
            found.append(pid)
            continue
        if uid is not None:
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    found.append(pid)
            except OSError:
                pass
    return found


def _reap(namespace: str | None, uid: int | None, wait: float = 5.0) -> list:
    """Wait until no process of the sandbox is left; kill stragglers.

    Returns the pids that had to be killed here (there should be none: the
    PID namespace ends with its first process).
    """
    if namespace is None and uid is None:
        return []
    killed = []
    deadline = time.monotonic() + wait
    while True:
        left = _processes_in(namespace, uid)
        if not left:
            return killed
        if time.monotonic() > deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait
            if len(killed) > 10_000:
                return killed
        time.sleep(0.005)


def _remove_tree(path: str) -> None:
    """Remove a scratch folder even where the run took write permission away."""
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    shutil.rmtree(path, ignore_errors=True)


def open_runtime(limits: Limits | None = None, sandbox: bool = True) -> Runtime:
    """A :class:`Runtime` for one batch of submissions.

    Raises :class:`SandboxUnavailable` (with the fix) when ``sandbox`` is
    True and bubblewrap cannot sandbox here; check :func:`sandbox_problem`
    first to stop before grading.
    """
    return Runtime(limits, sandbox)


def run_submission(
    notebook: bytes,
    spec: ExerciseSpec,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> RunResult:
    """Grade-run one notebook in a runtime of its own (tests, one-off use)."""
    with open_runtime(limits, sandbox) as runtime:
        return runtime.run(notebook, spec)

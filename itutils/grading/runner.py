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

import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from itutils.grading import sandbox as sbx
from itutils.grading.notebook import read_notebook
from itutils.grading.plan import make_plan, static_verdicts
from itutils.grading.references import (
    References,
    library_modules,
    module_file,
    references_for,
    scan_cells,
)
from itutils.grading.replies import REPLY_BOUNDS
from itutils.grading.result import Limits, RunResult, SandboxUnavailable
from itutils.grading.session import Session
from itutils.grading.spec import ExerciseSpec

__all__ = [
    "Limits",
    "RunResult",
    "Runtime",
    "SandboxUnavailable",
    "REPLY_BOUNDS",
    "open_runtime",
    "sandbox_problem",
    "run_submission",
]

sandbox_problem = sbx.sandbox_problem


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
            plan = make_plan(nb, spec)
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
            result = Session(self, spec, plan, refs, view, slot, mplcache).run()
        finally:
            self._release(slot)
        result.missing_cells = plan.missing
        result.answers = plan.answers
        static_verdicts(result, plan, refs)
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

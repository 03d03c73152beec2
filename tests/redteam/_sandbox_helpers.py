"""Shared kit of the sandbox and protocol red-team tests.

A *class* is a dict ``student -> (sheet, notebook bytes)``. :func:`grade_class`
grades it the way an instructor's run does (one runtime, submissions in
parallel) and returns, per student, the run's status and message and each
part's points, status and reason, as plain JSON. :func:`grade_class_as_user`
does the same in a separate process run as an ordinary user (created with
``useradd`` when the tests run as root), so that every tactic is tried both
ways. This file is also that process's entry point::

    python tests/redteam/_sandbox_helpers.py CLASS_DIR

reads ``CLASS_DIR/class.json`` and writes ``CLASS_DIR/results.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from itutils.grading.runner import Limits, open_runtime, sandbox_problem  # noqa: E402
from itutils.grading.score import score  # noqa: E402
from itutils.grading.spec import load_spec  # noqa: E402

SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
TEST_USER = "itgrade-redteam"


def notebook(
    sheet: str = "01_entropy",
    folder: Path = EXERCISES,
    changes: dict | None = None,
    extra: str | None = None,
) -> bytes:
    """A sheet (blank by default) with some cells replaced and one appended."""
    nb = nbformat.read(folder / f"{sheet}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if changes and gid in changes:
            cell.source = changes[gid]
    if extra is not None:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nbformat.writes(nb).encode()


def solution(sheet: str = "01_entropy", **kw) -> bytes:
    return notebook(sheet, SOLUTIONS, **kw)


def _outcome(spec, run, limits) -> dict:
    return {
        "status": run.status,
        "message": run.message,
        "output": run.output,
        "references": run.references,
        "tampering": run.tampering,
        "sandboxed": run.sandboxed,
        "parts": {
            o.part: {
                "points": o.points,
                "status": o.status,
                "reason": o.reason,
                "answer": o.answer,
            }
            for o in score(spec, run, limits)
        },
    }


def grade_class(
    students: dict,
    limits: Limits,
    solutions: Path = SOLUTIONS,
    workers: int = 2,
    sandbox: bool = True,
) -> dict:
    """Grade ``students`` (name -> (sheet, bytes)) in parallel; plain results."""
    specs = {
        sheet: load_spec(Path(solutions) / f"{sheet}.ipynb")
        for sheet in {sheet for sheet, _ in students.values()}
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open_runtime(limits, sandbox=sandbox) as runtime:
        folder = runtime._dir

        def one(item):
            name, (sheet, data) = item
            run = runtime.run(data, specs[sheet])
            return name, _outcome(specs[sheet], run, limits)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = dict(pool.map(one, sorted(students.items())))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "students": results,
        "maxrss_kb": [before, after],
        "uid": os.getuid(),
        "runtime_dir": folder,
        "runtime_dir_left": os.path.exists(folder),
    }


def _limits_dict(limits: Limits) -> dict:
    return {k: getattr(limits, k) for k in limits.__dataclass_fields__}


# --------------------------------------------------------------------------
# Running the same class as an ordinary user.


def ordinary_user() -> tuple[pwd.struct_passwd | None, str]:
    """(the test user, "") or (None, why the as-user run is impossible)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()), ""
    for tool in ("useradd", "runuser", "unshare", "mount"):
        if shutil.which(tool) is None:
            return None, f"`{tool}` is not installed, so no test user can be made"
    try:
        return pwd.getpwnam(TEST_USER), ""
    except KeyError:
        pass
    done = subprocess.run(
        ["useradd", "--create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return None, f"useradd {TEST_USER} failed: {done.stderr.strip()}"
    return pwd.getpwnam(TEST_USER), ""


def _hidden_ancestor(path: str) -> str | None:
    """The outermost folder on ``path`` that other users cannot enter."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return current
    return None


def _exposing_script(paths: list, stage: str) -> str:
    """Shell commands (for a private mount namespace) that make ``paths``
    reachable by other users: each folder that hides one gets an empty tmpfs
    over it, and the paths are bind-mounted back at their own place."""
    lines = ["set -e"]
    hidden = []
    for i, path in enumerate(paths):
        top = _hidden_ancestor(path)
        if top is None:
            continue
        hidden.append((i, path, top))
        lines.append(f"mkdir -p {stage}/{i} && mount --bind '{path}' {stage}/{i}")
    for top in sorted({t for _i, _p, t in hidden}, key=len):
        lines.append(f"mount -t tmpfs -o mode=755 tmpfs '{top}'")
    for i, path, _top in hidden:
        lines.append(f"mkdir -p '{path}' && mount --bind {stage}/{i} '{path}'")
    return "\n".join(lines)


def grade_class_as_user(students: dict, limits: Limits, solutions: Path = SOLUTIONS):
    """:func:`grade_class` in a process of an ordinary user; (results, why not)."""
    user, why = ordinary_user()
    if user is None:
        return None, why
    work = tempfile.mkdtemp(prefix="itgrade-redteam-")
    try:
        os.chmod(work, 0o755)
        files = {}
        for name, (sheet, data) in students.items():
            path = Path(work) / f"{len(files):03d}.ipynb"
            path.write_bytes(data)
            files[name] = {"sheet": sheet, "file": str(path)}
        (Path(work) / "class.json").write_text(
            json.dumps(
                {
                    "students": files,
                    "limits": _limits_dict(limits),
                    "solutions": str(solutions),
                }
            )
        )
        for path in Path(work).iterdir():
            path.chmod(0o644)
        os.chown(work, user.pw_uid, user.pw_gid)
        python = sys.executable
        command = [python, "-I", str(Path(__file__).resolve()), work]
        env = {
            "HOME": user.pw_dir,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }
        if os.geteuid() == 0:
            needed = [str(ROOT), sys.prefix, sys.base_prefix]
            stage = tempfile.mkdtemp(prefix="itgrade-stage-")
            script = _exposing_script(needed, stage)
            script += f'\nexec {shutil.which("runuser")} -u "$0" -- "$@"'
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                script,
                user.pw_name,
                *command,
            ]
        else:
            stage = None
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=1800
            )
        finally:
            if stage:
                shutil.rmtree(stage, ignore_errors=True)
        result_file = Path(work) / "results.json"
        if done.returncode != 0 or not result_file.exists():
            raise AssertionError(
                f"the as-user grading failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
            )
        return json.loads(result_file.read_text()), ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------
# What the tests check around a run.


def processes_with(token: str) -> list:
    """Host pids whose command line contains ``token`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if token.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


# Not the course's own files: the environments (large: hashing them cost a
# minute), git's database, and what other tests running at the same time
# write (caches, artifacts, built pages).
SKIP_DIGEST = (".venv", ".venv-dev", ".git", "__pycache__", ".hypothesis",
               "test-artifacts", "_build", "grading-output", ".ipynb_checkpoints")


def tree_digest(folder: Path, skip=SKIP_DIGEST) -> str:
    """A hash of every file's path and bytes under ``folder`` (not ``skip``)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            h.update(path.encode())
            try:
                if os.path.islink(path):
                    h.update(os.readlink(path).encode())
                else:
                    with open(path, "rb") as fh:
                        h.update(fh.read())
            except OSError:
                h.update(b"<unreadable>")
    return h.hexdigest()


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def require_sandbox() -> None:
    """Skip (or fail in CI) when bubblewrap cannot sandbox here."""
    import pytest

    problem = sandbox_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must grade sandboxed: {problem}")
        pytest.skip(problem)


def main(work: str) -> None:
    spec = json.loads((Path(work) / "class.json").read_text())
    students = {
        name: (item["sheet"], Path(item["file"]).read_bytes())
        for name, item in spec["students"].items()
    }
    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"sandbox unavailable for the test user: {problem}")
    results = grade_class(students, Limits(**spec["limits"]), Path(spec["solutions"]))
    (Path(work) / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])

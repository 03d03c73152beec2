"""One submission's sandbox, from its start to the end of its last process.

The grader's side of the conversation with the harness: it starts the
sandbox with three pipes, sends one request at a time (each with a fresh
nonce), accepts exactly one well-formed reply to it, reads what the notebook
prints on a separate pipe (capped), and ends the sandbox at the time limit,
at the first broken rule, or when grading is over, then checks that no
process of it is left (see :mod:`itutils.grading.runner` for the overview).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time

from itutils.grading import sandbox as sbx
from itutils.grading.notebook import clean_text
from itutils.grading.protocol import FrameReader, ProtocolError, encode
from itutils.grading.replies import REPLY_BOUNDS, reply_problem
from itutils.grading.result import RunResult
from itutils.grading.untrusted import Bounds, UntrustedDataError, loads_bounded

__all__ = ["Session"]

_BOOT = """\
import resource, sys
for name, value in {limits!r}:
    resource.setrlimit(getattr(resource, name), (value, value))
sys.path[:] = {path!r}
from itutils.grading import child
child.main(sys.argv[1:])
"""
_GRACE = 5.0  # seconds a step may overrun its alarm before the grader ends it


class Session:
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
            if self.scratch:
                _remove_tree(self.scratch)
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
        problem = reply_problem(reply, request, self.traced)
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
                # Its own part always: a function part's answer may be made
                # (or cached) while its cell runs, not only during the checks.
                parts = [step.part] if step.part else []
                parts += [
                    part
                    for part, wanted in reads.items()
                    if part != step.part
                    and ("*" in step.assigns or wanted & step.assigns)
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
    try:
        os.chmod(path, 0o700, follow_symlinks=False)
    except (OSError, NotImplementedError):
        pass
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    shutil.rmtree(path, ignore_errors=True)

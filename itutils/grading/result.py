"""What a grading run returns, and the limits it runs under.

Shared by :mod:`itutils.grading.runner` (which re-exports them: import them
from there) and :mod:`itutils.grading.session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Limits", "RunResult", "SandboxUnavailable"]


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

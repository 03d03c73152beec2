"""A bubblewrap sandbox for one submission's process.

Each submission runs under ``bwrap`` (bubblewrap, the sandbox Flatpak uses)
in new user, PID, mount, network, IPC, UTS and cgroup namespaces, with no
capabilities, in a new session, killed when its parent dies and unable to
create further user namespaces. Inside it sees:

- ``/usr`` (and the ``/bin``, ``/lib``... links or folders next to it) and
  ``/etc/ld.so.cache``, read-only: the system libraries;
- the Python environment the grader runs in (its prefix and the base
  interpreter's prefix, at their own paths because a venv's ``python`` is a
  symlink into the base prefix), read-only;
- ``/opt/itgrade/lib``: the parts of ``itutils`` the sheet's locked cells
  import (the check API, ``itutils.data``...), plus the harness, read-only;
- ``/scratch`` (its working and home folder) and ``/tmp``, ``/dev/shm``:
  private size-limited tmpfs, gone when it ends;
- its own ``/proc`` and a minimal ``/dev``.

Nothing else: not the course folder, ``solutions/``, the submissions, the
output folder, other submissions' sandboxes, the grader's processes or the
user's home. When its PID namespace's first process dies, the kernel kills
every process in it, so a double-forked daemon does not survive.

As root, the grader first drops to an unused unprivileged uid (one per
concurrent sandbox, :data:`UID_BASE` + slot) with ``setpriv``, so that no
process of the sandbox has root's uid on the host. bubblewrap 0.8 resolves
the source of every bind mount by path (``--ro-bind-fd`` too), so folders
that uid cannot enter (a venv or a pyenv under ``/root``, a checkout in a
``mktemp -d`` folder) are first bind-mounted, still as root but inside a
private mount namespace made by ``unshare``, onto empty folders under the
runtime's folder in ``/tmp`` (mode 0711), which it can reach. As root each
slot also gets a cgroup (:func:`slot_cgroups`) capping the whole sandbox's
memory and tasks; an ordinary user has the per-process resource limits only.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "UID_BASE",
    "INSIDE_UID",
    "LIBRARY",
    "SCRATCH",
    "Layout",
    "sandbox_problem",
    "install_hint",
]

#: Host uids ``UID_BASE + slot`` are used for sandboxes when the grader is root.
#: Far above login users (``UID_MAX`` 60000) and systemd's dynamic range.
UID_BASE = 1_990_000_000
#: The uid and gid the submission sees inside its user namespace.
INSIDE_UID = 1000
#: Where the library view (allowed itutils modules + harness) is mounted.
LIBRARY = "/opt/itgrade/lib"
#: The submission's working folder (a tmpfs).
SCRATCH = "/scratch"
#: Where the matplotlib font cache built once per runtime is mounted.
MPLCACHE = "/opt/itgrade/mpl"
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def install_hint() -> str:
    """The command that installs bubblewrap on this system, if we can tell."""
    if shutil.which("apt-get"):
        return "run `apt-get install bubblewrap` (Debian/Ubuntu)"
    if shutil.which("dnf"):
        return "run `dnf install bubblewrap` (Fedora/RHEL)"
    if shutil.which("pacman"):
        return "run `pacman -S bubblewrap` (Arch)"
    if shutil.which("apk"):
        return "run `apk add bubblewrap` (Alpine)"
    return "install your distribution's `bubblewrap` package (it provides `bwrap`)"


def _python_roots() -> list[str]:
    """Folders holding the interpreter, its standard library and packages."""
    roots = []
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        path = os.path.normpath(path)
        real = os.path.realpath(path)
        for candidate in (path, real):
            if candidate not in roots:
                roots.append(candidate)
    return [r for r in roots if not _under(r, "/usr")]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def child_sys_path() -> list[str]:
    """``sys.path`` of the submission's interpreter (started with ``-I -S``).

    The standard library and the environment's site-packages; never the
    current folder, the checkout or an editable install's source folder.
    """
    paths = sysconfig.get_paths()
    wanted = [paths["stdlib"], paths["platstdlib"]]
    wanted += [p for p in sys.path if p.endswith("lib-dynload")]
    wanted += [paths["purelib"], paths["platlib"]]
    out = []
    for p in wanted:
        if p and os.path.isdir(p) and p not in out:
            out.append(p)
    return out


@dataclass(frozen=True)
class Layout:
    """Host paths a sandbox needs, fixed for one runtime."""

    runtime_dir: str  # the runtime's own folder (library views, etc files)
    python: str  # the interpreter, at the same path inside
    roots: tuple  # Python folders bound read-only at their own paths
    as_root: bool

    @classmethod
    def here(cls, runtime_dir: str) -> Layout:
        return cls(
            runtime_dir=runtime_dir,
            python=os.path.normpath(
                sys.executable
            ),  # no "..": the path must exist inside
            roots=tuple(_python_roots()),
            as_root=os.geteuid() == 0,
        )

    def stage_points(self) -> list[tuple[str, str]]:
        """(host folder, reachable mount point) pairs staged when root."""
        return [(r, f"{self.runtime_dir}/stage/{i}") for i, r in enumerate(self.roots)]

    def bwrap_args(
        self,
        view: str,
        env: dict,
        tmpfs_bytes: int,
        mplcache: str | None = None,
        info_fd: int | None = None,
    ) -> list[str]:
        """The bwrap options (everything before ``--`` and the command)."""
        args = [
            shutil.which("bwrap") or "bwrap",
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--uid",
            str(INSIDE_UID),
            "--gid",
            str(INSIDE_UID),
            "--hostname",
            "itgrade",
            "--clearenv",
        ]
        if info_fd is not None:
            args += ["--info-fd", str(info_fd)]
        for key, value in env.items():
            args += ["--setenv", key, value]
        args += ["--ro-bind", "/usr", "/usr"]
        for link in _SYSTEM_LINKS:
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                args += ["--ro-bind", link, link]
        if os.path.exists("/etc/ld.so.cache"):
            args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        etc = f"{self.runtime_dir}/etc"
        args += ["--ro-bind", f"{etc}/passwd", "/etc/passwd"]
        args += ["--ro-bind", f"{etc}/group", "/etc/group"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        for tmpfs in ("/tmp", "/dev/shm", SCRATCH):
            args += ["--size", str(tmpfs_bytes), "--perms", "1777", "--tmpfs", tmpfs]
        staged = dict(self.stage_points()) if self.as_root else {}
        for root in self.roots:
            args += ["--ro-bind", staged.get(root, root), root]
        args += ["--ro-bind", view, LIBRARY]
        if mplcache:
            # The font list matplotlib would otherwise rebuild in every run.
            name = os.path.basename(mplcache)
            args += ["--ro-bind", mplcache, f"{MPLCACHE}/{name}"]
            args += ["--dir", f"{SCRATCH}/.matplotlib"]
            args += ["--symlink", f"{MPLCACHE}/{name}", f"{SCRATCH}/.matplotlib/{name}"]
        args += ["--chdir", SCRATCH, "--remount-ro", "/"]
        return args

    def command(
        self,
        uid: int | None,
        view: str,
        env: dict,
        tmpfs_bytes: int,
        child: list[str],
        mplcache: str | None = None,
        info_fd: int | None = None,
        cgroups: list | None = None,
    ) -> list[str]:
        """The full argv that starts ``child`` (interpreter + args) sandboxed.

        As root: ``unshare --mount`` (a private mount namespace) and a shell
        that joins the slot's cgroups (``cgroups``: their ``cgroup.procs``
        files, see :func:`slot_cgroups`), bind-mounts the Python folders onto
        reachable mount points, then ``setpriv`` to ``uid`` with no groups
        and no capabilities, then ``bwrap``. Otherwise ``bwrap`` directly.
        """
        bwrap = self.bwrap_args(view, env, tmpfs_bytes, mplcache, info_fd)
        if not self.as_root:
            return [*bwrap, "--", *child]
        stage = self.stage_points()
        cgroups = list(cgroups or [])
        script = ['set -e; c="$1"; shift']
        # Positional arguments: the number of cgroups and their procs files,
        # the number of mounts and their (source, mount point) pairs, then
        # the command; the shell never interprets a path.
        script.append(
            'i=0; while [ "$i" -lt "$c" ]; do echo $$ > "$1"; shift; i=$((i+1)); done'
        )
        script.append('n="$1"; shift')
        script.append(
            'i=0; while [ "$i" -lt "$n" ]; do mount --bind "$1" "$2"; '
            "shift 2; i=$((i+1)); done"
        )
        script.append('exec "$@"')
        setpriv = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
        flat = [p for pair in stage for p in pair]
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "; ".join(script),
            "itgrade-stage",
            str(len(cgroups)),
            *cgroups,
            str(len(stage)),
            *flat,
            *setpriv,
            *bwrap,
            "--",
            *child,
        ]

    def prepare(self) -> None:
        """Create the runtime's mount points and ``/etc`` files (once)."""
        base = Path(self.runtime_dir)
        (base / "etc").mkdir(mode=0o755, exist_ok=True)
        (base / "etc" / "passwd").write_text(
            f"root:x:0:0::/:/usr/sbin/nologin\n"
            f"student:x:{INSIDE_UID}:{INSIDE_UID}::{SCRATCH}:/usr/sbin/nologin\n"
            "nobody:x:65534:65534::/:/usr/sbin/nologin\n"
        )
        (base / "etc" / "group").write_text(
            f"root:x:0:\nstudent:x:{INSIDE_UID}:\nnogroup:x:65534:\n"
        )
        for path in (base / "etc" / "passwd", base / "etc" / "group"):
            path.chmod(0o644)
        if self.as_root:
            (base / "stage").mkdir(mode=0o755, exist_ok=True)
            for _root, point in self.stage_points():
                Path(point).mkdir(mode=0o755, exist_ok=True)


#: Where root's graders lock their uid slots (a root-only tmpfs on most systems).
SLOT_LOCKS = "/run/itgrade"


def lock_slot(slot: int) -> int | None:
    """Lock slot ``slot`` for this process.

    Returns the lock's descriptor, None when another grader holds the slot,
    or -1 when no lock can be taken here (no private folder for the lock
    files): then slots are unique within this process only. Root only; the
    lock files live in a folder only root can write, opened without
    following links.
    """
    import fcntl
    import stat

    folder = SLOT_LOCKS if os.path.isdir("/run") else "/var/lock/itgrade"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
            return -1
        fd = os.open(
            f"{folder}/slot-{slot}.lock",
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
    except OSError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


#: cgroup v1 hierarchies (memory and pids controllers), or the v2 root.
_CGROUP_V1 = {"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}
_CGROUP_V2 = "/sys/fs/cgroup"


def slot_cgroups(slot: int, memory_bytes: int, tasks: int) -> list:
    """Root only: cgroups that cap a whole sandbox; their ``cgroup.procs`` files.

    Resource limits (``RLIMIT_AS``) bound each process; a cgroup bounds the
    sandbox's total memory (tmpfs pages included) at ``memory_bytes`` and its
    tasks at ``tasks``, so that many processes cannot add up to more than
    one run may use. Best effort: an empty list where cgroups cannot be made
    (not root, no delegation, an unknown layout); the resource limits still
    apply.
    """
    name = f"itgrade/slot-{slot}"
    try:
        controllers = Path(_CGROUP_V2, "cgroup.controllers")
        if controllers.is_file() and {"memory", "pids"} <= set(
            controllers.read_text().split()
        ):
            group = Path(_CGROUP_V2, name)
            parent = group.parent
            parent.mkdir(exist_ok=True)
            wanted = {"+memory", "+pids"}
            (parent / "cgroup.subtree_control").write_text(" ".join(wanted))
            group.mkdir(exist_ok=True)
            (group / "memory.max").write_text(str(memory_bytes))
            if (group / "memory.swap.max").exists():
                (group / "memory.swap.max").write_text("0")
            (group / "pids.max").write_text(str(tasks))
            return [str(group / "cgroup.procs")]
        procs = []
        for controller, root in _CGROUP_V1.items():
            group = Path(root, name)
            if not Path(root, "cgroup.procs").is_file():
                return []
            group.mkdir(parents=True, exist_ok=True)
            if controller == "memory":
                (group / "memory.limit_in_bytes").write_text(str(memory_bytes))
            else:
                (group / "pids.max").write_text(str(tasks))
            procs.append(str(group / "cgroup.procs"))
        return procs
    except OSError:
        return []


def remove_cgroups(procs: list) -> None:
    """Remove the slot cgroups made by :func:`slot_cgroups` (when empty)."""
    for path in procs:
        folder = Path(path).parent
        try:
            folder.rmdir()
            folder.parent.rmdir()  # the shared "itgrade" folder, once empty
        except OSError:
            pass


def _missing_tools(as_root: bool) -> str | None:
    if shutil.which("bwrap") is None:
        return f"bubblewrap is not installed: {install_hint()}"
    if as_root:
        for tool in ("unshare", "setpriv", "mount"):
            if shutil.which(tool) is None:
                return (
                    f"`{tool}` is missing (it comes with util-linux): run "
                    "`apt-get install util-linux mount` (Debian/Ubuntu)"
                )
    return None


def explain_failure(stderr: str) -> str:
    """A fix for a bwrap that cannot start, from its error message."""
    text = " ".join(stderr.split())[:400]
    if (
        "No permissions to creat" in text
        or "setting up uid map" in text
        or ("Operation not permitted" in text and "namespace" in text)
    ):
        return (
            f"bubblewrap cannot create a sandbox here ({text}): unprivileged user "
            "namespaces are disabled or blocked. As root, enable them with "
            "`sysctl -w user.max_user_namespaces=15000` (and on Debian "
            "`sysctl -w kernel.unprivileged_userns_clone=1`, on Ubuntu 24.04 "
            "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`); in a "
            "Docker container start it with `--security-opt seccomp=unconfined "
            "--security-opt apparmor=unconfined`"
        )
    if "Unknown option" in text or "unrecognized option" in text:
        return (
            f"this bubblewrap is too old ({text}): version 0.8.0 or newer is "
            f"needed ({install_hint()}, or upgrade it)"
        )
    return f"bubblewrap cannot start a sandbox here: {text}"


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    import tempfile

    problem = _missing_tools(os.geteuid() == 0)
    if problem:
        return problem
    # A throwaway layout: start a real interpreter in a real sandbox.
    runtime = tempfile.mkdtemp(prefix="itgrade-probe-", dir=_tmp_root())
    lock = None
    try:
        os.chmod(runtime, 0o711)
        layout = Layout.here(runtime)
        problem = layout_problem(layout)
        if problem:
            return problem
        layout.prepare()
        view = Path(runtime) / "view"
        view.mkdir(mode=0o755)
        slot = 0
        while layout.as_root:  # a uid no other grader is using right now
            lock = lock_slot(slot)
            if lock is not None:
                break
            slot += 1
        argv = layout.command(
            UID_BASE + slot if layout.as_root else None,
            str(view),
            {"PATH": "/usr/bin:/bin"},
            2**20,
            [layout.python, "-I", "-S", "-c", "print('sandbox ok')"],
        )
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap cannot start a sandbox here: {exc}"
        if done.stdout.strip() != b"sandbox ok":
            return explain_failure(
                done.stderr.decode("utf-8", "replace") or f"exit code {done.returncode}"
            )
        return None
    finally:
        if lock is not None and lock >= 0:
            os.close(lock)
        shutil.rmtree(runtime, ignore_errors=True)


def layout_problem(layout: Layout) -> str | None:
    """A reason the Python environment cannot be shown to submissions, if any.

    The environment is mounted whole; if it contains the course checkout
    (a venv created at the repository's root, say), the submission would see
    ``solutions/``.
    """
    import itutils

    checkout = os.path.realpath(Path(itutils.__file__).parent.parent)
    for root in layout.roots:
        if _under(checkout, os.path.realpath(root)):
            return (
                f"the Python environment {root} contains the course folder "
                f"{checkout}, which submissions must not see: create the "
                "environment in its own folder (e.g. `python -m venv .venv` "
                "inside the checkout, as `make` does)"
            )
    return None


def _tmp_root() -> str:
    """Where runtimes live: ``/tmp`` (world-traversable), as root or not."""
    return "/tmp" if os.path.isdir("/tmp") else os.path.realpath(sys.prefix)


def sandbox_problem(refresh: bool = False) -> str | None:
    """None when submissions can be sandboxed here, else the fix.

    Starts one interpreter in a real sandbox the first time (about 0.1 s);
    the answer is cached per process (``refresh=True`` asks again).

    Examples
    --------
    >>> sandbox_problem() is None or "bubblewrap" in sandbox_problem()
    True
    """
    if refresh:
        _probe.cache_clear()
    return _probe()

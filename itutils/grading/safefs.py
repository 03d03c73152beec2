"""File access that no planted link, FIFO or swapped folder can redirect.

The submissions folder and anything a submission may have touched are
untrusted. Here every file is opened relative to a folder descriptor the
grader opened itself, one path component at a time, with ``O_NOFOLLOW``;
files are read only when ``fstat`` says they are regular (``O_NONBLOCK``, so
a FIFO cannot hang the open) and never past a byte limit.

Output goes through :class:`OutputFolder`: the folder is checked once (no
link at it or above it in a folder others can write, not writable by
others, created fresh and private inside a world-writable folder such as
/tmp), then each file is written to a new temporary name in the same folder
(``O_CREAT | O_EXCL | O_NOFOLLOW``), flushed to disk and renamed over the
final name, so a reader sees the old file or the new one, never half of one,
and a link planted at the final name is replaced, not followed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from pathlib import Path

__all__ = [
    "NotGradable",
    "OutputError",
    "OutputFolder",
    "open_dir",
    "read_regular",
    "tree_digest",
    "file_ids",
]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class NotGradable(Exception):
    """A file that is not read: the message says why (for the feedback)."""


class OutputError(Exception):
    """The output folder cannot be used safely; the message says what to do."""


def kind_of(mode: int) -> str:
    """Words for a file type, as the feedback names it."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_dir(name, dir_fd: int | None = None) -> int:
    """Open a folder without following a link at ``name``; return its fd."""
    return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def open_regular(dir_fd: int, parts) -> tuple:
    """Open ``parts`` (path components) below ``dir_fd``; return (fd, stat).

    Every component is opened with ``O_NOFOLLOW``; the file must be regular.
    Raises :class:`NotGradable` with the reason otherwise.
    """
    parts = list(parts)
    fds = []
    try:
        current = dir_fd
        for name in parts[:-1]:
            try:
                current = open_dir(name, current)
            except OSError as exc:
                raise NotGradable(_open_problem(exc, folder=True)) from exc
            fds.append(current)
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=current)
        except OSError as exc:
            raise NotGradable(_open_problem(exc, folder=False)) from exc
    finally:
        for opened in fds:
            os.close(opened)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotGradable(f"{kind_of(info.st_mode)}, not a notebook file")
    return fd, info


def _open_problem(exc: OSError, folder: bool) -> str:
    if exc.errno in (errno.ELOOP, errno.EMLINK) or (
        folder and exc.errno == errno.ENOTDIR
    ):
        return "a symbolic link (links in the submissions folder are never followed)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the file could not be read (permission denied)"
    if exc.errno == errno.ENOENT:
        return "the file disappeared while the class was being graded"
    return f"the file could not be opened ({os.strerror(exc.errno or 0)})"


def read_fd(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes from ``fd``; :class:`NotGradable` if there are more."""
    chunks, total = [], 0
    while True:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise NotGradable(
                f"the file is over the {limit // 2**20} MB limit for a notebook"
            )
    return b"".join(chunks)


def read_regular(dir_fd: int, parts, limit: int, expect=None) -> bytes:
    """The bytes of the regular file ``parts`` below ``dir_fd`` (see module doc).

    ``expect`` is an ``(st_dev, st_ino)`` pair: the file must still be the one
    seen before (it was not replaced in between).
    """
    fd, info = open_regular(dir_fd, parts)
    try:
        if expect is not None and (info.st_dev, info.st_ino) != tuple(expect):
            raise NotGradable(
                "the file was replaced while the class was being graded (grade "
                "again once the folder no longer changes)"
            )
        if info.st_size > limit:
            raise NotGradable(
                f"the file is {info.st_size / 2**20:.0f} MB, over the "
                f"{limit // 2**20} MB limit for a notebook"
            )
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def tree_digest(paths) -> str:
    """A hash of every file under ``paths``, read safely (links not followed).

    Used to notice that solutions/ or the library changed during grading;
    a FIFO or a link planted there is hashed as what it is, never opened.
    """
    h = hashlib.sha256()
    for root in paths:
        for folder, dirs, files in os.walk(root, followlinks=False):
            links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d not in links)
            for name in sorted(files + links):
                path = os.path.join(folder, name)
                h.update(path.encode("utf-8", "surrogateescape") + b"\0")
                try:
                    info = os.lstat(path)
                    if stat.S_ISLNK(info.st_mode):
                        h.update(b"link:" + os.fsencode(os.readlink(path)))
                    elif not stat.S_ISREG(info.st_mode):
                        h.update(b"special:%d" % stat.S_IFMT(info.st_mode))
                    else:
                        fd = os.open(path, _FILE_FLAGS)
                        try:
                            while chunk := os.read(fd, 1 << 20):
                                h.update(chunk)
                        finally:
                            os.close(fd)
                except OSError as exc:
                    h.update(b"error:%d" % (exc.errno or 0))
    return h.hexdigest()


def file_ids(paths) -> frozenset:
    """``(st_dev, st_ino)`` of every regular file under ``paths`` (no links)."""
    found = set()
    for root in paths:
        for folder, _dirs, files in os.walk(root, followlinks=False):
            for name in files:
                try:
                    info = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    found.add((info.st_dev, info.st_ino))
    return frozenset(found)


# ---------------------------------------------------------------------------
# The output folder


def _others_can_write(info) -> bool:
    return bool(info.st_mode & stat.S_IWOTH)


def _trusted_owner(info) -> bool:
    return info.st_uid in (0, os.geteuid())


class OutputFolder:
    """A checked output folder, written only through descriptors.

    Use :meth:`prepare` (it raises :class:`OutputError` with what to do),
    then :meth:`write` / :meth:`write_feedback`, and :meth:`close`.
    """

    FILES = ("grades.csv", "manual_answers.md", "summary.txt", "shard.json")

    def __init__(self, path: Path, fd: int, feedback_fd: int, created: bool):
        self.path, self.fd, self.feedback_fd, self.created = (
            path,
            fd,
            feedback_fd,
            created,
        )

    @classmethod
    def prepare(cls, path, avoid=()) -> OutputFolder:
        """Check (and create when missing) the output folder ``path``.

        ``avoid`` lists ``(folder, what it is)`` pairs of folders that must
        not hold the output (the submissions folder: a re-run would read it;
        the shard folders of a merge).
        """
        path = Path(os.path.abspath(path))
        for folder, what in avoid:
            inside = Path(os.path.realpath(folder))
            real = Path(os.path.realpath(path))
            if real == inside or inside in real.parents:
                raise OutputError(
                    f"the output folder {path} lies inside {folder}, {what}: "
                    "choose an output folder outside it (--out)"
                )
        fd, created = _walk_to(path)
        try:
            info = os.fstat(fd)
            if _others_can_write(info):
                raise OutputError(
                    f"the output folder {path} is writable by every user, who "
                    "could replace the grades after they are written: run "
                    f"'chmod o-w {path}' or choose another folder (--out)"
                )
            for name in cls.FILES:
                try:
                    entry = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(entry.st_mode):
                    raise OutputError(
                        f"{path / name} is a folder; the grader writes a file "
                        "there: remove it or choose another output folder"
                    )
            feedback_fd = _feedback_folder(path, fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, feedback_fd, created)

    def write(self, name: str, data: bytes) -> None:
        """Write ``name`` in the output folder, completely or not at all."""
        atomic_write(self.fd, name, data)

    def write_feedback(self, name: str, data: bytes) -> None:
        """Write ``feedback/name``, completely or not at all."""
        atomic_write(self.feedback_fd, name, data)

    def remove(self, name: str, feedback: bool = False) -> None:
        """Remove a stale output file (a link is removed, never followed)."""
        try:
            os.unlink(name, dir_fd=self.feedback_fd if feedback else self.fd)
        except FileNotFoundError:
            pass

    def feedback_names(self) -> list:
        """Names of the files now in feedback/ (links and leftovers included)."""
        with os.scandir(self.feedback_fd) as entries:
            return sorted(
                e.name for e in entries if not e.is_dir(follow_symlinks=False)
            )

    def read(self, name: str, limit: int, feedback: bool = False) -> bytes:
        """Read one of this folder's files (used by ``merge`` on shard folders)."""
        return read_regular(self.feedback_fd if feedback else self.fd, [name], limit)

    def sync(self) -> None:
        """Flush the folders' entries (the renames) to disk."""
        for fd in (self.feedback_fd, self.fd):
            os.fsync(fd)

    def close(self) -> None:
        for fd in (self.feedback_fd, self.fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def atomic_write(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` below ``dir_fd``: temporary file, fsync, rename over."""
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(
        tmp,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
        dir_fd=dir_fd,
    )
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def _feedback_folder(path: Path, fd: int) -> int:
    try:
        return open_dir("feedback", fd)
    except FileNotFoundError:
        os.mkdir("feedback", 0o700, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OutputError(
                f"{path / 'feedback'} is a symbolic link or not a folder; the "
                "grader never writes through links: remove it (rm "
                f"{path / 'feedback'}) or choose another output folder"
            ) from exc
        raise
    feedback_fd = open_dir("feedback", fd)
    if _others_can_write(os.fstat(feedback_fd)):
        os.close(feedback_fd)
        raise OutputError(
            f"{path / 'feedback'} is writable by every user: run 'chmod o-w "
            f"{path / 'feedback'}' or choose another output folder"
        )
    return feedback_fd


def _walk_to(path: Path, hops: int = 0) -> tuple:
    """Open ``path`` component by component; return (fd, created).

    Refuses what another user could redirect: a symbolic link inside a
    folder others can write, a component there that another user owns, and
    an existing output folder directly inside a world-writable folder (it
    must be created now, private). Missing folders are created with mode
    0700 (a folder on the way that another process creates at the same
    moment, such as a shared parent of several shards, is checked like any
    other). Links in folders only trusted users can write (such as a
    system's /home link) are followed, by restarting from their target.
    """
    if hops > 20:
        raise OutputError(f"{path}: too many symbolic links on the way")
    parts = path.parts[1:]
    fd = open_dir("/")
    here = Path("/")
    created = False
    try:
        for i, name in enumerate(parts):
            last = i == len(parts) - 1
            parent = os.fstat(fd)
            shared = _others_can_write(parent)
            if shared and not parent.st_mode & stat.S_ISVTX:
                raise OutputError(
                    f"{here} is writable by every user and has no sticky bit, so "
                    f"anyone can replace {here / name}: choose an output folder "
                    "elsewhere (--out)"
                )
            for attempt in (1, 2):
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    info = None
                if info is not None and stat.S_ISLNK(info.st_mode):
                    if last:
                        raise OutputError(
                            f"the output folder {path} is a symbolic link; the "
                            "grader never writes through links: give the real "
                            "folder, or remove the link"
                        )
                    if shared or not _trusted_owner(parent):
                        raise OutputError(
                            f"{here / name} is a symbolic link inside {here}, a "
                            "folder other users can write: choose an output folder "
                            "elsewhere (--out)"
                        )
                    target = here / os.readlink(name, dir_fd=fd)
                    rest = Path(*parts[i + 1 :])
                    os.close(fd)
                    fd = -1
                    return _walk_to(Path(os.path.normpath(target / rest)), hops + 1)
                if info is not None:
                    _check_existing(path, here, name, info, shared, last)
                    break
                try:
                    os.mkdir(name, 0o700, dir_fd=fd)
                except FileExistsError as exc:
                    if attempt == 2 or (last and shared):
                        raise OutputError(
                            f"{here / name} appeared while the grader was creating "
                            "it: someone else is writing there; choose an output "
                            "folder elsewhere (--out)"
                        ) from exc
                    continue  # made at this moment by another process: check it
                created = last
                break
            child = open_dir(name, fd)
            os.close(fd)
            fd = child
            here = here / name
        return fd, created
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


def _check_existing(path, here, name, info, shared, last) -> None:
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(
            f"{here / name} exists and is {kind_of(info.st_mode)}, not a "
            "folder: choose another output folder (--out)"
        )
    if shared and last:
        raise OutputError(
            f"the output folder {path} already exists inside {here}, a "
            "folder every user can write, so someone else may have "
            "made it or put files in it: name a folder that does not "
            "exist yet (the grader then creates it, private, mode "
            "0700) or one outside world-writable folders such as /tmp"
        )
    if shared and not _trusted_owner(info):
        raise OutputError(
            f"{here / name} belongs to another user (uid {info.st_uid}) "
            f"and lies inside {here}, which every user can write: choose "
            "an output folder elsewhere (--out)"
        )

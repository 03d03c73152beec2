"""Find the submissions in an untrusted folder: who, which sheet, which file.

Layouts accepted under the submissions folder (both may be mixed):

- ``<student>/<exercise>.ipynb``: a folder per student;
- ``<student>.ipynb`` or ``<student>_<exercise>.ipynb``: one file per student.

The exercise is read from the file name when it names one (``01_entropy``),
otherwise from the notebook's cell ids. Several files of one student for one
exercise: the newest counts. "Newest" is decided by a timestamp in the file
name when every file of the group has one (``2024-05-02``, optionally
followed by a time such as ``T14-30`` or ``_14-30-05``, as LMS downloads
carry), otherwise by the files' modification times; ties go to the file name
that sorts last. A timestamp in a name more than a day after the grading time
(time zones allowed for) is not used for ordering, with a warning: its group
falls back to modification times.

The folder is walked through descriptors (:mod:`itutils.grading.safefs`):
symbolic links (to files or folders) and special files (FIFOs, devices,
sockets) are never followed or opened; each is reported as a file that is not
graded. Student names are cleaned to letters, digits and ``._@+-`` (accents
dropped, so ``Élodie`` is ``Elodie``); names that clean to the same student
(``alice!`` and ``alice``; ``Alice`` and ``alice``) are both graded, as
``alice~1`` and ``alice~2``, and flagged, never merged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field

from itutils.grading import safefs
from itutils.grading.quoting import Note, display_path

__all__ = ["Submission", "Rejected", "Discovery", "discover", "clean_student"]

_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T_ -](\d{2})[-:.h]?(\d{2})(?:[-:.m]?(\d{2}))?)?"
)
#: Folders never searched: notebook autosaves and macOS archive metadata.
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}
#: Folders nested deeper than this below the submissions folder are not searched.
MAX_DEPTH = 6
#: Longest student id (file names are limited to 255 bytes).
MAX_NAME = 64
#: A time this far after the grading time counts as "in the future".
FUTURE_SLACK = dt.timedelta(days=1)
#: Separates a cleaned name from the number given to each of several
#: students who clean to it; cleaning never produces it, so no one can
#: choose a name that looks like a numbered one.
SUFFIX = "~"


@dataclass
class Submission:
    """One submitted notebook file chosen for grading."""

    student: str
    exercise: str | None
    parts: tuple  # path components below the submissions folder
    relpath: str  # for display
    ident: tuple  # (st_dev, st_ino) when found
    stamp_text: str = ""
    ignored: list = field(default_factory=list)  # [(relpath, stamp_text)]
    warnings: list = field(default_factory=list)  # shown in the feedback
    raw_name: str = ""


@dataclass
class Rejected:
    """A file or folder that is not graded, and why."""

    student: str
    exercise: str | None
    relpath: str
    reason: str
    raw_name: str = ""


@dataclass
class Discovery:
    """What :func:`discover` found."""

    submissions: list  # chosen newest per (student, exercise), sorted
    rejected: list  # not graded: links, special files, folders too deep
    students: list  # every student id seen, sorted
    student_warnings: dict  # id -> [Note] about the student (name collisions)
    warnings: list  # plain text, one line each, for the summary

    def listing_digest(self) -> str:
        """A hash of what was found (for checking that shards saw the same)."""
        data = [
            [s.student, s.exercise, s.relpath, s.stamp_text, s.ignored]
            for s in self.submissions
        ] + [[r.student, r.exercise, r.relpath, r.reason] for r in self.rejected]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


@dataclass
class _Found:
    parts: tuple
    relpath: str
    raw_name: str
    exercise: str | None
    named: tuple | None = None  # (datetime, text) of a stamp in the name
    ident: tuple = ()
    mtime: float = 0.0
    problem: str | None = None  # set: rejected, with this reason
    key: tuple = ()  # ordering among the files of one student and exercise
    stamp_text: str = ""


def clean_student(text: str) -> str:
    """A student id from a folder or file name: safe in file names and CSV.

    Examples
    --------
    >>> clean_student("alice!"), clean_student("Élodie Dupont"), clean_student("../x")
    ('alice', 'Elodie_Dupont', 'x')
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._-")[:MAX_NAME]
    return text.strip("._-") or "unnamed"


def _stamp_from_name(name: str):
    match = _STAMP.search(name)
    if not match:
        return None
    parts = [int(g) if g else 0 for g in match.groups()]
    try:
        return dt.datetime(*parts), match.group(0)
    except ValueError:
        return None


def _exercise_from_content(data: bytes, specs: dict) -> str | None:
    try:
        raw = json.loads(data)
        ids = {
            c["metadata"]["nbgrader"]["grade_id"]
            for c in raw["cells"]
            if isinstance(c, dict)
            and isinstance(c.get("metadata"), dict)
            and isinstance(c["metadata"].get("nbgrader"), dict)
            and isinstance(c["metadata"]["nbgrader"].get("grade_id"), str)
        }
    except Exception:  # invalid, nested too deep, not a notebook: no answer
        return None
    best = max(
        sorted(specs),
        key=lambda n: len(ids & (specs[n].solution_ids | set(specs[n].locked))),
        default=None,
    )
    if best and ids & (specs[best].solution_ids | set(specs[best].locked)):
        return best
    return None


def _raw_student(parts: tuple, stem: str, names: list, named) -> str:
    if len(parts) > 1:
        return parts[0]
    rest = stem
    if named:
        rest = rest.replace(named[1], "")
    for n in names:
        rest = rest.replace(n, "")
    return rest.strip("._- ") or stem


class _Walker:
    def __init__(self, specs: dict, limit: int, own_files=frozenset()):
        self.own_files = own_files
        self.specs = specs
        self.names = sorted(specs, key=len, reverse=True)
        self.limit = limit
        self.found: list = []

    def _exercise_in(self, name: str):
        return next((n for n in self.names if n in name), None)

    def _reject(self, parts: tuple, reason: str) -> None:
        name = parts[-1]
        stem = name[: -len(".ipynb")] if name.endswith(".ipynb") else name
        named = _stamp_from_name(stem)
        self.found.append(
            _Found(
                parts,
                display_path("/".join(parts)),
                _raw_student(parts, stem, self.names, named),
                self._exercise_in(stem) if len(parts) > 1 or name != stem else None,
                problem=reason,
            )
        )

    def walk(self, fd: int, prefix: tuple = ()) -> None:
        with os.scandir(fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            parts = (*prefix, entry.name)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue  # vanished
            if entry.name in SKIPPED_FOLDERS or entry.name.startswith("._"):
                continue
            if stat.S_ISLNK(mode):
                self._reject(
                    parts,
                    "a symbolic link, not graded (links in the submissions folder "
                    "are never followed)",
                )
            elif stat.S_ISDIR(mode):
                self._folder(fd, entry.name, parts)
            elif not stat.S_ISREG(mode):
                self._reject(
                    parts, f"{safefs.kind_of(mode)}, not a notebook: not graded"
                )
            elif entry.name.endswith(".ipynb"):
                self._file(fd, parts)

    def _folder(self, fd: int, name: str, parts: tuple) -> None:
        if len(parts) > MAX_DEPTH:
            self._reject(
                parts,
                f"a folder nested more than {MAX_DEPTH} levels deep: not searched",
            )
            return
        try:
            child = safefs.open_dir(name, fd)
        except OSError as exc:
            self._reject(
                parts,
                "a folder that could not be opened "
                f"({os.strerror(exc.errno or 0)}): not searched",
            )
            return
        try:
            self.walk(child, parts)
        finally:
            os.close(child)

    def _file(self, fd: int, parts: tuple) -> None:
        stem = parts[-1][: -len(".ipynb")]
        exercise = self._exercise_in(stem)
        named = _stamp_from_name(stem)
        item = _Found(
            parts,
            display_path("/".join(parts)),
            _raw_student(parts, stem, self.names, named),
            exercise,
            named,
        )
        try:
            handle, info = safefs.open_regular(fd, parts[-1:])
        except safefs.NotGradable as exc:
            item.problem = f"{exc}: not graded"
            self.found.append(item)
            return
        try:
            item.ident = (info.st_dev, info.st_ino)
            item.mtime = info.st_mtime
            if item.ident in self.own_files:
                item.problem = (
                    "the very file of a model solution or of the grader (a hard "
                    "link to it), not graded"
                )
            elif exercise is None and info.st_size <= self.limit:
                try:
                    item.exercise = _exercise_from_content(
                        safefs.read_fd(handle, self.limit), self.specs
                    )
                except (safefs.NotGradable, OSError):
                    pass
        finally:
            os.close(handle)
        self.found.append(item)


def _assign_ids(found: list) -> tuple:
    """{raw name: student id}, and {id: warning} for names that collide."""
    raws = sorted({f.raw_name for f in found}, key=os.fsencode)
    cleaned = {raw: clean_student(display_path(raw)) for raw in raws}
    groups: dict = {}
    for raw in raws:
        groups.setdefault(cleaned[raw].casefold(), []).append(raw)
    ids, warnings = {}, {}
    for group in groups.values():
        if len(group) == 1:
            ids[group[0]] = cleaned[group[0]]
            continue
        for k, raw in enumerate(group, start=1):
            ids[raw] = f"{cleaned[raw]}{SUFFIX}{k}"
        who = ", ".join("{} as {}" for _ in group)
        values = [v for raw in group for v in (display_path(raw), ids[raw])]
        note = Note(
            f"{len(group)} submitted names clean to the same student id {{}}: "
            f"{who}. Each was graded separately under its own numbered id; "
            "check who is who before using these grades.",
            cleaned[group[0]],
            *values,
        )
        for raw in group:
            warnings[ids[raw]] = note
    return ids, warnings


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _choose(group: list, now: dt.datetime, warn) -> _Found:
    """The newest file of one (student, exercise) group; record why."""
    future_names = [f for f in group if f.named and f.named[0] > now + FUTURE_SLACK]
    for f in future_names:
        warn(
            Note(
                "The timestamp {} in the name of {} lies in the future; it was "
                "not used to decide which file is the newest.",
                f.named[1],
                f.relpath,
            )
        )
    by_name = all(f.named for f in group) and not future_names
    for f in group:
        if by_name:
            f.key = (f.named[0].timestamp(), f.relpath)
            f.stamp_text = f"timestamp {f.named[1]} in the file name"
        else:
            f.key = (f.mtime, f.relpath)
            f.stamp_text = f"file modification time {_utc(f.mtime)}"
    group.sort(key=lambda f: f.key)
    return group[-1]


def discover(
    folder,
    specs: dict,
    limit_bytes: int = 50 * 2**20,
    now: dt.datetime | None = None,
    in_play: list | None = None,
    own_files=frozenset(),
) -> Discovery:
    """Every submission under ``folder``: the newest per student and exercise.

    ``limit_bytes`` bounds what is read of a file (to recognise its exercise
    from its cells); ``now`` is the grading time (timestamps after it are not
    trusted); ``in_play`` lists the exercises being graded (a file that names
    none and cannot be read is given to the only one, if there is one);
    ``own_files`` holds the ``(st_dev, st_ino)`` of the solutions' and the
    grader's files: a hard link to one of them is reported, not graded.
    """
    now = now or dt.datetime.now()
    walker = _Walker(specs, limit_bytes, own_files)
    top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        walker.walk(top)
    finally:
        os.close(top)
    found = walker.found
    ids, collisions = _assign_ids(found)
    student_warnings: dict = {}
    for sid, text in collisions.items():
        student_warnings.setdefault(sid, []).append(text)
    known = sorted({f.exercise for f in found if f.exercise})
    if in_play is not None:
        only = list(in_play) if len(in_play) == 1 else []
    else:
        only = list(specs) if len(specs) == 1 else known if len(known) == 1 else []
    for f in found:
        if f.exercise is None and f.problem is None and len(only) == 1:
            f.exercise = only[0]
    groups: dict = {}
    rejected = []
    for f in found:
        sid = ids[f.raw_name]
        if f.problem is not None:
            rejected.append(Rejected(sid, f.exercise, f.relpath, f.problem, f.raw_name))
        else:
            groups.setdefault((sid, f.exercise), []).append(f)
    chosen = []
    for (sid, exercise), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
        notes: list = []
        newest = _choose(group, now, notes.append)
        older = [(g.relpath, g.stamp_text) for g in reversed(group[:-1])]
        chosen.append(
            Submission(
                sid,
                exercise,
                newest.parts,
                newest.relpath,
                newest.ident,
                newest.stamp_text,
                older,
                notes,
                newest.raw_name,
            )
        )
    chosen.sort(key=lambda s: (s.student, s.exercise or "", s.relpath))
    rejected.sort(key=lambda r: (r.student, r.relpath))
    warnings = sorted({n.plain() for n in collisions.values()}) + sorted(
        f"{s.student}: {n.plain()}" for s in chosen for n in s.warnings
    )
    return Discovery(
        chosen, rejected, sorted(set(ids.values())), student_warnings, warnings
    )

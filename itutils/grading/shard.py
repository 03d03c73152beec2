"""Grade a class on several machines: ``--shard K/N``, then ``merge``.

``grade --shard K/N`` grades the K-th of N slices of the students: all
students found are sorted by id and every N-th one, starting with the K-th,
belongs to slice K (so each student's sheets stay together and the slices
differ in size by at most one). Each shard writes an ordinary output folder
for its students plus ``shard.json``: its rows, written answers and run
statuses, the hash of each feedback file, and the identity of the run (the
solutions' fingerprint, the list of files found, the options, all
students). ``merge`` checks that the shards belong together (same identity,
every K from 1 to N exactly once, feedback files unchanged) and writes the
output a single machine would have written, byte for byte.

Nothing here schedules anything: a cluster's own engine runs the N shards
(Kubernetes indexed jobs, Slurm job arrays); see the instructor guide.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from itutils.grading.batch import Report, write_report
from itutils.grading.safefs import NotGradable, OutputFolder, read_regular

__all__ = ["MergeError", "parse_shard", "slice_students", "manifest", "merge"]

FORMAT = "itutils-grading-shard/1"
_ID = re.compile(r"[A-Za-z0-9@+~_-][A-Za-z0-9._@+~-]*")
#: Largest shard.json / feedback file read back (bytes).
MANIFEST_LIMIT = 2**31
FEEDBACK_LIMIT = 2**26


class MergeError(ValueError):
    """Shard folders that cannot be merged; the message says why and what to do."""


#: More slices than a class could fill: a merge needs every slice's folder.
MAX_SHARDS = 10_000


def parse_shard(text: str) -> tuple:
    """``"K/N"`` as ``(K, N)`` with 1 <= K <= N.

    Examples
    --------
    >>> parse_shard("2/3")
    (2, 3)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise ValueError(
            f"--shard {text!r}: write K/N, e.g. 2/3 for the second of three slices"
        )
    if len(match[1]) > 6 or len(match[2]) > 6:
        raise ValueError(f"--shard {text}: at most {MAX_SHARDS} slices")
    k, n = int(match[1]), int(match[2])
    if n > MAX_SHARDS:
        raise ValueError(
            f"--shard {text}: at most {MAX_SHARDS} slices (a merge needs every one)"
        )
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text}: K must be between 1 and N (1 <= K <= {n})")
    return k, n


def slice_students(students, k: int, n: int) -> list:
    """The students of slice ``k`` of ``n``: sorted, every n-th from the k-th.

    Examples
    --------
    >>> slice_students(["d", "a", "c", "b", "e"], 2, 3)
    ['b', 'e']
    """
    return sorted(students)[k - 1 :: n]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(report: Report, shard: tuple) -> bytes:
    """shard.json for one shard's :class:`~itutils.grading.batch.Report`."""
    data = {
        "format": FORMAT,
        "shard": list(shard),
        "identity": report.identity,
        "students": report.students,
        "rows": report.rows,
        "answers": report.answers,
        "statuses": report.statuses,
        "notes": report.notes,
        "tampered": report.tampered,
        "feedback": {s: _digest(t) for s, t in report.feedback.items()},
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise MergeError(
            f"{where}/shard.json is not a valid shard manifest ({what}); grade that "
            "shard again"
        )


def _load(folder) -> dict:
    where = str(folder)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise MergeError(f"{where}: cannot open the folder ({exc.strerror})") from exc
    try:
        try:
            raw = read_regular(fd, ["shard.json"], MANIFEST_LIMIT)
        except NotGradable as exc:
            raise MergeError(
                f"{where} is not a shard output folder (shard.json: {exc}); grade "
                f"with --shard K/N --out {where} first"
            ) from exc
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise MergeError(f"{where}/shard.json is not valid JSON") from exc
        _check(type(data) is dict and data.get("format") == FORMAT, where, "format")
        shard = data.get("shard")
        _check(
            type(shard) is list
            and len(shard) == 2
            and all(type(x) is int for x in shard)
            and 1 <= shard[0] <= shard[1],
            where,
            "shard",
        )
        for key, kind in (
            ("identity", dict),
            ("students", list),
            ("rows", list),
            ("answers", list),
            ("statuses", list),
            ("notes", list),
            ("feedback", dict),
            ("tampered", bool),
        ):
            _check(type(data.get(key)) is kind, where, key)
        students = data["students"]
        _check(
            all(type(s) is str and _ID.fullmatch(s) for s in students)
            and set(data["feedback"]) == set(students),
            where,
            "students",
        )
        texts = {}
        for student in students:
            try:
                blob = read_regular(fd, ["feedback", f"{student}.md"], FEEDBACK_LIMIT)
            except NotGradable as exc:
                raise MergeError(
                    f"{where}/feedback/{student}.md cannot be read ({exc}); grade "
                    "that shard again"
                ) from exc
            text = blob.decode("utf-8", "replace")
            if _digest(text) != data["feedback"][student]:
                raise MergeError(
                    f"{where}/feedback/{student}.md differs from what that shard "
                    "wrote (changed after grading?); grade that shard again"
                )
            texts[student] = text
        data["texts"] = texts
        data["where"] = where
        return data
    finally:
        os.close(fd)


_WHAT_DIFFERS = {
    "solutions": "were graded against different solutions (solutions/ differs); "
    "grade every shard with the same solutions",
    "submissions": "saw different submission folders (files added, removed or "
    "renamed between the shards); grade every shard from the same copy",
    "options": "were graded with different options (--timeout, --memory, "
    "--exercise, --no-sandbox, ...); grade every shard with the same options",
}


def merge(folders, out, log=print) -> list:
    """Merge shard output folders into ``out``; return the rows of grades.csv.

    Raises :class:`MergeError` when the shards do not make one whole run.
    """
    folders = list(folders)
    if not folders:
        raise MergeError("merge needs the shard folders: merge SHARD_DIR... --out OUT")
    shards = [_load(f) for f in folders]
    first = shards[0]
    n = first["shard"][1]
    for s in shards[1:]:
        if s["shard"][1] != n:
            raise MergeError(
                f"{first['where']} is shard {first['shard'][0]}/{n} but "
                f"{s['where']} is shard {s['shard'][0]}/{s['shard'][1]}: every shard "
                "of one run splits the class into the same number N of slices"
            )
        keys = set(first["identity"]) | set(s["identity"])
        for key in [*_WHAT_DIFFERS, *sorted(keys - set(_WHAT_DIFFERS))]:
            if first["identity"].get(key) != s["identity"].get(key):
                what = _WHAT_DIFFERS.get(
                    key, f"differ in {key}; grade every shard in the same way"
                )
                raise MergeError(
                    f"{first['where']} (shard {first['shard'][0]}/{n}) and "
                    f"{s['where']} (shard {s['shard'][0]}/{n}) {what}"
                )
    seen: dict = {}
    for s in shards:
        k = s["shard"][0]
        if k in seen:
            raise MergeError(
                f"shard {k}/{n} is given twice ({seen[k]} and {s['where']}): give "
                "each shard folder once"
            )
        seen[k] = s["where"]
    lost = [k for k in range(1, n + 1) if k not in seen]
    if lost:
        raise MergeError(
            "missing "
            + ", ".join(f"shard {k}/{n}" for k in lost)
            + f": merge needs all {n} shard folders of the run"
        )
    everyone = first["identity"].get("students")
    for s in shards:
        if s["students"] != slice_students(everyone, s["shard"][0], n):
            raise MergeError(
                f"{s['where']}: its students are not slice {s['shard'][0]}/{n} of the "
                "class; grade that shard again"
            )
    report = Report(
        first["identity"],
        sorted(everyone),
        [r for s in shards for r in s["rows"]],
        {k: v for s in shards for k, v in s["texts"].items()},
        [a for s in shards for a in s["answers"]],
        [st for s in shards for st in s["statuses"]],
        [note for s in shards for note in s["notes"]],
        any(s["tampered"] for s in shards),
    )
    with OutputFolder.prepare(
        out, avoid=[(f, "a shard folder") for f in folders]
    ) as output:
        text = write_report(output, report)
    log(text)
    return report.rows

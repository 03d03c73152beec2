"""Unit tests of the batch grader's parts that need no submission to run.

Quoting (CSV and Markdown), reading the submissions folder, names and
timestamps, the output folder's safety checks, atomic writes, and shard
slicing. The end-to-end tactics are in tests/redteam/test_{batch,names,
output,shard}_*.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
from pathlib import Path

import mistune
import pytest

from itutils.grading import safefs
from itutils.grading.discover import clean_student, discover
from itutils.grading.quoting import csv_field, csv_line, md_block, md_code, one_line
from itutils.grading.safefs import OutputError, OutputFolder, atomic_write
from itutils.grading.shard import parse_shard, slice_students
from tests._grading_batch import TINY, sheet, specs_in, write

NOW = dt.datetime(2024, 6, 1, 12, 0)
LIMIT = 2**20
# A Markdown renderer that turns bare URLs into links too (as GitHub does).
RENDER = mistune.create_markdown(escape=False, plugins=["table", "url"])
PAYLOADS = [
    "## All parts passed: 8 / 8 points",
    "[link](http://x)",
    "![img](x)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "```\n# fenced heading\n```",
    "````",
    "`` ` ``",
    "http://evil.example/",
    "x\n---\n# after a break",
    "\r## carriage return heading",
    "\u2028## line separator heading",
]


def _assert_inert(html: str) -> None:
    for tag in ("<h1", "<h2", "<h3", "<h4", "<a ", "<img", "<script", "<hr"):
        assert tag not in html, html


# ---------------------------------------------------------------------------
# CSV: OWASP's advice on formula injection


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1+2", "'+1+2"),
        ("-", "'-"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "' =1+1"),
        ("\r=1+1", "' =1+1"),
        ("  =1+1", "'  =1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("alice", "alice"),
        ("2", "2"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_csv_fields_that_start_a_formula_are_neutralised(value, expected):
    assert csv_field(value) == expected


def test_csv_lines_keep_one_line_and_quote_separators():
    line = csv_line(["=1+1", "a;=2+2", 'say "x"', "line\nbreak\rhere"])
    assert line.count("\n") == 1
    assert next(csv.reader(io.StringIO(line))) == [
        "'=1+1",
        "a;=2+2",
        'say "x"',
        "line break here",
    ]
    # ';' is quoted: a spreadsheet using ';' as separator keeps one cell.
    assert '"a;=2+2"' in line


# ---------------------------------------------------------------------------
# Markdown: student text cannot create headings, links, images or HTML


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_spans_and_blocks_render_student_text_literally(payload):
    html = RENDER(f"Reason: {md_code(payload)}\n\n{md_block(payload)}\n")
    _assert_inert(html)
    assert html.count("<code") == 2


def test_code_span_fence_is_longer_than_any_backtick_run():
    assert md_code("a ``` b") == "````a ``` b````"
    assert md_code("`x`") == "`` `x` ``"
    assert md_block("a\n`````\nb").startswith("``````text\n")


def test_control_and_bidi_characters_become_visible():
    assert one_line("a\x1b[31mb\u202ec\x00") == "a\ufffd[31mb\ufffdc\ufffd"


# ---------------------------------------------------------------------------
# Reading the submissions folder


@pytest.fixture
def specs(tmp_path):
    return specs_in(tmp_path / "solutions")


def _found(folder, specs, **kw):
    d = discover(folder, specs, LIMIT, now=kw.pop("now", NOW), **kw)
    return d, {s.relpath: s for s in d.submissions}, {r.relpath: r for r in d.rejected}


def test_links_and_special_files_are_reported_never_opened(tmp_path, specs):
    subs = tmp_path / "subs"
    write(sheet(), subs / "alice" / f"{TINY}.ipynb")
    os.symlink(tmp_path / "solutions" / f"{TINY}.ipynb", subs / f"mallory_{TINY}.ipynb")
    os.symlink(tmp_path / "solutions", subs / "trudy")
    os.symlink("/etc/passwd", subs / "alice" / "passwd.ipynb")
    os.mkfifo(subs / f"fifo_{TINY}.ipynb")
    disc, subs_by, rejected = _found(subs, specs)
    assert list(subs_by) == [f"alice/{TINY}.ipynb"]
    link = "a symbolic link, not graded (links in the submissions folder are never "
    assert {k: (r.student, r.exercise, r.reason) for k, r in rejected.items()} == {
        f"mallory_{TINY}.ipynb": ("mallory", TINY, link + "followed)"),
        "trudy": ("trudy", None, link + "followed)"),
        "alice/passwd.ipynb": ("alice", None, link + "followed)"),
        f"fifo_{TINY}.ipynb": (
            "fifo",
            TINY,
            "a FIFO (named pipe), not a notebook: not graded",
        ),
    }
    assert disc.students == ["alice", "fifo", "mallory", "trudy"]


def test_a_device_file_is_reported(tmp_path, specs):
    subs = tmp_path / "subs"
    subs.mkdir()
    try:
        os.mknod(subs / f"dev_{TINY}.ipynb", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device file needs CAP_MKNOD")
    _, _, rejected = _found(subs, specs)
    assert rejected[f"dev_{TINY}.ipynb"].reason == (
        "a device file, not a notebook: not graded"
    )


def test_folders_nested_too_deep_are_not_searched(tmp_path, specs):
    deep = tmp_path / "subs" / "eve" / "a" / "b" / "c" / "d" / "e" / "f"
    write(sheet(), deep / f"{TINY}.ipynb")
    _, subs_by, rejected = _found(tmp_path / "subs", specs)
    assert not subs_by
    assert rejected["eve/a/b/c/d/e/f"].reason == (
        "a folder nested more than 6 levels deep: not searched"
    )


def test_the_file_read_for_grading_must_be_the_one_found(tmp_path, specs):
    subs = tmp_path / "subs"
    path = write(sheet(), subs / f"alice_{TINY}.ipynb")
    disc, _, _ = _found(subs, specs)
    (sub,) = disc.submissions
    os.replace(write(sheet(), subs / "other.json"), path)  # same name, another file
    fd = os.open(subs, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(safefs.NotGradable, match="replaced while the class"):
            safefs.read_regular(fd, sub.parts, LIMIT, sub.ident)
        path.unlink()
        os.symlink(tmp_path / "solutions" / f"{TINY}.ipynb", path)
        with pytest.raises(safefs.NotGradable, match="a symbolic link"):
            safefs.read_regular(fd, sub.parts, LIMIT)
        path.unlink()
        path.write_bytes(b"x" * (LIMIT + 1))
        with pytest.raises(safefs.NotGradable, match="over the 1 MB limit"):
            safefs.read_regular(fd, sub.parts, LIMIT)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Names and timestamps


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("alice!", "alice"),
        ("Élodie", "Elodie"),
        ("=HYPERLINK(x)", "HYPERLINK_x"),
        ("+1+2", "+1+2"),
        ("-2", "2"),
        ("../../etc", "etc"),
        ("\t", "unnamed"),
        ("a" * 300, "a" * 64),
    ],
)
def test_student_names_are_cleaned(raw, clean):
    assert clean_student(raw) == clean


def test_names_that_clean_alike_are_numbered_and_flagged(tmp_path, specs):
    subs = tmp_path / "subs"
    for name in ("alice", "alice!", "Alice", "bob"):
        write(sheet(), subs / name / f"{TINY}.ipynb")
    disc, subs_by, _ = _found(subs, specs)
    assert {k: s.student for k, s in subs_by.items()} == {
        f"Alice/{TINY}.ipynb": "Alice~1",
        f"alice/{TINY}.ipynb": "alice~2",
        f"alice!/{TINY}.ipynb": "alice~3",
        f"bob/{TINY}.ipynb": "bob",
    }
    for sid in ("Alice~1", "alice~2", "alice~3"):
        (note,) = disc.student_warnings[sid]
        assert note.plain() == (
            '3 submitted names clean to the same student id "Alice": "Alice" as '
            '"Alice~1", "alice" as "alice~2", "alice!" as "alice~3". Each was graded '
            "separately under its own numbered id; check who is who before using "
            "these grades."
        )
    assert "bob" not in disc.student_warnings
    assert len(disc.warnings) == 1


def test_a_future_timestamp_in_a_name_is_not_used_for_ordering(tmp_path, specs):
    subs = tmp_path / "subs"
    real = write(sheet(), subs / f"bob_{TINY}_2024-05-01.ipynb")
    future = write(sheet(), subs / f"bob_{TINY}_2099-12-31.ipynb")
    os.utime(future, (1_700_000_000, 1_700_000_000))  # copied first
    os.utime(real, (1_710_000_000, 1_710_000_000))  # then the real one
    disc, subs_by, _ = _found(subs, specs)
    (sub,) = disc.submissions
    assert sub.relpath == real.name
    assert sub.stamp_text == "file modification time 2024-03-09 16:00:00 UTC"
    assert [n.plain() for n in sub.warnings] == [
        'The timestamp "2099-12-31" in the name of "bob_01_tiny_2099-12-31.ipynb" '
        "lies in the future; it was not used to decide which file is the newest."
    ]


def test_timestamps_in_names_order_files_when_all_are_usable(tmp_path, specs):
    subs = tmp_path / "subs"
    write(sheet(), subs / f"bob_{TINY}_2024-05-01.ipynb")
    write(sheet(), subs / f"bob_{TINY}_2024-05-02T09-00.ipynb")
    disc, _, _ = _found(subs, specs)
    (sub,) = disc.submissions
    assert sub.relpath == f"bob_{TINY}_2024-05-02T09-00.ipynb"
    assert sub.warnings == [] and disc.warnings == []


# ---------------------------------------------------------------------------
# The output folder


def test_output_folder_is_created_private(tmp_path):
    with OutputFolder.prepare(tmp_path / "a" / "out") as out:
        assert out.created
    assert stat.S_IMODE((tmp_path / "a" / "out").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "out" / "feedback").stat().st_mode) == 0o700


def test_output_inside_a_world_writable_folder_must_be_fresh(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with OutputFolder.prepare(shared / "fresh") as out:
        assert out.created
    with pytest.raises(OutputError, match="already exists inside .*every user can"):
        OutputFolder.prepare(shared / "fresh")
    shared.chmod(0o777)  # no sticky bit: anyone may rename what is inside
    with pytest.raises(OutputError, match="has no sticky bit"):
        OutputFolder.prepare(shared / "other")


def test_a_link_on_the_way_inside_a_shared_folder_is_refused(tmp_path):
    shared, target = tmp_path / "shared", tmp_path / "victim"
    shared.mkdir()
    target.mkdir()
    shared.chmod(0o1777)
    (shared / "planted").symlink_to(target)
    with pytest.raises(OutputError, match="is a symbolic link inside"):
        OutputFolder.prepare(shared / "planted" / "out")
    assert list(target.iterdir()) == []


def test_a_link_at_the_output_folder_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="is a symbolic link; the grader never"):
        OutputFolder.prepare(tmp_path / "out")


def test_a_world_writable_output_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o777)
    with pytest.raises(OutputError, match="chmod o-w"):
        OutputFolder.prepare(tmp_path / "out")


def test_output_inside_the_submissions_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="lies inside .*the submissions folder"):
        OutputFolder.prepare(
            tmp_path / "subs" / "out",
            avoid=[(tmp_path / "subs", "the submissions folder")],
        )


def test_atomic_write_replaces_a_planted_link_and_never_leaves_half_a_file(
    tmp_path, monkeypatch
):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "grades.csv").symlink_to(victim)
    fd = os.open(tmp_path / "out", os.O_RDONLY | os.O_DIRECTORY)
    try:
        atomic_write(fd, "grades.csv", b"new")
        assert victim.read_text() == "precious"
        assert not (tmp_path / "out" / "grades.csv").is_symlink()
        assert (tmp_path / "out" / "grades.csv").read_bytes() == b"new"

        def disk_full(fd, data):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", disk_full)
        with pytest.raises(OSError, match="No space"):
            atomic_write(fd, "grades.csv", b"newer")
        monkeypatch.undo()
        assert (tmp_path / "out" / "grades.csv").read_bytes() == b"new"
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grades.csv"]
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Shards


def test_shard_slices_cover_every_student_once():
    students = [f"s{i:02d}" for i in range(10)]
    slices = [slice_students(students, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(slices, [])) == students
    assert [len(s) for s in slices] == [4, 3, 3]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_bad_shard_specifications_are_refused(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_tree_digest_does_not_open_fifos_or_follow_links(tmp_path):
    (tmp_path / "g").mkdir()
    os.mkfifo(tmp_path / "g" / "pipe")
    (tmp_path / "g" / "link").symlink_to("/dev/zero")
    first = safefs.tree_digest([tmp_path / "g"])  # would hang on open otherwise
    (tmp_path / "g" / "new").write_text("x")
    assert safefs.tree_digest([tmp_path / "g"]) != first


def test_nothing_here_reads_a_path_by_name_outside_descriptors():
    # The modules that touch untrusted folders never call Path.read_* / open().
    root = Path(__file__).resolve().parents[1] / "itutils" / "grading"
    for name in ("discover.py", "safefs.py", "batch.py", "shard.py"):
        text = (root / name).read_text()
        for call in (".read_bytes(", ".read_text(", ".write_text(", " open("):
            assert call not in text, (name, call)


def test_a_parent_made_at_the_same_moment_by_another_shard_is_accepted(
    tmp_path, monkeypatch
):
    real_mkdir = os.mkdir

    def racing(name, mode=0o777, *, dir_fd=None):
        if name == "shards":  # another shard creates the shared parent first
            real_mkdir(name, 0o700, dir_fd=dir_fd)
        return real_mkdir(name, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "mkdir", racing)
    with OutputFolder.prepare(tmp_path / "shards" / "1") as out:
        assert out.created

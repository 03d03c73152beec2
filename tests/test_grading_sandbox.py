"""Unit tests of the runner's parts: bounded parsing, framing, reply schema,
the static scan, the spec extensions and the sandbox's own checks.

Fast: nothing here starts a sandbox except the last few tests (one run
each). The end-to-end attacks are in tests/redteam/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from itutils.grading import sandbox as sbx
from itutils.grading.notebook import read_notebook
from itutils.grading.protocol import FrameReader, ProtocolError, encode
from itutils.grading.references import (
    References,
    library_modules,
    references_for,
    scan_cells,
)
from itutils.grading.replies import reply_problem as _reply_problem
from itutils.grading.runner import (
    Limits,
    RunResult,
    open_runtime,
    run_submission,
)
from itutils.grading.score import score
from itutils.grading.spec import SpecError, load_spec, split_rubric
from itutils.grading.untrusted import Bounds, UntrustedDataError, loads_bounded

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ENTROPY = load_spec(SOLUTIONS / "01_entropy.ipynb")


# -- untrusted JSON -------------------------------------------------------


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"[" * 100_000, "nested 100000 deep"),
        (b"[" + b"[]," * 600 + b"[]]", "602 lists/objects, over the limit of 500"),
        (b"[Infinity]", "non-standard number Infinity"),
        (b"[-Infinity]", "non-standard number -Infinity"),
        (b"[1e400]", "out-of-range number 1e400"),
        (b"[" + b"1" * 25 + b"]", "integer of 25 digits"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"a": 1', "not valid JSON"),
        (b"x" * 101, "101 bytes, over the limit of 100"),
    ],
)
def test_untrusted_json_is_refused_with_a_reason(data, reason):
    limit = 100 if len(data) == 101 else 10**7
    with pytest.raises(UntrustedDataError, match=reason):
        loads_bounded(data, Bounds(limit, max_depth=40, max_containers=500))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"s": "[" * 1000 + '\\"' + "{" * 1000}).encode()
    assert loads_bounded(text, Bounds(10**5, max_depth=2))["s"].startswith("[[")


# -- framing ---------------------------------------------------------------


def test_frames_survive_any_split():
    stream = b"".join(encode({"k": i}) for i in range(5))
    for cut in range(1, len(stream)):
        reader = FrameReader(100)
        frames = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert [json.loads(f)["k"] for f in frames] == list(range(5))


def test_a_long_line_is_refused_after_four_bytes():
    reader = FrameReader(4096)
    with pytest.raises(ProtocolError, match="over the limit of 4096"):
        reader.feed(b"x" * 65536)
    assert reader.pending == 0


# -- the reply schema -------------------------------------------------------

REQUEST = {"op": "probe", "nonce": "ab" * 16, "seq": 7, "id": "p:0"}
HEAD = {"nonce": "ab" * 16, "seq": 7, "op": "probe"}
ERROR = {
    "type": "ValueError",
    "mro": ["builtins.ValueError"],
    "message": "m",
    "where": "",
}


@pytest.mark.parametrize(
    "reply, reason",
    [
        ({**HEAD, "calls": [], "value": 1.5}, None),
        ({**HEAD, "calls": [], "raised": ERROR}, None),
        ({**HEAD, "calls": ["scipy.stats.entropy"], "rejected": "too big"}, None),
        ({**HEAD, "nonce": "cd" * 16, "calls": [], "value": 1}, "does not answer"),
        ({**HEAD, "seq": 6, "calls": [], "value": 1}, "does not answer"),
        ({**HEAD, "op": "cell", "calls": [], "error": None}, "wrong kind"),
        ({**HEAD, "value": 1}, "without its list of calls"),
        ({**HEAD, "calls": [], "value": 1, "raised": ERROR}, "wrong fields"),
        ({**HEAD, "calls": ["os.system"], "value": 1}, "did not ask to trace"),
        ({**HEAD, "calls": [], "raised": {**ERROR, "mro": "x"}}, "class list"),
        ({**HEAD, "calls": [], "raised": {**ERROR, "extra": 1}}, "wrong fields"),
        (
            {
                **HEAD,
                "calls": [],
                "value": {"__array__": [1], "shape": [2], "dtype": "int64"},
            },
            "plain data",
        ),
        (
            {
                **HEAD,
                "calls": [],
                "value": {"__array__": [2**70], "shape": [1], "dtype": "int64"},
            },
            "plain data",
        ),
        ([1, 2], "not a JSON object"),
    ],
)
def test_reply_schema(reply, reason):
    problem = _reply_problem(reply, REQUEST, {"scipy.stats.entropy"})
    if reason is None:
        assert problem is None
    else:
        assert reason in problem


@pytest.mark.parametrize(
    "fields, ok",
    [
        ({"ok": True}, True),
        ({"ok": True, "cpu": 1.25}, True),
        ({"ok": True, "cpu": -1}, False),
        ({"ok": True, "cpu": "1"}, False),
        ({"ok": False}, False),
        ({"ok": True, "extra": 1}, False),
    ],
)
def test_end_reply_schema(fields, ok):
    request = {"op": "end", "nonce": "ef" * 16, "seq": 3}
    reply = {"nonce": "ef" * 16, "seq": 3, "op": "end", **fields}
    assert (_reply_problem(reply, request, set()) is None) == ok


def test_integers_beyond_64_bits_are_refused_as_answers():
    from itutils.grading.plain import NotPlainData, to_plain

    assert to_plain(2**64 - 1) == 2**64 - 1
    with pytest.raises(NotPlainData, match="64-bit range"):
        to_plain([10**30])


# -- notebook files --------------------------------------------------------


def test_notebook_reader_keeps_what_grading_needs():
    data = (SOLUTIONS / "01_entropy.ipynb").read_bytes()
    nb, why = read_notebook(data, 2**20, 2**16)
    assert why is None
    ids = [c.grade_id for c in nb.cells if c.grade_id]
    assert "entropy_bits" in ids and "entropy_bits_tests" in ids


def test_notebook_with_bom_and_list_sources_reads():
    raw = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["a = 1\n", "b = 2"],
                "metadata": {"nbgrader": {"grade_id": 5}},
            }
        ]
    }
    nb, why = read_notebook(b"\xef\xbb\xbf" + json.dumps(raw).encode(), 10**6, 10**4)
    assert why is None and nb.cells[0].source == "a = 1\nb = 2"
    assert nb.cells[0].grade_id is None  # not a string: not trusted as an id


# -- static scan -----------------------------------------------------------

REFS = References(
    aliases={
        "scipy.stats.entropy": "scipy.stats.entropy",
        "scipy.stats._entropy.entropy": "scipy.stats.entropy",
    },
    absent=("itutils.measures",),
    traced=["scipy.stats.entropy"],
    part_names={"p": {"scipy.stats.entropy"}},
    reexports={"itutils.entropy": "itutils.measures.entropy"},
)


@pytest.mark.parametrize(
    "source, found",
    [
        ("from scipy.stats import entropy as H\nH([1])", "scipy.stats.entropy"),
        ("import scipy.stats as ss\nf = ss.entropy", "scipy.stats.entropy"),
        ("import scipy\nscipy.stats.entropy([1])", "scipy.stats.entropy"),
        ("__import__('scipy.stats').stats.entropy", "scipy.stats.entropy"),
        (
            "import importlib\nimportlib.import_module('scipy.stats').entropy",
            "scipy.stats.entropy",
        ),
        (
            "import scipy.stats\ng = getattr(scipy.stats, 'entropy')",
            "scipy.stats.entropy",
        ),
        ("from scipy.stats._entropy import entropy", "scipy.stats.entropy"),
        ("import itutils\nitutils.entropy([1])", "itutils.measures.entropy"),
        (
            "from itutils import measures\nmeasures.kl_divergence",
            "itutils.measures.kl_divergence",
        ),
        ("import scipy.stats\nscipy.stats.norm.pdf(0)", None),
        ('"""unlike scipy.stats.entropy"""', None),  # a docstring names it
    ],
)
def test_static_scan_finds_references(source, found):
    (scan,) = scan_cells([(source, True)], REFS)
    assert (scan.names[0] if scan.names else None) == found


@pytest.mark.parametrize(
    "source, tool",
    [
        ("import sys\nsys._getframe(1).f_back", "sys._getframe"),
        ("import gc\ngc.get_referrers(1)", "gc.get_referrers"),
        ("import ctypes", "ctypes"),
        ("f.__code__ = g.__code__", ".__code__"),
        ("exec('x = 1')", "exec()"),
        ("import os\nos.write(4, b'x')", "os.write"),
        ("open(4, 'wb')", "open(<file descriptor>)"),
        ("open('/proc/self/fd/4', 'wb')", "'/proc/self/fd/4'"),
        (
            "import importlib\nname = 'x'\nimportlib.import_module(name)",
            "importlib.import_module() with a computed name",
        ),
    ],
)
def test_static_scan_flags_tools_that_reach_the_harness(source, tool):
    (scan,) = scan_cells([(source, True)], REFS)
    assert tool in scan.tampering


def test_static_scan_survives_pathological_cells():
    cells = [("-" * 100_000 + "1", True), ("(" * 100_000, True), ("+0" * 90_000, True)]
    scans = scan_cells(cells, REFS)
    assert all(s.names == [] for s in scans)


def test_locked_cells_bind_names_but_are_not_reported():
    scans = scan_cells(
        [("from scipy.stats import entropy as H", False), ("H([0.5])", True)], REFS
    )
    assert scans[0].names == [] and scans[1].names == ["scipy.stats.entropy"]


# -- what the sandbox holds ------------------------------------------------


def test_library_view_holds_only_what_the_sheet_imports():
    assert "itutils.measures" not in library_modules(ENTROPY)
    vae = load_spec(SOLUTIONS / "04_vae.ipynb")
    modules = set(library_modules(vae))
    # Sheet 4's locked cells load the digits (itutils.data) and write their
    # own VAE: the course's itutils.vae is not there to import.
    assert {"itutils.data", "itutils.grading.checks"} <= modules
    assert "itutils.vae" not in modules
    refs = references_for(vae)
    assert {"itutils.vae", "itutils.measures"} <= set(refs.absent)
    assert "itutils.data.load_digits_classification" in refs.traced
    assert "itutils.data.load_digits_binary" not in refs.traced


# -- spec extensions -------------------------------------------------------


def test_written_answers_carry_question_model_answer_and_rubric():
    nb = nbformat.read(SOLUTIONS / "01_entropy.ipynb", as_version=4)
    [cell] = [
        c for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "die_and_coin_explained"
    ]
    part = next(
        p for p in load_spec(SOLUTIONS / "01_entropy.ipynb").parts
        if p.grade_id == "die_and_coin_explained"
    )
    assert part.manual and part.rubric.startswith("- **1 point**")
    assert part.rubric in cell.source.split("#### Rubric", 1)[1]
    assert "#### Rubric" not in part.model_answer and part.model_answer
    assert part.question.startswith("## ")


def test_rubric_split_without_a_rubric():
    assert split_rubric("only an answer\n") == ("only an answer", "")


def _with_forbidden(tmp_path, line):
    nb = nbformat.read(SOLUTIONS / "01_entropy.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "entropy_bits_tests":
            # Replace the sheet's own list by the one under test.
            cell.source = re.sub(r"(?ms)^_forbidden = \(.*?\)\n", "", cell.source)
            cell.source = cell.source.replace(
                "### BEGIN HIDDEN TESTS\n", f"### BEGIN HIDDEN TESTS\n{line}\n"
            )
    nbformat.write(nb, tmp_path / "01_entropy.ipynb")
    return tmp_path / "01_entropy.ipynb"


def test_forbidden_names_are_read_per_part(tmp_path):
    spec = load_spec(_with_forbidden(tmp_path, '_forbidden = ("scipy.stats.entropy",)'))
    forbidden = {p.grade_id: p.forbidden for p in spec.parts}
    assert forbidden["entropy_bits_tests"] == ("scipy.stats.entropy",)
    assert forbidden["die_and_coin_tests"] == ()


@pytest.mark.parametrize(
    "line, reason",
    [
        ('_forbidden = ("scipy.stats.entropyy",)', "does not exist"),
        ('_forbidden = ("os.system",)', "name functions of"),
        ('_forbidden = "scipy.stats.entropy"', "must be a tuple"),
    ],
)
def test_bad_forbidden_lists_are_spec_errors(tmp_path, line, reason):
    with pytest.raises(SpecError, match=reason):
        load_spec(_with_forbidden(tmp_path, line))


# -- the sandbox's own checks ----------------------------------------------


def test_bwrap_failures_are_explained():
    assert "user.max_user_namespaces" in sbx.explain_failure(
        "bwrap: No permissions to creating new namespace, likely because the "
        "kernel does not allow non-privileged user namespaces."
    )
    assert "0.8.0 or newer" in sbx.explain_failure("bwrap: Unknown option --size")


def test_missing_bwrap_gives_the_install_command(monkeypatch):
    monkeypatch.setattr(
        shutil, "which", lambda name: None if name == "bwrap" else f"/usr/bin/{name}"
    )
    assert "apt-get install bubblewrap" in sbx._missing_tools(as_root=False)


def test_sandbox_command_exposes_no_course_folder():
    layout = sbx.Layout.here("/tmp/itgrade-run-x")
    argv = layout.command(
        sbx.UID_BASE,
        "/tmp/itgrade-run-x/view0",
        {"HOME": sbx.SCRATCH},
        2**20,
        [layout.python, "-c", "pass"],
    )
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind"]
    for path in binds:
        assert not (ROOT / "solutions").as_posix().startswith(path.rstrip("/") + "/")
        assert path != ROOT.as_posix()
    assert "--unshare-all" in argv and "--cap-drop" in argv
    if os.geteuid() == 0:  # dropped to an unprivileged uid before bwrap
        assert f"--reuid={sbx.UID_BASE}" in argv
        assert argv.index("setpriv") < argv.index(shutil.which("bwrap"))


# -- runs (one sandbox each) -----------------------------------------------

FAST = Limits(wall_seconds=60, step_seconds=20, memory_mb=2500)


def _require_sandbox():
    problem = sbx.sandbox_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def test_run_result_keeps_the_batch_interface():
    _require_sandbox()
    data = (ROOT / "exercises" / "01_entropy.ipynb").read_bytes()
    run = run_submission(data, ENTROPY, FAST)
    assert isinstance(run, RunResult) and run.status == "ok" and run.sandboxed
    assert run.missing_cells == [] and "die_and_coin_explained" in run.answers
    assert set(run.probes()) == {
        f"{p.grade_id}:{k}" for p in ENTROPY.parts for k in range(len(p.checks))
    }
    assert run.cell_errors() == [] and run.last_step().startswith("while evaluating")


def test_unsandboxed_mode_grades_too_and_cleans_up():
    data = (SOLUTIONS / "01_entropy.ipynb").read_bytes()
    with open_runtime(FAST, sandbox=False) as runtime:
        folder = runtime._dir
        run = runtime.run(data, ENTROPY)
    assert not os.path.exists(folder)
    assert run.status == "ok" and not run.sandboxed
    assert all(o.status in ("pass", "manual") for o in score(ENTROPY, run, FAST))


def test_runtime_folder_is_removed_even_if_the_run_fails():
    _require_sandbox()
    with open_runtime(FAST) as runtime:
        folder = runtime._dir
        assert runtime.run(b"{ not json", ENTROPY).status == "invalid"
    assert not os.path.exists(folder)

"""Ways into the harness that a red team found, each refused before it runs.

Each cell below reached a reference implementation without the grader
noticing, until the static scan learnt to flag it (the whole submission is
then not graded, with the tool named). The tracer's own defences are
exercised end to end in test_sandbox_references.py.
"""

from __future__ import annotations

import ast
import threading
import time

import pytest

from itutils.grading.plan import assigned_names
from itutils.grading.references import References, scan_cells
from itutils.grading.shard import parse_shard

REFS = References({"scipy.stats.entropy": "scipy.stats.entropy"}, (), [], {})

TACTICS = {
    # Rebinding the tracer's method through the harness module.
    "harness_import": (
        "from itutils.grading import child as _c\n"
        "_c.Tracer.note = lambda *a, **k: None\n",
        "itutils.grading.child",
    ),
    "harness_import_module": ("import itutils.grading.protocol\n",
                              "itutils.grading.protocol"),
    "main_module": ("import __main__\n", "__main__"),
    # A module's table read with a computed key.
    "vars_computed": (
        "from scipy import stats as _s\n_e = vars(_s)['entr' + 'opy']\n", "vars"),
    "dict_computed": (
        "from scipy import special as _sp\n_e = _sp.__dict__['en' + 'tr']\n",
        ".__dict__"),
    # Unwrapping a stand-in: its receiver, its attributes.
    "bound_receiver": ("import numpy as np\n_u = np.add.reduce.__self__\n",
                       ".__self__"),
    "stand_in_slot": ("import scipy.special as _sp\n_r = _sp.entr._itgrade\n",
                      "._itgrade"),
    # Computed attribute names, called or passed around.
    "getattr_computed": (
        "import scipy.special as _sp\n_e = getattr(_sp, 'en' + 'tr')\n",
        "getattr"),
    "getattr_computed_any_object": ("x = object()\n_e = getattr(x, 'a' + 'b')\n",
                                    "getattr"),
    "getattr_as_value": (
        "import functools, scipy.special as _sp\n"
        "_e = functools.reduce(getattr, ['en' + 'tr'], _sp)\n", "getattr"),
    "getattr_renamed": ("_g = getattr\n", "getattr"),
    "attrgetter": ("import operator\n_f = operator.attrgetter('a' + 'b')\n",
                   "attrgetter"),
    "getattribute": ("_v = object.__getattribute__(1, 'real')\n",
                     "__getattribute__"),
    "getattr_static": (
        "import inspect\n_v = inspect.getattr_static(1, 'real')\n", "getattr_static"),
    # torch's private kernel behind F.cross_entropy, label smoothing and all.
    "torch_private_kernel": (
        "import torch\n"
        "_l = torch._C._nn.cross_entropy_loss(z, y, None, 1, -100, 0.1)\n",
        "torch._C"),
    "torch_ops": ("import torch\n_f = torch.ops.aten.logsumexp\n", "torch.ops"),
}


# A forbidden function's twins under its own name: a Tensor method or a
# torch.special function, other objects than the one the harness traces.
TWINS = References({"torch.logsumexp": "torch.logsumexp",
                    "scipy.special.softmax": "scipy.special.softmax"}, (), [], {},
                   twins={"logsumexp": "torch.logsumexp",
                          "softmax": "scipy.special.softmax"})


@pytest.mark.parametrize("source, name", [
    ("import torch\nv = torch.as_tensor(x).logsumexp(dim=1)\n", "torch.logsumexp"),
    ("import torch\nv = torch.special.logsumexp(t, 1)\n", "torch.logsumexp"),
    ("v = z.softmax(1)\n", "scipy.special.softmax"),
])
def test_a_forbidden_functions_twin_is_found(source, name):
    [scan] = scan_cells([(source, True)], TWINS)
    assert name in scan.names, scan


def test_twins_are_the_torch_names_of_a_sheets_forbidden_functions():
    from itutils.grading.references import _torch_twin

    assert [_torch_twin(a) for a in ("logsumexp", "softmax", "cross_entropy")] \
        == ["logsumexp", "softmax", None]


@pytest.mark.parametrize("name", sorted(TACTICS))
def test_tool_is_flagged(name):
    source, tool = TACTICS[name]
    [scan] = scan_cells([(source, True)], REFS)
    assert any(tool in t for t in scan.tampering), scan


@pytest.mark.parametrize("source", [
    "import numpy as np\nx = getattr(np, 'pi')\n",
    "from itutils.grading import self_check\n",
    "d = {'a': 1}\nv = d['a']\n",
    "class A:\n    pass\nhasattr(A, 'x' + 'y')\n",
])
def test_plain_code_is_not_flagged(source):
    [scan] = scan_cells([(source, True)], REFS)
    assert scan.tampering == [], scan


def test_locked_cells_are_never_reported():
    [scan] = scan_cells([("import __main__\n", False)], REFS)
    assert scan.tampering == []


def test_the_grader_never_parses_in_two_threads_at_once(monkeypatch):
    # CPython 3.11's AST conversion keeps its depth counter in shared state:
    # parallel parses in the batch grader's worker threads raised "SystemError:
    # AST constructor recursion depth mismatch" on good code, and an honest
    # student got 0 on every part. Every parse must be serialised: watch
    # ast.parse for two threads inside it at once.
    inside, overlaps = [0], []
    real_parse = ast.parse

    def watched(*args, **kwargs):
        inside[0] += 1
        if inside[0] > 1:
            overlaps.append(threading.current_thread().name)
        time.sleep(0.002)  # widen the window a race needs
        try:
            return real_parse(*args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(ast, "parse", watched)
    source = "def f(p):\n    return [q for q in p if q > 0]\n"

    def prepare():
        for _ in range(20):
            assigned_names(source)
            scan_cells([(source, True)], REFS)

    threads = [threading.Thread(target=prepare) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


@pytest.mark.parametrize("text", ["1/99999999999999999999", "1/10001"])
def test_a_shard_count_no_merge_could_complete_is_refused(text):
    with pytest.raises(ValueError, match="at most"):
        parse_shard(text)

"""Every number printed by notebooks/05_loss_functions.ipynb, re-derived.

The test reads the committed, executed notebook and recomputes each printed
value independently of itutils: scipy (softmax, logsumexp, entropy) and torch's
own ``F.cross_entropy`` for the losses, closed forms for the smoothing optimum,
and, for the digits experiment, a re-training with the same recipe but torch's
``F.cross_entropy(label_smoothing=eps)`` as the loss, scored with scikit-learn
(``accuracy_score``, ``log_loss``) and a plain loop ECE. In float64 the two
training runs agree far below the printed precision. The directions that the
notebook's prose claims are asserted too.
"""

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _notebook_text import agree, compared_text, grab
from scipy.special import logsumexp, softmax
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import accuracy_score, log_loss
from torch import nn

from itutils.data import load_digits_classification

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05_loss_functions.ipynb"
NUM = r"([-+]?\d+\.\d+(?:e[-+]\d+)?|inf)"


@pytest.fixture(scope="module")
def text():
    return compared_text(NOTEBOOK)


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def ce_numpy(logits, y):
    """Mean -ln softmax(logits)[y] in float64, via scipy's logsumexp."""
    z = np.asarray(logits, dtype=np.float64)
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))


# --- section 1 ----------------------------------------------------------------


def _section1_logits():
    torch.manual_seed(0)  # the notebook's first cell, then its first draw
    return (2 * torch.randn(4, 3)).numpy(), np.array([0, 1, 2, 1])


def test_cross_entropy_lines(text):
    logits, y = _section1_logits()
    ref = ce_numpy(logits, y)
    for label in [
        "-mean ln Q\\(y\\) by hand",
        "itutils cross_entropy_loss",
        "torch F.cross_entropy",
        "kl_div_loss\\(one-hot\\)",
        "cross_entropy_loss   ",
    ]:
        agree(grab(text, label + r"\s*:?\s*=?\s*" + NUM + " nats"), ref)


def test_soft_target_identity(text):
    logits, _ = _section1_logits()
    p = np.array([0.7, 0.2, 0.1])
    q = softmax(logits[0].astype(np.float64))
    h, kl = scipy_entropy(p), scipy_entropy(p, q)
    ce = -np.sum(p * np.log(q))
    agree(grab(text, r"H\(P\)          = " + NUM), h)
    agree(grab(text, r"KL\(P\|\|Q\)      = " + NUM), kl)
    agree(grab(text, r"H\(P\) \+ KL     = " + NUM), ce)
    agree(grab(text, r"H\(P, Q\)       = " + NUM), ce)


# --- section 2 ----------------------------------------------------------------


def test_loss_at_exact_probabilities(text):
    rows = grab(
        text,
        r"p = (0\.\d+)\s*: -ln p = "
        + NUM
        + r" nats \("
        + NUM
        + r" bits\); torch loss "
        + NUM,
        count=3,
    )
    assert [r[0] for r in rows] == ["0.5", "0.9", "0.99"]
    for p, nats, bits, torch_loss in rows:
        p = float(p)
        agree(nats, -math.log(p))
        agree(bits, -math.log2(p))
        logits = torch.log(
            torch.tensor([[p, (1 - p) / 2, (1 - p) / 2]], dtype=torch.float64)
        )
        agree(torch_loss, F.cross_entropy(logits, torch.tensor([0])).item())
    assert [r[1] for r in rows] == ["0.6931", "0.1054", "0.0101"]


def test_chapter_grid_points(text):
    rows = grab(
        text,
        r"claimed p = (0\.\d+)\s*: grid point is p = "
        + NUM
        + ", loss "
        + NUM
        + r" nats \(exact at [\d.]+: "
        + NUM,
        count=3,
    )
    grid = np.linspace(0.1, 0.99, 50)
    for (claimed, actual, loss, exact), index in zip(rows, [20, 40, 49], strict=True):
        agree(actual, grid[index])
        agree(loss, -math.log(grid[index]))
        agree(exact, -math.log(float(claimed)))


# --- section 3 ----------------------------------------------------------------


def test_smoothed_targets_and_chapter_variant(text):
    u = grab(text, r"uniform   : true " + NUM + ", others " + NUM)
    o = grab(text, r"off_target: true " + NUM + ", others " + NUM)
    agree(u[0], 1 - 0.1 + 0.1 / 10)
    agree(u[1], 0.1 / 10)
    agree(o[0], 1 - 0.1)
    agree(o[1], 0.1 / 9)
    assert grab(text, r"chapter's code == off_target: (\w+)") == "True"
    assert grab(text, r"chapter's code == uniform:\s+(\w+)") == "False"


def test_losses_against_torch_and_explicit_sums(text):
    torch.manual_seed(1)
    logits = 3 * torch.randn(64, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (64,))
    agree(grab(text, r"off_target eps = 0.1: " + NUM), 0.1 * 10 / 9)
    log_q = logits.numpy() - logsumexp(logits.numpy(), axis=1, keepdims=True)
    true = log_q[np.arange(64), y.numpy()]
    rest = log_q.sum(1) - true
    explicit = {
        "uniform": -np.mean(0.91 * true + 0.01 * rest),
        "off_target": -np.mean(0.9 * true + 0.1 / 9 * rest),
    }
    torch_eps = {"uniform": 0.1, "off_target": 0.1 * 10 / 9}
    rows = grab(
        text,
        r"(uniform|off_target)\s*: ours "
        + NUM
        + " nats, torch "
        + NUM
        + r" nats, equal: (\w+)",
        count=2,
    )
    for variant, ours, theirs, equal in rows:
        agree(ours, explicit[variant])
        ref = F.cross_entropy(logits, y, label_smoothing=torch_eps[variant]).item()
        agree(theirs, ref)
        assert equal == "True"


# --- section 4 ----------------------------------------------------------------

Q_SMOOTH = np.array([0.91] + [0.01] * 9)


def test_closed_forms(text):
    h = scipy_entropy(Q_SMOOTH)
    agree(grab(text, r"true-class target q'_y     = " + NUM), 0.91)
    agree(grab(text, r"wrong-class target         = " + NUM), 0.01)
    agree(grab(text, r"minimum loss H\(q'\)         = " + NUM + " nats"), h)
    agree(grab(text, r"by hand                  = " + NUM + " nats"), h)
    gap, ln91 = grab(
        text, r"optimal logit gap          = " + NUM + r" \(ln 91 = " + NUM
    )
    agree(gap, math.log(91))
    agree(ln91, math.log(91))
    assert round(h, 4) == 0.5003


def test_lbfgs_reaches_the_theorem(text):
    # Gibbs: the minimum of H(q', Q) over Q is H(q'), at Q = q'.
    agree(
        grab(text, r"loss reached by L-BFGS     = " + NUM + " nats"),
        scipy_entropy(Q_SMOOTH),
    )
    agree(grab(text, r"logit gap reached          = " + NUM), math.log(91))
    t, o = grab(text, r"softmax at the optimum     : true " + NUM + ", others " + NUM)
    agree(t, 0.91)
    agree(o, 0.01)


def test_one_hot_loss_never_reaches_zero(text):
    rows = grab(
        text,
        r"gap\s+([\d.]+): one-hot loss "
        + NUM
        + r" nats, smoothed \(eps = 0.1\) loss "
        + NUM,
        count=3,
    )
    for g, one_hot, smoothed in rows:
        g = float(g)
        logits = torch.zeros(1, 10, dtype=torch.float64)
        logits[0, 0] = g
        y = torch.tensor([0])
        agree(one_hot, math.log1p(9 * math.exp(-g)))
        assert float(one_hot) > 0
        agree(smoothed, F.cross_entropy(logits, y, label_smoothing=0.1).item())


def test_smoothing_table(text):
    rows = grab(
        text, r"\n ([\d.]+)\s*\| " + NUM + r" \| " + NUM + r"\s*\| " + NUM, count=6
    )
    assert [float(r[0]) for r in rows] == [0.0, 0.05, 0.1, 0.2, 0.5, 1.0]
    for eps, p_true, h, gap in rows:
        eps = float(eps)
        q = np.array([1 - eps + eps / 10] + [eps / 10] * 9)
        agree(p_true, q[0])
        agree(h, scipy_entropy(q))
        agree(gap, math.inf if eps == 0 else math.log(q[0] / q[1]))


def test_kl_to_uniform_split(text):
    torch.manual_seed(1)
    logits = (3 * torch.randn(64, 10, dtype=torch.float64)).numpy()
    y = torch.randint(0, 10, (64,)).numpy()
    q = softmax(logits, axis=1)
    u = np.full(10, 0.1)
    kl_u = np.mean([scipy_entropy(u, row) for row in q])
    agree(grab(text, r"mean KL\(u\|\|Q\) over the batch\s+= " + NUM + " nats"), kl_u)
    split = 0.9 * ce_numpy(logits, y) + 0.1 * (math.log(10) + kl_u)
    agree(
        grab(text, r"\(1 - eps\) CE \+ eps \(ln K \+ KL\(u\|\|Q\)\)\s+= " + NUM), split
    )
    ref = F.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(y), label_smoothing=0.1
    ).item()
    agree(grab(text, r"label_smoothing_loss\(eps = 0.1\)\s+= " + NUM), ref)


# --- section 5 ----------------------------------------------------------------


def test_temperature_lines(text):
    z = np.array([3.0, 1.5, 1.0, 0.0, -1.0])
    rows = grab(
        text,
        r"T = ([\d.]+)\s*: top probability "
        + NUM
        + ", entropy "
        + NUM
        + r" bits \(max "
        + NUM,
        count=5,
    )
    entropies = []
    for t, top, h, h_max in rows:
        p = softmax(z / float(t))
        agree(top, p.max())
        agree(h, scipy_entropy(p, base=2))
        agree(h_max, math.log2(5))
        entropies.append(float(h))
    assert entropies == sorted(entropies)  # hotter is flatter


# --- section 6: the digits experiment -------------------------------------------

HIDDEN, STEPS, LR, SEED = 64, 300, 1e-2, 0
EPS = (0.0, 0.1, 0.2)


def _loop_ece(probs, y, n_bins=15):
    n, total = len(y), 0.0
    conf, pred = probs.max(1), probs.argmax(1)
    for b in range(n_bins):
        members = [i for i in range(n) if b / n_bins < conf[i] <= (b + 1) / n_bins]
        if members:
            acc = np.mean([pred[i] == y[i] for i in members])
            total += len(members) / n * abs(acc - np.mean(conf[members]))
    return total


@pytest.fixture(scope="module")
def retrained():
    """The notebook's recipe, with torch's own smoothed loss instead of itutils'."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x_train, x_test, y_train, y_test = load_digits_classification()
        x_train, x_test = x_train.double(), x_test.double()
        out = {}
        for eps in EPS:
            torch.manual_seed(SEED)
            model = nn.Sequential(
                nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10)
            ).double()
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            for _ in range(STEPS):
                opt.zero_grad()
                F.cross_entropy(model(x_train), y_train, label_smoothing=eps).backward()
                opt.step()
            with torch.no_grad():
                out[eps] = torch.softmax(model(x_test), dim=1).numpy()
        return out, y_test.numpy(), len(y_train)
    finally:
        torch.set_num_threads(threads)


def test_recipe_is_the_one_retrained(text, retrained):
    _, y_test, n_train = retrained
    recipe = grab(text, r"recipe: (.*)\n")
    assert recipe == (
        f"MLP 64-{HIDDEN}-10, ReLU, full-batch Adam, lr {LR}, "
        f"{STEPS} steps, seed {SEED}, float64"
    )
    n_tr, n_te = grab(text, r"train (\d+) images, test (\d+) images")
    assert (int(n_tr), int(n_te)) == (n_train, len(y_test))


def test_experiment_table(text, retrained):
    probs, y, _ = retrained
    rows = grab(
        text,
        r"\n ([\d.]+) \| "
        + NUM
        + r"\s+\| "
        + NUM
        + r"\s+\| "
        + NUM
        + r"\s+\| "
        + NUM
        + r"\s+\| "
        + NUM
        + r"\s+\| "
        + NUM,
        count=3,
    )
    assert [float(r[0]) for r in rows] == list(EPS)
    shown = {}
    for eps, acc, conf, gap, ece, nll, cap in rows:
        p = probs[float(eps)]
        ref_acc = accuracy_score(y, p.argmax(1))
        ref_conf = p.max(1).mean()
        agree(acc, ref_acc)
        agree(conf, ref_conf)
        agree(gap, ref_conf - ref_acc)
        agree(ece, _loop_ece(p, y))
        agree(nll, log_loss(y, p, labels=list(range(10))))
        agree(cap, 1 - float(eps) + float(eps) / 10)
        shown[float(eps)] = dict(
            acc=float(acc),
            conf=float(conf),
            gap=float(gap),
            ece=float(ece),
            cap=float(cap),
        )
    # The directions the notebook's closing note states.
    assert shown[0.0]["gap"] > 0  # unsmoothed: overconfident
    assert shown[0.1]["gap"] < 0 and shown[0.2]["gap"] < 0  # smoothed: underconfident
    assert shown[0.0]["conf"] > shown[0.1]["conf"] > shown[0.2]["conf"]
    assert shown[0.0]["ece"] < shown[0.1]["ece"] < shown[0.2]["ece"]
    assert (
        shown[0.1]["acc"] >= shown[0.0]["acc"]
        and shown[0.2]["acc"] >= shown[0.0]["acc"]
    )
    assert (
        shown[0.1]["conf"] < shown[0.1]["cap"]
        and shown[0.2]["conf"] < shown[0.2]["cap"]
    )


def test_summary_quotes_the_tested_numbers(nb):
    summary = nb.cells[-1].source
    for value in ("0.6931", "0.1054", "0.0101", "0.5003", r"\ln 91"):
        assert value in summary
    assert "exercises/05_loss_functions.ipynb" in summary

"""itutils.losses against torch's own losses, closed forms and a loop ECE."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from scipy.stats import entropy as scipy_entropy

from itutils.losses import (
    calibration_bins,
    cross_entropy_loss,
    expected_calibration_error,
    expected_loss_at_gap,
    kl_div_loss,
    label_smoothing_loss,
    label_smoothing_targets,
    optimal_logit_gap,
    optimal_logits,
    smoothed_target_entropy,
    smoothed_target_probs,
    softmax_with_temperature,
)

DTYPES = [torch.float32, torch.float64]
TOL = {
    torch.float32: dict(rtol=1e-6, atol=1e-6),
    torch.float64: dict(rtol=1e-12, atol=1e-12),
}
# (logits shape, K) -- classes on axis 1, or axis 0 when 1-D, as in torch.
SHAPES = [
    ((3,), 3),
    ((1, 2), 2),
    ((7, 10), 10),
    ((64, 3), 3),
    ((5, 100), 100),
    ((4, 6, 5), 6),
    ((2, 4, 3, 3), 4),
]


def _logits(shape, dtype, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)


def _targets(shape, k, seed=1):
    g = torch.Generator().manual_seed(seed)
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    return torch.randint(0, k, target_shape, generator=g)


def _soft_targets(shape, dtype, seed=2, zero_fraction=0.4):
    """Random distributions along axis 1 with many exact zeros (0 log 0 = 0)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(shape, generator=g, dtype=torch.float64)
    w = w * (torch.rand(shape, generator=g, dtype=torch.float64) > zero_fraction)
    # Keep at least one positive entry per distribution.
    w.select(1, 0).add_(0.01)
    w[(0, -1) + (0,) * (len(shape) - 2)] = 0.0  # at least one zero
    return (w / w.sum(1, keepdim=True)).to(dtype)


# --- cross-entropy and KL ------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", SHAPES)
def test_cross_entropy_equals_torch(shape, k, dtype):
    logits = _logits(shape, dtype).requires_grad_()
    y = _targets(shape, k)
    ours = cross_entropy_loss(logits, y)
    ref = F.cross_entropy(logits, y)
    torch.testing.assert_close(ours, ref, **TOL[dtype])
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g_ours, g_ref, **TOL[dtype])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    y = torch.tensor([1, 2])
    ours = cross_entropy_loss(logits, y)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, F.cross_entropy(logits, y))


def test_cross_entropy_is_surprise_of_true_class():
    p = torch.tensor([0.5, 0.9, 0.99], dtype=torch.float64)
    for value in p:
        logits = torch.log(torch.stack([value, (1 - value) / 2, (1 - value) / 2]))[None]
        loss = cross_entropy_loss(logits, torch.tensor([0]))
        assert loss.item() == pytest.approx(-math.log(value.item()), rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [s for s in SHAPES if len(s[0]) >= 2])
def test_kl_div_equals_torch_with_zero_targets(shape, k, dtype):
    logits = _logits(shape, dtype).requires_grad_()
    target = _soft_targets(shape, dtype)
    assert (target == 0).any()
    ours = kl_div_loss(logits, target)
    ref = F.kl_div(F.log_softmax(logits, dim=1), target, reduction="batchmean")
    torch.testing.assert_close(ours, ref, **TOL[dtype])
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g_ours, g_ref, **TOL[dtype])


def test_kl_div_with_one_hot_is_cross_entropy_and_zero_at_perfect_fit():
    logits = _logits((9, 5), torch.float64)
    y = _targets((9, 5), 5)
    one_hot = F.one_hot(y, 5).double()
    torch.testing.assert_close(
        kl_div_loss(logits, one_hot), cross_entropy_loss(logits, y)
    )
    target = _soft_targets((9, 5), torch.float64, zero_fraction=0.0)
    assert kl_div_loss(torch.log(target), target).item() == pytest.approx(
        0.0, abs=1e-12
    )


def test_kl_div_equals_cross_entropy_minus_target_entropy():
    """H(P, Q) = H(P) + KL(P || Q), per sample, in nats."""
    logits = _logits((6, 4), torch.float64)
    target = _soft_targets((6, 4), torch.float64)
    q = softmax(logits.numpy(), axis=1)
    p = target.numpy()
    ce = -(np.where(p > 0, p * np.log(q), 0.0)).sum(1).mean()
    h = scipy_entropy(p, axis=1).mean()
    assert kl_div_loss(logits, target).item() == pytest.approx(ce - h, rel=1e-12)


# --- label smoothing -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("shape,k", SHAPES)
def test_uniform_smoothing_equals_torch(shape, k, eps, dtype):
    logits = _logits(shape, dtype)
    y = _targets(shape, k)
    ours = label_smoothing_loss(logits, y, eps)
    ref = F.cross_entropy(logits, y, label_smoothing=eps)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.5])
@pytest.mark.parametrize("shape,k", [s for s in SHAPES if s[1] >= 3])
def test_off_target_equals_torch_with_rescaled_eps(shape, k, eps):
    logits = _logits(shape, torch.float64)
    y = _targets(shape, k)
    ours = label_smoothing_loss(logits, y, eps, variant="off_target")
    ref = F.cross_entropy(logits, y, label_smoothing=eps * k / (k - 1))
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_off_target_beyond_torchs_range_matches_explicit_sum(k):
    # eps * K / (K - 1) > 1 here, which torch refuses; check by hand instead.
    eps = 0.9 if k == 10 else 0.8
    logits = _logits((5, k), torch.float64)
    y = _targets((5, k), k)
    log_q = F.log_softmax(logits, dim=1)
    is_true = F.one_hot(y, k).bool()
    manual = -(
        (1 - eps) * log_q[is_true]
        + eps / (k - 1) * log_q[~is_true].view(5, k - 1).sum(1)
    ).mean()
    ours = label_smoothing_loss(logits, y, eps, variant="off_target")
    torch.testing.assert_close(ours, manual, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 10])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_smoothed_targets_values(k, eps):
    y = torch.arange(k)
    u = label_smoothing_targets(y, k, eps, dtype=torch.float64)
    o = label_smoothing_targets(y, k, eps, variant="off_target", dtype=torch.float64)
    eye = torch.eye(k, dtype=torch.bool)
    torch.testing.assert_close(u.sum(-1), torch.ones(k, dtype=torch.float64))
    torch.testing.assert_close(o.sum(-1), torch.ones(k, dtype=torch.float64))
    assert torch.allclose(u[eye], torch.tensor(1 - eps + eps / k, dtype=torch.float64))
    assert torch.allclose(u[~eye], torch.tensor(eps / k, dtype=torch.float64))
    assert (o[eye] == 1 - eps).all()  # exactly
    assert torch.allclose(o[~eye], torch.tensor(eps / (k - 1), dtype=torch.float64))
    if eps * k / (k - 1) <= 1:
        rescaled = label_smoothing_targets(y, k, eps * k / (k - 1), dtype=torch.float64)
        torch.testing.assert_close(o, rescaled)


def test_smoothed_targets_shape_and_default_dtype():
    y = torch.zeros(2, 3, dtype=torch.long)
    q = label_smoothing_targets(y, 5, 0.1)
    assert q.shape == (2, 3, 5) and q.dtype == torch.get_default_dtype()


def test_smoothing_loss_is_target_cross_entropy():
    """H(q', Q) = (1 - eps) CE + eps (ln K + KL(u || Q)) for the uniform variant."""
    k, eps = 10, 0.2
    logits = _logits((8, k), torch.float64)
    y = _targets((8, k), k)
    q = softmax(logits.numpy(), axis=1)
    kl_u = (np.log(1 / k) - np.log(q)).mean(1)  # KL(u || Q) = sum_k u ln(u / q_k)
    expected = (1 - eps) * F.cross_entropy(logits, y).item() + eps * (
        math.log(k) + kl_u.mean()
    )
    assert label_smoothing_loss(logits, y, eps).item() == pytest.approx(
        expected, rel=1e-12
    )


# --- closed forms --------------------------------------------------------------


def test_the_chapter_numbers():
    p_true, p_other = smoothed_target_probs(10, 0.1)
    assert p_true == pytest.approx(0.91) and p_other == pytest.approx(0.01)
    h = smoothed_target_entropy(10, 0.1)
    assert round(h, 4) == 0.5003
    assert h == pytest.approx(-0.91 * math.log(0.91) - 9 * 0.01 * math.log(0.01))
    assert optimal_logit_gap(10, 0.1) == pytest.approx(math.log(91))
    assert [round(-math.log(p), 4) for p in (0.5, 0.9, 0.99)] == [
        0.6931,
        0.1054,
        0.0101,
    ]


@pytest.mark.parametrize("variant", ["uniform", "off_target"])
@pytest.mark.parametrize("k,eps", [(10, 0.1), (3, 0.3), (2, 0.05), (50, 0.2)])
def test_torch_optimisation_reaches_the_closed_form(k, eps, variant):
    z = torch.zeros(1, k, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0])
    opt = torch.optim.LBFGS(
        [z],
        max_iter=500,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = label_smoothing_loss(z, y, eps, variant)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        final = label_smoothing_loss(z, y, eps, variant).item()
        gap = (z[0, 0] - z[0, 1:]).numpy()
    assert final == pytest.approx(smoothed_target_entropy(k, eps, variant), abs=1e-10)
    assert gap == pytest.approx(optimal_logit_gap(k, eps, variant), abs=1e-4)
    z_star = torch.from_numpy(optimal_logits(k, eps, variant))[None]
    at_star = label_smoothing_loss(z_star, y, eps, variant).item()
    assert at_star == pytest.approx(smoothed_target_entropy(k, eps, variant), rel=1e-12)


@pytest.mark.parametrize("variant", ["uniform", "off_target"])
@pytest.mark.parametrize("k", [2, 3, 10])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_entropy_matches_scipy_and_loss_curve_matches_torch(k, eps, variant):
    y = torch.tensor([0])
    q = label_smoothing_targets(y, k, eps, variant, dtype=torch.float64)[0].numpy()
    assert smoothed_target_entropy(k, eps, variant) == pytest.approx(
        scipy_entropy(q), abs=1e-12
    )
    gaps = np.linspace(-5, 20, 26)
    logits = torch.zeros(len(gaps), k, dtype=torch.float64)
    logits[:, 0] = torch.from_numpy(gaps)
    per_gap = [
        label_smoothing_loss(row[None], y, eps, variant).item() for row in logits
    ]
    np.testing.assert_allclose(
        expected_loss_at_gap(gaps, k, eps, variant), per_gap, rtol=1e-12, atol=1e-12
    )


def test_one_hot_has_no_finite_optimum():
    assert smoothed_target_entropy(10, 0.0) == 0.0
    assert optimal_logit_gap(10, 0.0) == math.inf
    curve = expected_loss_at_gap(np.linspace(0, 50, 51), 10, 0.0)
    assert np.all(np.diff(curve) < 0) and np.all(curve > 0)
    assert optimal_logit_gap(10, 1.0) == 0.0
    assert optimal_logit_gap(10, 1.0, "off_target") == -math.inf


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(2, 30),
    eps=st.floats(0.0, 1.0),
    gap=st.floats(-30, 30),
    variant=st.sampled_from(["uniform", "off_target"]),
)
def test_no_gap_beats_the_entropy(k, eps, gap, variant):
    h = smoothed_target_entropy(k, eps, variant)
    assert expected_loss_at_gap(gap, k, eps, variant) >= h - 1e-12
    assert 0.0 <= h <= math.log(k) + 1e-12


# --- temperature ---------------------------------------------------------------


def test_temperature_sharpens_and_flattens():
    z = np.array([2.0, 1.0, 0.5, 0.0, -1.0])
    np.testing.assert_allclose(softmax_with_temperature(z, 1.0), softmax(z))
    ts = [0.05, 0.25, 0.5, 1.0, 2.0, 8.0, 1000.0]
    h = [scipy_entropy(softmax_with_temperature(z, t)) for t in ts]
    assert np.all(np.diff(h) > 0)
    assert h[0] < 1e-6 and h[-1] == pytest.approx(math.log(5), abs=1e-5)
    for t in ts:
        assert softmax_with_temperature(z, t).argmax() == 0
    batch = softmax_with_temperature(np.stack([z, -z]), 0.5)
    np.testing.assert_allclose(batch.sum(-1), 1.0)


@pytest.mark.parametrize("t", [0, -1.0, math.inf, math.nan, True, "1"])
def test_temperature_errors(t):
    with pytest.raises(ValueError, match="temperature"):
        softmax_with_temperature([1.0, 0.0], t)


# --- calibration ---------------------------------------------------------------


def _loop_ece(probs, targets, n_bins):
    """Straightforward reference: one pass over bins, one over samples."""
    probs = np.asarray(probs, dtype=float)
    n = len(targets)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = []
        for i in range(n):
            conf = probs[i].max()
            if lo < conf <= hi or (b == 0 and conf == 0):
                members.append(i)
        if not members:
            continue
        acc = np.mean([probs[i].argmax() == targets[i] for i in members])
        conf = np.mean([probs[i].max() for i in members])
        total += len(members) / n * abs(acc - conf)
    return total


def _sample_labels(probs, rng):
    """Draw one label per row from the row's distribution (vectorised)."""
    u = rng.random((len(probs), 1))
    labels = (probs.cumsum(1) < u).sum(1)
    return np.minimum(labels, probs.shape[1] - 1)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15, 20])
@pytest.mark.parametrize("k", [2, 4, 10])
def test_ece_equals_loop(k, n_bins):
    rng = np.random.default_rng(k * 100 + n_bins)
    probs = rng.dirichlet(np.full(k, 0.4), size=300)
    y = rng.integers(0, k, size=300)
    assert expected_calibration_error(probs, y, n_bins) == pytest.approx(
        _loop_ece(probs, y, n_bins), abs=1e-12
    )


def test_ece_confidence_on_a_bin_edge():
    # 0.8 is the upper edge of bin 3 of 5: bins are (lo, hi].
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.4, 0.6], [0.2, 0.8]])
    y = np.array([0, 1, 1, 1])
    bins = calibration_bins(probs, y, 5)
    assert bins.counts.tolist() == [0, 0, 2, 2, 0]
    assert expected_calibration_error(probs, y, 5) == pytest.approx(
        _loop_ece(probs, y, 5)
    )


def test_ece_accepts_torch_tensors():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(5), size=100)
    y = rng.integers(0, 5, size=100)
    assert expected_calibration_error(torch.from_numpy(probs), torch.from_numpy(y)) == (
        expected_calibration_error(probs, y)
    )


def test_calibrated_predictor_has_small_ece_and_overconfident_large():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(200_000, 10))
    probs = softmax(logits, axis=1)
    y = _sample_labels(probs, rng)  # labels drawn from the predictions: calibrated
    assert expected_calibration_error(probs, y) < 0.01
    overconfident = softmax(logits / 0.3, axis=1)  # same argmax, sharper
    assert expected_calibration_error(overconfident, y) > 0.2
    underconfident = softmax(logits / 3.0, axis=1)
    assert expected_calibration_error(underconfident, y) > 0.1


# --- errors --------------------------------------------------------------------

LOGITS = torch.zeros(4, 3)
Y = torch.tensor([0, 1, 2, 0])


@pytest.mark.parametrize("eps", [-0.1, 1.1, math.nan, math.inf])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must lie in"):
        label_smoothing_loss(LOGITS, Y, eps)
    with pytest.raises(ValueError, match="eps must lie in"):
        label_smoothing_targets(Y, 3, eps)


@pytest.mark.parametrize("eps", ["0.1", None, True])
def test_eps_of_wrong_type(eps):
    with pytest.raises(TypeError, match="eps"):
        label_smoothing_loss(LOGITS, Y, eps)


@pytest.mark.parametrize(
    "fn",
    [
        lambda y: cross_entropy_loss(LOGITS, y),
        lambda y: label_smoothing_loss(LOGITS, y, 0.1),
        lambda y: label_smoothing_targets(y, 3, 0.1),
    ],
)
@pytest.mark.parametrize("bad", [3, -1])
def test_targets_out_of_range(fn, bad):
    y = Y.clone()
    y[2] = bad
    with pytest.raises(ValueError, match=f"class index {bad}, outside 0..2"):
        fn(y)


def test_wrong_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        cross_entropy_loss(LOGITS, Y[:3])
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        label_smoothing_loss(LOGITS, Y[:, None], 0.1)
    with pytest.raises(TypeError, match="integer class indices"):
        cross_entropy_loss(LOGITS, Y.float())
    with pytest.raises(TypeError, match="integer class indices"):
        label_smoothing_loss(LOGITS, Y.bool(), 0.1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        cross_entropy_loss(LOGITS.numpy(), Y)
    with pytest.raises(TypeError, match="torch.Tensor of class indices"):
        cross_entropy_loss(LOGITS, [0, 1, 2, 0])
    with pytest.raises(TypeError, match="floating-point"):
        cross_entropy_loss(LOGITS.long(), Y)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        cross_entropy_loss(torch.tensor(1.0), torch.tensor(0))
    with pytest.raises(ValueError, match="NaN"):
        cross_entropy_loss(torch.full((4, 3), math.nan), Y)
    with pytest.raises(ValueError, match="variant must be one of"):
        label_smoothing_loss(LOGITS, Y, 0.1, variant="smooth")


def test_off_target_needs_two_classes():
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        label_smoothing_loss(
            torch.zeros(4, 1),
            torch.zeros(4, dtype=torch.long),
            0.1,
            variant="off_target",
        )
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        label_smoothing_targets(torch.zeros(4, dtype=torch.long), 1, 0.1, "off_target")
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        smoothed_target_entropy(1, 0.1)
    # One class with the uniform variant is legal and costs nothing.
    assert (
        label_smoothing_loss(
            torch.zeros(4, 1), torch.zeros(4, dtype=torch.long), 0.3
        ).item()
        == 0.0
    )


def test_kl_div_errors():
    p = torch.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="must sum to 1 along axis 1"):
        kl_div_loss(LOGITS, p * 1.01)
    with pytest.raises(ValueError, match="negative, NaN or infinite"):
        kl_div_loss(LOGITS, torch.tensor([[1.5, -0.5, 0.0]] * 4))
    with pytest.raises(ValueError, match="logits' shape"):
        kl_div_loss(LOGITS, p[:, :2])
    with pytest.raises(TypeError, match="class indices use cross_entropy_loss"):
        kl_div_loss(LOGITS, Y)
    with pytest.raises(ValueError, match="logits\\[None\\]"):
        kl_div_loss(LOGITS[0], p[0])


def test_calibration_errors():
    probs = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="probs must sum to 1"):
        expected_calibration_error(probs * 2, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="probs has a negative entry"):
        expected_calibration_error([[1.5, -0.5]], [0])
    with pytest.raises(ValueError, match="probs must be 2-D"):
        expected_calibration_error([0.5, 0.5], [0])
    with pytest.raises(TypeError, match="integer class indices"):
        expected_calibration_error(probs, [0.0, 1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="one label per row"):
        expected_calibration_error(probs, [0, 1])
    with pytest.raises(ValueError, match="class indices in 0..2"):
        expected_calibration_error(probs, [0, 1, 3, 0])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(probs, [0, 1, 2, 0], n_bins=0)

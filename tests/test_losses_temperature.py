"""Temperature scaling (itutils.losses.fit_temperature, temperature_nll).

References are independent of itutils: a closed form (identical rows of two
logits), a brute-force grid over ln T with scipy's logsumexp, scipy's bounded
scalar minimiser, and torch's own ``F.cross_entropy``.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from itutils.losses import fit_temperature, temperature_nll


def nll_reference(z, y, t):
    """Mean -ln softmax(z / t)[y] in float64 with scipy."""
    s = np.asarray(z, dtype=np.float64) / t
    return float(np.mean(logsumexp(s, axis=1) - s[np.arange(len(y)), y]))


def noisy_classifier(n=400, k=10, scale=4.0, flip=0.15, seed=0):
    """Logits whose argmax is right most of the time, wrong for some rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += scale
    wrong = rng.random(n) < flip
    y = np.where(wrong, rng.integers(0, k, size=n), y)
    return z, y


# --- closed forms ----------------------------------------------------------------


@pytest.mark.parametrize("a", [0.5, 2.0, 7.0])
@pytest.mark.parametrize("right", [(3, 4), (9, 10), (51, 100), (99, 100)])
def test_identical_rows_closed_form(a, right):
    # Every row [a, 0]; class 0 right in m of n rows. The NLL is minimised
    # where sigmoid(a / T) = m / n, i.e. T = a / logit(m / n).
    m, n = right
    z = np.tile([a, 0.0], (n, 1))
    y = np.array([0] * m + [1] * (n - m))
    f = m / n
    expected = a / math.log(f / (1 - f))
    assert fit_temperature(z, y) == pytest.approx(expected, rel=1e-10)
    # At the optimum the NLL is the binary entropy of f, in nats.
    h = -(f * math.log(f) + (1 - f) * math.log(1 - f))
    assert temperature_nll(z, y, expected) == pytest.approx(h, rel=1e-12)


def test_calibrated_logits_need_no_temperature():
    # Labels drawn from softmax(z) itself: the fitted T tends to 1.
    rng = np.random.default_rng(1)
    z = rng.normal(scale=2.0, size=(40_000, 5))
    p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    y = (p.cumsum(1) < rng.random((len(z), 1))).sum(1).clip(max=4)
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.02)
    # ...and logits sharpened by 1/3 are given back T = 3.
    assert fit_temperature(3.0 * z, y) == pytest.approx(3.0, rel=0.02)


# --- against a brute-force grid and scipy's minimiser ----------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scale", [1.0, 4.0, 12.0])
def test_minimum_matches_a_grid_and_scipy(seed, scale):
    z, y = noisy_classifier(scale=scale, seed=seed)
    t = fit_temperature(z, y)
    log_grid = np.linspace(math.log(1e-2), math.log(1e2), 1001)
    nll_grid = np.array([nll_reference(z, y, math.exp(u)) for u in log_grid])
    best = int(np.argmin(nll_grid))
    assert abs(math.log(t) - log_grid[best]) <= log_grid[1] - log_grid[0]
    assert nll_reference(z, y, t) <= nll_grid.min() + 1e-12
    ref = minimize_scalar(
        lambda u: nll_reference(z, y, math.exp(u)),
        bounds=(math.log(1e-2), math.log(1e2)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert math.log(t) == pytest.approx(ref.x, abs=1e-6)
    assert nll_reference(z, y, t) <= ref.fun + 1e-12


def test_nll_equals_torch_cross_entropy():
    z, y = noisy_classifier(seed=3)
    for t in (0.2, 1.0, 3.7):
        ref = F.cross_entropy(torch.from_numpy(z / t), torch.from_numpy(y)).item()
        assert temperature_nll(z, y, t) == pytest.approx(ref, rel=1e-12)


def test_accepts_torch_tensors():
    z, y = noisy_classifier(seed=4)
    t_numpy = fit_temperature(z, y)
    assert fit_temperature(torch.from_numpy(z), torch.from_numpy(y)) == t_numpy
    assert fit_temperature(torch.from_numpy(z).float(), torch.from_numpy(y)) == (
        pytest.approx(t_numpy, rel=1e-5)
    )


# --- properties -------------------------------------------------------------------

finite = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    c=st.floats(0.05, 20.0),
    shift=finite,
)
def test_scale_equivariant_and_shift_invariant(seed, c, shift):
    z, y = noisy_classifier(n=60, k=4, scale=3.0, flip=0.3, seed=seed)
    try:
        t = fit_temperature(z, y)
    except ValueError:  # a draw with no error, or worse than uniform
        return
    # Logits scaled by c need a temperature c times larger; a constant added to
    # a row changes no softmax.
    assert fit_temperature(c * z, y) == pytest.approx(c * t, rel=1e-8)
    assert fit_temperature(z + shift, y) == pytest.approx(t, rel=1e-8)
    # No other temperature does better.
    for other in (t / 2, t * 0.99, t * 1.01, 2 * t, 1.0):
        assert temperature_nll(z, y, t) <= temperature_nll(z, y, other) + 1e-12


# --- errors -----------------------------------------------------------------------


def test_no_finite_temperature_when_every_sample_is_right():
    z = np.array([[3.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="T -> 0.*never on the training set"):
        fit_temperature(z, [0, 1])


def test_no_finite_temperature_for_a_model_worse_than_uniform():
    z = np.array([[3.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match="no better than uniform"):
        fit_temperature(z, [1, 0, 0])


def test_constant_rows_have_nothing_to_fit():
    with pytest.raises(ValueError, match="constant"):
        fit_temperature(np.ones((3, 4)), [0, 1, 2])


@pytest.mark.parametrize(
    "z, y, error, match",
    [
        ([1.0, 0.0], [0], ValueError, "2-D"),
        ([[1.0]], [0], ValueError, "K >= 2"),
        ([[1.0, np.inf]], [0], ValueError, "finite"),
        ([[1.0, np.nan]], [0], ValueError, "finite"),
        ([[1.0, 0.0]], [0.0], TypeError, "integer"),
        ([[1.0, 0.0]], [True], TypeError, "integer"),
        ([[1.0, 0.0]], [0, 1], ValueError, "shape"),
        ([[1.0, 0.0]], [2], ValueError, "0..1"),
        ([[1.0, 0.0]], [-1], ValueError, "0..1"),
        ([["a", "b"]], [0], TypeError, "numbers"),
    ],
)
def test_bad_input(z, y, error, match):
    with pytest.raises(error, match=match):
        fit_temperature(z, y)
    with pytest.raises(error, match=match):
        temperature_nll(z, y, 1.0)


@pytest.mark.parametrize("t", [0, -1.0, math.inf, math.nan, True, "1"])
def test_bad_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        temperature_nll([[1.0, 0.0]], [0], t)

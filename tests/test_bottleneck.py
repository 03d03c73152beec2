"""Tests of itutils.bottleneck against closed forms and independent searches.

Independent references: scipy.stats.entropy for every information quantity
recomputed here, scipy.optimize for capacities and for IB optima, and the
closed forms of the binary symmetric channel, the Z-channel and the binary
Hamming rate-distortion function.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar
from scipy.stats import entropy as sp_entropy

from itutils.bottleneck import (
    blahut_arimoto_capacity,
    blahut_arimoto_rate_distortion,
    ib_curve,
    information_bottleneck,
)

# The IB toy case: p(x, y) uniform on {(0,0), (0,2), (1,2), (2,1), (2,2)}.
TOY = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1]]) / 5


def h2(p):
    """Binary entropy in bits, by scipy."""
    return sp_entropy([p, 1 - p], base=2)


def mi_bits(joint):
    """I(A;B) = H(A) + H(B) - H(A,B) in bits, by scipy (independent of itutils)."""
    joint = np.asarray(joint, dtype=float)
    return (
        sp_entropy(joint.sum(1), base=2)
        + sp_entropy(joint.sum(0), base=2)
        - sp_entropy(joint.ravel(), base=2)
    )


def ib_values(pxy, encoder):
    """(I(X;T), I(T;Y)) of an encoder (rows normalised here), by scipy."""
    encoder = encoder / encoder.sum(axis=-1, keepdims=True)
    px = pxy.sum(1)
    return mi_bits(px[:, None] * encoder), mi_bits(encoder.T @ pxy)


# --------------------------------------------------------------------------
# Channel capacity
# --------------------------------------------------------------------------


@pytest.mark.parametrize("flip", [0.0, 0.01, 0.11, 0.25, 0.4, 0.5])
def test_bsc_capacity_is_one_minus_binary_entropy(flip):
    res = blahut_arimoto_capacity([[1 - flip, flip], [flip, 1 - flip]])
    assert res.converged
    assert res.capacity == pytest.approx(1 - h2(flip), abs=1e-9)
    np.testing.assert_allclose(res.input_distribution, [0.5, 0.5], atol=1e-9)
    assert 0 <= res.gap <= 1e-9


def test_z_channel_capacity_and_input():
    res = blahut_arimoto_capacity([[1.0, 0.0], [0.5, 0.5]])
    assert res.capacity == pytest.approx(np.log2(1.25), abs=1e-9)
    assert res.capacity == pytest.approx(0.321928, abs=1e-6)
    np.testing.assert_allclose(res.input_distribution, [0.6, 0.4], atol=1e-6)
    np.testing.assert_allclose(res.output_distribution, [0.8, 0.2], atol=1e-6)


def test_capacity_matches_scipy_maximisation_on_random_channel():
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(4) * 0.7, size=3)
    res = blahut_arimoto_capacity(w)

    def neg_mi(z):
        p = np.exp(z - z.max())
        return -mi_bits(p[:, None] / p.sum() * w)

    best = min(
        (minimize(neg_mi, rng.normal(size=3), method="L-BFGS-B",
                  options=dict(ftol=1e-15, gtol=1e-10))
         for _ in range(2)),
        key=lambda r: r.fun,
    )
    assert res.capacity == pytest.approx(-best.fun, abs=1e-7)
    assert res.capacity >= -best.fun - 1e-9  # nothing beats it
    assert res.capacity == pytest.approx(mi_bits(res.input_distribution[:, None] * w))


def test_noiseless_and_useless_channels():
    assert blahut_arimoto_capacity(np.eye(4)).capacity == pytest.approx(2.0)
    useless = np.tile([0.2, 0.3, 0.5], (3, 1))  # output ignores the input
    assert blahut_arimoto_capacity(useless).capacity == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "channel, match",
    [
        ([[0.5, 0.6], [0.5, 0.5]], "sum to 1"),
        ([[1.5, -0.5], [0.5, 0.5]], "negative"),
        ([0.5, 0.5], "2-D"),
        ([[np.nan, 1.0], [0.5, 0.5]], "NaN"),
    ],
)
def test_capacity_refuses_bad_channels(channel, match):
    with pytest.raises(ValueError, match=match):
        blahut_arimoto_capacity(channel)


# --------------------------------------------------------------------------
# Rate-distortion
# --------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 0.3, 0.15])
def test_binary_hamming_rate_distortion_curve(p):
    hamming = 1.0 - np.eye(2)
    # D(s) = 1 / (1 + e^{-s}) on the curve; keep D < min(p, 1 - p).
    d_max = min(p, 1 - p)
    targets = np.linspace(0.02, 0.9, 8) * d_max
    slopes = -np.log((1 - targets) / targets)
    for s in slopes:
        res = blahut_arimoto_rate_distortion([p, 1 - p], hamming, slope=s)
        assert res.converged
        assert res.distortion == pytest.approx(1 / (1 + np.exp(-s)), abs=1e-6)
        assert res.rate == pytest.approx(h2(p) - h2(res.distortion), abs=1e-6)
        np.testing.assert_allclose(res.test_channel.sum(axis=1), 1.0)


def test_rate_distortion_zero_slope_gives_zero_rate():
    res = blahut_arimoto_rate_distortion([0.3, 0.7], 1.0 - np.eye(2), slope=0.0)
    assert res.rate == pytest.approx(0.0, abs=1e-9)
    # At slope 0 the curve is flat: any D >= D_max = 0.3 (always reproduce
    # the likelier symbol) is on it, so only the bound is determined.
    assert res.distortion >= 0.3 - 1e-9


def test_rate_distortion_steep_slope_does_not_underflow():
    res = blahut_arimoto_rate_distortion([0.5, 0.5], 1.0 - np.eye(2), slope=-2000.0)
    assert np.all(np.isfinite(res.test_channel))
    assert res.rate == pytest.approx(1.0, abs=1e-9)
    assert res.distortion == pytest.approx(0.0, abs=1e-9)


def test_rate_distortion_refuses_bad_input():
    hamming = 1.0 - np.eye(2)
    with pytest.raises(ValueError, match="slope=-beta"):
        blahut_arimoto_rate_distortion([0.5, 0.5], hamming, slope=1.0)
    with pytest.raises(ValueError, match="shape"):
        blahut_arimoto_rate_distortion([0.5, 0.5], np.ones((3, 2)), slope=-1.0)
    with pytest.raises(ValueError, match=">= 0"):
        blahut_arimoto_rate_distortion([0.5, 0.5], -hamming, slope=-1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        blahut_arimoto_rate_distortion([0.5, 0.6], hamming, slope=-1.0)


# --------------------------------------------------------------------------
# Information bottleneck
# --------------------------------------------------------------------------


def test_toy_limits_are_entropy_and_mutual_information():
    # H(X) = H(0.4, 0.2, 0.4), I(X;Y) = H(Y) - H(Y|X) = H(.2,.2,.6) - 0.8.
    h_x = sp_entropy([0.4, 0.2, 0.4], base=2)
    i_xy = sp_entropy([0.2, 0.2, 0.6], base=2) - 0.8
    assert h_x == pytest.approx(1.52193, abs=1e-5)
    assert i_xy == pytest.approx(0.57095, abs=1e-5)
    curve = ib_curve(TOY, [1, 10, 50, 200])
    assert curve.h_x == pytest.approx(h_x)
    assert curve.i_xy == pytest.approx(i_xy)
    # As beta grows the encoder becomes the identity (up to relabelling).
    assert curve.i_xt[-1] == pytest.approx(h_x, abs=1e-6)
    assert curve.i_ty[-1] == pytest.approx(i_xy, abs=1e-6)


def test_toy_at_beta_2_5_is_the_corner_point_08_04():
    res = information_bottleneck(TOY, n_clusters=3, beta=2.5)
    assert res.i_xt == pytest.approx(0.8, abs=1e-4)
    assert res.i_ty == pytest.approx(0.4, abs=1e-4)
    # Closed form: T = "x = 0, or x = 1 with prob. 1/2" versus the rest.
    # H(T) = 1, H(T|X) = 0.2, so I(X;T) = 0.8; p(y|t) = (.4, 0, .6) and
    # (0, .4, .6), so I(T;Y) = H(.2, .2, .6) - H(.4, .6) = 0.4 exactly.
    corner = np.array([[1, 0], [0.5, 0.5], [0, 1]])
    np.testing.assert_allclose(ib_values(TOY, corner), (0.8, 0.4), atol=1e-12)
    assert res.objective == pytest.approx(0.8 - 2.5 * 0.4, abs=1e-6)
    # It is a fixed point at every beta, and optimal over a range of beta:
    # the IB curve has a corner there.
    res3 = information_bottleneck(TOY, n_clusters=3, beta=3.0)
    assert (res3.i_xt, res3.i_ty) == pytest.approx((0.8, 0.4), abs=1e-4)


def test_toy_at_beta_10():
    res = information_bottleneck(TOY, n_clusters=3, beta=10)
    assert res.i_xt == pytest.approx(1.5129, abs=1e-4)
    assert res.i_ty == pytest.approx(0.57016, abs=1e-4)
    # Independent: the optimum keeps x = 0 and x = 2 apart and sends x = 1
    # to their clusters with a small probability e each; minimise over e.
    def family(e):
        return np.array([[1, 0, 0], [e, e, 1 - 2 * e], [0, 1, 0]])

    def lagrangian(e):
        i_xt, i_ty = ib_values(TOY, family(e))
        return i_xt - 10 * i_ty

    best = minimize_scalar(lagrangian, bounds=(0, 0.5), method="bounded",
                           options=dict(xatol=1e-12))
    assert res.objective == pytest.approx(best.fun, abs=1e-9)
    np.testing.assert_allclose(ib_values(TOY, family(best.x)), (res.i_xt, res.i_ty),
                               atol=1e-6)


@pytest.mark.parametrize("beta", [1.5, 2.5, 10.0])
def test_no_encoder_found_by_brute_force_beats_the_ib_solution(beta):
    """A dense random search over all 3x3 encoders, polished by L-BFGS-B."""
    res = information_bottleneck(TOY, n_clusters=3, beta=beta)
    rng = np.random.default_rng(7)
    # 20,000 random encoders: Dirichlet rows of varying concentration, so
    # that near-deterministic encoders are sampled too.
    alpha = rng.choice([0.05, 0.3, 1.0], size=(20_000, 1, 1))
    enc = rng.gamma(np.broadcast_to(alpha, (20_000, 3, 3))) + 1e-300
    enc /= enc.sum(-1, keepdims=True)
    px = TOY.sum(1)
    pxt = px[None, :, None] * enc
    pty = np.einsum("nxt,xy->nty", enc, TOY)

    def batch_mi(j):
        a, b = j.sum(2), j.sum(1)
        return (sp_entropy(a, base=2, axis=1) + sp_entropy(b, base=2, axis=1)
                - sp_entropy(j.reshape(len(j), -1), base=2, axis=1))

    objectives = batch_mi(pxt) - beta * batch_mi(pty)
    assert objectives.min() >= res.objective - 1e-9

    def lagrangian(w):  # the batch formula on a batch of one: fast enough
        w = w.reshape(1, 3, 3) + 1e-300
        w = w / w.sum(-1, keepdims=True)
        pty = np.einsum("nxt,xy->nty", w, TOY)
        return (batch_mi(px[None, :, None] * w) - beta * batch_mi(pty))[0]

    for start in enc[np.argsort(objectives)[:3]]:
        polished = minimize(lagrangian, start.ravel(), method="L-BFGS-B",
                            bounds=[(0, 1)] * 9)
        assert polished.fun >= res.objective - 1e-7


def test_ib_theorems_on_a_random_joint():
    rng = np.random.default_rng(0)
    pxy = rng.dirichlet(np.ones(20) * 0.5).reshape(5, 4)
    curve = ib_curve(pxy, np.geomspace(0.5, 100, 25), n_restarts=3)
    assert np.all(curve.i_ty <= curve.i_xy + 1e-9)  # data processing
    assert np.all(curve.i_xt <= curve.h_x + 1e-9)
    assert np.all(curve.i_ty <= curve.i_xt + 1e-9)  # I(T;Y) <= I(X;T) too
    assert np.all(np.diff(curve.i_xt) >= -1e-7)  # monotone in beta
    assert np.all(np.diff(curve.i_ty) >= -1e-7)
    np.testing.assert_allclose(curve.encoders.sum(-1), 1.0)
    assert curve.encoders.shape == (25, 5, 5)
    # The reported numbers are those of the reported encoders.
    for k in (0, 12, 24):
        np.testing.assert_allclose(ib_values(pxy, curve.encoders[k]),
                                   (curve.i_xt[k], curve.i_ty[k]), atol=1e-9)


def test_toy_curve_is_monotone_and_passes_the_corner():
    betas = np.geomspace(1, 30, 30)
    curve = ib_curve(TOY, betas)
    assert np.all(np.diff(curve.i_xt) >= -1e-7)
    assert np.all(np.diff(curve.i_ty) >= -1e-7)
    at = np.argmin(np.abs(curve.betas - 2.5))
    assert (curve.i_xt[at], curve.i_ty[at]) == pytest.approx((0.8, 0.4), abs=1e-4)
    np.testing.assert_allclose(curve.objective, curve.i_xt - betas * curve.i_ty)


def test_each_iteration_lowers_the_lagrangian():
    # Same seed, one restart, stopped after k iterations: the objective of
    # the k-th encoder never increases with k (alternating minimisation).
    rng = np.random.default_rng(4)
    pxy = rng.dirichlet(np.ones(24) * 0.4).reshape(6, 4)
    objectives = [
        information_bottleneck(pxy, 4, beta=3.0, n_restarts=1, random_state=9,
                               max_iter=k).objective
        for k in range(1, 40)
    ]
    assert np.all(np.diff(objectives) <= 1e-12)


def test_reproducible_given_random_state():
    a = information_bottleneck(TOY, beta=4.0, random_state=11)
    b = information_bottleneck(TOY, beta=4.0, random_state=11)
    np.testing.assert_array_equal(a.encoder, b.encoder)
    ca = ib_curve(TOY, [1, 3, 9], random_state=5)
    cb = ib_curve(TOY, [1, 3, 9], random_state=5)
    np.testing.assert_array_equal(ca.encoders, cb.encoders)


def test_one_cluster_keeps_nothing_and_small_beta_collapses():
    res = information_bottleneck(TOY, n_clusters=1, beta=100)
    assert res.i_xt == pytest.approx(0.0, abs=1e-12)
    assert res.i_ty == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(res.encoder, 1.0)
    # Below 1 / (largest slope of the curve at 0) = 2 here, T forgets X.
    small = information_bottleneck(TOY, beta=1.5)
    assert small.i_xt == pytest.approx(0.0, abs=1e-8)


def test_infinite_kl_gives_no_nan_and_unseen_x_gets_the_prior():
    # Disjoint conditionals make KL(p(y|x) || p(y|t)) = inf for most pairs,
    # and x = 2 never occurs.
    pxy = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    res = information_bottleneck(pxy, n_clusters=2, beta=20)
    assert np.all(np.isfinite(res.encoder))
    assert res.i_xt == pytest.approx(1.0, abs=1e-9)
    assert res.i_ty == pytest.approx(1.0, abs=1e-9)
    prior = pxy.sum(1)[:2] @ res.encoder[:2]
    np.testing.assert_allclose(res.encoder[2], prior)


def test_warm_start_is_used():
    corner = np.array([[0.98, 0.01, 0.01], [0.49, 0.49, 0.02], [0.01, 0.01, 0.98]])
    res = information_bottleneck(TOY, beta=2.5, n_restarts=0, init=corner)
    assert (res.i_xt, res.i_ty) == pytest.approx((0.8, 0.4), abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(beta=0.0), ValueError, "beta must be > 0"),
        (dict(beta=-1.0), ValueError, "beta must be > 0"),
        (dict(beta=np.inf), ValueError, "beta must be finite"),
        (dict(beta=1.0, n_clusters=0), ValueError, "n_clusters must be at least 1"),
        (dict(beta=1.0, n_clusters=2.5), TypeError, "n_clusters must be an integer"),
        (dict(beta=1.0, n_restarts=0), ValueError, "n_restarts"),
        (dict(beta=1.0, init=np.ones((2, 3)) / 3), ValueError, "init must have shape"),
    ],
)
def test_ib_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        information_bottleneck(TOY, **kwargs)


def test_ib_refuses_bad_joints():
    with pytest.raises(ValueError, match="pxy must sum to 1"):
        information_bottleneck(TOY * 2, beta=1.0)
    with pytest.raises(ValueError, match="2-D"):
        information_bottleneck([0.5, 0.5], beta=1.0)
    with pytest.raises(ValueError, match="negative"):
        information_bottleneck([[0.6, -0.1], [0.25, 0.25]], beta=1.0)
    with pytest.raises(ValueError, match="betas must all be finite and > 0"):
        ib_curve(TOY, [1.0, 0.0])

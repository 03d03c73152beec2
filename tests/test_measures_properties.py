"""Theorems of information theory, checked on random distributions (hypothesis).

Distributions are drawn as non-negative weights divided by their total, with
exact zeros allowed so that 0 log 0 and empty supports are exercised.
Example counts are kept small so the whole file runs in a few seconds.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from itutils import (
    conditional_entropy,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
)

FAST = settings(max_examples=60, deadline=None)
TOL = 1e-9
bases = st.sampled_from([2, math.e, 10])

# Weights with a healthy share of exact zeros and a spread of magnitudes.
weight = st.one_of(
    st.just(0.0), st.floats(min_value=1e-6, max_value=1e3, allow_nan=False)
)


def _normalised(weights: list[float]) -> np.ndarray:
    arr = np.asarray(weights, dtype=float)
    if arr.sum() == 0:
        arr[0] = 1.0
    return arr / arr.sum()


@st.composite
def distributions(draw, min_size=1, max_size=8, size=None):
    n = size if size is not None else draw(st.integers(min_size, max_size))
    return _normalised(draw(st.lists(weight, min_size=n, max_size=n)))


@st.composite
def distribution_pairs(draw):
    n = draw(st.integers(1, 8))
    return draw(distributions(size=n)), draw(distributions(size=n))


@st.composite
def joint_tables(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    flat = draw(distributions(size=rows * cols))
    return flat.reshape(rows, cols)


@FAST
@given(distributions(), bases)
def test_entropy_non_negative_and_at_most_log_k(p, base):
    h = entropy(p, base=base)
    assert h >= 0
    assert h <= math.log(len(p), base) + TOL


@FAST
@given(joint_tables(), bases)
def test_chain_rule(pxy, base):
    h_xy = joint_entropy(pxy, base=base)
    h_x = entropy(pxy.sum(axis=1), base=base)
    h_y = entropy(pxy.sum(axis=0), base=base)
    h_x_given_y = conditional_entropy(pxy, base=base)
    h_y_given_x = conditional_entropy(pxy.T, base=base)
    assert min(h_xy, h_x_given_y, h_y_given_x) >= 0
    assert math.isclose(h_xy, h_y + h_x_given_y, abs_tol=TOL)
    assert math.isclose(h_xy, h_x + h_y_given_x, abs_tol=TOL)
    # Conditioning never increases entropy.
    assert h_x_given_y <= h_x + TOL


@FAST
@given(joint_tables(), bases)
def test_mutual_information_symmetric_and_from_entropies(pxy, base):
    mi = mutual_information(pxy, base=base)
    h_x = entropy(pxy.sum(axis=1), base=base)
    h_y = entropy(pxy.sum(axis=0), base=base)
    assert mi >= 0
    assert math.isclose(mi, mutual_information(pxy.T, base=base), abs_tol=TOL)
    assert math.isclose(
        mi, h_x + h_y - joint_entropy(pxy, base=base), abs_tol=TOL
    )
    assert mi <= min(h_x, h_y) + TOL


@FAST
@given(distributions(), distributions(), bases)
def test_independent_tables_have_zero_mutual_information(px, py, base):
    assert math.isclose(
        mutual_information(np.outer(px, py), base=base), 0.0, abs_tol=TOL
    )


@FAST
@given(distribution_pairs(), bases)
def test_kl_non_negative_and_zero_iff_equal(pq, base):
    p, q = pq
    kl = kl_divergence(p, q, base=base)
    assert kl >= 0
    assert kl_divergence(p, p, base=base) == 0.0
    if kl == 0.0:
        # Zero KL forces equal distributions (up to rounding in the weights).
        np.testing.assert_allclose(p, q, atol=1e-6)
    if not np.allclose(p, q, atol=1e-6):
        assert kl > 0


@FAST
@given(distribution_pairs(), bases)
def test_cross_entropy_is_entropy_plus_kl(pq, base):
    p, q = pq
    ce = cross_entropy(p, q, base=base)
    kl = kl_divergence(p, q, base=base)
    h = entropy(p, base=base)
    assert ce >= h
    if math.isinf(kl):
        assert math.isinf(ce)
    else:
        assert math.isclose(ce, h + kl, rel_tol=1e-9, abs_tol=TOL)


@FAST
@given(distribution_pairs(), bases)
def test_js_bounded_by_one_bit_and_symmetric(pq, base):
    p, q = pq
    js = js_divergence(p, q, base=base)
    assert 0 <= js <= math.log(2, base) + 1e-15
    assert js == js_divergence(q, p, base=base)
    assert js_divergence(p, q) <= 1.0


@FAST
@given(distribution_pairs(), bases)
def test_batched_equals_one_by_one(pq, base):
    # The drawn pair stacked with a second pair: each row gets its own result.
    p, q = pq
    other_p, other_q = np.full_like(p, 1 / len(p)), np.roll(p, 1)
    batch_p, batch_q = np.stack([p, other_p]), np.stack([q, other_q])
    np.testing.assert_allclose(
        kl_divergence(batch_p, batch_q, base=base),
        [kl_divergence(p, q, base=base), kl_divergence(other_p, other_q, base=base)],
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        entropy(batch_p, base=base),
        [entropy(p, base=base), entropy(other_p, base=base)],
        rtol=1e-14,
    )

"""itutils.measures against independent references.

References: scipy.stats.entropy, scipy.special.rel_entr,
scipy.spatial.distance.jensenshannon (squared), and closed forms computed
here with plain ``math`` so that no itutils code checks itself.
"""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import entropy as sp_entropy

import itutils
from itutils import (
    conditional_entropy,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
    self_information,
)

PXY = np.array([[0.2, 0.1], [0.15, 0.55]])
BASES = [2, math.e, 10]


def _plain_conditional_entropy(table, base=2):
    """H(X|Y) with plain Python: -sum P(x, y) log P(x | y), X = rows."""
    rows, cols = len(table), len(table[0])
    py = [sum(table[i][j] for i in range(rows)) for j in range(cols)]
    return -sum(
        table[i][j] * math.log(table[i][j] / py[j], base)
        for i in range(rows)
        for j in range(cols)
        if table[i][j] > 0
    )


def test_version_exists():
    assert isinstance(itutils.__version__, str)
    assert itutils.__version__.count(".") >= 1


# --- the chapter's 2x2 example -------------------------------------------------

def test_2x2_example_hand_computed():
    # Independent check of the numbers the issue quotes, in plain Python.
    h_x_given_y = _plain_conditional_entropy(PXY.tolist())
    h_y_given_x = _plain_conditional_entropy(PXY.T.tolist())
    assert round(h_x_given_y, 4) == 0.7474
    assert round(h_y_given_x, 4) == 0.8002
    assert conditional_entropy(PXY) == pytest.approx(h_x_given_y, abs=1e-14)
    assert conditional_entropy(PXY.T) == pytest.approx(h_y_given_x, abs=1e-14)


def test_2x2_example_all_quantities():
    h_xy = sp_entropy(PXY.ravel(), base=2)
    h_x = sp_entropy([0.3, 0.7], base=2)
    h_y = sp_entropy([0.35, 0.65], base=2)
    assert joint_entropy(PXY) == pytest.approx(h_xy, abs=1e-14)
    assert entropy(PXY.sum(axis=1)) == pytest.approx(h_x, abs=1e-14)
    assert conditional_entropy(PXY) == pytest.approx(h_xy - h_y, abs=1e-14)
    assert conditional_entropy(PXY.T) == pytest.approx(h_xy - h_x, abs=1e-14)
    mi = rel_entr(PXY, np.outer([0.3, 0.7], [0.35, 0.65])).sum() / math.log(2)
    assert mutual_information(PXY) == pytest.approx(mi, abs=1e-14)
    assert mutual_information(PXY) == pytest.approx(h_x + h_y - h_xy, abs=1e-14)
    assert round(mutual_information(PXY), 4) == 0.1339


# --- entropy -------------------------------------------------------------------

@pytest.mark.parametrize("base", BASES)
def test_entropy_matches_scipy(base):
    rng = np.random.default_rng(0)
    for k in (1, 2, 5, 50):
        p = rng.dirichlet(np.ones(k))
        assert entropy(p, base=base) == pytest.approx(
            sp_entropy(p, base=base), rel=1e-12, abs=1e-15
        )


@pytest.mark.parametrize(
    ("p", "expected_bits"),
    [
        ([0.5, 0.5], 1.0),
        ([1.0], 0.0),
        ([1.0, 0.0, 0.0], 0.0),
        ([0.25] * 4, 2.0),
        ([1 / 6] * 6, math.log2(6)),
        ([0.8, 0.2], -(0.8 * math.log2(0.8) + 0.2 * math.log2(0.2))),
        ([0.5, 0.25, 0.125, 0.125], 1.75),
    ],
)
def test_entropy_closed_forms(p, expected_bits):
    assert entropy(p) == pytest.approx(expected_bits, abs=1e-14)


def test_entropy_units():
    p = [0.1, 0.2, 0.7]
    bits = entropy(p)
    assert entropy(p, base=math.e) == pytest.approx(bits * math.log(2), rel=1e-14)
    assert entropy(p, base=np.e) == pytest.approx(bits * math.log(2), rel=1e-14)
    assert entropy(p, base=10) == pytest.approx(bits * math.log10(2), rel=1e-14)
    # Any positive base other than 1 is a unit, including bases below 1.
    assert entropy(p, base=0.5) == pytest.approx(-bits, rel=1e-14)


def test_zero_log_zero_is_zero():
    assert entropy([0.0, 1.0]) == 0.0
    assert entropy([0.5, 0.0, 0.5]) == 1.0
    assert not np.isnan(entropy([0.0, 0.0, 1.0]))
    assert joint_entropy([[0.5, 0.0], [0.0, 0.5]]) == 1.0
    assert conditional_entropy([[0.5, 0.0], [0.5, 0.0]]) == 1.0  # empty column
    assert kl_divergence([0.0, 1.0], [0.5, 0.5]) == 1.0
    assert cross_entropy([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_entropy_returns_python_float_for_one_distribution():
    assert isinstance(entropy([0.5, 0.5]), float)
    assert isinstance(kl_divergence([0.5, 0.5], [0.9, 0.1]), float)


def test_entropy_batches_along_axis():
    rng = np.random.default_rng(1)
    batch = rng.dirichlet(np.ones(4), size=7)  # 7 distributions, one per row
    np.testing.assert_allclose(
        entropy(batch, axis=-1), sp_entropy(batch, base=2, axis=-1), rtol=1e-12
    )
    np.testing.assert_allclose(
        entropy(batch.T, axis=0), sp_entropy(batch, base=2, axis=1), rtol=1e-12
    )
    cube = rng.dirichlet(np.ones(3), size=(2, 5))  # shape (2, 5, 3)
    out = entropy(cube, base=math.e)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out, sp_entropy(cube, axis=-1), rtol=1e-12)
    moved = np.moveaxis(cube, -1, 0)  # shape (3, 2, 5), distributions on axis 0
    np.testing.assert_allclose(entropy(moved, axis=0), entropy(cube), rtol=1e-15)


def test_entropy_normalize_accepts_counts():
    assert entropy([30, 10], normalize=True) == pytest.approx(
        sp_entropy([0.75, 0.25], base=2), abs=1e-14
    )
    counts = np.array([[1, 1], [3, 1], [0, 5]])
    np.testing.assert_allclose(
        entropy(counts, normalize=True), sp_entropy(counts, base=2, axis=1),
        rtol=1e-12, atol=1e-15,
    )


# --- self-information ----------------------------------------------------------

def test_self_information_closed_forms():
    assert self_information(1.0) == 0.0
    assert self_information(0.5) == 1.0
    assert self_information(1 / 8) == pytest.approx(3.0, abs=1e-15)
    assert self_information(0.0) == math.inf
    assert self_information(0.5, base=math.e) == pytest.approx(math.log(2))
    np.testing.assert_allclose(
        self_information([0.1, 0.01, 0.001], base=10), [1.0, 2.0, 3.0], rtol=1e-14
    )


def test_entropy_is_expected_self_information():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert entropy(p) == pytest.approx(float(np.sum(p * self_information(p))))


# --- joint and conditional entropy ---------------------------------------------

def test_joint_entropy_of_3d_tables():
    rng = np.random.default_rng(2)
    table = rng.dirichlet(np.ones(24)).reshape(2, 3, 4)
    assert joint_entropy(table) == pytest.approx(
        sp_entropy(table.ravel(), base=2), rel=1e-12
    )
    # Three independent fair bits: 3 bits.
    assert joint_entropy(np.full((2, 2, 2), 1 / 8)) == pytest.approx(3.0)
    # X, Y, Z independent: entropies add.
    px, py, pz = [0.3, 0.7], [0.1, 0.2, 0.7], [0.5, 0.25, 0.25]
    product = np.einsum("i,j,k->ijk", px, py, pz)
    assert joint_entropy(product) == pytest.approx(
        sum(sp_entropy(d, base=2) for d in (px, py, pz)), rel=1e-12
    )


def test_conditional_entropy_extremes():
    # Y determines X: nothing left.
    assert conditional_entropy([[0.5, 0.0], [0.0, 0.5]]) == 0.0
    # Independent: H(X|Y) = H(X).
    table = np.outer([0.3, 0.7], [0.4, 0.6])
    assert conditional_entropy(table) == pytest.approx(sp_entropy([0.3, 0.7], base=2))


def test_conditional_entropy_rectangular_table():
    rng = np.random.default_rng(3)
    table = rng.dirichlet(np.ones(12)).reshape(3, 4)
    assert conditional_entropy(table) == pytest.approx(
        _plain_conditional_entropy(table.tolist()), rel=1e-12
    )
    assert conditional_entropy(table.T, base=math.e) == pytest.approx(
        _plain_conditional_entropy(table.T.tolist(), base=math.e), rel=1e-12
    )


def test_mutual_information_closed_forms():
    assert mutual_information(np.outer([0.2, 0.8], [0.5, 0.5])) == pytest.approx(
        0.0, abs=1e-15
    )
    assert mutual_information([[0.5, 0.0], [0.0, 0.5]]) == 1.0
    # Binary symmetric channel with a uniform input: I = 1 - h(eps).
    eps = 0.1
    table = 0.5 * np.array([[1 - eps, eps], [eps, 1 - eps]])
    h = -(eps * math.log2(eps) + (1 - eps) * math.log2(1 - eps))
    assert mutual_information(table) == pytest.approx(1 - h, abs=1e-14)
    assert mutual_information(table, base=math.e) == pytest.approx(
        (1 - h) * math.log(2), abs=1e-14
    )


# --- divergences ---------------------------------------------------------------

@pytest.mark.parametrize("base", BASES)
def test_kl_matches_scipy(base):
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(6), size=2)
    assert kl_divergence(p, q, base=base) == pytest.approx(
        sp_entropy(p, q, base=base), rel=1e-12
    )
    assert kl_divergence(p, q, base=base) == pytest.approx(
        rel_entr(p, q).sum() / math.log(base), rel=1e-12
    )


def test_kl_closed_form_and_asymmetry():
    # KL between Bernoulli(0.5) and Bernoulli(0.9), by hand.
    by_hand = 0.5 * math.log2(0.5 / 0.9) + 0.5 * math.log2(0.5 / 0.1)
    assert kl_divergence([0.5, 0.5], [0.9, 0.1]) == pytest.approx(by_hand)
    assert kl_divergence([0.9, 0.1], [0.5, 0.5]) != pytest.approx(by_hand)
    assert kl_divergence([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_kl_and_cross_entropy_infinite_where_q_zero_below_p():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    # The other direction is finite: q = 0 only matters where p > 0.
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == 1.0
    assert cross_entropy([1.0, 0.0], [0.5, 0.5]) == 1.0
    # Batched: only the offending row is infinite, no NaN anywhere.
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    q = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(kl_divergence(p, q), [math.inf, 0.0])
    np.testing.assert_array_equal(cross_entropy(p, q), [math.inf, 1.0])


@pytest.mark.parametrize("base", BASES)
def test_cross_entropy_reference(base):
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(5), size=2)
    by_hand = -sum(pi * math.log(qi, base) for pi, qi in zip(p, q, strict=True))
    assert cross_entropy(p, q, base=base) == pytest.approx(by_hand, rel=1e-12)
    assert cross_entropy(p, q, base=base) == pytest.approx(
        sp_entropy(p, base=base) + sp_entropy(p, q, base=base), rel=1e-12
    )


@pytest.mark.parametrize("base", BASES)
def test_js_matches_scipy_squared(base):
    rng = np.random.default_rng(6)
    for _ in range(5):
        p, q = rng.dirichlet(np.ones(4), size=2)
        assert js_divergence(p, q, base=base) == pytest.approx(
            jensenshannon(p, q, base=base) ** 2, rel=1e-10
        )


def test_js_bounds():
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == 1.0  # disjoint: exactly 1 bit
    assert js_divergence([1.0, 0.0], [0.0, 1.0], base=math.e) == pytest.approx(
        math.log(2)
    )
    assert js_divergence([0.3, 0.7], [0.3, 0.7]) == 0.0
    # Finite even where KL is infinite.
    assert js_divergence([0.5, 0.5], [1.0, 0.0]) < 1.0
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.full(3, 0.1), size=200)
    q = rng.dirichlet(np.full(3, 0.1), size=200)
    js = js_divergence(p, q)
    assert js.shape == (200,)
    assert np.all((js >= 0) & (js <= 1))


def test_divergences_batch_along_axis_0_and_3d():
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(4), size=(3, 5))  # (3, 5, 4)
    q = rng.dirichlet(np.ones(4), size=(3, 5))
    kl = kl_divergence(p, q)
    assert kl.shape == (3, 5)
    np.testing.assert_allclose(kl, sp_entropy(p, q, base=2, axis=-1), rtol=1e-12)
    pt, qt = np.moveaxis(p, -1, 0), np.moveaxis(q, -1, 0)
    np.testing.assert_allclose(kl_divergence(pt, qt, axis=0), kl, rtol=1e-15)
    np.testing.assert_allclose(
        cross_entropy(pt, qt, axis=0), cross_entropy(p, q), rtol=1e-15
    )
    np.testing.assert_allclose(
        js_divergence(pt, qt, axis=0),
        jensenshannon(p, q, base=2, axis=-1) ** 2,
        rtol=1e-10,
    )

"""itutils.multivariate against scipy entropies, explicit loops and theorems.

Conditional MI is checked against ``H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)`` with
``scipy.stats.entropy``; Markov-chain tables against products written out
cell by cell; the chain rule and the data-processing inequality as
properties of random tables (hypothesis).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy

from itutils.multivariate import (
    binary_symmetric_channel,
    conditional_mutual_information,
    markov_chain_joint,
)


def h(p):
    return scipy_entropy(np.ravel(p), base=2)


def cmi_reference(p):
    """I(X; Y | Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z), in bits."""
    return h(p.sum(axis=1)) + h(p.sum(axis=0)) - h(p) - h(p.sum(axis=(0, 1)))


def mi_reference(pxy):
    return h(pxy.sum(axis=1)) + h(pxy.sum(axis=0)) - h(pxy)


def random_table(seed, shape, sparsity=0.0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(int(np.prod(shape)))).reshape(shape)
    p[rng.random(shape) < sparsity] = 0.0
    if p.sum() == 0:
        p.flat[0] = 1.0
    return p / p.sum()


tables = st.tuples(
    st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
    st.sampled_from([0.0, 0.3, 0.7]),
).map(lambda t: random_table(t[0], t[1:4], t[4]))


@settings(max_examples=80, deadline=None)
@given(tables)
def test_conditional_mi_matches_entropies_and_is_bounded(p):
    value = conditional_mutual_information(p)
    assert value == pytest.approx(cmi_reference(p), abs=1e-10)
    assert value >= 0.0
    # I(X; Y | Z) <= min(H(X | Z), H(Y | Z))
    h_x_given_z = h(p.sum(axis=1)) - h(p.sum(axis=(0, 1)))
    h_y_given_z = h(p.sum(axis=0)) - h(p.sum(axis=(0, 1)))
    assert value <= min(h_x_given_z, h_y_given_z) + 1e-10


@settings(max_examples=80, deadline=None)
@given(tables)
def test_chain_rule(p):
    kx, ky, kz = p.shape
    i_x_yz = mi_reference(p.reshape(kx, ky * kz))
    via_y = mi_reference(p.sum(axis=2)) + conditional_mutual_information(
        p.transpose(0, 2, 1))
    via_z = mi_reference(p.sum(axis=1)) + conditional_mutual_information(p)
    assert via_y == pytest.approx(i_x_yz, abs=1e-10)
    assert via_z == pytest.approx(i_x_yz, abs=1e-10)


def test_zero_exactly_for_conditional_independence():
    rng = np.random.default_rng(0)
    pz = rng.dirichlet(np.ones(3))
    px_z = rng.dirichlet(np.ones(4), size=3)  # P(X | Z = z), one row per z
    py_z = rng.dirichlet(np.ones(2), size=3)
    p = np.einsum("z,zx,zy->xyz", pz, px_z, py_z)
    assert conditional_mutual_information(p) == pytest.approx(0.0, abs=1e-14)
    # ... while X and Y are dependent unconditionally (a common cause).
    assert mi_reference(p.sum(axis=2)) > 1e-3


def test_xor_creates_dependence_and_units():
    p = np.zeros((2, 2, 2))
    for x in (0, 1):
        for y in (0, 1):
            p[x, y, x ^ y] = 0.25
    assert mi_reference(p.sum(axis=2)) == pytest.approx(0.0, abs=1e-15)
    assert conditional_mutual_information(p) == 1.0
    assert conditional_mutual_information(p, base=np.e) == pytest.approx(math.log(2))
    assert conditional_mutual_information(p * 8, normalize=True) == 1.0


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((2, 2), 0.25), "3-D"),
        (np.full((2, 2, 2), 0.2), "sum to 1"),
        (np.array([[[0.5, 0.6]], [[-0.1, 0.0]]]), "negative"),
        (np.array([[[np.nan, 0.5]], [[0.25, 0.25]]]), "NaN"),
    ],
)
def test_conditional_mi_refuses_bad_tables(bad, match):
    with pytest.raises(ValueError, match=match):
        conditional_mutual_information(bad)
    with pytest.raises(ValueError, match="base"):
        conditional_mutual_information(np.full((2, 2, 2), 0.125), base=1)


def test_markov_chain_joint_is_the_product_cell_by_cell():
    rng = np.random.default_rng(1)
    px = rng.dirichlet(np.ones(3))
    w1 = rng.dirichlet(np.ones(4), size=3)
    w2 = rng.dirichlet(np.ones(2), size=4)
    p = markov_chain_joint(px, w1, w2)
    assert p.shape == (3, 4, 2)
    for x in range(3):
        for y in range(4):
            for z in range(2):
                assert p[x, y, z] == pytest.approx(px[x] * w1[x, y] * w2[y, z])
    assert markov_chain_joint(px).shape == (3,)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 4), st.integers(2, 4), st.integers(2, 4))
def test_data_processing_inequality(seed, kx, ky, kz):
    rng = np.random.default_rng(seed)
    p = markov_chain_joint(rng.dirichlet(np.ones(kx)),
                           rng.dirichlet(np.ones(ky), size=kx),
                           rng.dirichlet(np.ones(kz), size=ky))
    assert conditional_mutual_information(p.transpose(0, 2, 1)) == pytest.approx(
        0.0, abs=1e-12)  # I(X; Z | Y) = 0
    assert mi_reference(p.sum(axis=1)) <= mi_reference(p.sum(axis=2)) + 1e-12


@pytest.mark.parametrize("p, q", [(0.1, 0.2), (0.0, 0.3), (0.5, 0.1), (0.05, 0.95)])
def test_bsc_cascade_closed_forms(p, q):
    joint = markov_chain_joint([0.5, 0.5], binary_symmetric_channel(p),
                               binary_symmetric_channel(q))

    def h_b(f):
        return scipy_entropy([f, 1 - f], base=2)

    assert mi_reference(joint.sum(axis=2)) == pytest.approx(1 - h_b(p), abs=1e-12)
    flip = p * (1 - q) + q * (1 - p)
    assert mi_reference(joint.sum(axis=1)) == pytest.approx(1 - h_b(flip), abs=1e-12)


def test_markov_chain_refuses_bad_channels():
    with pytest.raises(ValueError, match="one row per input"):
        markov_chain_joint([0.5, 0.5], np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="sum to 1"):
        markov_chain_joint([0.5, 0.5], [[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="2-D"):
        markov_chain_joint([0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="1-D"):
        markov_chain_joint([[0.5, 0.5]])
    with pytest.raises(ValueError, match="sum to 1"):
        markov_chain_joint([0.5, 0.6])
    with pytest.raises(ValueError, match="flip"):
        binary_symmetric_channel(1.5)
    with pytest.raises(ValueError, match="flip"):
        binary_symmetric_channel(float("nan"))

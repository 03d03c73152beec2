"""Every bad input is refused with a message naming the argument and the fix.

One validation module (itutils._validate) serves every public function, so
each kind of bad input is tried on every function that can receive it.
"""

import math

import numpy as np
import pytest

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

GOOD = [0.5, 0.5]
GOOD_JOINT = [[0.25, 0.25], [0.25, 0.25]]

# (name, call with one distribution argument `p`) for every public function.
ONE_ARG = {
    "entropy": lambda p, **kw: entropy(p, **kw),
    "self_information": lambda p, **kw: self_information(p, **kw),
    "kl_divergence(p)": lambda p, **kw: kl_divergence(p, GOOD, **kw),
    "cross_entropy(p)": lambda p, **kw: cross_entropy(p, GOOD, **kw),
    "js_divergence(p)": lambda p, **kw: js_divergence(p, GOOD, **kw),
}
SECOND_ARG = {
    "kl_divergence(q)": lambda q: kl_divergence(GOOD, q),
    "cross_entropy(q)": lambda q: cross_entropy(GOOD, q),
    "js_divergence(q)": lambda q: js_divergence(GOOD, q),
}
JOINT = {
    "joint_entropy": joint_entropy,
    "conditional_entropy": conditional_entropy,
    "mutual_information": mutual_information,
}
ALL_WITH_BASE = {
    "entropy": lambda base: entropy(GOOD, base=base),
    "self_information": lambda base: self_information(0.5, base=base),
    "joint_entropy": lambda base: joint_entropy(GOOD_JOINT, base=base),
    "conditional_entropy": lambda base: conditional_entropy(GOOD_JOINT, base=base),
    "mutual_information": lambda base: mutual_information(GOOD_JOINT, base=base),
    "kl_divergence": lambda base: kl_divergence(GOOD, GOOD, base=base),
    "cross_entropy": lambda base: cross_entropy(GOOD, GOOD, base=base),
    "js_divergence": lambda base: js_divergence(GOOD, GOOD, base=base),
}


# --- bad entries ---------------------------------------------------------------

@pytest.mark.parametrize("name", ONE_ARG)
def test_negative_entry(name):
    with pytest.raises(
        ValueError, match=r"^p has a negative entry \(-0\.5 .*must be >= 0"
    ):
        ONE_ARG[name]([1.5, -0.5])


@pytest.mark.parametrize("name", ONE_ARG)
def test_nan_entry(name):
    with pytest.raises(
        ValueError, match=r"^p contains NaN \(nan at index 1\).*find where"
    ):
        ONE_ARG[name]([0.5, math.nan])


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
@pytest.mark.parametrize("name", ONE_ARG)
def test_infinite_entry(name, bad):
    with pytest.raises(
        ValueError, match=r"^p contains an infinite value.*must be finite"
    ):
        ONE_ARG[name]([0.5, bad])


@pytest.mark.parametrize("name", SECOND_ARG)
@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        ([1.5, -0.5], r"^q has a negative entry"),
        ([0.5, math.nan], r"^q contains NaN"),
        ([0.5, math.inf], r"^q contains an infinite value"),
        ([0.5, 0.6], r"^q must sum to 1"),
    ],
)
def test_second_argument_named_q(name, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        SECOND_ARG[name](bad)


@pytest.mark.parametrize("name", JOINT)
def test_joint_bad_entries_name_pxy(name):
    with pytest.raises(
        ValueError, match=r"^pxy has a negative entry \(-0\.1 at index \(1, 0\)\)"
    ):
        JOINT[name]([[0.6, 0.2], [-0.1, 0.3]])
    with pytest.raises(ValueError, match=r"^pxy contains NaN"):
        JOINT[name]([[0.5, 0.5], [math.nan, 0.0]])
    with pytest.raises(ValueError, match=r"^pxy contains an infinite value"):
        JOINT[name]([[0.5, 0.5], [math.inf, 0.0]])


def test_nan_position_named_in_a_batch():
    with pytest.raises(ValueError, match=r"nan at index \(1, 1\)"):
        entropy([[0.5, 0.5], [0.2, math.nan]])


def test_self_information_refuses_probability_above_one():
    with pytest.raises(
        ValueError, match=r"^p has an entry above 1 \(1\.2\).*in \[0, 1\]"
    ):
        self_information(1.2)
    with pytest.raises(ValueError, match=r"^p has a negative entry \(-0\.5\)"):
        self_information(-0.5)


# --- sums ----------------------------------------------------------------------

def test_entropy_not_summing_to_one_offers_normalize():
    with pytest.raises(
        ValueError,
        match=(
            r"^p must sum to 1 along axis -1, but a sum is 1\.1; pass "
            r"normalize=True"
        ),
    ):
        entropy([0.5, 0.6])
    with pytest.raises(ValueError, match=r"along axis 0, but a sum is 0\.9"):
        entropy([[0.5, 0.5], [0.4, 0.5]], axis=0)


@pytest.mark.parametrize(
    "name", ["kl_divergence(p)", "cross_entropy(p)", "js_divergence(p)"]
)
def test_divergences_not_summing_to_one_suggest_dividing(name):
    # These functions have no normalize argument; the message must not offer one.
    with pytest.raises(
        ValueError, match=r"^p must sum to 1.*p / p\.sum\(axis=-1, keepdims=True\)"
    ) as info:
        ONE_ARG[name]([0.5, 0.6])
    assert "normalize" not in str(info.value)


@pytest.mark.parametrize("name", JOINT)
def test_joint_not_summing_to_one(name):
    with pytest.raises(
        ValueError,
        match=(
            r"^pxy must sum to 1 in total, but a sum is 2; .*pxy / "
            r"pxy\.sum\(\)"
        ),
    ):
        JOINT[name](np.full((2, 2), 0.5))


def test_tolerance_is_about_1e_6():
    entropy([0.5, 0.5 + 5e-7])  # accepted
    with pytest.raises(ValueError, match="must sum to 1"):
        entropy([0.5, 0.5 + 5e-6])


def test_normalize_accepts_counts_and_refuses_all_zero_rows():
    assert entropy([3, 1, 0], normalize=True) == pytest.approx(entropy([0.75, 0.25, 0]))
    with pytest.raises(
        ValueError,
        match=(
            r"^p has a distribution whose counts are all zero; "
            r"normalize=True needs at least one positive"
        ),
    ):
        entropy([[1, 2], [0, 0]], normalize=True)
    with pytest.raises(ValueError, match="negative entry"):
        entropy([3, -1], normalize=True)


# --- shapes --------------------------------------------------------------------

@pytest.mark.parametrize("fn", [kl_divergence, cross_entropy, js_divergence])
def test_mismatched_shapes(fn):
    with pytest.raises(
        ValueError,
        match=(
            r"^p and q must have the same shape, got \(2,\) and \(3,\); they "
            r"must describe the same outcomes"
        ),
    ):
        fn([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"same shape, got \(2, 2\) and \(2,\)"):
        fn([[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5])


@pytest.mark.parametrize("name", ONE_ARG)
def test_empty_input(name):
    with pytest.raises(ValueError, match=r"^p is empty; give at least one probability"):
        ONE_ARG[name]([])


@pytest.mark.parametrize("name", JOINT)
def test_empty_joint(name):
    with pytest.raises(ValueError, match=r"^pxy is empty"):
        JOINT[name](np.zeros((0, 2)))


@pytest.mark.parametrize("fn", [conditional_entropy, mutual_information])
def test_one_dimensional_table_passed_as_joint(fn):
    with pytest.raises(
        ValueError,
        match=(
            r"^pxy must be a 2-D joint table .* got an array with 1 "
            r"dimension\(s\) of shape \(2,\); .*numpy\.outer\(px, "
            r"py\).*entropy\(\)"
        ),
    ):
        fn([0.5, 0.5])
    with pytest.raises(ValueError, match=r"3 dimension\(s\)"):
        fn(np.full((2, 2, 2), 1 / 8))


def test_scalar_is_not_a_distribution():
    with pytest.raises(
        ValueError, match=r"^p is a single number; .*such as \[0\.5, 0\.5\]"
    ):
        entropy(0.5)


def test_axis_out_of_range():
    with pytest.raises(
        ValueError, match=r"^axis 3 is out of range for p with 1 dimension"
    ):
        entropy([0.5, 0.5], axis=3)


def test_ragged_input():
    with pytest.raises(
        ValueError,
        match=(
            r"^p could not be read as an array .*every row the same length"
        ),
    ):
        entropy([[0.5, 0.5], [1.0]])


# --- base ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_WITH_BASE)
@pytest.mark.parametrize("base", [0, -2, 1, 1.0, math.inf, math.nan])
def test_bad_base_value(name, base):
    with pytest.raises(
        ValueError,
        match=(
            r"^base must be a positive number other than 1, got .*use base=2 "
            r"for bits or base=numpy\.e for nats"
        ),
    ):
        ALL_WITH_BASE[name](base)


@pytest.mark.parametrize("name", ALL_WITH_BASE)
@pytest.mark.parametrize("base", ["2", None, True, [2], 2 + 0j])
def test_non_numeric_base(name, base):
    with pytest.raises(
        TypeError,
        match=(
            r"^base must be a real number such as 2 \(bits\) or numpy\.e "
            r"\(nats\), got"
        ),
    ):
        ALL_WITH_BASE[name](base)


def test_numpy_scalar_bases_are_fine():
    assert entropy(GOOD, base=np.float64(2)) == 1.0
    assert entropy(GOOD, base=np.int64(2)) == 1.0
    assert entropy(GOOD, base=np.e) == pytest.approx(math.log(2))


# --- types ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ONE_ARG)
@pytest.mark.parametrize("bad", [["a", "b"], [object(), 1.0], [None, 1.0], "0.5"])
def test_strings_and_objects(name, bad):
    with pytest.raises(
        TypeError,
        match=(
            r"^p must hold numbers, got an array of dtype .*"
            r"numpy\.asarray\(\.\.\., dtype=float\)"
        ),
    ):
        ONE_ARG[name](bad)


@pytest.mark.parametrize("name", JOINT)
def test_joint_strings(name):
    with pytest.raises(TypeError, match=r"^pxy must hold numbers"):
        JOINT[name]([["a", "b"], ["c", "d"]])


def test_complex_refused():
    with pytest.raises(TypeError, match=r"^p must be real, got complex"):
        entropy([0.5 + 0j, 0.5])


def test_good_inputs_of_other_types_accepted():
    assert entropy(np.array([0.5, 0.5], dtype=np.float32)) == 1.0
    assert entropy((1, 0)) == 0.0
    assert entropy(np.array([True, False])) == 0.0
    assert joint_entropy(np.array([[1]])) == 0.0

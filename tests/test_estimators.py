"""itutils.estimators against scikit-learn, brute force, closed forms and theorems."""

import warnings

import numpy as np
import pytest
from scipy.special import digamma
from sklearn.datasets import make_classification
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.metrics import mutual_info_score

import itutils.estimators as est
from itutils.estimators import (
    ENTROPY_METHODS,
    entropy_from_samples,
    ksg_mutual_information,
    mi_analytic_bias,
    mi_permutation_bias,
    mixed_mutual_information,
    mutual_information_from_samples,
    select_features,
)
from itutils.gaussian import gaussian_mutual_information
from itutils.measures import entropy

LN2 = np.log(2)


def gaussian_pair(n, rho, seed, dims=1):
    """``dims`` independent pairs, each with correlation rho."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dims))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dims))
    return (x[:, 0], y[:, 0]) if dims == 1 else (x, y)


# --- discrete entropy ------------------------------------------------------------


def test_plugin_entropy_is_entropy_of_frequencies():
    x = np.random.default_rng(0).integers(0, 7, 300)
    freq = np.bincount(x) / len(x)
    assert entropy_from_samples(x) == pytest.approx(entropy(freq), abs=1e-12)
    assert entropy_from_samples(x, base=np.e) == pytest.approx(
        entropy(freq) * LN2, abs=1e-12
    )


@pytest.mark.parametrize("method", ENTROPY_METHODS)
def test_fast_path_agrees_with_generic_path(method):
    x = np.random.default_rng(1).integers(0, 12, 200)
    as_strings = np.array([f"label{v}" for v in x])
    shifted = x - 5  # negative integers leave the bincount fast path
    huge = x.astype(np.int64) * 10**12  # too large for a bincount
    fast = entropy_from_samples(x, method=method)
    for other in (as_strings, shifted, huge, list(x.tolist())):
        assert entropy_from_samples(other, method=method) == pytest.approx(
            fast, abs=1e-12
        )


def test_composite_labels_rows_and_tuples():
    a = np.array([0, 0, 1, 1, 0, 1])
    b = np.array([0, 1, 0, 1, 0, 1])
    rows = np.column_stack([a, b])
    tuples = list(zip(a.tolist(), ["p", "q", "p", "q", "p", "q"], strict=True))
    joint = entropy_from_samples(a * 2 + b)
    assert entropy_from_samples(rows) == pytest.approx(joint)
    assert entropy_from_samples(tuples) == pytest.approx(joint)
    # Unorderable mixed labels still work (hashed).
    assert entropy_from_samples(["a", 1, "a", 1]) == pytest.approx(1.0)


def test_bias_corrected_entropy_beats_plugin_when_undersampled():
    # Uniform over 100 labels (log2 100 bits) from only 60 samples.
    truth = np.log2(100)
    rng = np.random.default_rng(2)
    samples = rng.integers(0, 100, size=(40, 60))
    errors = {
        m: np.mean([abs(entropy_from_samples(s, method=m) - truth) for s in samples])
        for m in ENTROPY_METHODS
    }
    for method in ("miller_madow", "grassberger", "chao_shen"):
        assert errors[method] < errors["plugin"], errors


def test_miller_madow_formula():
    x = np.array([0, 0, 1, 2, 2, 2])
    plugin = entropy_from_samples(x, base=np.e)
    assert entropy_from_samples(x, "miller_madow", base=np.e) == pytest.approx(
        plugin + 2 / 12
    )


def test_entropy_bad_input():
    with pytest.raises(TypeError, match="continuous"):
        entropy_from_samples([0.5, 1.2, 0.3])
    with pytest.warns(UserWarning, match="whole numbers"):
        assert entropy_from_samples(np.array([0.0, 1.0])) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        entropy_from_samples(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="NaN"):
        entropy_from_samples(np.array(["a", np.nan], dtype=object))
    with pytest.raises(ValueError, match="empty"):
        entropy_from_samples([])
    with pytest.raises(ValueError, match="method"):
        entropy_from_samples([0, 1], method="magic")
    with pytest.raises(ValueError, match="base"):
        entropy_from_samples([0, 1], base=-2)


# --- discrete MI -------------------------------------------------------------------


def dependent_labels(n, seed, kx=8, ky=5):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, kx, n)
    y = (x + rng.integers(0, 3, n)) % ky
    return x, y


def test_plugin_mi_matches_sklearn():
    for seed in range(3):
        x, y = dependent_labels(1000, seed)
        ours = mutual_information_from_samples(x, y, base=np.e)
        assert ours == pytest.approx(mutual_info_score(x, y), abs=1e-12)


def test_mi_fast_path_generic_path_and_large_tables_agree(monkeypatch):
    x, y = dependent_labels(500, 3)
    fast = mutual_information_from_samples(x, y)
    assert mutual_information_from_samples(
        [f"x{v}" for v in x], (y - 10).tolist()
    ) == pytest.approx(fast, abs=1e-12)
    # Force the sparse (np.unique) joint table path.
    monkeypatch.setattr(est, "_JOINT_MIN_LIMIT", 1)
    monkeypatch.setattr(est, "_BINCOUNT_MIN_LIMIT", 1)
    assert mutual_information_from_samples(x * 1000, y) == pytest.approx(
        fast, abs=1e-12
    )


@pytest.mark.parametrize("method", ENTROPY_METHODS)
def test_mi_symmetric_and_chain_rule(method):
    x, y = dependent_labels(400, 4)
    xy = mutual_information_from_samples(x, y, method=method)
    assert mutual_information_from_samples(y, x, method=method) == pytest.approx(xy)
    hx = entropy_from_samples(x, method=method)
    hy = entropy_from_samples(y, method=method)
    hxy = entropy_from_samples(np.column_stack([x, y]), method=method)
    assert xy == pytest.approx(hx + hy - hxy)


def test_mi_of_copy_is_entropy():
    x = np.random.default_rng(5).integers(0, 6, 300)
    assert mutual_information_from_samples(x, x) == pytest.approx(
        entropy_from_samples(x)
    )


def test_mi_constant_warns_and_is_zero():
    with pytest.warns(UserWarning, match="constant"):
        assert mutual_information_from_samples([1, 1, 1, 1], [0, 1, 0, 1]) == 0.0


def test_mi_bad_input():
    with pytest.raises(ValueError, match="same number of samples"):
        mutual_information_from_samples([0, 1, 1], [0, 1])
    with pytest.raises(TypeError, match="continuous"):
        mutual_information_from_samples([0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match="method"):
        mutual_information_from_samples([0, 1], [0, 1], method="ksg")


def test_analytic_bias_matches_theory_and_permutations():
    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 10, 800), rng.integers(0, 6, 800)
    analytic = mi_analytic_bias(x, y, base=np.e)
    assert analytic.bias == pytest.approx(9 * 5 / 1600)
    assert analytic.estimate == pytest.approx(mutual_info_score(x, y))
    perm = mi_permutation_bias(x, y, n_permutations=300, random_state=0, base=np.e)
    assert perm.estimate == pytest.approx(analytic.estimate)
    # Independent data: the shuffles' mean MI is the chi-square mean.
    assert perm.bias == pytest.approx(analytic.bias, rel=0.15)
    assert abs(perm.corrected) < 0.01 and perm.p_value > 0.05
    assert perm.corrected == pytest.approx(perm.estimate - perm.bias)


def test_permutation_null_is_plugin_mi_of_the_shuffles():
    x, y = dependent_labels(300, 7)
    r = mi_permutation_bias(x, y, n_permutations=20, random_state=3, base=np.e)
    rng = np.random.default_rng(3)
    shuffled = rng.permuted(np.broadcast_to(y, (20, len(y))), axis=1)
    expected = [mutual_info_score(x, row) for row in shuffled]
    np.testing.assert_allclose(r.null, expected, atol=1e-12)
    assert r.p_value == pytest.approx(1 / 21)  # dependent: no shuffle reaches it
    again = mi_permutation_bias(x, y, n_permutations=20, random_state=3, base=np.e)
    np.testing.assert_array_equal(r.null, again.null)


def test_permutation_large_table_path(monkeypatch):
    monkeypatch.setattr(est, "_JOINT_MIN_LIMIT", 1)
    x, y = dependent_labels(200, 8)
    r = mi_permutation_bias(x, y, n_permutations=50, random_state=0)
    assert r.p_value == pytest.approx(1 / 51)
    assert 0 < r.bias < r.estimate


# --- KSG ---------------------------------------------------------------------------


def ksg_brute(x, y, k, variant):
    """O(N^2) KSG straight from the paper's definitions (max-norm)."""
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    n = len(x)

    def dist(a):
        d = np.abs(a[:, None, :] - a[None, :, :]).max(-1)
        np.fill_diagonal(d, np.inf)
        return d

    dz, dx, dy = dist(np.hstack([x, y])), dist(x), dist(y)
    nb = np.argsort(dz, axis=1, kind="stable")[:, :k]
    if variant == 1:
        eps = np.take_along_axis(dz, nb[:, -1:], 1)
        nx, ny = (dx < eps).sum(1), (dy < eps).sum(1)
        return digamma(k) - np.mean(digamma(nx + 1) + digamma(ny + 1)) + digamma(n)
    ex = np.take_along_axis(dx, nb, 1).max(1, keepdims=True)
    ey = np.take_along_axis(dy, nb, 1).max(1, keepdims=True)
    nx, ny = (dx <= ex).sum(1), (dy <= ey).sum(1)
    return digamma(k) - 1 / k - np.mean(digamma(nx) + digamma(ny)) + digamma(n)


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("dims", [1, 2])
def test_ksg_equals_brute_force(variant, dims):
    x, y = gaussian_pair(300, 0.7, seed=dims, dims=dims)
    assert ksg_mutual_information(x, y, k=4, variant=variant, base=np.e) == (
        pytest.approx(ksg_brute(x, y, 4, variant), abs=1e-10)
    )


def test_ksg_counts_exact_at_rounding_boundaries():
    # Decimal grid values: x_i +- eps rounds, so naive searchsorted counts
    # would include or drop the boundary neighbour. (Variant 1 only: with
    # tied *distances* on a grid, variant 2's k-neighbour set is ambiguous.)
    rng = np.random.default_rng(9)
    x = rng.permutation(400) * 0.1
    y = rng.permutation(400) * 0.7 + 0.001 * x  # no tied samples
    assert ksg_mutual_information(x, y, k=3, base=np.e) == pytest.approx(
        ksg_brute(x, y, 3, 1), abs=1e-10
    )


@pytest.mark.parametrize("closed", [True, False])
def test_sorted_counts_match_brute_force_on_exact_distances(closed):
    rng = np.random.default_rng(10)
    values = rng.permutation(500) * 0.1 + 0.3
    centres = values[:200]
    # Radii that are exactly a distance to another sample: the worst case.
    radius = np.abs(values[200:400] - centres)
    counts = est._count_sorted(np.sort(values), centres, radius, closed)
    d = np.abs(values[None, :] - centres[:, None])
    expected = (d <= radius[:, None]) if closed else (d < radius[:, None])
    np.testing.assert_array_equal(counts, expected.sum(1))


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("dims, rho", [(1, 0.5), (1, 0.9), (2, 0.6)])
def test_ksg_close_to_gaussian_value(variant, dims, rho):
    truth = dims * gaussian_mutual_information(rho, base=np.e)
    estimates = [
        ksg_mutual_information(*gaussian_pair(4000, rho, s, dims), variant=variant,
                               base=np.e)
        for s in range(5)
    ]
    assert np.mean(estimates) == pytest.approx(truth, abs=0.03)


def test_ksg_variant2_needs_its_minus_one_over_k():
    x, y = gaussian_pair(4000, 0.8, seed=11)
    v1 = ksg_mutual_information(x, y, k=3, variant=1, base=np.e)
    v2 = ksg_mutual_information(x, y, k=3, variant=2, base=np.e)
    assert abs(v2 - v1) < 0.02  # dropping -1/k would make this 1/3 nats


def test_ksg_variant1_matches_sklearn():
    # scikit-learn scales by the standard deviation and adds ~1e-10 noise;
    # give it data that are already scaled and the results coincide.
    x, y = gaussian_pair(2000, 0.6, seed=12)
    x, y = x / x.std(), y / y.std()
    ref = mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0]
    assert ksg_mutual_information(x, y, k=3, base=np.e) == pytest.approx(
        ref, abs=1e-6
    )


def test_ksg_independent_is_near_zero_and_not_clipped():
    values = [
        ksg_mutual_information(*gaussian_pair(2000, 0.0, s), base=np.e)
        for s in range(8)
    ]
    assert abs(np.mean(values)) < 0.02
    assert min(values) < 0  # noise around 0 is kept, not clipped


def test_ksg_units_and_symmetry():
    x, y = gaussian_pair(1000, 0.7, seed=13)
    nats = ksg_mutual_information(x, y, base=np.e)
    assert ksg_mutual_information(x, y) == pytest.approx(nats / LN2)
    assert ksg_mutual_information(y, x, base=np.e) == pytest.approx(nats)


def test_ksg_ties_refused_or_jittered():
    x, y = gaussian_pair(500, 0.7, seed=14)
    tied = np.round(x, 1)
    with pytest.raises(ValueError, match="repeated sample"):
        ksg_mutual_information(tied, y)
    a = ksg_mutual_information(tied, y, jitter=1e-10, random_state=0)
    b = ksg_mutual_information(tied, y, jitter=1e-10, random_state=0)
    assert a == b and np.isfinite(a)
    with pytest.raises(ValueError, match="repeated sample"):
        ksg_mutual_information(np.column_stack([tied, tied]), y)


def test_ksg_bad_input():
    x, y = gaussian_pair(50, 0.5, seed=15)
    with pytest.raises(ValueError, match="same number of samples"):
        ksg_mutual_information(x, y[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        ksg_mutual_information(np.where(np.arange(50) == 3, np.nan, x), y)
    with pytest.raises(ValueError, match="non-finite"):
        ksg_mutual_information(x, np.where(np.arange(50) == 3, np.inf, y))
    with pytest.raises(ValueError, match="k = 50"):
        ksg_mutual_information(x, y, k=50)
    with pytest.raises(ValueError, match="variant"):
        ksg_mutual_information(x, y, variant=3)
    with pytest.raises(TypeError, match="k must be an integer"):
        ksg_mutual_information(x, y, k=2.5)
    with pytest.raises(ValueError, match="jitter"):
        ksg_mutual_information(x, y, jitter=-1)
    with pytest.warns(UserWarning, match="constant"):
        assert ksg_mutual_information(np.ones(50), y) == 0.0


# --- continuous-discrete (Ross) ----------------------------------------------------


def test_mixed_matches_sklearn_mutual_info_classif():
    X, y = make_classification(
        n_samples=1500, n_features=6, n_informative=3, n_redundant=0,
        shuffle=False, random_state=0,
    )
    ref = mutual_info_classif(X, y, n_neighbors=3, random_state=0)
    ours = np.array([mixed_mutual_information(X[:, j], y, base=np.e) for j in range(6)])
    # scikit-learn clips at 0; elsewhere the two agree.
    np.testing.assert_allclose(np.maximum(ours, 0), ref, atol=1e-6)


def test_mixed_separated_classes_carry_their_entropy():
    rng = np.random.default_rng(16)
    labels = rng.integers(0, 4, 4000)
    x = 20.0 * labels + rng.standard_normal(4000)
    assert mixed_mutual_information(x, labels) == pytest.approx(
        entropy_from_samples(labels), abs=0.02
    )


def test_mixed_bad_input():
    with pytest.raises(ValueError, match="same number of samples"):
        mixed_mutual_information(np.arange(5.0), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="only once"):
        mixed_mutual_information(np.arange(4.0), [0, 1, 2, 3])
    with pytest.warns(UserWarning, match="constant"):
        assert mixed_mutual_information(np.arange(6.0), [1] * 6) == 0.0


# --- feature selection -------------------------------------------------------------


@pytest.fixture(scope="module")
def classification():
    return make_classification(
        n_samples=2000, n_features=12, n_informative=4, n_redundant=0,
        shuffle=False, random_state=3,
    )


def test_select_features_mi_recovers_informative_columns(classification):
    X, y = classification
    idx, scores = select_features(X, y, 4)
    assert sorted(idx.tolist()) == [0, 1, 2, 3]
    assert np.all(np.diff(scores) <= 0)
    ref = mutual_info_classif(X, y, n_neighbors=3, random_state=0) / LN2
    np.testing.assert_allclose(scores, ref[idx], atol=1e-6)


def test_select_features_mrmr_skips_copies():
    rng = np.random.default_rng(17)
    y = rng.integers(0, 3, 1500)
    a = y + 0.6 * rng.standard_normal(1500)
    b = (y == 1) + 0.6 * rng.standard_normal(1500)
    copy_a = a + 1e-3 * rng.standard_normal(1500)
    noise = rng.standard_normal((1500, 3))
    X = np.column_stack([a, copy_a, noise, b])
    mi_idx, _ = select_features(X, y, 2, method="mi")
    mrmr_idx, mrmr_scores = select_features(X, y, 2, method="mrmr")
    assert sorted(mi_idx.tolist()) == [0, 1]  # the copy ranks high
    assert mrmr_idx[1] == 5  # mRMR takes the other informative column
    assert mrmr_scores[0] == pytest.approx(
        select_features(X, y, 1)[1][0]
    )


def test_select_features_discrete_features_and_target():
    rng = np.random.default_rng(18)
    y = rng.integers(0, 3, 800)
    X = np.column_stack([y, rng.integers(0, 3, 800), (y + rng.integers(0, 2, 800))])
    idx, scores = select_features(X, y, 3)  # integer X: all discrete (auto)
    assert idx.tolist() == [0, 2, 1]
    assert scores[0] == pytest.approx(entropy_from_samples(y))
    # Continuous target (regression) uses KSG / Ross.
    t = y + 0.3 * rng.standard_normal(800)
    assert select_features(X, t, 1)[0].tolist() == [0]
    # An explicit mask must mark every discrete column.
    Xf = np.column_stack([X[:, 0], rng.standard_normal(800)])
    with pytest.warns(UserWarning, match="whole numbers"):
        idx, _ = select_features(Xf, y, 2, discrete_features=[0])
    assert idx.tolist() == [0, 1]


def test_select_features_constant_column_scores_zero(classification):
    X, y = classification
    X = X.copy()
    X[:, 5] = 3.0
    with pytest.warns(UserWarning, match=r"columns \[5\]"):
        idx, scores = select_features(X, y, 12)
    assert scores[idx.tolist().index(5)] == 0.0


def test_select_features_bad_input(classification):
    X, y = classification
    with pytest.raises(ValueError, match="same number of samples"):
        select_features(X, y[:-1], 2)
    with pytest.raises(ValueError, match="exceeds"):
        select_features(X, y, 13)
    with pytest.raises(ValueError, match="method"):
        select_features(X, y, 2, method="chi2")
    with pytest.raises(ValueError, match="2-D"):
        select_features(X[:, 0], y, 1)
    with pytest.raises(ValueError, match="discrete_features"):
        select_features(X, y, 2, discrete_features="some")
    with pytest.raises(ValueError, match="non-finite"):
        Xn = X.copy()
        Xn[3, 2] = np.nan
        select_features(Xn, y, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select_features(X[::20], y[::20], 2)  # no spurious warnings

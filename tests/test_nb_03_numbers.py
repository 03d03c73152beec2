"""Every number printed by notebooks/03_mutual_information.ipynb, re-derived.

The test reads the committed, executed notebook and recomputes each printed
value without itutils: scipy.stats for entropies and correlation,
scikit-learn's ``mutual_info_score`` / ``mutual_info_classif`` /
``cross_val_score``, a brute-force O(N^2) KSG (both variants) written here
from Kraskov et al. (2004), closed forms, and the notebook's random draws
regenerated with numpy from the same seeds. Monte-Carlo quantities
(permutation bias, p-value) are checked against an independent permutation
run to within a few of their standard errors.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from _notebook_text import agree, compared_text, grab
from scipy.spatial.distance import cdist
from scipy.special import digamma
from scipy.stats import entropy as scipy_entropy
from scipy.stats import pearsonr
from sklearn.datasets import make_classification
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.model_selection import cross_val_score

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_mutual_information.ipynb"
NUM = r"(-?\d+\.\d+)"
LN2 = math.log(2)
COUNTS = np.array([[40, 2], [18, 10], [3, 27]])


@pytest.fixture(scope="module")
def text():
    return compared_text(NOTEBOOK)


def brute_force_ksg(x, y, k=3, variant=1):
    """KSG I(1) or I(2) in nats from all pairwise max-norm distances."""
    x, y = np.asarray(x, float)[:, None], np.asarray(y, float)[:, None]
    n = len(x)
    dx, dy = cdist(x, x, "chebyshev"), cdist(y, y, "chebyshev")
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    if variant == 1:
        eps = np.partition(dz, k - 1, axis=1)[:, k - 1]
        np.fill_diagonal(dx, np.inf)
        np.fill_diagonal(dy, np.inf)
        nx = (dx < eps[:, None]).sum(axis=1)
        ny = (dy < eps[:, None]).sum(axis=1)
        return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    neighbours = np.argpartition(dz, k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    eps_x = dx[rows, neighbours].max(axis=1)
    eps_y = dy[rows, neighbours].max(axis=1)
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = (dx <= eps_x[:, None]).sum(axis=1)
    ny = (dy <= eps_y[:, None]).sum(axis=1)
    return digamma(k) - 1 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny))


def numbers(s):
    return re.findall(r"-?\d+\.\d*", s)


# --- 1. weather and umbrellas -------------------------------------------------


def test_joint_table_and_marginals(text):
    block = text[text.index("P(W, U) =") : text.index("P(W) =")]
    for printed, ref in zip(numbers(block), (COUNTS / 100).ravel(), strict=True):
        agree(printed, ref)
    pw, pu = re.search(r"P\(W\) = \[([^\]]*)\], P\(U\) = \[([^\]]*)\]", text).groups()
    for printed, ref in zip(numbers(pw), COUNTS.sum(1) / 100, strict=True):
        agree(printed, ref)
    for printed, ref in zip(numbers(pu), COUNTS.sum(0) / 100, strict=True):
        agree(printed, ref)


def test_mi_two_ways_agree_with_sklearn(text):
    p = COUNTS / COUNTS.sum()
    h_w = scipy_entropy(p.sum(1), base=2)
    h_w_given_u = sum(
        p[:, j].sum() * scipy_entropy(p[:, j], base=2) for j in range(p.shape[1])
    )
    agree(grab(text, rf"H\(W\) = {NUM} bits"), h_w)
    agree(grab(text, rf"H\(W \| U\) = {NUM} bits"), h_w_given_u)
    mi = mutual_info_score(None, None, contingency=COUNTS) / LN2
    for label in [r"KL\(P\(W,U\) \|\| P\(W\)P\(U\)\)", r"H\(W\) - H\(W \| U\)",
                  r"H\(U\) - H\(U \| W\)", "mutual_information"]:
        agree(grab(text, rf"{label} +=\s+{NUM} bits"), mi)
    # The chain-rule form, independently: H(W) - H(W|U).
    agree(grab(text, rf"H\(W\) - H\(W \| U\) += {NUM} bits"), h_w - h_w_given_u)


def test_plugin_from_sequences_is_the_table_mi(text):
    w = np.repeat(np.arange(3), COUNTS.sum(1))
    u = np.concatenate([np.repeat([0, 1], row) for row in COUNTS])
    assert grab(text, r"(\d+) days; plug-in") == "100"
    ref = mutual_info_score(w, u) / LN2
    agree(grab(text, rf"from the sequences = {NUM} bits"), ref)


def test_independence_iff_zero(text):
    p = COUNTS / COUNTS.sum()
    indep = np.outer(p.sum(1), p.sum(0))
    direction = np.array([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]])
    rows = re.findall(rf"delta = {NUM}: I = {NUM} bits", text)
    assert [r[0] for r in rows] == ["0.000", "0.001", "0.010", "0.050"]
    for delta, value in rows:
        table = indep + float(delta) * direction
        agree(value, scipy_entropy(table.ravel(), indep.ravel(), base=2))
        # Gibbs: zero exactly at independence, positive otherwise.
        assert (float(value) == 0.0) == (float(delta) == 0.0)


# --- nonlinear dependence -------------------------------------------------------


def test_correlation_misses_what_mi_sees(text):
    rng = np.random.default_rng(7)
    half = rng.standard_normal(500)
    x = np.concatenate([half, -half])
    y = x**2 + 0.1 * rng.standard_normal(1000)
    y_shuffled = rng.permutation(y)
    agree(grab(text, rf"y = x\^2 \+ noise: {NUM}"), pearsonr(x, y)[0])
    agree(grab(text, rf"KSG MI\(x; y\) += {NUM} nats"), brute_force_ksg(x, y))
    agree(grab(text, rf"KSG MI\(x; shuffled y\) = {NUM} nats"),
          brute_force_ksg(x, y_shuffled))


# --- 3. plug-in bias ------------------------------------------------------------


def null_mi_nats(x, y, shuffles, rng):
    """Plug-in MI of ``shuffles`` random permutations of y, in nats."""
    kx, ky = x.max() + 1, y.max() + 1
    n = len(x)
    ys = rng.permuted(np.broadcast_to(y, (shuffles, n)), axis=1)
    codes = (x * ky)[None, :] + ys + (np.arange(shuffles) * kx * ky)[:, None]
    table = np.bincount(codes.ravel(), minlength=shuffles * kx * ky)
    table = table.reshape(shuffles, kx, ky) / n
    px = np.bincount(x, minlength=kx) / n
    py = np.bincount(y, minlength=ky) / n
    prod = px[:, None] * py[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(table > 0, table * np.log(table / prod), 0.0)
    return terms.sum(axis=(1, 2))


def test_random_umbrella(text):
    w = np.repeat(np.arange(3), COUNTS.sum(1))
    u = np.random.default_rng(42).integers(0, 2, size=100)
    estimate = mutual_info_score(w, u) / LN2
    agree(grab(text, rf"plug-in MI, random umbrella = {NUM} bits"), estimate)
    null = null_mi_nats(w, u, 20_000, np.random.default_rng(123)) / LN2
    bias = grab(text, rf"permutation bias estimate   = {NUM} bits")
    # Two Monte-Carlo means (1000 and 20000 shuffles): 4 standard errors.
    se = null.std() * math.sqrt(1 / 1000 + 1 / 20_000)
    agree(bias, null.mean(), slack=4 * se)
    analytic = (3 - 1) * (2 - 1) / (2 * 100) / LN2
    agree(grab(text, rf"analytic \(Kx-1\)\(Ky-1\)/\(2N\) = {NUM} bits"), analytic)
    corrected, p_value = grab(
        text, rf"corrected = {NUM} bits; permutation p-value = {NUM}"
    )
    agree(corrected, estimate - float(bias), slack=1e-4)
    p_ref = (1 + np.sum(null >= estimate - 1e-12)) / (1 + len(null))
    agree(p_value, p_ref, slack=4 * math.sqrt(p_ref * (1 - p_ref) / 1000))


def diagonal_table(k=6, stay=0.5):
    off = (1 - stay) / (k - 1)
    return np.where(np.eye(k, dtype=bool), stay, off) / k


def draw_tables(n, repeats, seed):
    p = diagonal_table()
    cells = np.random.default_rng(seed).choice(p.size, size=(repeats, n), p=p.ravel())
    return np.divmod(cells, 6)


def miller_madow_bits(x, y):
    def h(counts):
        counts = counts[counts > 0]
        q = counts / counts.sum()
        return -np.sum(q * np.log(q)) + (len(counts) - 1) / (2 * counts.sum())

    joint = np.bincount(x * 6 + y, minlength=36)
    return (h(np.bincount(x)) + h(np.bincount(y)) - h(joint)) / LN2


def test_bias_table(text):
    truth_closed = math.log2(6) - (0.5 + 5 * 0.1 * math.log2(10))
    agree(grab(text, rf"true I\(X; Y\) = {NUM} bits"), truth_closed)
    rows = re.findall(r"^ *(\d+)" + rf"  +{NUM}" * 6 + "$", text, flags=re.M)
    assert [int(r[0]) for r in rows] == [20, 50, 100, 200, 500, 1000, 2000, 5000]
    for n, plugin, excess, analytic, perm, corrected, miller in rows:
        n = int(n)
        xs, ys = draw_tables(n, 200, seed=1)
        pairs = list(zip(xs, ys, strict=True))
        ref_plugin = np.mean([mutual_info_score(x, y) for x, y in pairs]) / LN2
        ref_bias = np.mean([(len(np.unique(x)) - 1) * (len(np.unique(y)) - 1) / (2 * n)
                            for x, y in pairs]) / LN2
        agree(plugin, ref_plugin)
        agree(excess, ref_plugin - truth_closed)
        agree(analytic, ref_bias)
        agree(corrected, ref_plugin - ref_bias)
        agree(miller, np.mean([miller_madow_bits(x, y) for x, y in pairs]))
        # Permutation bias over the first 20 data sets, 100 shuffles each in
        # the notebook; here 500 each from another seed.
        rng = np.random.default_rng(99)
        nulls = np.array([null_mi_nats(x, y, 500, rng) for x, y in pairs[:20]]) / LN2
        se = nulls.std() * math.sqrt(1 / 2000 + 1 / 10_000)
        agree(perm, nulls.mean(), slack=4 * se)


# --- 4. KSG -------------------------------------------------------------------


def test_ksg_table(text):
    rows = re.findall(
        rf"^ *{NUM} +{NUM} +{NUM} ± {NUM} +{NUM} ± {NUM}$", text, flags=re.M
    )
    assert [r[0] for r in rows] == ["0.0", "0.3", "0.6", "0.9"]
    for rho, analytic, m1, s1, m2, s2 in rows:
        rho = float(rho)
        agree(analytic, -0.5 * math.log(1 - rho**2))
        v1, v2 = [], []
        for seed in range(10):
            x, z = np.random.default_rng(seed).standard_normal((2, 1000))
            y = rho * x + math.sqrt(1 - rho**2) * z
            v1.append(brute_force_ksg(x, y, variant=1))
            v2.append(brute_force_ksg(x, y, variant=2))
        agree(m1, np.mean(v1))
        agree(s1, np.std(v1, ddof=1))
        agree(m2, np.mean(v2))
        agree(s2, np.std(v2, ddof=1))
        # The claim in the prose: within about one sd (and 0.03 nats) of the truth.
        assert abs(np.mean(v1) - float(analytic)) < max(float(s1), 0.03)
        assert abs(np.mean(v2) - float(analytic)) < max(float(s2), 0.03)


# --- 5. feature selection -----------------------------------------------------


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(n_samples=1000, n_features=20, n_informative=5,
                               n_redundant=5, shuffle=False, random_state=0)
    return X, y


def mrmr_reference(X, y, k):
    """Greedy mRMR from scikit-learn relevance and brute-force KSG redundancy.

    Estimates are clipped at 0, as select_features documents (and as
    scikit-learn clips its relevance): a noise estimate below 0 must not
    earn a column a bonus.
    """
    relevance = mutual_info_classif(X, y, random_state=0)
    chosen = [int(np.argmax(relevance))]
    redundancy = np.zeros(X.shape[1])
    while len(chosen) < k:
        for j in range(X.shape[1]):
            if j not in chosen:
                redundancy[j] += max(brute_force_ksg(X[:, j], X[:, chosen[-1]]), 0.0)
        score = relevance - redundancy / len(chosen)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


def test_feature_selection(text, classification):
    X, y = classification
    sk = mutual_info_classif(X, y, random_state=0) / LN2
    ranked = np.argsort(-sk, kind="stable")[:5]
    scores = numbers(grab(text, r"MI ranking scores \(bits\): +\[([^\]]*)\]"))
    same = numbers(grab(text, r"mutual_info_classif, same columns: +\[([^\]]*)\]"))
    for printed_a, printed_b, ref in zip(scores, same, sk[ranked], strict=True):
        agree(printed_a, ref)
        agree(printed_b, ref)
    rows = dict(
        (name.strip(), (sorted(map(int, idx.split(", "))), int(a), int(b)))
        for name, idx, a, b in re.findall(
            r"^(.+?) top 5 = \[([\d, ]+)\]: (\d) informative, (\d) informative or "
            r"redundant$", text, flags=re.M)
    )
    assert rows["MI ranking"][0] == sorted(ranked.tolist())
    assert rows["mutual_info_classif"][0] == sorted(ranked.tolist())
    assert rows["mRMR"][0] == sorted(mrmr_reference(X, y, 5))
    for idx, n_informative, n_useful in rows.values():
        assert n_informative == sum(i < 5 for i in idx)
        assert n_useful == sum(i < 10 for i in idx)
    accuracies = dict(
        (name.strip(), value)
        for name, value in re.findall(r"^(.+?) 5-fold CV accuracy = (\d\.\d+)$", text,
                                      flags=re.M)
    )
    columns = {name: rows[name][0] for name in rows}
    columns["columns 0-4 (the truth)"] = list(range(5))
    columns["all 20 features"] = list(range(20))
    assert set(accuracies) == set(columns)
    for name, value in accuracies.items():
        ref = cross_val_score(LogisticRegression(max_iter=1000), X[:, columns[name]], y,
                              cv=5).mean()
        agree(value, ref)


def test_every_printed_number_is_checked(text):
    # A guard against new prints slipping in untested.
    found = re.findall(r"(?<![\w.])-?\d+\.\d+", text)
    assert len(found) == 122, len(found)

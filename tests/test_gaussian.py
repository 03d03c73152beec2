"""itutils.gaussian against scipy, torch, numerical integration and theorems."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from itutils.gaussian import (
    gaussian_entropy,
    gaussian_kl,
    gaussian_mutual_information,
)

LN2 = np.log(2)


def random_spd(d, rng):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


# --- entropy ---------------------------------------------------------------


@pytest.mark.parametrize("var", [1e-3, 0.5, 1.0, 7.0])
def test_entropy_univariate_matches_scipy(var):
    ref = stats.norm(scale=np.sqrt(var)).entropy()  # nats
    assert gaussian_entropy(var, base=np.e) == pytest.approx(ref, rel=1e-12)
    assert gaussian_entropy(var) == pytest.approx(ref / LN2, rel=1e-12)


def test_entropy_vectorised_over_variances():
    var = np.array([0.1, 1.0, 10.0])
    ref = stats.norm(scale=np.sqrt(var)).entropy()
    np.testing.assert_allclose(gaussian_entropy(var, base=np.e), ref, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_entropy_multivariate_matches_scipy(d):
    cov = random_spd(d, np.random.default_rng(d))
    ref = stats.multivariate_normal(mean=np.zeros(d), cov=cov).entropy()
    assert gaussian_entropy(cov, base=np.e) == pytest.approx(ref, rel=1e-10)


def test_entropy_can_be_negative():
    assert gaussian_entropy(0.01) < 0


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf, [1.0, 0.0]])
def test_entropy_refuses_nonpositive_variance(bad):
    with pytest.raises(ValueError, match="cov"):
        gaussian_entropy(bad)


def test_entropy_refuses_bad_matrices():
    with pytest.raises(ValueError, match="not symmetric"):
        gaussian_entropy([[1.0, 0.5], [0.2, 1.0]])
    with pytest.raises(ValueError, match="not positive definite"):
        gaussian_entropy([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="not positive definite"):
        gaussian_entropy([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="square"):
        gaussian_entropy(np.ones((2, 3)))
    with pytest.raises(ValueError, match="base"):
        gaussian_entropy(1.0, base=1)


# --- KL ----------------------------------------------------------------------


def kl_by_quadrature(m0, v0, m1, v1):
    p, q = stats.norm(m0, np.sqrt(v0)), stats.norm(m1, np.sqrt(v1))
    value, _ = integrate.quad(
        lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), -np.inf, np.inf
    )
    return value


@pytest.mark.parametrize(
    "m0, v0, m1, v1",
    [(0, 1, 2, 2), (0, 1, 2, 4), (2, 2, 0, 1), (-1, 0.3, 0.5, 3.0), (0, 1, 0, 1)],
)
def test_kl_univariate_matches_quadrature_and_torch(m0, v0, m1, v1):
    ours = gaussian_kl(m0, v0, m1, v1, base=np.e)
    assert ours == pytest.approx(kl_by_quadrature(m0, v0, m1, v1), abs=1e-8)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(float(m0), float(np.sqrt(v0))),
        torch.distributions.Normal(float(m1), float(np.sqrt(v1))),
    )
    assert ours == pytest.approx(float(ref), abs=1e-6)


def test_kl_chapter_exercise_is_ambiguous():
    # N(2, 2) as variance 2 versus standard deviation 2: different answers.
    assert gaussian_kl(0, 1, 2, 2, base=np.e) == pytest.approx(
        0.5 * (0.5 + 2 - 1 + np.log(2))
    )
    assert gaussian_kl(0, 1, 2, 4, base=np.e) == pytest.approx(
        0.5 * (0.25 + 1 - 1 + np.log(4))
    )


def test_kl_vectorised_univariate():
    mu1 = np.linspace(-2, 2, 5)
    kl = gaussian_kl(0.0, 1.0, mu1, 1.0, base=np.e)
    np.testing.assert_allclose(kl, mu1**2 / 2)


def test_kl_nearly_equal_variances_stays_accurate():
    # x - log1p(x) ~ x^2 / 2 for tiny x: no catastrophic cancellation to 0.
    v1 = 1.0 + 1e-6
    expected = 0.5 * ((1 / v1 - 1) - np.log(1 / v1))
    got = gaussian_kl(0, 1, 0, v1, base=np.e)
    assert got > 0
    assert got == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("d", [2, 4])
def test_kl_multivariate_matches_torch_and_monte_carlo(d):
    rng = np.random.default_rng(10 + d)
    m0, m1 = rng.normal(size=d), rng.normal(size=d)
    c0, c1 = random_spd(d, rng), random_spd(d, rng)
    ours = gaussian_kl(m0, c0, m1, c1, base=np.e)
    t = torch.distributions.MultivariateNormal
    ref = torch.distributions.kl_divergence(
        t(torch.tensor(m0), torch.tensor(c0)), t(torch.tensor(m1), torch.tensor(c1))
    )
    assert ours == pytest.approx(float(ref), rel=1e-9)
    # Monte Carlo: E_p[log p - log q] with 2e5 draws, well inside 5 SE.
    p = stats.multivariate_normal(m0, c0)
    q = stats.multivariate_normal(m1, c1)
    x = p.rvs(size=200_000, random_state=rng)
    terms = p.logpdf(x) - q.logpdf(x)
    se = terms.std() / np.sqrt(len(terms))
    assert abs(terms.mean() - ours) < 5 * se


def test_kl_multivariate_identities():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert gaussian_kl([1, 2], cov, [1, 2], cov) == 0.0
    # Diagonal covariances: KL adds up over the independent coordinates.
    joint = gaussian_kl([0, 1], np.diag([1.0, 2.0]), [1, 0], np.diag([3.0, 0.5]))
    parts = gaussian_kl([0, 1], [1.0, 2.0], [1, 0], [3.0, 0.5]).sum()
    assert joint == pytest.approx(parts)


def test_kl_refuses_bad_input():
    with pytest.raises(ValueError, match="cov1"):
        gaussian_kl(0, 1, 0, 0)
    with pytest.raises(ValueError, match="cov0"):
        gaussian_kl(0, -1, 0, 1)
    with pytest.raises(ValueError, match="mu0"):
        gaussian_kl(np.nan, 1, 0, 1)
    with pytest.raises(ValueError, match="length 2"):
        gaussian_kl([0, 0, 0], np.eye(2), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl([0, 0], np.eye(2), [0, 0, 0], np.eye(3))
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_kl([0, 1], 1, [0, 1, 2], 1)
    with pytest.raises(ValueError, match="not positive definite"):
        gaussian_kl([0, 0], np.eye(2), [0, 0], np.diag([1.0, -1.0]))


# --- MI ----------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.0, 0.1, -0.5, 0.9, 0.999])
def test_mi_equals_entropy_identity(rho):
    cov = np.array([[1.0, rho], [rho, 1.0]])
    ref = 2 * stats.norm.entropy() - stats.multivariate_normal(cov=cov).entropy()
    assert gaussian_mutual_information(rho, base=np.e) == pytest.approx(
        ref, abs=1e-12
    )


def test_mi_limits_and_symmetry():
    assert gaussian_mutual_information(0.0) == 0.0
    assert gaussian_mutual_information(1.0) == np.inf
    assert gaussian_mutual_information(-1.0) == np.inf
    np.testing.assert_array_equal(
        gaussian_mutual_information([0.3, -0.3]),
        [gaussian_mutual_information(0.3)] * 2,
    )
    # Tiny rho: log1p keeps rho^2 / 2 instead of rounding to 0.
    assert gaussian_mutual_information(1e-9, base=np.e) == pytest.approx(5e-19)


@pytest.mark.parametrize("bad", [1.01, -2.0, np.nan])
def test_mi_refuses_bad_rho(bad):
    with pytest.raises(ValueError, match="rho"):
        gaussian_mutual_information(bad)

"""Every number printed by notebooks/06_elbo.ipynb, recomputed independently.

The four beta-VAEs are re-trained with the same seeds (training is
deterministic given the seed). log p(x) is recomputed by a different
quadrature (another grid, torch.distributions densities); ELBO terms with
torch.distributions; theorems (ELBO <= L_k <= L_k' <= log p(x), KL >= 0,
1/sqrt(S) spread) are checked on the printed values.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from _notebook_text import assert_printed, number_after, printed
from torch import distributions as D

from itutils.data import load_digits_binary
from itutils.vae import VAE, train_vae

NB = "06_elbo.ipynb"
BETAS = [0.3, 1.0, 3.0, 8.0]


@pytest.fixture(scope="module")
def data():
    return load_digits_binary()


@pytest.fixture(scope="module")
def models(data):
    out = {}
    for beta in BETAS:
        model = VAE(64, 64, 2, seed=0)
        train_vae(model, data, epochs=60, beta=beta, lr=3e-3, batch_size=128, seed=0,
                  progress=False)
        out[beta] = model
    return out


@pytest.fixture(scope="module")
def x(data):
    return data.x_test[:100]


def terms_reference(model, x, n_samples, seed=0):
    """(distortion, KL) per image via torch.distributions, elbo_terms' draws."""
    with torch.no_grad():
        torch.manual_seed(seed)
        mu, logvar = model.encode(x)
        q = D.Normal(mu, torch.exp(0.5 * logvar))
        z = mu + q.scale * torch.randn(n_samples, *mu.shape)
        log_lik = D.Bernoulli(logits=model.decode(z)).log_prob(x).sum(-1).mean(0)
        kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)
    return -log_lik, kl


@pytest.fixture(scope="module")
def log_px(models, x):
    """log p(x) by the midpoint rule on a 351 x 351 grid over [-7, 7]^2."""
    model = models[1.0]
    n, half = 351, 7.0
    step = 2 * half / n
    axis = -half + step * (torch.arange(n, dtype=torch.float64) + 0.5)
    z = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        logits = model.decode(z.float()).double()
    prior = D.Normal(torch.zeros(2, dtype=torch.float64), 1.0).log_prob(z).sum(-1)
    log_lik = torch.stack([D.Bernoulli(logits=logits).log_prob(xi.double()).sum(-1)
                           for xi in x])
    return torch.logsumexp(log_lik + prior, 1) + 2 * math.log(step)


def test_gap_identity_on_the_grid(models, x, log_px):
    text = printed(NB, "log_px, elbo_grid, gap, q_mass = on_grid(model, x)")
    assert_printed(number_after(text, "mean log p(x)"), float(log_px.mean()), 4)
    distortion, kl = terms_reference(models[1.0], x, 20000, seed=1)
    elbo = -(distortion + kl)
    # The printed quadrature ELBO agrees with a 20,000-sample Monte Carlo ELBO.
    printed_elbo = number_after(text, "mean ELBO")
    assert printed_elbo == pytest.approx(float(elbo.mean()), abs=0.01)
    gap = number_after(text, "mean KL(q(z|x) || p(z|x))")
    assert gap >= 0
    assert_printed(gap, float(log_px.mean()) - number_after(text, "mean ELBO"), 3)
    assert "for every image: True" in text
    assert number_after(text, "inside the grid: min") == 1.0


def test_kl_closed_form_and_monte_carlo(models, x):
    text = printed(NB, "closed form KL for test image 0")
    with torch.no_grad():
        mu, logvar = (t[0] for t in models[1.0].encode(x[:1]))
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    closed = float(D.kl_divergence(q, D.Normal(0.0, 1.0)).sum())
    assert_printed(number_after(text, "test image 0:"), closed, 4)
    rows = [ln.split() for ln in text.splitlines() if re.match(r"\s+\d+\s", ln)]
    assert [int(r[0]) for r in rows] == [1, 10, 100, 1000, 10000]
    for s, mean, std in ((int(r[0]), float(r[1]), float(r[2])) for r in rows):
        gen = torch.Generator().manual_seed(0)
        z = mu + q.scale * torch.randn(100, s, 2, generator=gen)
        est = (q.log_prob(z) - D.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(1).double()
        assert_printed(mean, float(est.mean()), 4)
        assert_printed(std, float(est.std(unbiased=False)), 4)
        # Unbiased: the mean of 100 estimates is within 4 standard errors.
        assert abs(mean - closed) < 4 * std / 10 + 1e-4
    stds = [float(r[2]) for r in rows]
    for a, b in zip(stds, stds[1:], strict=False):      # 1/sqrt(10) per step
        assert 0.2 < b / a < 0.45


def test_iwae_bounds(models, x, log_px):
    text = printed(NB, "elbo_mc = -elbo_terms(model, x, n_samples=1000).loss")
    model = models[1.0]
    distortion, kl = terms_reference(model, x, 1000)
    assert_printed(number_after(text, "ELBO (1,000 samples of z)"),
                   float(-(distortion + kl).mean()), 3)
    bounds = {}
    with torch.no_grad():
        mu, logvar = model.encode(x)
        q = D.Normal(mu, torch.exp(0.5 * logvar))
        for k in (1, 10, 100, 1000):
            torch.manual_seed(0)
            log_w = []
            for start in range(0, k, 100):        # the same draws as iwae_bound
                z = mu + q.scale * torch.randn(min(100, k - start), *mu.shape)
                log_w.append(D.Bernoulli(logits=model.decode(z)).log_prob(x).sum(-1)
                             + D.Normal(0.0, 1.0).log_prob(z).sum(-1)
                             - q.log_prob(z).sum(-1))
            bound = torch.logsumexp(torch.cat(log_w), 0) - math.log(k)
            bounds[k] = float(bound.mean())
            assert_printed(number_after(text, f"L_k for k = {k:4d}"), bounds[k], 3)
    assert_printed(number_after(text, "log p(x) on the grid"), float(log_px.mean()), 3)
    values = list(bounds.values())
    assert values[1:] == sorted(values[1:])           # tighter with k
    assert values[-1] <= float(log_px.mean()) + 0.005  # never above log p(x)
    assert float(-(distortion + kl).mean()) <= values[-1]


def test_per_example_table(data, models, x, log_px):
    text = printed(NB, 'print("image  digit  distortion (nats)')
    distortion, kl = terms_reference(models[1.0], x, 1000)
    rows = [ln.split() for ln in text.splitlines()[1:] if ln.strip()]
    assert len(rows) == 5
    for i, row in enumerate(rows):
        assert int(row[0]) == i and int(row[1]) == int(data.y_test[i])
        assert_printed(float(row[2]), float(distortion[i]), 3)
        assert_printed(float(row[3]), float(kl[i]), 3)
        assert_printed(float(row[4]), float(distortion[i] + kl[i]), 3)
        assert_printed(float(row[5]), float(-log_px[i]), 3)
        assert float(row[5]) <= float(row[4])            # -log p(x) <= -ELBO


def test_rate_distortion_table(data, models):
    text = printed(NB, 'print("beta   rate (nats)')
    rows = [ln.split() for ln in text.splitlines()[1:] if ln.strip()]
    assert [float(r[0]) for r in rows] == BETAS
    for row, beta in zip(rows, BETAS, strict=True):
        distortion, kl = terms_reference(models[beta], data.x_test, 10)
        assert_printed(float(row[1]), float(kl.mean()), 2)
        assert_printed(float(row[2]), float(distortion.mean()), 2)
        assert_printed(float(row[3]), float((kl + distortion).mean()), 2)
    totals = [float(r[3]) for r in rows]
    assert min(totals) == totals[BETAS.index(1.0)]    # beta = 1 minimises R + D


def test_collapsed_posterior():
    text = printed(NB, "collapsed = VAE(64, 64, 2, seed=0)")
    assert number_after(text, "largest |mu| =") == 0.0
    assert number_after(text, "largest |log sigma^2| =") == 0.0
    assert number_after(text, "test images =") == 0.0
    assert "all exactly zero: True" in text
    assert number_after(text, "max |estimate| =") == 0.0
    # The closed form at mu = 0, sigma = 1, from torch.distributions:
    kl = D.kl_divergence(D.Normal(torch.zeros(2), 1.0), D.Normal(0.0, 1.0))
    assert float(kl.sum()) == 0.0


def test_outline_bugs():
    text = printed(NB, "outline_namespace =")
    assert "NameError: name 'F' is not defined" in text
    torch.manual_seed(42)
    x_rand = torch.rand(4, 64).double().numpy()
    p = torch.sigmoid(torch.randn(4, 64)).double().numpy()
    plug_in = (x_rand * np.log(p) + (1 - x_rand) * np.log1p(-p)).sum() / 4
    assert_printed(number_after(text, "plug-in term"), plug_in, 4)
    assert "take 1 distinct value(s)" in text


def test_correct_elbo_components(models, x):
    text = printed(NB, "def elbo_components(")
    rows = [ln for ln in text.splitlines() if ln.startswith("S =")]
    assert len(rows) == 3
    for line, s in zip(rows, (1, 10, 1000), strict=True):
        distortion, kl = terms_reference(models[1.0], x, s)
        recon = float(-distortion.mean())
        assert_printed(number_after(line, "reconstruction"), recon, 3)
        assert_printed(number_after(line, "KL"), float(kl.mean()), 3)
        assert_printed(number_after(line, "ELBO"), float(-(distortion + kl).mean()), 3)


def test_kl_explorer_slider(models, x):
    from itutils.widgets.elbo import kl_mc_explorer

    with torch.no_grad():
        mu, logvar = (t[0] for t in models[1.0].encode(x[:1]))
    explorer = kl_mc_explorer(mu, logvar, n_samples=10)
    stds = []
    for s in (1, 10, 100, 1000, 10000):
        explorer.sliders["n_samples"].value = s
        shown = explorer.shown
        assert shown["n_samples"] == s and len(shown["estimates"]) == 100
        assert shown["analytic_nats"] == pytest.approx(
            float(D.kl_divergence(D.Normal(mu, torch.exp(0.5 * logvar)),
                                  D.Normal(0.0, 1.0)).sum()), rel=1e-6)
        stds.append(shown["std_nats"])
    assert stds == sorted(stds, reverse=True)


def test_iwae_explorer_slider(models, x, log_px):
    from itutils.widgets.elbo import iwae_explorer

    explorer = iwae_explorer(models[1.0], x, ks=(1, 10, 100), k=1)
    seen = []
    for k in (1, 10, 100):
        explorer.sliders["k"].value = k
        shown = explorer.shown
        assert shown["k"] == k
        gain = shown["bound_nats"] - shown["elbo_nats"]
        assert shown["gain_nats"] == pytest.approx(gain)
        seen.append(shown["bound_nats"])
    # L_k <= log p(x) holds in expectation; one estimate may exceed it by noise.
    assert seen[0] <= seen[1] <= seen[2] <= float(log_px.mean()) + 0.05

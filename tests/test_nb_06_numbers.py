"""Every number printed by notebooks/06_elbo.ipynb, recomputed independently.

The VAE is re-trained with the same seed (training is deterministic given
the seed). log p(x) is recomputed by a different quadrature (another grid,
torch.distributions densities); ELBO terms with torch.distributions; the
best Gaussian per image by our own Adam loop and, for a few images, by
scipy's L-BFGS on the exact quadrature; theorems (ELBO <= L_k <= L_k' <=
log p(x), KL >= 0, 1/sqrt(S) spread) are checked on the printed values.
Every number a sentence of the chapter names is checked against them too.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
import torch
from _notebook_text import NOTEBOOKS, assert_printed, number_after, printed
from scipy.optimize import minimize
from torch import distributions as D

from itutils.data import load_digits_binary
from itutils.vae import VAE, train_vae

NB = "06_elbo.ipynb"


@pytest.fixture(scope="module")
def data():
    return load_digits_binary()


@pytest.fixture(scope="module")
def models(data):
    """The chapter's model (beta = 1), keyed by beta as the checks read it."""
    model = VAE(64, 64, 2, seed=0)
    train_vae(model, data, epochs=60, lr=3e-3, batch_size=128, seed=0, progress=False)
    return {1.0: model}


def markdown(snippet: str) -> str:
    """The one Markdown cell of the notebook whose text contains ``snippet``."""
    nb = nbformat.read(NOTEBOOKS / NB, as_version=4)
    cells = [c.source for c in nb.cells
             if c.cell_type == "markdown" and snippet in c.source]
    assert len(cells) == 1, f"{len(cells)} Markdown cells contain {snippet!r}"
    return cells[0]


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
def midpoint_grid(models, x):
    """(z, log p(x, z), cell area): the midpoint rule, 351 x 351 over [-7, 7]^2."""
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
    return z, log_lik + prior, step**2


@pytest.fixture(scope="module")
def log_px(midpoint_grid):
    """log p(x) per image by the midpoint rule."""
    _, log_joint, area = midpoint_grid
    return torch.logsumexp(log_joint, 1) + math.log(area)


def grid_elbo(midpoint_grid, mu, logvar):
    """E_q[log p(x, z) - log q(z)] per image by the midpoint rule (float64)."""
    z, log_joint, area = midpoint_grid
    q = D.Normal(mu.double()[:, None], torch.exp(0.5 * logvar.double())[:, None])
    log_q = q.log_prob(z[None]).sum(-1)
    return (log_q.exp() * area * (log_joint - log_q)).sum(1)


def test_gap_identity_on_the_grid(models, x, log_px):
    text = printed(NB, "z_grid, log_joint, step = log_joint_on_grid(model, x)")
    assert_printed(number_after(text, "mean log p(x)"), float(log_px.mean()), 4)
    distortion, kl = terms_reference(models[1.0], x, 20000, seed=1)
    elbo = -(distortion + kl)
    # The printed quadrature ELBO agrees with a 20,000-sample Monte Carlo ELBO.
    printed_elbo = number_after(text, "mean ELBO")
    assert printed_elbo == pytest.approx(float(elbo.mean()), abs=0.01)
    gap = number_after(text, "mean D_KL(q(z|x) || p(z|x))")
    assert gap >= 0
    assert_printed(gap, float(log_px.mean()) - number_after(text, "mean ELBO"), 3)
    assert "for every image: True" in text
    assert number_after(text, "inside the grid: min") == 1.0
    # The sentences that name the gap: the text after the check, the summary
    # and the amortisation section.
    for snippet, label in (("The identity holds image by image", "posterior by"),
                           ("## Summary", "the gap is"),
                           ("The gap of", "The gap of")):
        prose = markdown(snippet)
        assert number_after(prose, label) == gap


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
    # "from k = 10 on, the bound has closed most of the gap to log p(x)"
    elbo = float(-(distortion + kl).mean())
    assert bounds[10] - elbo > 0.5 * (float(log_px.mean()) - elbo)
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


def test_monte_carlo_loop_that_never_uses_z(models, x):
    text = printed(NB, "probs = torch.sigmoid(model.decode(mu_x))")
    model = models[1.0]
    with torch.no_grad():
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        at_mean = D.Bernoulli(logits=model.decode(mu)).log_prob(x).sum(-1).mean()
        torch.manual_seed(0)
        draws = []
        for _ in range(1000):      # the same draws, in the same order
            z = mu + torch.randn(mu.shape) * std
            draws.append(float(D.Bernoulli(logits=model.decode(z)).log_prob(x)
                               .sum(-1).mean()))
    assert_printed(number_after(text, "wrong, z unused:"), float(at_mean), 3)
    assert "(1 distinct value in 1000 iterations)" in text
    assert_printed(number_after(text, "right, z decoded:"), float(np.mean(draws)), 3)
    # The right value is the distortion of elbo_terms, up to Monte Carlo noise.
    distortion, _ = terms_reference(model, x, 1000)
    assert float(np.mean(draws)) == pytest.approx(-float(distortion.mean()), abs=0.02)


def reference_best_q(model, x, steps=300, lr=0.05, n_samples=32, seed=0):
    """Per-image Gaussian fitted by Adam on the reparameterised ELBO, from scratch.

    As documented for fit_gaussian_q: lr / 10 for the last third of the steps,
    whose iterates are averaged.
    """
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
    mu = mu0.clone().requires_grad_(True)
    logvar = logvar0.clone().requires_grad_(True)
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    settled = []
    for step in range(steps):
        if step == (2 * steps) // 3:
            opt.param_groups[0]["lr"] = lr / 10
        q = D.Normal(mu, torch.exp(0.5 * logvar))
        z = mu + q.scale * torch.randn(n_samples, *mu.shape, generator=gen)
        fit = D.Bernoulli(logits=model.decode(z)).log_prob(x).sum(-1).mean(0)
        kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)
        opt.zero_grad()
        (kl - fit).sum().backward()
        opt.step()
        if step >= (2 * steps) // 3:
            settled.append((mu.detach().clone(), logvar.detach().clone()))
    return (torch.stack([m for m, _ in settled]).mean(0),
            torch.stack([lv for _, lv in settled]).mean(0))


def test_amortisation_gap(models, x, midpoint_grid, log_px):
    text = printed(NB, "mu_best, logvar_best = fit_gaussian_q(")
    model = models[1.0]
    with torch.no_grad():
        mu, logvar = model.encode(x)
    elbo_encoder = grid_elbo(midpoint_grid, mu, logvar)
    mu_best, logvar_best = reference_best_q(model, x)
    elbo_best = grid_elbo(midpoint_grid, mu_best, logvar_best)
    approximation = log_px - elbo_best
    amortisation = elbo_best - elbo_encoder
    assert_printed(number_after(text, "encoder's q"), float(elbo_encoder.mean()), 4)
    # Our own Adam run agrees to Monte Carlo jitter near a flat optimum.
    assert number_after(text, "best q per image") == pytest.approx(
        float(elbo_best.mean()), abs=2e-3)
    assert_printed(number_after(text, "mean log p(x)"), float(log_px.mean()), 4)
    gap = number_after(text, "gap")
    assert_printed(gap, float((log_px - elbo_encoder).mean()), 4)
    shown_approx = number_after(text, "approximation")
    shown_amort = number_after(text, "+ amortisation")
    assert shown_approx == pytest.approx(float(approximation.mean()), abs=2e-3)
    assert shown_amort == pytest.approx(float(amortisation.mean()), abs=2e-3)
    assert abs(shown_approx + shown_amort - gap) <= 1.5e-4   # the split adds up
    assert bool((approximation >= -1e-6).all())               # a KL, never < 0
    assert int((amortisation > 0).sum()) == 100
    assert "images where the fit beats the encoder: 100 of 100" in text
    # The Adam fit is the best Gaussian: for three images, scipy's L-BFGS on
    # the exact quadrature finds no better (mu, logvar).
    z, log_joint, area = (t.numpy() if torch.is_tensor(t) else t
                          for t in midpoint_grid)
    for i in range(3):
        def negative_elbo(theta, i=i):
            m, lv = theta[:2], theta[2:]
            log_q = -0.5 * (((z - m) ** 2) / np.exp(lv) + lv
                            + math.log(2 * math.pi)).sum(1)
            return -float(np.sum(np.exp(log_q) * area * (log_joint[i] - log_q)))

        start = np.concatenate([mu[i].double().numpy(), logvar[i].double().numpy()])
        best = minimize(negative_elbo, start, method="L-BFGS-B")
        assert float(elbo_best[i]) == pytest.approx(-best.fun, abs=3e-3)
        assert float(elbo_best[i]) <= -best.fun + 1e-4
    # The sentences that report the split, as printed.
    lead = markdown("Most of the gap is amortisation")
    assert number_after(lead, "amortisation:") == shown_amort
    assert number_after(lead.split("amortisation:")[1], "of the") == gap
    assert number_after(lead, "approximation gap,") == shown_approx
    summary = markdown("## Summary")
    assert number_after(summary, "own error,") == shown_approx
    assert number_after(summary, "for all images,") == shown_amort


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

    explorer = iwae_explorer(models[1.0], x, ks=(1, 10, 100), k=1,
                             log_px=float(log_px.mean()))
    seen = []
    for k in (1, 10, 100):
        explorer.sliders["k"].value = k
        shown = explorer.shown
        assert shown["k"] == k
        gain = shown["bound_nats"] - shown["elbo_nats"]
        assert shown["gain_nats"] == pytest.approx(gain)
        seen.append(shown["bound_nats"])
    assert shown["log_px_nats"] == float(log_px.mean())
    assert "below log p(x)" in explorer.text.value
    # L_k <= log p(x) holds in expectation; one estimate may exceed it by noise.
    assert seen[0] <= seen[1] <= seen[2] <= float(log_px.mean()) + 0.05

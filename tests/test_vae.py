"""itutils.vae: the reparameterised ELBO, its parts, the IWAE bound, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as D

from itutils.data import load_digits_binary
from itutils.vae import (
    VAE,
    bernoulli_log_likelihood,
    elbo_terms,
    fit_gaussian_q,
    gaussian_kl,
    iwae_bound,
    train_vae,
)


@pytest.fixture(scope="module")
def data():
    return load_digits_binary()


@pytest.fixture(scope="module")
def trained(data):
    model = VAE(64, 32, 4, seed=0)
    train_vae(model, data, epochs=15, lr=3e-3, progress=False)
    return model


def hand_model(mu, logvar, decoder_weight, decoder_bias):
    """A VAE with 2 pixels and a 1-D latent whose outputs are set by hand.

    The encoder ignores x (zero weights) and outputs (mu, logvar); the decoder's
    hidden layer is the identity-like tanh(z) and its logits are w * tanh(z) + b.
    """
    model = VAE(2, 1, 1, seed=0)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.encoder[2].bias.copy_(torch.tensor([mu, logvar]))
        model.decoder[0].weight.fill_(1.0)
        model.decoder[2].weight.copy_(torch.tensor(decoder_weight).reshape(2, 1))
        model.decoder[2].bias.copy_(torch.tensor(decoder_bias))
    return model


# ------------------------------------------------------------ the trick


def test_gradients_flow_through_the_reparameterised_sample():
    mu = torch.tensor([[0.3, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.2, -0.4]], requires_grad=True)
    torch.manual_seed(0)
    z = VAE.reparameterize(mu, logvar)
    torch.manual_seed(0)
    eps = torch.randn(1, 2)
    z.sum().backward()
    # dz/dmu = 1 and dz/dlogvar = 0.5 * sigma * eps: the noise is outside the graph.
    torch.testing.assert_close(mu.grad, torch.ones(1, 2))
    sigma = torch.exp(0.5 * logvar.detach())
    torch.testing.assert_close(logvar.grad, 0.5 * sigma * eps)


def test_the_loss_reaches_every_encoder_parameter(data):
    model = VAE(64, 16, 2, seed=0)
    torch.manual_seed(0)
    elbo_terms(model, data.x_train[:32]).distortion.mean().backward()
    # Even the distortion alone (no KL) trains the encoder, through z.
    for p in model.encoder.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


# ------------------------------------------------------------ hand-computed


def softplus(t):
    return math.log1p(math.exp(t))


def test_elbo_terms_match_a_hand_computation_without_noise():
    # Decoder weight 0: logits are the bias whatever z is, so no randomness.
    model = hand_model(0.5, math.log(0.25), [0.0, 0.0], [1.0, -2.0])
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    terms = elbo_terms(model, x, beta=3.0, n_samples=4)
    # Bernoulli NLL with logit b: softplus(b) - x * b.
    d0 = (softplus(1.0) - 1.0) + softplus(-2.0)
    d1 = softplus(1.0) + softplus(-2.0)
    rate = 0.5 * (0.25 + 0.25 - math.log(0.25) - 1.0)
    torch.testing.assert_close(terms.distortion, torch.tensor([d0, d1]))
    torch.testing.assert_close(terms.rate, torch.tensor([rate, rate]))
    torch.testing.assert_close(terms.loss, torch.tensor([d0, d1]) + 3.0 * rate)


def test_elbo_terms_use_the_sampled_z():
    # The chapter's example drew z and never used it; here logits depend on z.
    model = hand_model(0.5, math.log(0.25), [2.0, -1.0], [0.0, 0.5])
    x = torch.tensor([[1.0, 0.0]])
    torch.manual_seed(3)
    terms = elbo_terms(model, x, n_samples=5)
    torch.manual_seed(3)
    z = 0.5 + 0.5 * torch.randn(5, 1, 1)
    h = torch.tanh(z)
    logit1, logit2 = 2.0 * h + 0.0, -1.0 * h + 0.5
    softplus_ = torch.nn.functional.softplus
    nll = (softplus_(logit1) - logit1) + softplus_(logit2)
    torch.testing.assert_close(terms.distortion, nll.mean(0).reshape(1))
    # log q(z|x) - log p(z) for the same draws.
    q, p = D.Normal(0.5, 0.5), D.Normal(0.0, 1.0)
    mc = (q.log_prob(z) - p.log_prob(z)).mean()
    torch.testing.assert_close(terms.rate_mc, mc.reshape(1))


def test_bernoulli_log_likelihood_is_torch_bernoulli():
    gen = torch.Generator().manual_seed(0)
    logits = 4 * torch.randn(7, 64, generator=gen)
    x = (torch.rand(7, 64, generator=gen) > 0.5).float()
    expected = D.Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(bernoulli_log_likelihood(logits, x), expected)


# ------------------------------------------------------------ KL


def test_analytic_kl_equals_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(50, 6, generator=gen)
    logvar = 2 * torch.randn(50, 6, generator=gen)
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    expected = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)


def test_monte_carlo_kl_converges_to_the_closed_form(data, trained):
    x = data.x_test[:20]
    with torch.no_grad():
        torch.manual_seed(0)
        many = elbo_terms(trained, x, n_samples=20_000)
        errors = []
        for s in (10, 1000):
            reps = torch.stack(
                [elbo_terms(trained, x, n_samples=s).rate_mc for _ in range(30)]
            )
            errors.append(float((reps - many.rate).pow(2).mean().sqrt()))
    # The variance of log q - log p is at most a few nats^2 here: 20,000 draws
    # bring the error to a few hundredths of a nat.
    torch.testing.assert_close(many.rate_mc, many.rate, atol=0.08, rtol=0)
    assert errors[1] < errors[0] / 5  # root-mean-square error ~ 1/sqrt(samples)


def test_collapsed_posterior_has_rate_exactly_zero(data):
    model = VAE(64, 16, 3, seed=0)
    with torch.no_grad():
        model.encoder[2].weight.zero_()
        model.encoder[2].bias.zero_()
    terms = elbo_terms(model, data.x_test)
    assert torch.equal(terms.rate, torch.zeros(len(data.x_test)))


# ------------------------------------------------------------ IWAE


def test_iwae_with_one_sample_is_the_elbo_in_expectation(data, trained):
    x = data.x_test[:50]
    with torch.no_grad():
        torch.manual_seed(0)
        iw = torch.stack([iwae_bound(trained, x, k=1) for _ in range(400)]).mean(0)
        elbo = -elbo_terms(trained, x, n_samples=400).loss
    # Both average 400 draws of the same quantity log p(x, z) - log q(z|x).
    assert abs(float((iw - elbo).mean())) < 0.05


def test_iwae_is_non_decreasing_in_k_on_average(data, trained):
    x = data.x_test
    torch.manual_seed(0)
    with torch.no_grad():
        bounds = [float(iwae_bound(trained, x, k).mean()) for k in (1, 5, 50, 500)]
        elbo = float(-elbo_terms(trained, x, n_samples=100).loss.mean())
    assert bounds == sorted(bounds)
    assert bounds[-1] > elbo
    assert bounds[-1] < 0  # a log-probability of a discrete x


def test_iwae_chunks_any_k(trained, data):
    out = iwae_bound(trained, data.x_test[:3], k=250, chunk_size=100)
    assert out.shape == (3,) and torch.isfinite(out).all()


# ------------------------------------------------------------ training


def test_training_is_reproducible_given_the_seed(data):
    def run(seed):
        model = VAE(64, 16, 2, seed=1)
        history = train_vae(model, data, epochs=3, seed=seed, progress=False)
        return model, history

    a, ha = run(0)
    b, hb = run(0)
    c, hc = run(1)
    assert ha == hb
    pairs = zip(a.parameters(), b.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    assert ha["train_loss"] != hc["train_loss"]


def test_training_leaves_global_state_alone(data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    train_vae(VAE(64, 8, 2, seed=0), data.x_train[:200], epochs=1, progress=False)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_history_records_and_decreasing_loss(data):
    history = train_vae(VAE(64, 16, 2, seed=0), (data.x_train, data.x_test),
                        epochs=6, beta=0.5, lr=3e-3, progress=False)
    assert set(history) == {"epoch", "train_loss", "test_loss", "rate", "distortion"}
    assert history["epoch"] == list(range(1, 7))
    assert history["train_loss"][-1] < history["train_loss"][0]
    for loss, rate, dist in zip(history["test_loss"], history["rate"],
                                history["distortion"], strict=True):
        # Single-sample test terms: loss = distortion + beta * rate exactly.
        assert loss == pytest.approx(dist + 0.5 * rate, rel=1e-5)


def test_progress_bar_runs(data, capsys):
    train_vae(VAE(64, 8, 2, seed=0), data.x_train[:100], epochs=2, progress=True)
    assert "beta=1" in capsys.readouterr().err


def test_train_only_tensor_gives_nan_test_columns(data):
    history = train_vae(VAE(64, 8, 2, seed=0), data.x_train[:100], epochs=1,
                        progress=False)
    assert math.isnan(history["test_loss"][0])


# ------------------------------------------------------------ bad input


def test_bad_input_is_refused_with_clear_messages(data):
    model = VAE(64, 8, 2, seed=0)
    with pytest.raises(ValueError, match=r"shape \(n, 64\)"):
        elbo_terms(model, torch.zeros(3, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        elbo_terms(model, [[0.0] * 64])
    with pytest.raises(ValueError, match="beta"):
        elbo_terms(model, data.x_test, beta=-1)
    with pytest.raises(ValueError, match="n_samples"):
        elbo_terms(model, data.x_test, n_samples=0)
    with pytest.raises(ValueError, match="k must"):
        iwae_bound(model, data.x_test, k=0)
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(64, 8, 0)
    with pytest.raises(TypeError, match="data must be"):
        train_vae(model, {"x": data.x_train}, epochs=1, progress=False)


# ------------------------------------------------ the best q per example


def test_fit_gaussian_q_finds_the_prior_when_the_decoder_ignores_z():
    """With p(x|z) = p(x) the ELBO is const - KL(q || p(z)), so the best q is p(z)."""
    model = hand_model(mu=1.5, logvar=-2.0, decoder_weight=[0.0, 0.0],
                       decoder_bias=[0.3, -0.7])
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mu, logvar = fit_gaussian_q(model, x, steps=600, lr=0.05)
    assert torch.allclose(mu, torch.zeros_like(mu), atol=0.02)
    assert torch.allclose(logvar, torch.zeros_like(logvar), atol=0.02)


def test_fit_gaussian_q_matches_the_exact_optimum_of_a_1d_model():
    """A 1-D latent: the ELBO by quadrature, maximised on a fine grid of (m, s)."""
    model = hand_model(mu=0.0, logvar=0.0, decoder_weight=[3.0, -2.0],
                       decoder_bias=[0.5, 0.2])
    x = torch.tensor([[1.0, 0.0]])
    mu, logvar = fit_gaussian_q(model, x, steps=600, lr=0.05, n_samples=64)
    z = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    with torch.no_grad():
        logits = model.decode(z[:, None].float()).double()
    log_lik = D.Bernoulli(logits=logits).log_prob(x.double()).sum(-1)

    def elbo(m, log_v):
        q = D.Normal(m, math.exp(0.5 * log_v))
        dz = float(z[1] - z[0])
        fit = float((q.log_prob(z).exp() * log_lik).sum()) * dz
        return fit - float(D.kl_divergence(q, D.Normal(0.0, 1.0)))

    grid = [(m, lv) for m in np.linspace(-1.5, 1.5, 61)
            for lv in np.linspace(-3, 0.5, 36)]
    best = max(elbo(m, lv) for m, lv in grid)
    found = elbo(float(mu), float(logvar))
    assert found == pytest.approx(best, abs=5e-3)
    assert found >= best - 5e-3


def test_fit_gaussian_q_improves_and_leaves_the_model_alone(data, trained):
    x = data.x_test[:20]
    before = [p.detach().clone() for p in trained.parameters()]
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    mu, logvar = fit_gaussian_q(trained, x, steps=150, seed=3)
    after = list(trained.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert all(p.requires_grad for p in trained.parameters())
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), state)
    assert not mu.requires_grad and mu.shape == (20, 4) and logvar.shape == (20, 4)

    def elbo(mu, logvar):  # common draws for both q's, torch.distributions
        gen = torch.Generator().manual_seed(7)
        q = D.Normal(mu, torch.exp(0.5 * logvar))
        z = mu + q.scale * torch.randn(4000, *mu.shape, generator=gen)
        with torch.no_grad():
            fit = D.Bernoulli(logits=trained.decode(z)).log_prob(x).sum(-1).mean(0)
        return fit - D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)

    with torch.no_grad():
        gain = elbo(mu, logvar) - elbo(*trained.encode(x))
    assert float(gain.mean()) > 0
    assert float(gain.min()) > -0.05
    # Deterministic given the seed.
    again = fit_gaussian_q(trained, x, steps=150, seed=3)
    assert torch.equal(again[0], mu) and torch.equal(again[1], logvar)


def test_fit_gaussian_q_refuses_bad_arguments(trained):
    x = torch.zeros(2, 64)
    with pytest.raises(ValueError, match="steps"):
        fit_gaussian_q(trained, x, steps=0)
    with pytest.raises(ValueError, match="n_samples"):
        fit_gaussian_q(trained, x, n_samples=0)
    with pytest.raises(ValueError, match="lr"):
        fit_gaussian_q(trained, x, lr=float("nan"))
    with pytest.raises(ValueError, match="shape"):
        fit_gaussian_q(trained, torch.zeros(2, 3))

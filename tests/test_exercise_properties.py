"""The properties the hidden tests and self-checks use, checked against references.

``itutils.grading.properties`` recomputes what a learner reports: a VAE's
rate, distortion and bounds from its weights (numpy, here compared with
torch on the same draws), a calibration table from the logits. These tests
make sure those recomputations are right and that a self-check's hint never
shows the expected value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from itutils.grading import properties
from itutils.vae import VAE, bernoulli_log_likelihood, gaussian_kl


def _weights(model):
    return [p.detach().numpy().astype(np.float64) for p in model.parameters()]


def test_vae_terms_match_torch_on_the_same_draws():
    model = VAE(64, 32, 2, seed=3)
    weights = _weights(model)
    assert [w.shape for w in weights] == list(properties.VAE_SHAPES)
    rate, distortion, log_w = properties.vae_test_terms(weights, n_samples=7, seed=5)
    x = torch.as_tensor(properties._test_images())
    eps = torch.as_tensor(np.random.default_rng(5).standard_normal((7, len(x), 2)))
    model = model.double()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_lik = bernoulli_log_likelihood(model.decode(z), x)
        normal = torch.distributions.Normal
        log_prior = normal(0.0, 1.0).log_prob(z).sum(-1)
        log_q = normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    np.testing.assert_allclose(rate, gaussian_kl(mu, logvar).numpy(), rtol=1e-10)
    np.testing.assert_allclose(distortion, -log_lik.mean(0).numpy(), rtol=1e-10)
    np.testing.assert_allclose(log_w, (log_lik + log_prior - log_q).numpy(), rtol=1e-9)


def test_vae_reports_accepts_the_truth_and_rejects_made_up_numbers():
    weights = _weights(VAE(64, 32, 2, seed=1))
    rate, distortion, _ = properties.vae_test_terms(weights)
    truth = {"rate": float(rate.mean()), "distortion": float(distortion.mean())}
    assert properties.vae_reports([weights, truth]) is None
    made_up = {**truth, "distortion": truth["distortion"] - 1.0}
    assert "distortion" in properties.vae_reports([weights, made_up])
    wrong_shape = weights[:-1]
    assert "parameter arrays" in properties.vae_reports([wrong_shape, truth])


def test_calibration_rows_recompute_every_entry():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    logits = 3 * np.eye(4)[labels] + rng.normal(size=(300, 4))
    t = properties._best_temperature(logits, labels)
    row = [properties._nll(logits, labels), properties._ece(logits, labels, 15), t,
           properties._nll(logits / t, labels), properties._ece(logits / t, labels, 15)]
    value = [[logits], [logits], [row]]
    assert properties.calibration_rows(value, [labels], [labels]) is None
    for i in range(5):
        bad = list(row)
        bad[i] += 0.01
        value = [[logits], [logits], [bad]]
        problem = properties.calibration_rows(value, [labels], [labels])
        assert problem and problem.startswith("split 0"), (i, problem)


@pytest.mark.parametrize(
    "value, target",
    [(1.04, 1.5), ([0.2, 0.3], [0.25, 0.75]), (np.inf, 0.6)],
)
def test_matches_never_shows_the_target(value, target):
    message = properties.matches(value, target, {"a slip": -99.0})
    assert message and str(target) not in message and "0.75" not in message


def test_prefix_code_and_in_bounds():
    assert properties.prefix_code(["1", "01", "00"], 3) is None
    assert "prefix" in properties.prefix_code(["1", "10"], 2)
    assert "twice" in properties.prefix_code(["0", "0", "1"], 3)
    assert properties.in_bounds([0.5, 0.47], 0.46, [1.5, 0.5]) is None
    assert "below its lower bound" in properties.in_bounds([0.4], 0.46, [1.0])

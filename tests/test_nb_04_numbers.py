"""Every number printed by notebooks/04_vae.ipynb, recomputed independently.

The trained models are re-trained with the same seeds (training is
deterministic given the seed); their losses are then re-evaluated with
torch.distributions instead of itutils.vae, and the data with scikit-learn.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
import torch
from _notebook_text import NOTEBOOKS, assert_printed, number_after, printed
from scipy import integrate
from scipy.stats import entropy as scipy_entropy
from scipy.stats import norm
from sklearn.datasets import load_digits
from sklearn.metrics import mutual_info_score
from sklearn.model_selection import train_test_split
from torch import distributions as D

from itutils.data import load_digits_binary
from itutils.vae import VAE, train_vae

NB = "04_vae.ipynb"


@pytest.fixture(scope="module")
def data():
    return load_digits_binary()


def markdown(snippet: str) -> str:
    """The one Markdown cell of the notebook whose text contains ``snippet``."""
    nb = nbformat.read(NOTEBOOKS / NB, as_version=4)
    cells = [c.source for c in nb.cells
             if c.cell_type == "markdown" and snippet in c.source]
    assert len(cells) == 1, f"{len(cells)} Markdown cells contain {snippet!r}"
    return cells[0]


def no_code_baseline():
    """Test cross-entropy under the training frequencies, H(q) + KL(q || p), nats."""
    x_train, x_test = sklearn_bits()
    p, q = x_train.mean(0), x_test.mean(0)
    return sum(scipy_entropy([qj, 1 - qj]) + scipy_entropy([qj, 1 - qj], [pj, 1 - pj])
               for pj, qj in zip(p, q, strict=True))


def sklearn_bits():
    digits = load_digits()
    x_train, x_test, *_ = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0,
        stratify=digits.target)
    return (x_train > 8).astype(float), (x_test > 8).astype(float)  # > half of 16


def negative_elbo_reference(model, x, n_samples, seed=0):
    """-ELBO per image with torch.distributions, the draws of elbo_terms' seed."""
    with torch.no_grad():
        torch.manual_seed(seed)
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn(n_samples, *mu.shape)
        log_lik = D.Bernoulli(logits=model.decode(z)).log_prob(x).sum(-1).mean(0)
        kl = D.kl_divergence(D.Normal(mu, std), D.Normal(0.0, 1.0)).sum(-1)
    return -log_lik, kl


def test_data_summary():
    text = printed(NB, "data = load_digits_binary()")
    x_train, x_test = sklearn_bits()
    assert f"train images: {len(x_train)}, test images: {len(x_test)}" in text
    assert "pixels per image: 64" in text
    fraction = number_after(text, "fraction of pixels on (train):")
    assert_printed(fraction, x_train.mean(), 4)


def test_reparameterisation_gradients():
    text = printed(NB, "z.backward()")
    torch.manual_seed(1)
    eps = float(torch.randn(()))
    assert_printed(number_after(text, "eps ="), eps, 4)
    assert_printed(number_after(text, "dz/dmu     ="), 1.0, 4)
    expected = 0.5 * math.exp(0.5 * -0.4) * eps      # d(mu + e^(lv/2) eps)/d lv
    assert_printed(number_after(text, "dz/dlogvar ="), expected, 4)
    assert_printed(number_after(text, "0.5 * sigma * eps ="), expected, 4)


def test_untrained_negative_elbo_by_hand_and_library(data):
    text = printed(NB, "def negative_elbo(")
    model = VAE(64, 128, 8, seed=0)
    distortion, rate = negative_elbo_reference(model, data.x_test, 1)
    value = float((distortion + rate).mean())
    assert_printed(number_after(text, "by hand"), value, 4)
    assert_printed(number_after(text, "elbo_terms"), value, 4)


@pytest.fixture(scope="module")
def trained(data):
    model = VAE(64, 128, 8, seed=0)
    history = train_vae(model, data, epochs=150, lr=3e-3, batch_size=128, seed=0,
                        progress=False)
    return model, history


def test_trained_model_numbers(data, trained):
    model, history = trained
    text = printed(NB, "test = elbo_terms(model, data.x_test, n_samples=100)")
    assert_printed(number_after(text, "train loss"), history["train_loss"][-1], 2)
    distortion, rate = negative_elbo_reference(model, data.x_test, 100)
    negative_elbo = float((distortion + rate).mean())
    baseline = no_code_baseline()
    assert_printed(number_after(text, "test negative ELBO"), negative_elbo, 2)
    assert_printed(number_after(text, "no-code baseline"), baseline, 2)
    assert_printed(number_after(text, "nats:"), baseline - negative_elbo, 2)
    # The target of the issue, and the ELBO's parts are non-negative.
    assert negative_elbo <= 18.5
    assert float(rate.min()) >= 0

    parts = printed(NB, 'print(f"distortion {test.distortion.mean().item():.2f}')
    assert_printed(number_after(parts, "distortion"), float(distortion.mean()), 2)
    assert_printed(number_after(parts, "+ rate"), float(rate.mean()), 2)
    assert_printed(number_after(parts, "= negative ELBO"), negative_elbo, 2)
    assert_printed(number_after(parts, "rate in bits:"),
                   float(rate.mean()) / math.log(2), 2)
    # The sentence that reads them: "about 6.5 nats (9.4 bits) ... from the
    # 24.59 nats of the baseline to 11.65 nats".
    prose = markdown("The code spends about")
    assert_printed(number_after(prose, "spends about"), float(rate.mean()), 1)
    assert_printed(number_after(prose, "nats ("), float(rate.mean()) / math.log(2), 1)
    assert_printed(number_after(prose, "falls from the"), baseline, 2)
    assert_printed(number_after(prose, "baseline to"), float(distortion.mean()), 2)


@pytest.fixture(scope="module")
def seed_margins(data, trained):
    """Test -ELBO of seeds 0, 1, 2 (seed 0 is the chapter's model), reference terms."""
    values = []
    for seed in (0, 1, 2):
        if seed == 0:
            model = trained[0]
        else:
            model = VAE(64, 128, 8, seed=seed)
            train_vae(model, data, epochs=150, lr=3e-3, batch_size=128, seed=seed,
                      progress=False)
        distortion, rate = negative_elbo_reference(model, data.x_test, 100)
        values.append(float((distortion + rate).mean()))
    return np.array(values)


def test_the_vae_beats_the_no_code_baseline_on_every_seed(seed_margins):
    text = printed(NB, "negative_elbos = [test.loss.mean().item()]")
    baseline = no_code_baseline()
    margins = baseline - seed_margins
    rows = [ln for ln in text.splitlines() if ln.startswith("seed ")]
    assert len(rows) == 3
    for seed, line in enumerate(rows):
        assert line.startswith(f"seed {seed}:")
        assert_printed(number_after(line, "negative ELBO"), seed_margins[seed], 2)
        assert_printed(number_after(line, "nats,"), margins[seed], 2)
    summary = text.splitlines()[-1]
    assert summary.startswith("margin over 3 seeds:")
    assert_printed(number_after(summary, "seeds:"), margins.mean(), 2)
    assert_printed(number_after(summary, "+-"), margins.std(ddof=1), 2)
    assert margins.min() > 6.0          # a clear margin, not noise
    # The sentences that report it (after the run, and in the summary).
    for prose in (markdown("beats the no-code baseline on every seed"),
                  markdown("## Summary")):
        assert_printed(number_after(prose, "by "), margins.mean(), 2)
        assert_printed(number_after(prose, "\\pm"), margins.std(ddof=1), 2)
        assert "3 seeds" in prose


def test_per_pixel_entropy_and_cross_entropy():
    text = printed(NB, "per_pixel_entropy =")
    x_train, x_test = sklearn_bits()
    p, q = x_train.mean(0), x_test.mean(0)
    h = sum(scipy_entropy([pj, 1 - pj]) for pj in p)            # nats by default
    # H(q, p) = H(q) + KL(q || p), pixel by pixel.
    ce = sum(scipy_entropy([qj, 1 - qj]) + scipy_entropy([qj, 1 - qj], [pj, 1 - pj])
             for pj, qj in zip(p, q, strict=True))
    assert_printed(number_after(text, "training images:"), h, 4)
    assert_printed(number_after(text, "training frequencies:"), ce, 4)


BETAS = [0.1, 0.3, 1.0, 2.0, 4.0, 8.0]


@pytest.fixture(scope="module")
def sweep_reference(data):
    rows = []
    for beta in BETAS:
        model = VAE(64, 64, 2, seed=0)
        train_vae(model, data, epochs=60, beta=beta, lr=3e-3, batch_size=128, seed=0,
                  progress=False)
        distortion, rate = negative_elbo_reference(model, data.x_test, 10)
        rows.append((beta, float(rate.mean()), float(distortion.mean())))
    return rows


def test_beta_sweep_table(sweep_reference):
    text = printed(NB, 'print("beta    rate (nats)')
    lines = [ln.split() for ln in text.splitlines()[1:] if ln.strip()]
    assert [float(ln[0]) for ln in lines] == BETAS
    for line, (_, rate, distortion) in zip(lines, sweep_reference, strict=True):
        assert_printed(float(line[1]), rate, 2)
        assert_printed(float(line[2]), distortion, 2)
        assert_printed(float(line[3]), rate + distortion, 2)
    rates = [r for _, r, _ in sweep_reference]
    distortions = [d for _, _, d in sweep_reference]
    # The trade-off: rate falls and distortion rises with beta ...
    assert rates == sorted(rates, reverse=True)
    assert distortions == sorted(distortions)
    # ... and at beta = 8 the posterior has collapsed onto the no-code line.
    baseline = no_code_baseline()
    assert rates[-1] < 0.01 and abs(distortions[-1] - baseline) < 0.1


def test_the_sentence_about_the_no_code_line(sweep_reference):
    """'lands at 24.61 nats, 0.02 nats above the line at 24.59'; beta 1 smallest."""
    prose = markdown("a yardstick, not a floor")
    baseline = no_code_baseline()
    collapsed = sweep_reference[BETAS.index(8.0)][2]
    assert_printed(number_after(prose, "lands at"), collapsed, 2)
    assert_printed(number_after(prose, "nats,"), collapsed - baseline, 2)
    assert collapsed > baseline                         # above the line, as said
    assert_printed(number_after(prose, "line at"), baseline, 2)
    totals = [r + d for _, r, d in sweep_reference]
    assert min(totals) == totals[BETAS.index(1.0)]
    assert_printed(number_after(prose, "rate + distortion,"), min(totals), 2)


def test_information_bottleneck_numbers():
    text = printed(NB, "pxy = TOY_PXY")
    pxy = np.zeros((3, 3))
    for x, y in [(0, 0), (0, 2), (1, 2), (2, 1), (2, 2)]:
        pxy[x, y] = 0.2
    shown = np.array([[float(v) for v in re.findall(r"\d\.\d*", line)]
                      for line in text.splitlines()[1:4]])
    np.testing.assert_allclose(shown, pxy)
    h_x = scipy_entropy(pxy.sum(1), base=2)
    # mutual_info_score on the five equally likely pairs, in nats -> bits.
    xs, ys = zip(*[(0, 0), (0, 2), (1, 2), (2, 1), (2, 2)], strict=True)
    i_xy = mutual_info_score(xs, ys) / math.log(2)
    assert_printed(number_after(text, "H(X) ="), h_x, 4)
    assert_printed(number_after(text, "I(X;Y) ="), i_xy, 4)
    # Known optima of this toy (Tishby et al.'s iteration, as many clusters as x):
    # nothing at beta 0.5, the corner (0.8, 0.4) at 2.5, (1.5129, 0.57016) at 10.
    expected = {"0.5": (0.0, 0.0), "2.5": (0.8, 0.4), "10.0": (1.5129, 0.57016)}
    for beta, (i_xt, i_ty) in expected.items():
        pattern = rf"beta =\s+{beta}:"
        line = next(ln for ln in text.splitlines() if re.match(pattern, ln))
        assert_printed(number_after(line, "I(X;T) ="), i_xt, 4)
        assert_printed(number_after(line, "I(T;Y) ="), i_ty, 4)
        assert number_after(line, "I(T;Y) =") <= i_xy + 5e-5   # data processing
        assert number_after(line, "I(X;T) =") <= h_x + 5e-5


def test_beta_vae_explorer_slider(data):
    from itutils.vae import beta_sweep
    from itutils.widgets.vae import beta_vae_explorer

    sweep = beta_sweep(data, [0.5, 1.0, 8.0], epochs=3, progress=False)
    explorer = beta_vae_explorer(sweep, data.x_test, data.y_test, beta=1.0)
    for result in sweep:
        explorer.sliders["beta"].value = result.beta
        shown = explorer.shown
        assert shown["beta"] == result.beta
        assert shown["rate_nats"] == result.rate
        assert shown["distortion_nats"] == result.distortion
        expected = torch.sigmoid(result.model.decode(result.model.encode(
            data.x_test[:8])[0])).detach().numpy()
        np.testing.assert_allclose(shown["reconstructions"], expected, rtol=1e-6)
        assert shown["latent"].shape == (450, 2)
        assert explorer.figure is not None
    with pytest.raises(ValueError, match="was not trained"):
        beta_vae_explorer(sweep, data.x_test, data.y_test, beta=2.0)


def test_ib_explorer_slider():
    from itutils.widgets.bottleneck import TOY_PXY, ib_explorer

    explorer = ib_explorer(TOY_PXY)
    explorer.sliders["beta"].value = 10.0
    shown = explorer.shown          # the grid point nearest to 10
    assert shown["beta"] == pytest.approx(10.0, rel=0.05)
    assert shown["i_xt"] == pytest.approx(1.5129, abs=2e-3)
    assert shown["i_ty"] <= shown["i_xy"] + 1e-9
    explorer.sliders["beta"].value = 0.5
    assert explorer.shown["i_xt"] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------- the ELBO and its exact gap


def test_elbo_gap_is_the_kl_to_the_posterior_on_the_gaussian_toy():
    """log p(x), the ELBO and D_KL(q || p(z|x)) by numerical integration (scipy)."""
    text = printed(NB, "log_px_exact = norm.logpdf(")
    s, x_obs = 0.5, 1.2

    def log_joint(z):
        return norm.logpdf(z) + norm.logpdf(x_obs, z, s)

    p_x = integrate.quad(lambda z: math.exp(log_joint(z)), -12, 12,
                         epsabs=1e-14)[0]
    assert_printed(number_after(text, "log p(x) ="), math.log(p_x), 4)
    rows = [ln for ln in text.splitlines() if ln.startswith("q = ")]
    assert len(rows) == 3
    post_var = s**2 / (1 + s**2)
    for line, (m, v) in zip(rows, [(0.0, 1.0), (0.5, 0.3),
                                   (x_obs / (1 + s**2), post_var)], strict=True):
        q = norm(m, math.sqrt(v))

        def elbo_density(z, q=q):
            return q.pdf(z) * (log_joint(z) - q.logpdf(z))

        def kl_density(z, q=q):
            return q.pdf(z) * (q.logpdf(z) - (log_joint(z) - math.log(p_x)))

        elbo = integrate.quad(elbo_density, m - 12, m + 12, epsabs=1e-13)[0]
        kl = integrate.quad(kl_density, m - 12, m + 12, epsabs=1e-13)[0]
        assert_printed(number_after(line, "ELBO"), elbo, 4)
        assert_printed(number_after(line, "gap"), math.log(p_x) - elbo, 4)
        assert_printed(number_after(line, "D_KL(q || p(z|x))"), kl, 4)
        assert kl >= -1e-9                       # Gibbs' inequality
    assert number_after(rows[-1], "gap") == 0.0  # q = posterior closes the gap
    assert "x = 1.2" in markdown("The gap is exact")


def test_sigmoid_then_bce_bug():
    text = printed(NB, "wrong = F.binary_cross_entropy(torch.sigmoid(logits)")
    rows = [ln for ln in text.splitlines() if ln.startswith("logit")]
    assert len(rows) == 3
    for line, logit in zip(rows, (5.0, 20.0, 120.0), strict=True):
        right = float(np.logaddexp(0.0, logit))        # -log(1 - sigmoid) = softplus
        p_on = np.float32(1) / (np.float32(1) + np.exp(np.float32(-logit)))
        with np.errstate(divide="ignore"):
            wrong = min(100.0, float(-np.log(np.float32(1) - p_on)))  # torch clamps
        assert_printed(number_after(line, "sigmoid then BCE"), wrong, 4)
        assert_printed(number_after(line, "from logits"), right, 4)
    prose = markdown("A common bug: `sigmoid`")
    assert number_after(prose, "clamps to") == 100
    assert np.float32(1) / (np.float32(1) + np.exp(np.float32(-20.0))) == 1.0


# -------------------------------------------------- the information bottleneck


def toy_joint():
    pxy = np.zeros((3, 3))
    for x, y in [(0, 0), (0, 2), (1, 2), (2, 1), (2, 2)]:
        pxy[x, y] = 0.2
    return pxy


def ib_reference(encoder, beta=2.5):
    """I(X;T), I(T;Y), I(X;T) - beta I(T;Y) in bits, with scipy's entropy."""
    pxy = toy_joint()
    encoder = np.asarray(encoder, dtype=float)
    pxt = pxy.sum(1)[:, None] * encoder
    pty = encoder.T @ pxy

    def mi(joint):
        h_x = scipy_entropy(joint.sum(1), base=2)
        return (h_x + scipy_entropy(joint.sum(0), base=2)
                - scipy_entropy(joint.ravel(), base=2))

    return mi(pxt), mi(pty), mi(pxt) - beta * mi(pty)


def test_ib_encoder_found_and_its_alternatives():
    text = printed(NB, "def ib_terms(encoder, beta=2.5):")
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("encoder found"))
    shown = np.array([[float(v) for v in re.findall(r"\d\.\d*", line)]
                      for line in lines[start + 1:start + 4]])
    # x = 0 and x = 2 in clusters of their own, x = 1 split evenly between them.
    np.testing.assert_allclose(shown, [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]], atol=5e-4)
    table = {
        "found": [[1, 0], [0.5, 0.5], [0, 1]],
        "x=1 with x=0": [[1, 0], [1, 0], [0, 1]],
        "merge x=0, x=2": [[1, 0], [0, 1], [1, 0]],
        "all apart": np.eye(3),
        "one cluster": [[1], [1], [1]],
    }
    for name, encoder in table.items():
        line = next(ln for ln in lines if ln.startswith(name + " "))
        values = [float(v) for v in line[len(name):].split()]
        for got, want in zip(values, ib_reference(encoder), strict=True):
            assert_printed(got, want, 4)


def test_ib_sentences_and_the_optimum_at_beta_2_5():
    prose = markdown("The encoder keeps $x = 0$ and $x = 2$ apart")
    i_merge, r_merge, l_merge = ib_reference([[1, 0], [0, 1], [1, 0]])
    i_side, r_side, l_side = ib_reference([[1, 0], [1, 0], [0, 1]])
    i_split, r_split, l_split = ib_reference([[1, 0], [0.5, 0.5], [0, 1]])
    assert "$(0.8, 0.4)$ bits" in prose
    assert (round(i_split, 4), round(r_split, 4)) == (0.8, 0.4)
    assert_printed(number_after(prose, "apart) keeps"), i_merge, 4)
    assert_printed(number_after(prose, "but only"), r_merge, 4)
    assert_printed(number_after(prose, "$\\mathcal L = +"), l_merge, 4)
    assert l_merge > 0                  # worse than forgetting X (L = 0)
    assert_printed(number_after(prose, "one cluster costs"), i_side, 4)
    assert_printed(number_after(prose, "bits for"), r_side, 4)
    assert_printed(-number_after(prose, "($\\mathcal L = -"), l_side, 4)
    assert_printed(number_after(prose, "falls by"), i_side - i_split, 4)
    assert_printed(number_after(prose, "only by"), r_side - r_split, 4)
    assert_printed(number_after(prose, "2.5 \\times"), r_side - r_split, 2)
    assert_printed(number_after(prose, "0.02 ="), 2.5 * (r_side - r_split), 2)
    assert_printed(-number_after(prose, "so $\\mathcal L = -"), l_split, 4)
    # "A search over every two-cluster encoder on a fine grid finds nothing
    # lower": p(t = 0 | x) for x = 0, 1, 2 on a grid of step 1/100.
    grid = np.linspace(0, 1, 101)
    a, b, c = np.meshgrid(grid, grid, grid, indexing="ij")
    first = np.stack([a, b, c], -1).reshape(-1, 3)
    two = np.stack([first, 1 - first], -1)
    assert vectorised_lagrangian(two).min() >= l_split - 1e-9
    # Three clusters: random soft encoders never beat it either.
    rng = np.random.default_rng(0)
    three = rng.dirichlet(np.full(3, 0.3), size=(50000, 3))
    assert vectorised_lagrangian(three).min() >= l_split - 1e-9


def vectorised_lagrangian(encoders, beta=2.5):
    """I(X;T) - beta I(T;Y) in bits for a stack of encoders (m, 3, n_t)."""
    pxy = toy_joint()
    pxt = pxy.sum(1)[None, :, None] * encoders
    pty = np.einsum("mxt,xy->mty", encoders, pxy)

    def h(p, axes):
        safe = np.where(p > 0, p, 1.0)
        return -np.sum(p * np.log2(safe), axis=axes)

    h_t = h(pxt.sum(1), 1)
    i_xt = h_t + scipy_entropy(pxy.sum(1), base=2) - h(pxt, (1, 2))
    i_ty = h_t + scipy_entropy(pxy.sum(0), base=2) - h(pty, (1, 2))
    return i_xt - beta * i_ty

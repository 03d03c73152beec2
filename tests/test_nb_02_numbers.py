"""Every number printed by notebooks/02_kl_cross_entropy.ipynb, re-derived.

The test reads the committed, executed notebook and recomputes each printed
value with an independent reference: scipy.stats.entropy and
scipy.spatial.distance.jensenshannon for discrete divergences, torch for
Gaussian KL, softmax and cross-entropy, scipy.integrate.quad for integrals,
and theorems (moment matching for the forward-KL fit, Q = P minimising
cross-entropy). Values agree to the printed precision.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _notebook_text import agree, compared_text, grab
from scipy import integrate, optimize
from scipy.spatial.distance import jensenshannon
from scipy.special import logsumexp
from scipy.stats import entropy as scipy_entropy
from scipy.stats import norm
from torch.distributions import Normal, kl_divergence

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_kl_cross_entropy.ipynb"
NUM = r"(-?\d+\.\d+|inf)"


@pytest.fixture(scope="module")
def text():
    return compared_text(NOTEBOOK)


def torch_kl(m0, s0, m1, s1):
    def t(v):
        return torch.tensor(float(v), dtype=torch.float64)

    return float(kl_divergence(Normal(t(m0), t(s0)), Normal(t(m1), t(s1))))


P = np.array([0.7, 0.2, 0.1])
Q = np.array([0.4, 0.4, 0.2])
DIE = np.array([0.25, 0.25, 0.25, 0.25])
TWO = np.array([0.5, 0.5, 0.0, 0.0])


def test_discrete_kl_and_asymmetry(text):
    agree(grab(text, rf"KL\(P\|\|Q\) = {NUM} bits\n", count=2)[0],
          scipy_entropy(P, Q, base=2))
    agree(grab(text, rf"KL\(Q\|\|P\) = {NUM} bits\n", count=2)[0],
          scipy_entropy(Q, P, base=2))
    agree(grab(text, rf"KL\(P\|\|P\) = {NUM} bits"), 0.0)


def test_gaussian_kl_quad_and_closed_form(text):
    rows = re.findall(
        rf"KL\(N\((-?[\d.]+), ([\d.]+)\^2\) \|\| N\((-?[\d.]+), ([\d.]+)\^2\)\): "
        rf"quad = {NUM} nats, closed form = {NUM} nats",
        text,
    )
    assert len(rows) == 3
    for m0, s0, m1, s1, quad, closed in rows:
        ref = torch_kl(m0, s0, m1, s1)
        agree(quad, ref)
        agree(closed, ref)


def test_chapter_grid_clip_numbers(text):
    rows = re.findall(
        rf"KL\(N\(0, 1\) \|\| N\((-?[\d.]+), ([\d.]+)\^2\)\): chapter's grid\+clip = "
        rf"{NUM} nats, closed form = {NUM} nats",
        text,
    )
    assert len(rows) == 2
    x = np.linspace(-5, 5, 1000)
    for m1, s1, chapter, closed in rows:
        m1, s1 = float(m1), float(s1)
        p = norm.pdf(x) / norm.pdf(x).sum()
        q = norm.pdf(x, m1, s1) / norm.pdf(x, m1, s1).sum()
        p, q = np.maximum(p, 1e-10), np.maximum(q, 1e-10)
        agree(chapter, float(np.sum(p * np.log(p / q))))
        truth = torch_kl(0, 1, m1, s1)
        agree(closed, truth)
        # The point of the cell: the recipe is wrong, visibly so.
        assert abs(float(chapter) - truth) > 0.02


def test_support_mismatch(text):
    assert scipy_entropy(DIE, TWO) == math.inf
    assert grab(text, rf"KL\(P\|\|Q\) = {NUM} bits\n", count=2)[1] == "inf"
    agree(grab(text, rf"KL\(Q\|\|P\) = {NUM} bits\n", count=2)[1],
          scipy_entropy(TWO, DIE, base=2))
    rows = re.findall(
        rf"epsilon = (1e-\d+): {NUM} nats", text
    )
    assert [r[0] for r in rows] == ["1e-10", "1e-20", "1e-100"]
    for eps, value in rows:
        # Two outcomes where q = 1/2, two where q is clipped to epsilon.
        closed = 0.5 * math.log(0.25 / 0.5) + 0.5 * math.log(0.25 / float(eps))
        agree(value, closed)


def test_normal_vs_uniform(text):
    assert "KL(N(0,1) || U(-3,3)) = inf nats" in text
    numeric, closed = grab(text, rf"KL\(U\(-3,3\) \|\| N\(0,1\)\) = {NUM} nats "
                                 rf"\(closed form {NUM} nats\)")
    quad = integrate.quad(lambda x: (-math.log(6) - norm.logpdf(x)) / 6, -3, 3)[0]
    agree(numeric, quad)
    agree(closed, quad)


def test_cross_entropy_identity(text):
    agree(grab(text, rf"H\(P\)          = {NUM} bits"), scipy_entropy(P, base=2))
    agree(grab(text, rf"KL\(P\|\|Q\)      = {NUM} bits"), scipy_entropy(P, Q, base=2))
    h_plus_kl = scipy_entropy(P, base=2) + scipy_entropy(P, Q, base=2)
    agree(grab(text, rf"H\(P\) \+ KL     = {NUM} bits"), h_plus_kl)
    agree(grab(text, rf"H\(P, Q\)       = {NUM} bits"), -np.sum(P * np.log2(Q)))


def test_minimising_cross_entropy_finds_p(text):
    # Theorem: both are minimised at Q = P, i.e. theta = 0.3 (on the grid).
    agree(grab(text, rf"theta minimising H\(P, Q\): {NUM}"), 0.3)
    agree(grab(text, rf"theta minimising KL\(P\|\|Q\): {NUM}"), 0.3)
    assert "is the same at every theta: True" in text
    h_coin = scipy_entropy([0.7, 0.3], base=2)
    agree(grab(text, rf"and equals H\(P\) = {NUM} bits"), h_coin)


def test_logit_losses_against_torch(text):
    rows = re.findall(r"(good|poor) prediction: probabilities \[([^\]]*)\], "
                      rf"loss = {NUM} nats", text)
    assert [r[0] for r in rows] == ["good", "poor"]
    logits = {"good": [1.0, 3.5, 0.5, 0.8], "poor": [2.0, 0.5, 1.5, 1.0]}
    for name, probs, loss in rows:
        z = torch.tensor([logits[name]], dtype=torch.float64)
        ref = torch.softmax(z, dim=1)[0].numpy()
        for printed, value in zip(probs.split(), ref, strict=True):
            agree(printed if "." in printed[:-1] else printed + "0", float(value))
        ce = torch.nn.functional.cross_entropy(z, torch.tensor([1]))
        agree(loss, float(ce))


def test_overflow_and_clip(text):
    # exp(1000) overflows to inf in float64; inf / inf is nan.
    assert "naive softmax of [1000.  990.    0.]: [nan nan  0.]" in text
    big = torch.tensor([[1000.0, 990.0, 0.0]], dtype=torch.float64)
    stable = grab(text, rf"stable: loss for class 1 = {NUM} nats")
    agree(stable, float(torch.nn.functional.cross_entropy(big, torch.tensor([1]))))
    clipped, true = grab(text, rf"chapter's clip: {NUM} nats; true loss: {NUM} nats")
    agree(clipped, -math.log(1e-10))
    wrong = torch.tensor([[0.0, 50.0]], dtype=torch.float64)
    agree(true, float(torch.nn.functional.cross_entropy(wrong, torch.tensor([0]))))


WEIGHTS, MEANS, SD = np.array([0.3, 0.7]), np.array([-2.0, 2.0]), 0.6


def log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))


def log_mix(x):
    terms = [math.log(w) + log_normal(x, m, SD)
             for w, m in zip(WEIGHTS, MEANS, strict=True)]
    return float(logsumexp(terms))


def quad_forward(mu, sigma):
    def f(x):
        lp = log_mix(x)
        return math.exp(lp) * (lp - log_normal(x, mu, sigma))

    return integrate.quad(f, -10, 10, points=[-2, 2], limit=200)[0]


def quad_reverse(mu, sigma):
    def f(x):
        lq = log_normal(x, mu, sigma)
        return math.exp(lq) * (lq - log_mix(x))

    return integrate.quad(f, mu - 15 * sigma, mu + 15 * sigma, limit=200)[0]


def test_forward_kl_fit_is_moment_matching(text):
    mix_mean = float(WEIGHTS @ MEANS)
    mix_sd = math.sqrt(SD**2 + float(WEIGHTS @ MEANS**2) - mix_mean**2)
    mu, sigma, div = grab(text, rf"forward KL\(P\|\|Q\): mu = {NUM}, sigma = {NUM}, "
                                rf"divergence = {NUM} nats")
    agree(mu, mix_mean)
    agree(sigma, mix_sd)
    agree(div, quad_forward(mix_mean, mix_sd))
    m, s = grab(text, rf"mixture mean = {NUM}, mixture standard deviation = {NUM}")
    agree(m, mix_mean)
    agree(s, mix_sd)


@pytest.mark.parametrize("start", [1.0, -1.0])
def test_reverse_kl_fits_against_an_independent_optimisation(text, start):
    sign = "+" if start > 0 else "-"
    mu, sigma, div = grab(
        text, rf"reverse KL\(Q\|\|P\), start mu=\{sign}1: mu = {NUM}, sigma = {NUM}, "
              rf"divergence = {NUM} nats")

    def objective(params):
        return quad_reverse(params[0], math.exp(params[1]))

    # A different optimiser, restricted to the half-line the start is on:
    # the minimum of reverse KL over mu on that side of the origin.
    bounds = [(0.0, 5.0) if start > 0 else (-5.0, 0.0), (-3.0, 2.0)]
    ref = optimize.minimize(objective, [start, 0.0], method="Powell", bounds=bounds,
                            options={"xtol": 1e-8, "ftol": 1e-13})
    agree(mu, ref.x[0])
    agree(sigma, math.exp(ref.x[1]))
    agree(div, ref.fun)
    # Mode-seeking: it lands near one peak, paying about -ln(weight).
    peak = 1 if start > 0 else 0
    assert abs(float(mu) - MEANS[peak]) < 0.01
    assert abs(float(div) + math.log(WEIGHTS[peak])) < 0.01


def test_jensen_shannon(text):
    js_pq, js_qp = grab(text, rf"JS\(P, Q\) = {NUM} bits, JS\(Q, P\) = {NUM} bits")
    agree(js_pq, jensenshannon(P, Q, base=2) ** 2)
    agree(js_qp, jensenshannon(Q, P, base=2) ** 2)
    kl, js = grab(text, rf"two-sided model: KL = {NUM} bits, JS = {NUM} bits")
    assert kl == "inf"
    agree(js, jensenshannon(DIE, TWO, base=2) ** 2)
    agree(grab(text, rf"JS\(\[1, 0\], \[0, 1\]\) = {NUM} bits"), 1.0)  # the upper bound


def test_every_printed_number_is_checked(text):
    # A guard against new prints slipping in untested: the count of numbers
    # in the output is what the tests above account for.
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+|\binf\b|\bnan\b", text)
    assert len(numbers) == 61, len(numbers)

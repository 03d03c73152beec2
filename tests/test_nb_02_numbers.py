"""Every number printed by notebooks/02_kl_cross_entropy.ipynb, re-derived.

The test reads the committed, executed notebook. Each code cell that prints
carries a tag ``nb02-...``; for each tag a checker below recomputes, without
itutils, the list of every number that cell prints, in order, and the printed
numbers must agree to their printed precision. References: scipy.stats
(entropy, distributions and their closed-form entropies), torch.distributions
for Gaussian KL, torch for softmax and cross-entropy, scipy.integrate.quad
for integrals, plain Python counting for the character models, and theorems
(moment matching for the forward-KL fit, the invariance of KL and MI under
invertible maps). Sentences of the text that name a number are checked too.
"""

import codecs
import contextlib
import io
import math
import re
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from _notebook_text import tagged_outputs
from scipy import integrate, optimize
from scipy.spatial.distance import jensenshannon
from scipy.special import logsumexp
from scipy.stats import binom, lognorm, norm
from scipy.stats import entropy as scipy_entropy
from torch.distributions import Normal, kl_divergence

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_kl_cross_entropy.ipynb"
# A number not glued to a word ("log2", "D_KL" and "H(P)" hold none), with an
# optional exponent (1e-10); inf and nan are numbers too.
NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?(?:e-?\d+)?|inf|nan)(?![\w])")




PRINTED, MARKDOWN = tagged_outputs(NOTEBOOK, "nb02-")


def _numbers(text):
    return NUMBER.findall(text)


def _agree(text, references):
    """Every printed number equals its reference to the printed precision."""
    printed = _numbers(text)
    assert len(printed) == len(references), (printed, references)
    for token, ref in zip(printed, references, strict=True):
        if token in ("inf", "nan"):
            ok = ref == math.inf if token == "inf" else math.isnan(ref)
            assert ok, (token, ref)
            continue
        if "e" in token:  # scientific: the printed significant digits
            assert float(token) == pytest.approx(ref, rel=0.05), (token, ref)
            continue
        decimals = len(token.split(".")[1]) if "." in token else 0
        half_unit = 0.5 * 10.0**-decimals
        assert abs(float(token) - ref) <= half_unit * (1 + 1e-9) + 1e-12, (
            f"printed {token}, reference {ref!r}"
        )


def _says(cell_id, phrase, value, decimals):
    """The markdown cell says ``phrase`` with ``value`` rounded to ``decimals``."""
    expected = phrase.format(f"{value:.{decimals}f}")
    assert expected in MARKDOWN[cell_id], f"{cell_id}: {expected!r} not in the text"


def torch_kl(m0, s0, m1, s1):
    """D_KL(N(m0, s0^2) || N(m1, s1^2)) in nats, from torch (standard deviations)."""
    def t(v):
        return torch.tensor(float(v), dtype=torch.float64)

    return float(kl_divergence(Normal(t(m0), t(s0)), Normal(t(m1), t(s1))))


def quad_kl(m0, s0, m1, s1):
    def integrand(x):
        return norm.pdf(x, m0, s0) * (norm.logpdf(x, m0, s0) - norm.logpdf(x, m1, s1))

    return integrate.quad(integrand, m0 - 20 * s0, m0 + 20 * s0, limit=400)[0]


CHECKERS = {}


def checker(tag):
    def register(fn):
        CHECKERS[tag] = fn
        return fn

    return register


P = np.array([0.7, 0.2, 0.1])
Q = np.array([0.4, 0.4, 0.2])
DIE = np.array([0.25, 0.25, 0.25, 0.25])
TWO = np.array([0.5, 0.5, 0.0, 0.0])
LN2 = math.log(2)


# --- 1-3. KL, Gaussians, support ----------------------------------------------------

@checker("nb02-discrete-kl")
def _discrete_kl(text):
    _agree(text, [scipy_entropy(P, Q, base=2), scipy_entropy(Q, P, base=2), 0.0])


@checker("nb02-gaussian-kl")
def _gaussian_kl(text):
    refs = []
    for m0, s0, m1, s1 in [(0, 1, 1, 2), (1, 2, 0, 1), (0, 1, 4, 0.3)]:
        ref = torch_kl(m0, s0, m1, s1)
        assert quad_kl(m0, s0, m1, s1) == pytest.approx(ref, rel=1e-9)
        refs += [m0, s0, 2, m1, s1, 2, ref, ref]  # "N(0, 1^2)" prints 0, 1, 2
    _agree(text, refs)


def _grid_clip(m1, s1, epsilon=1e-10):
    x = np.linspace(-5, 5, 1000)
    p, q = norm.pdf(x), norm.pdf(x, m1, s1)
    p, q = p / p.sum(), q / q.sum()
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)  # both stay below 1
    return float(np.sum(p * np.log(p / q)))


def _log10_normal(x, mu, sigma):
    """log10 of the N(mu, sigma^2) density, in closed form."""
    z = (x - mu) / sigma
    return (-0.5 * z * z - math.log(sigma * math.sqrt(2 * math.pi))) / math.log(10)


@checker("nb02-grid-clip")
def _grid_clip_check(text):
    refs = []
    for m1, s1 in [(1, 1), (4, 0.3)]:
        refs += [0, 1, 2, m1, s1, 2, _grid_clip(m1, s1), torch_kl(0, 1, m1, s1)]
    # q increases on [-2, 2] (its mean 4 lies to the right): extremes at the ends.
    refs += [0, 10, _log10_normal(0, 4, 0.3), -2, 2, 10, _log10_normal(-2, 4, 0.3),
             10, _log10_normal(2, 4, 0.3)]
    _agree(text, refs)
    fine, wrong = _grid_clip(1, 1), _grid_clip(4, 0.3)
    assert abs(fine - 0.5) < 1e-4  # "the recipe is fine"
    assert torch_kl(0, 1, 4, 0.3) > 5 * wrong  # "more than five times too small"
    _says("22237e49", "({} against 0.5 nats)", fine, 5)
    _says("22237e49", "between $10^{{{}}}$", _log10_normal(-2, 4, 0.3), 0)
    _says("22237e49", "and $10^{{{}}}$", _log10_normal(2, 4, 0.3), 1)
    assert norm.cdf(2) - norm.cdf(-2) > 0.95  # "where P has its mass" (95%)


@checker("nb02-support")
def _support(text):
    assert scipy_entropy(DIE, TWO) == math.inf
    _agree(text, [math.inf, scipy_entropy(TWO, DIE, base=2)])


@checker("nb02-clipped-kl")
def _clipped(text):
    refs = []
    for eps in [1e-10, 1e-20, 1e-100]:
        # Two outcomes where q = 1/2, two where q is clipped to epsilon.
        refs += [eps, 0.5 * math.log(0.25 / 0.5) + 0.5 * math.log(0.25 / eps), math.inf]
    _agree(text, refs)


@checker("nb02-normal-uniform")
def _normal_uniform(text):
    quad = integrate.quad(lambda x: (-math.log(6) - norm.logpdf(x)) / 6, -3, 3)[0]
    closed = -math.log(6) + 0.5 * math.log(2 * math.pi) + 1.5
    assert quad == pytest.approx(closed, abs=1e-12)
    _agree(text, [0, 1, -3, 3, math.inf, -3, 3, 0, 1, quad, closed])


# --- 4. differential entropy --------------------------------------------------------

@checker("nb02-gaussian-h")
def _gaussian_h(text):
    refs = []
    for sigma in [0.1, 0.2, 1.0, 10.0]:
        h = float(norm(0, sigma).entropy()) / LN2  # scipy's closed form, in bits
        refs += [sigma, h, h]
    _agree(text, refs)
    threshold = 1 / math.sqrt(2 * math.pi * math.e)
    assert norm(0, threshold).entropy() == pytest.approx(0, abs=1e-15)
    _says("diff-entropy-1", r"\approx {}$", threshold, 3)


@checker("nb02-binning")
def _binning(text):
    h = float(norm.entropy()) / LN2
    refs = []
    for width in [1.0, 0.1, 0.01, 0.001]:
        n_bins = round(24 / width)
        edges = -12 + width * np.arange(n_bins + 1)
        probs = norm.cdf(edges[1:]) - norm.cdf(edges[:-1])
        h_binned = scipy_entropy(probs, base=2)
        refs += [width, h_binned, h_binned + math.log2(width)]
        if width <= 0.01:  # H(X_binned) + log2(width) -> h(X)
            assert abs(h_binned + math.log2(width) - h) < 1e-3
    refs.append(h)
    _agree(text, refs)


@checker("nb02-units")
def _units(text):
    refs = []
    for a in (1.0, 1000.0):
        h = float(norm(1.70 * a, 0.07 * a).entropy()) / LN2
        kl = torch_kl(1.70 * a, 0.07 * a, 1.75 * a, 0.08 * a) / LN2
        refs += [h, kl]
    assert refs[2] - refs[0] == pytest.approx(math.log2(1000))  # h(aX) = h(X) + log2 a
    assert refs[3] == pytest.approx(refs[1])  # KL does not see the units
    refs += [1000, math.log2(1000)]
    _agree(text, refs)


@checker("nb02-reparam")
def _reparam(text):
    # Y = e^X: scipy's log-normal (s = sd of X, scale = e^mean of X).
    p_y, q_y = lognorm(s=1, scale=math.e), lognorm(s=2, scale=1)
    kl_y = integrate.quad(lambda y: p_y.pdf(y) * (p_y.logpdf(y) - q_y.logpdf(y)),
                          0, np.inf, limit=200)[0]
    kl_x = torch_kl(1, 1, 0, 2)
    assert kl_y == pytest.approx(kl_x, abs=1e-7)  # invariance
    h_x, h_y = float(norm(1, 1).entropy()), float(p_y.entropy())
    assert h_y - h_x == pytest.approx(1.0)  # + E[X] = 1 nat
    _agree(text, [kl_x, kl_y, h_x, h_y])
    _says("diff-entropy-7", "correlation {}", 0.8, 1)


@checker("nb02-reparam-mi")
def _reparam_mi(text):
    mi = -0.5 * math.log(1 - 0.8**2)  # MI of a Gaussian pair; invariant under e^x
    _agree(text, [mi, mi])
    _says("diff-entropy-10", r"\approx {}$ bits per pixel", math.log2(255), 2)


# --- 5. cross-entropy --------------------------------------------------------------

@checker("nb02-cross-entropy")
def _cross_entropy(text):
    h, kl = scipy_entropy(P, base=2), scipy_entropy(P, Q, base=2)
    _agree(text, [h, kl, h + kl, -np.sum(P * np.log2(Q))])


@checker("nb02-coin-fit")
def _coin_fit(text):
    # Theorem: both are minimised at Q = P, i.e. theta = 0.3 (on the grid).
    assert "is the same at every theta: True" in text
    _agree(text, [0.3, 0.3, scipy_entropy([0.7, 0.3], base=2)])


# --- 6. maximum likelihood ---------------------------------------------------------

def _students():
    rng = np.random.default_rng(3)
    return rng.binomial(10, rng.beta(4, 6, size=300))


@checker("nb02-ml-fit")
def _ml_fit(text):
    # The binomial MLE in closed form: the mean number of heads over 10.
    theta = _students().mean() / 10
    _agree(text, [theta, theta, 10, theta])


@checker("nb02-ml-constant")
def _ml_constant(text):
    heads = _students()
    p_hat = np.bincount(heads, minlength=11) / len(heads)
    theta = heads.mean() / 10
    k = np.arange(11)
    h_hat = scipy_entropy(p_hat)
    kl = scipy_entropy(p_hat, binom.pmf(k, 10, theta))
    log_likelihood = float(np.mean(binom.logpmf(heads, 10, theta)))
    assert log_likelihood == pytest.approx(-h_hat - kl)  # the identity itself
    _agree(text, [19, -h_hat, -h_hat, -h_hat, kl, log_likelihood])
    _says("ml-4", "sits {} nats from the data", kl, 2)


# --- 7. perplexity -----------------------------------------------------------------

def _zen_lines():
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return [line for line in codecs.decode(this.s, "rot13").splitlines() if line]


def _symbols(line):
    """The line start and each character, letters kept, all else a space."""
    return [" "] + [c if "a" <= c <= "z" else " " for c in line.lower()]


def _character_models():
    """Per fold: unigram and bigram bits per character, training and held out."""
    alphabet = " abcdefghijklmnopqrstuvwxyz"
    lines = [_symbols(line) for line in _zen_lines()]
    per_fold = []
    for fold in range(5):
        train = [s for i, s in enumerate(lines) if i % 5 != fold]
        held = [s for i, s in enumerate(lines) if i % 5 == fold]
        uni = Counter(c for s in train for c in s[1:])
        bi = Counter(pair for s in train for pair in zip(s, s[1:], strict=False))
        after = Counter(a for s in train for a in s[:-1])
        n_uni = sum(uni.values())

        def q_uni(c, uni=uni, n_uni=n_uni):
            return (uni[c] + 1) / (n_uni + len(alphabet))

        def q_bi(a, c, bi=bi, after=after):
            return (bi[a, c] + 1) / (after[a] + len(alphabet))

        def score(data, q_uni=q_uni, q_bi=q_bi):
            pairs = [pair for s in data for pair in zip(s, s[1:], strict=False)]
            uni_bits = -sum(math.log2(q_uni(c)) for _, c in pairs) / len(pairs)
            bi_bits = -sum(math.log2(q_bi(a, c)) for a, c in pairs) / len(pairs)
            return uni_bits, bi_bits

        per_fold.append([*score(train), *score(held)])
    return np.array(per_fold), sum(len(s) - 1 for s in lines), len(lines)


@checker("nb02-perplexity")
def _perplexity(text):
    scores, n_chars, n_lines = _character_models()
    mean, sd = scores.mean(axis=0), scores.std(axis=0, ddof=1)
    refs = [n_lines, n_chars, 5, 27, math.log2(27), 27]
    for j in range(2):
        refs += [mean[j], sd[j], mean[j + 2], sd[j + 2], 2 ** mean[j + 2]]
    _agree(text, refs)
    # Held out is worse than training; the bigram beats the unigram held out.
    assert mean[2] > mean[0] and mean[3] > mean[1] and mean[3] < mean[2]
    md = "ppl-5"
    _says(md, "held-out text, {} against", mean[3], 2)
    _says(md, "against {} bits per character", mean[2], 2)
    _says(md, "(perplexity {} against", 2 ** mean[3], 2)
    _says(md, "against {}).", 2 ** mean[2], 2)
    _says(md, "training lines ({} bits)", mean[1], 2)
    _says(md, "From {} characters", n_chars, 0)
    _says(md, "the bigram's {} probabilities", 27 * 27, 0)
    # Chapter 1's plug-in H(next | current) over the whole text (25 symbols).
    _says(md, "previous one: {} bits", _chapter1_conditional_entropy(), 2)
    _says(md, "plug-in estimate ({} bits)", _chapter1_conditional_entropy(), 2)
    _says("ppl-1", "cross-validation over the {} lines", n_lines, 0)


def _chapter1_conditional_entropy():
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    zen = codecs.decode(this.s, "rot13")
    stream = [c if "a" <= c <= "z" else " " for c in zen.lower()]
    pairs = Counter(zip(stream[1:], stream[:-1], strict=True))
    current = Counter(stream[:-1])
    return scipy_entropy(list(pairs.values()), base=2) - scipy_entropy(
        list(current.values()), base=2)


# --- 8. classifier loss ------------------------------------------------------------

@checker("nb02-logits")
def _logits(text):
    refs = []
    for z in ([1.0, 3.5, 0.5, 0.8], [2.0, 0.5, 1.5, 1.0]):
        logits = torch.tensor([z], dtype=torch.float64)
        refs += torch.softmax(logits, dim=1)[0].tolist()
        refs.append(float(torch.nn.functional.cross_entropy(logits, torch.tensor([1]))))
    _agree(text, refs)


@checker("nb02-overflow")
def _overflow(text):
    # exp(1000) overflows to inf in float64; inf / inf is nan.
    big = torch.tensor([[1000.0, 990.0, 0.0]], dtype=torch.float64)
    stable = float(torch.nn.functional.cross_entropy(big, torch.tensor([1])))
    wrong = torch.tensor([[0.0, 50.0]], dtype=torch.float64)
    true = float(torch.nn.functional.cross_entropy(wrong, torch.tensor([0])))
    _agree(text, [1000, 990, 0, math.nan, math.nan, 0, 1, stable, 1e-10,
                  -math.log(1e-10), true])
    _says("a3937b8b", "stops at {} nats", -math.log(1e-10), 2)
    _says("eee947b1", r"\approx {}$ nats", -math.log(1e-10), 2)


# --- 9. forward vs reverse ---------------------------------------------------------

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


# Gauss-Hermite nodes for expectations under a Gaussian: E f(X) for
# X ~ N(mu, sigma^2) is sum_i w_i f(mu + sqrt(2) sigma t_i) / sqrt(pi).
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(120)


def reverse_kl(mu, sigma):
    """D_KL(N(mu, sigma^2) || mixture) = -h(Q) - E_Q[ln p], by Gauss-Hermite."""
    x = mu + math.sqrt(2) * sigma * _NODES
    log_p = logsumexp(np.log(WEIGHTS) - 0.5 * ((x[:, None] - MEANS) / SD) ** 2
                      - math.log(SD * math.sqrt(2 * math.pi)), axis=1)
    cross = -float(_WEIGHTS @ log_p) / math.sqrt(math.pi)
    return cross - 0.5 * math.log(2 * math.pi * math.e * sigma**2)


def _reverse_fit(start):
    def objective(params):
        return reverse_kl(params[0], math.exp(params[1]))

    # A different optimiser and integrator, restricted to the half-line the
    # start is on: the minimum of reverse KL over mu on that side of the origin.
    bounds = [(0.0, 5.0) if start > 0 else (-5.0, 0.0), (-3.0, 2.0)]
    ref = optimize.minimize(objective, [start, 0.0], method="Powell", bounds=bounds,
                            options={"xtol": 1e-10, "ftol": 1e-14})
    return ref.x[0], math.exp(ref.x[1]), ref.fun


def _mixture_moments():
    mean = float(WEIGHTS @ MEANS)
    return mean, math.sqrt(SD**2 + float(WEIGHTS @ MEANS**2) - mean**2)


@checker("nb02-fits")
def _fits(text):
    # Forward KL to a Gaussian family is moment matching (a theorem).
    mean, sd = _mixture_moments()
    refs = [mean, sd, quad_forward(mean, sd)]
    for start in (1.0, -1.0):
        mu, sigma, div = _reverse_fit(start)
        # Mode-seeking: it lands near one peak, paying about -ln(weight).
        peak = 1 if start > 0 else 0
        assert abs(mu - MEANS[peak]) < 0.01
        assert abs(div + math.log(WEIGHTS[peak])) < 0.01
        refs += [start, mu, sigma, div]  # "start mu=+1" prints the start
    refs += [mean, sd]  # the forward fit matched exactly these
    _agree(text, refs)
    _says("dc859f78", r"$-\ln 0.7 \approx {}$", -math.log(0.7), 3)
    _says("dc859f78", r"$-\ln 0.3 \approx {}$", -math.log(0.3), 3)


# --- 10. Jensen-Shannon, and the explorer's start -----------------------------------

@checker("nb02-js")
def _js(text):
    _agree(text, [jensenshannon(P, Q, base=2) ** 2, jensenshannon(Q, P, base=2) ** 2,
                  math.inf, jensenshannon(DIE, TWO, base=2) ** 2, 1, 0, 0, 1, 1.0])


def test_explorer_text_matches_its_start():
    # The explorer starts at Q = N(1, 0.5^2); the text names its two KLs.
    assert "kl_explorer(mu=1.0, sigma=0.5)" in "".join(
        c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    forward, reverse = torch_kl(0, 1, 1, 0.5), torch_kl(1, 0.5, 0, 1)
    assert forward > 3 * reverse  # the asymmetry is visible
    _says("1a4e4567", r"D_{{\mathrm{{KL}}}}(P\,\Vert\,Q) = {}$ nats", forward, 2)
    _says("1a4e4567", r"D_{{\mathrm{{KL}}}}(Q\,\Vert\,P) = {}$ nats", reverse, 2)
    _says("1a4e4567", r"\ln 2 \approx {}$ nats", math.log(2), 3)


# --- the tests (after every checker is registered) ----------------------------------

def test_every_printing_cell_is_checked():
    assert set(PRINTED) == set(CHECKERS)


@pytest.mark.parametrize("tag", sorted(CHECKERS))
def test_printed_numbers(tag):
    assert tag in PRINTED, f"the notebook has no cell tagged {tag}"
    CHECKERS[tag](PRINTED[tag])

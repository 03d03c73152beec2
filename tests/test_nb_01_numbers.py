"""Every number printed by notebooks/01_entropy.ipynb, re-derived independently.

The test reads the committed, executed notebook. Each code cell that prints
carries a tag ``nb01-...``; for each tag a checker below recomputes, with
plain ``math``, ``collections.Counter``, ``scipy.stats.entropy`` or a brute
force, the list of every number that cell prints, in order, and the printed
numbers must agree to their printed precision. A printing cell without a
checker, or a number without a reference, fails the test. The sentences of
the text that name a number are checked against the same references.
Estimates that rest on random shuffles are checked against shuffles of the
test's own, within a few Monte Carlo standard errors.
"""

import codecs
import contextlib
import io
import itertools
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _notebook_text import tagged_outputs
from scipy.stats import entropy as sp_entropy
from sklearn.datasets import load_digits
from sklearn.metrics import mutual_info_score

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_entropy.ipynb"
# A number not glued to a word (so "log2" and "H(X)" are not numbers).
NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?|inf)(?![\w])")
QUOTED = re.compile(r"'[^']*'")

PXY = [[0.2, 0.1], [0.15, 0.55]]




PRINTED, MARKDOWN = tagged_outputs(NOTEBOOK, "nb01-")


def _says(cell_id, phrase, value, decimals):
    """The markdown cell says ``phrase`` with ``value`` rounded to ``decimals``."""
    text = MARKDOWN[cell_id]
    number = f"{value:.{decimals}f}"
    expected = phrase.format(number)
    assert expected in text, f"{cell_id}: {expected!r} not in the text"


def _h(probs, base=2):
    """Entropy by hand with math: -sum p log p."""
    return -math.fsum(p * math.log(p, base) for p in probs if p > 0)


def _numbers(text):
    return NUMBER.findall(QUOTED.sub("", text))


def _agree(text, references):
    """Every printed number equals its reference to the printed precision."""
    printed = _numbers(text)
    assert len(printed) == len(references), (printed, references)
    for token, ref in zip(printed, references, strict=True):
        if token == "inf":
            assert ref == math.inf
            continue
        decimals = len(token.split(".")[1]) if "." in token else 0
        half_unit = 0.5 * 10.0**-decimals
        assert abs(float(token) - ref) <= half_unit * (1 + 1e-9) + 1e-12, (
            f"printed {token}, reference {ref!r}"
        )


CHECKERS = {}


def checker(tag):
    def register(fn):
        CHECKERS[tag] = fn
        return fn

    return register


# --- 1. self-information -------------------------------------------------------

@checker("nb01-self-information")
def _self_information(text):
    refs = []
    for p in [1.0, 1 / 2, 1 / 4, 1 / 6, 1 / 52, 1 / 1000]:
        refs += [p, -math.log2(p)]
    _agree(text, refs)
    _says("entropy-02", "1/1000 costs {} bits", -math.log2(1 / 1000), 2)
    _says("entropy-02", "or {} nats", -math.log(1 / 1000), 2)


@checker("nb01-additivity")
def _additivity(text):
    _agree(text, [math.log2(12), 1.0, math.log2(6), math.log2(12)])


# --- 2. entropy ----------------------------------------------------------------

@checker("nb01-average-surprise")
def _average_surprise(text):
    probs = [0.5, 0.25, 0.125, 0.125]
    draws = np.random.default_rng(1).choice(4, size=100_000, p=probs)
    counts = Counter(draws.tolist())
    mean = math.fsum(-math.log2(probs[k]) * n for k, n in counts.items()) / 100_000
    # Law of large numbers: within 5 standard errors of H = 1.75 bits.
    var = math.fsum(p * (-math.log2(p) - 1.75) ** 2 for p in probs)
    assert abs(mean - 1.75) < 5 * math.sqrt(var / 100_000)
    _agree(text, [1.75, sp_entropy(probs, base=2), 100_000, mean])


def _optimal_prefix_length(probs):
    """Smallest average length over all lengths that satisfy Kraft's inequality.

    By Kraft-McMillan every such length vector has a prefix code, so this
    brute force is the optimum that Huffman's algorithm must reach.
    """
    k = len(probs)
    best = math.inf
    for lengths in itertools.product(range(1, k), repeat=k):
        if math.fsum(2.0**-n for n in lengths) <= 1:
            average = math.fsum(p * n for p, n in zip(probs, lengths, strict=True))
            best = min(best, average)
    return best


def _check_code(text, source):
    codewords = [w.strip("'") for w in QUOTED.findall(text)]
    assert len(codewords) == len(source)
    # Prefix-free: no codeword starts another.
    for a, b in itertools.permutations(codewords, 2):
        assert not b.startswith(a), (a, b)
    assert "H <= Huffman length < H + one bit: True" in text
    probs = list(source.values())
    lengths = [len(w) for w in codewords]
    average = math.fsum(p * n for p, n in zip(probs, lengths, strict=True))
    optimum = _optimal_prefix_length(probs)
    assert average == pytest.approx(optimum, abs=1e-12)
    h = _h(probs)
    assert h <= optimum < h + 1
    refs = []
    for p, n in zip(probs, lengths, strict=True):
        refs += [p, n]
    shannon = math.fsum(p * math.ceil(-math.log2(p)) for p in probs)
    refs += [h, optimum, shannon, math.fsum(2.0**-n for n in lengths)]
    _agree(text, refs)


@checker("nb01-huffman-dyadic")
def _huffman_dyadic(text):
    _check_code(text, {"a": 0.5, "b": 0.25, "c": 0.125, "d": 0.125})


@checker("nb01-huffman-weather")
def _huffman_weather(text):
    _check_code(text, {"sun": 0.45, "cloud": 0.25, "rain": 0.15, "fog": 0.10,
                       "snow": 0.05})


def _huffman_cost(probs):
    """Average Huffman length: the sum of the weights of every merge.

    Each merge adds one bit to every symbol below it, so the average length
    is the total weight of the merged nodes (a plain sorted-list version).
    """
    weights = sorted(probs)
    cost = 0.0
    while len(weights) > 1:
        merged = weights.pop(0) + weights.pop(0)
        cost += merged
        weights.append(merged)
        weights.sort()
    return cost


@checker("nb01-block-code")
def _block_code(text):
    weather = [0.45, 0.25, 0.15, 0.10, 0.05]
    h = _h(weather)
    refs = []
    for n in range(1, 5):
        blocks = [math.prod(seq) for seq in itertools.product(weather, repeat=n)]
        per_symbol = _huffman_cost(blocks) / n
        # The source coding theorem for blocks of n symbols.
        assert h <= per_symbol < h + 1 / n
        refs += [n, per_symbol, 1, h + 1 / n]  # '1/n' prints a 1
    refs.append(h)
    _agree(text, refs)
    _says("entropy-15", "inside $[H, H + {}/n)$", 1, 0)


# --- 3. units ------------------------------------------------------------------

@checker("nb01-units")
def _units(text):
    # "ln 2" and "base 10" print the constants 2 and 10.
    _agree(text, [math.log2(6), math.log(6), math.log(2), 2, math.log(2),
                  1 / math.log(2), 10, math.log10(6), 10, math.log(10),
                  math.log2(10)])
    _says("entropy-18", r"$\log_2 10 \approx {}$ bits", math.log2(10), 2)


# --- 4. maximum entropy --------------------------------------------------------

@checker("nb01-max-entropy")
def _max_entropy(text):
    samples = np.random.default_rng(2).dirichlet(np.ones(6), size=10_000)
    h = sp_entropy(samples, base=2, axis=1)
    assert h.max() < math.log2(6)  # theorem: only the uniform reaches log2 K
    first = samples[0]
    kl_uniform = sp_entropy(first, np.full(6, 1 / 6), base=2)
    assert kl_uniform == pytest.approx(math.log2(6) - _h(first), abs=1e-12)
    _agree(text, [6, math.log2(6), math.log2(6), 10_000, h.max(), h.mean(),
                  math.log2(6) - _h(first), kl_uniform])


# --- 5. die vs coin ------------------------------------------------------------

@checker("nb01-die-vs-coin")
def _die_vs_coin(text):
    h_die, h_coin = math.log2(6), _h([0.8, 0.2])
    _agree(text, [h_die, 1.0, 0.8, h_coin, -math.log2(0.8), -math.log2(0.2),
                  h_die / h_coin, 1000, 1000 * h_coin, 1000])


# --- 6. joint and conditional entropy ------------------------------------------

def _marginals():
    px = [sum(row) for row in PXY]
    py = [PXY[0][j] + PXY[1][j] for j in range(2)]
    return px, py


def _conditional(table, given_columns=True):
    """H(X|Y) (rows given columns) or H(Y|X), by definition."""
    px, py = _marginals()
    terms = []
    for i in range(2):
        for j in range(2):
            given = py[j] if given_columns else px[i]
            terms.append(table[i][j] * math.log2(table[i][j] / given))
    return -math.fsum(terms)


@checker("nb01-joint")
def _joint(text):
    px, py = _marginals()
    h_xy = _h([v for row in PXY for v in row])
    h_x_given_y, h_y_given_x = _conditional(PXY), _conditional(PXY, False)
    assert round(h_x_given_y, 4) == 0.7474 and round(h_y_given_x, 4) == 0.8002
    _agree(text, [*px, *py, _h(px), _h(py), h_xy, h_x_given_y, h_y_given_x,
                  _h(px) + _h(py) - h_xy])


@checker("nb01-conditional-average")
def _conditional_average(text):
    _, py = _marginals()
    per_column = [_h([PXY[0][j] / py[j], PXY[1][j] / py[j]]) for j in range(2)]
    _agree(text, [*per_column, _conditional(PXY)])


@checker("nb01-chain-rule")
def _chain_rule(text):
    assert "to within 4 machine epsilons: True" in text
    px, py = _marginals()
    h_xy = _h([v for row in PXY for v in row])
    mi = _h(px) + _h(py) - h_xy
    _agree(text, [h_xy, h_xy, h_xy, 4, mi, mi])


@checker("nb01-wrong-axis")
def _wrong_axis(text):
    # Weights P(x) (row sums) for the columns: column j divided by P(X=j).
    px, py = _marginals()
    slices = [[PXY[i][j] / px[j] for i in range(2)] for j in range(2)]
    wrong = math.fsum(px[j] * _h(slices[j]) for j in range(2))
    right = _conditional(PXY)
    h_xy = _h([v for row in PXY for v in row])
    residual = abs(h_xy - _h(py) - wrong)
    assert residual > 1e-3  # the chain rule really fails
    assert abs(wrong - right) < 0.01  # "under 0.01 bits"
    _agree(text, [sum(slices[0]), sum(slices[1]), 1, wrong, right, residual,
                  abs(h_xy - _h(py) - right)])


# --- 7. real data --------------------------------------------------------------

def _zen():
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return codecs.decode(this.s, "rot13")


@checker("nb01-zen")
def _zen_entropy(text):
    zen = _zen()
    letters = [c for c in zen.lower() if c in "abcdefghijklmnopqrstuvwxyz"]
    letter_counts = Counter(letters)
    char_counts = Counter(zen)
    assert text.startswith("The Zen of Python, by Tim Peters")
    h_letters = sp_entropy(list(letter_counts.values()), base=2)
    # Miller-Madow: + (K - 1) / (2 N) nats.
    correction = (len(letter_counts) - 1) / (2 * len(letters))
    miller_madow = h_letters + correction / math.log(2)
    assert h_letters < math.log2(26)
    _agree(text, [len(letters), len(letter_counts), h_letters, miller_madow, 26,
                  math.log2(26), len(zen), len(char_counts),
                  sp_entropy(list(char_counts.values()), base=2),
                  math.log2(len(char_counts))])
    _says("entropy-42", "carry about {} bits", h_letters, 1)
    _says("entropy-42", r"not $\log_2 26 \approx {}$", math.log2(26), 1)


def _zen_pairs_table():
    stream = [c if "a" <= c <= "z" else " " for c in _zen().lower()]
    symbols = sorted(set(stream))
    index = [symbols.index(c) for c in stream]
    return np.array(index[1:]), np.array(index[:-1]), len(symbols)


def _mi_bits(x, y):
    return mutual_info_score(x, y) / math.log(2)


def _miller_madow_mi_bits(x, y):
    """H(X) + H(Y) - H(X, Y), each plug-in + (K - 1) / (2 N) nats."""
    n = len(x)

    def h(labels):
        counts = list(Counter(labels).values())
        return sp_entropy(counts) + (len(counts) - 1) / (2 * n)

    pairs = list(zip(x.tolist(), y.tolist(), strict=True))
    return (h(x.tolist()) + h(y.tolist()) - h(pairs)) / math.log(2)


def _shuffle_null(x, y, n, seed):
    """Plug-in MI (bits) of ``n`` shuffles of ``y``: our own shuffles, counted
    with one bincount per shuffle (the tables of all shuffles side by side)."""
    rng = np.random.default_rng(seed + 12345)
    k = int(max(x.max(), y.max())) + 1
    shuffled = np.array([rng.permutation(y) for _ in range(n)])
    codes = x[None, :] * k + shuffled + (np.arange(n) * k * k)[:, None]
    tables = np.bincount(codes.ravel(), minlength=n * k * k).reshape(n, k * k)
    joint = tables / len(x)
    outer = np.outer(np.bincount(x, minlength=k), np.bincount(y, minlength=k))
    outer = outer.ravel() / len(x) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log2(joint / outer), 0.0)
    return terms.sum(axis=1)


@checker("nb01-zen-pairs")
def _zen_pairs(text):
    nxt, cur, k = _zen_pairs_table()
    h_next = sp_entropy(np.bincount(nxt), base=2)
    h_cur = sp_entropy(np.bincount(cur), base=2)
    h_pair = sp_entropy(list(Counter(zip(nxt, cur, strict=True)).values()), base=2)
    seen = len(set(zip(nxt, cur, strict=True)))
    # H(next | current) = H(next, current) - H(current); I from the three.
    _agree(text, [len(nxt), k, k, k * k, seen, h_next, h_pair - h_cur,
                  h_next + h_cur - h_pair])
    assert len(nxt) / (k * k) < 1.4  # "fewer than 1.4 pairs per cell"
    _says("entropy-42", "from {} pairs", len(nxt), 0)
    _says("entropy-42", "in {} cells", k * k, 0)


@checker("nb01-zen-bias")
def _zen_bias(text):
    nxt, cur, _ = _zen_pairs_table()
    mi = _mi_bits(nxt, cur)
    null = _shuffle_null(nxt, cur, 1000, seed=0)
    printed = [float(t) for t in _numbers(text)]
    # 1000 shuffles: the printed mean and sd are Monte Carlo estimates; ours
    # must agree within 5 standard errors.
    assert abs(printed[2] - null.mean()) < 5 * null.std() / math.sqrt(1000) + 5e-5
    assert abs(printed[3] - null.std()) < 0.15 * null.std()
    largest = printed[4]
    assert null.mean() < largest < mi / 2  # no shuffle came near the data
    mm = _miller_madow_mi_bits(nxt, cur)
    _agree(text, [mi, 1000, printed[2], printed[3], largest,
                  mi - printed[2], mm])
    _says("entropy-37d", "(0.66 against {} bits)", mm, 2)
    assert f"({mi - printed[2]:.2f} against" in MARKDOWN["entropy-37d"]
    _says("entropy-37d", "its MI is {} bits", mi, 4)
    _says("entropy-37d", "draw {} pairs", len(nxt), 0)
    _says("entropy-37f", "the Zen's {} bits is an overestimate", mi, 2)
    _says("entropy-37f", "Miller–Madow's {} bits", mm, 2)
    _says("entropy-37f", "none of the {} shuffles", 1000, 0)
    _says("entropy-42", "(Miller–Madow: {} bits)", mm, 2)


@checker("nb01-zen-simulation")
def _zen_simulation(text):
    nxt, cur, k = _zen_pairs_table()
    table = np.zeros((k, k))
    np.add.at(table, (nxt, cur), 1)
    joint = table / table.sum()
    truth = _mi_bits(nxt, cur)  # the table's own MI
    n = len(nxt)
    runs = {"plug-in": [], "mm": [], "shuffle": []}
    for seed in range(20):
        cells = np.random.default_rng(seed).choice(joint.size, n, p=joint.ravel())
        x, y = np.divmod(cells, k)
        plug_in = _mi_bits(x, y)
        runs["plug-in"].append(plug_in)
        runs["mm"].append(_miller_madow_mi_bits(x, y))
        runs["shuffle"].append(plug_in - _shuffle_null(x, y, 200, seed).mean())
    printed = [float(t) for t in _numbers(text)]
    refs = [truth, 20, n]
    for key, at in (("plug-in", 3), ("mm", 6), ("shuffle", 9)):
        values = np.array(runs[key])
        mean, sd = values.mean(), values.std(ddof=1)
        if key == "shuffle":  # Monte Carlo: the notebook's shuffles are not ours
            assert abs(printed[at] - mean) < 0.003
            assert abs(printed[at + 1] - sd) < 0.003
            assert abs(printed[at + 2] - (printed[at] - truth)) < 1e-4
            refs += printed[at : at + 3]
            continue
        refs += [mean, sd, mean - truth]
    _agree(text, refs)
    bias = {key: np.mean(v) - truth for key, v in runs.items()}
    assert bias["plug-in"] > 0.1 and bias["shuffle"] < -0.2 and abs(bias["mm"]) < 0.05
    _says("entropy-37d", "repeat over {} seeds", 20, 0)
    _says("entropy-37f", "overestimates it by about {} bits", bias["plug-in"], 2)
    _says("entropy-37f", "Miller–Madow by about {},", bias["mm"], 2)
    _says("entropy-37f", "*under*estimates it by about {}:", -bias["shuffle"], 2)


@checker("nb01-digits")
def _digits(text):
    pixels = load_digits().data.astype(int)
    per_pixel = np.array([
        sp_entropy(np.bincount(pixels[:, k], minlength=17), base=2)
        for k in range(pixels.shape[1])
    ])
    assert per_pixel.max() <= math.log2(17)
    grid = per_pixel.reshape(8, 8)
    border = np.concatenate([grid[0], grid[-1], grid[1:-1, 0], grid[1:-1, -1]])
    middle = grid[:, 2:6]
    under = int(np.sum(border < 0.5))
    _agree(text, [pixels.shape[0], pixels.shape[1], per_pixel.max(), 17,
                  math.log2(17), 0, int(np.sum(per_pixel == 0)), per_pixel.mean(),
                  grid[:, 0].max(), grid[:, -1].max(), grid[0].max(), grid[-1].max(),
                  0.5, under, len(border), middle.min(), middle.max()])
    # What the text says about the figure.
    md = "entropy-41b"
    _says(md, "left column stays at or below {} bits", grid[:, 0].max(), 2)
    _says(md, "the right at or below {} bits", grid[:, -1].max(), 2)
    _says(md, "in every row, from {} to", middle.min(), 2)
    _says(md, "to {} bits, the top", middle.max(), 2)
    _says(md, "(up to {} and", grid[0].max(), 2)
    _says(md, "and {} bits)", grid[-1].max(), 2)
    _says(md, "Only {} of the", under, 0)
    _says(md, "of the {} border pixels", len(border), 0)
    _says(md, "only {} pixels are always blank", int(np.sum(per_pixel == 0)), 0)
    # The outer columns are the blank ones, not the whole border.
    assert grid[0].max() > 3.5 and grid[-1].max() > 3.5
    # Miller-Madow's correction, (K - 1) / (2 N) nats, is below 0.007 bits.
    levels = max(np.count_nonzero(np.bincount(pixels[:, k], minlength=17))
                 for k in range(64))
    assert (levels - 1) / (2 * pixels.shape[0]) / math.log(2) < 0.007
    assert "correction is below 0.007 bits" in MARKDOWN["entropy-39"]


# --- the tests (after every checker is registered) -------------------------

def test_every_printing_cell_is_checked():
    assert set(PRINTED) == set(CHECKERS)


@pytest.mark.parametrize("tag", sorted(CHECKERS))
def test_printed_numbers(tag):
    assert tag in PRINTED, f"the notebook has no cell tagged {tag}"
    CHECKERS[tag](PRINTED[tag])

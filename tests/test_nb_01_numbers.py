"""Every number printed by notebooks/01_entropy.ipynb, re-derived independently.

The test reads the committed, executed notebook. Each code cell that prints
carries a tag ``nb01-...``; for each tag a checker below recomputes, with
plain ``math``, ``collections.Counter``, ``scipy.stats.entropy`` or a brute
force, the list of every number that cell prints, in order, and the printed
numbers must agree to their printed precision. A printing cell without a
checker, or a number without a reference, fails the test.
"""

import codecs
import contextlib
import io
import itertools
import math
import re
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
import pytest
from scipy.stats import entropy as sp_entropy
from sklearn.datasets import load_digits

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_entropy.ipynb"
# A number not glued to a word (so "log2" and "H(X)" are not numbers).
NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?|inf)(?![\w])")
QUOTED = re.compile(r"'[^']*'")

PXY = [[0.2, 0.1], [0.15, 0.55]]


def _load():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    printed = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = ""
        for out in cell.outputs:
            assert out.output_type != "error", f"error output in:\n{cell.source}"
            if out.output_type == "stream":
                assert out.name == "stdout", f"stderr output: {out.text}"
                text += out.text
        tags = [t for t in cell.metadata.get("tags", []) if t.startswith("nb01-")]
        if text:
            assert len(tags) == 1, f"a printing cell needs a nb01- tag:\n{cell.source}"
            printed[tags[0]] = text
        else:
            assert not tags, f"tagged cell {tags} prints nothing"
    return printed


PRINTED = _load()


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


# --- 3. units ------------------------------------------------------------------

@checker("nb01-units")
def _units(text):
    # "ln 2" and "base 10" print the constants 2 and 10.
    _agree(text, [math.log2(6), math.log(6), math.log(2), 2, math.log(2),
                  1 / math.log(2), 10, math.log10(6)])


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


@checker("nb01-outline-bug")
def _outline_bug(text):
    # The outline's helper: marginal along `axis`, slices along the other.
    px, py = _marginals()
    refs, values = [], {}
    for axis, marginal in ((1, px), (0, py)):
        h = 0.0
        for i, m in enumerate(marginal):
            if axis == 1:
                sl = [PXY[0][i] / m, PXY[1][i] / m]
            else:
                sl = [PXY[i][0] / m, PXY[i][1] / m]
            refs += [i, sum(sl)]
            h += m * _h(sl)
        values[axis] = h
    h_xy = _h([v for row in PXY for v in row])
    refs += [values[1], _conditional(PXY), values[0], _conditional(PXY, False),
             h_xy - _h(px) - values[0]]
    assert abs(h_xy - _h(px) - values[0]) > 1e-3  # the chain rule really fails
    _agree(text, refs)


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
    assert h_letters < math.log2(26)
    _agree(text, [len(letters), len(letter_counts), h_letters, math.log2(26), 26,
                  len(zen), len(char_counts),
                  sp_entropy(list(char_counts.values()), base=2),
                  math.log2(len(char_counts))])


@checker("nb01-zen-pairs")
def _zen_pairs(text):
    stream = [c if "a" <= c <= "z" else " " for c in _zen().lower()]
    nxt, cur = stream[1:], stream[:-1]

    def h_counts(counter):
        return sp_entropy(list(counter.values()), base=2)

    h_next, h_cur = h_counts(Counter(nxt)), h_counts(Counter(cur))
    h_pair = h_counts(Counter(zip(nxt, cur, strict=True)))
    # H(next | current) = H(next, current) - H(current); I from the three.
    _agree(text, [h_next, h_pair - h_cur, h_next + h_cur - h_pair])


@checker("nb01-digits")
def _digits(text):
    pixels = load_digits().data.astype(int)
    per_pixel = np.array([
        sp_entropy(np.bincount(pixels[:, k], minlength=17), base=2)
        for k in range(pixels.shape[1])
    ])
    assert per_pixel.max() <= math.log2(17)
    _agree(text, [pixels.shape[0], pixels.shape[1], per_pixel.max(), 17,
                  math.log2(17), 0, int(np.sum(per_pixel == 0)), per_pixel.mean()])


# --- the tests (after every checker is registered) -------------------------

def test_every_printing_cell_is_checked():
    assert set(PRINTED) == set(CHECKERS)


@pytest.mark.parametrize("tag", sorted(CHECKERS))
def test_printed_numbers(tag):
    assert tag in PRINTED, f"the notebook has no cell tagged {tag}"
    CHECKERS[tag](PRINTED[tag])

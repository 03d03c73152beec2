"""Plausible wrong answers to exercise sheet 1 (entropy), each one cell replaced.

Each entry of ``WRONG`` is ``(solution_cell_grade_id, label, replacement_source,
parts_that_must_fail)``: the grader must give exactly those parts 0 points and
every other automatically graded part full marks. ``HINTS`` maps a label to a
fragment the part's self-check must print next to ``[not yet]``.
"""

ENTROPY_NATS = '''
def entropy_bits(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("not a distribution")
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))
'''

ENTROPY_NAN = '''
def entropy_bits(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("not a distribution")
    return float(-np.sum(p * np.log2(p)))
'''

ENTROPY_NO_CHECKS = '''
def entropy_bits(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))
'''

COND_SWAPPED = '''
def conditional_entropy_bits(pxy):
    pxy = np.asarray(pxy, dtype=float)
    px = pxy.sum(axis=1, keepdims=True)
    mask = pxy > 0
    return float(-np.sum(pxy[mask] * np.log2((pxy / np.where(px > 0, px, 1))[mask])))
'''

COND_WEIGHTS = '''
def conditional_entropy_bits(pxy):
    pxy = np.asarray(pxy, dtype=float)
    py = pxy.sum(axis=0, keepdims=True)
    p_x_given_y = pxy / np.where(py > 0, py, 1)
    mask = p_x_given_y > 0
    return float(-np.sum(p_x_given_y[mask] * np.log2(p_x_given_y[mask])))
'''

COND_NAN = '''
def conditional_entropy_bits(pxy):
    pxy = np.asarray(pxy, dtype=float)
    return float(-np.sum(pxy * np.log2(pxy / pxy.sum(axis=0, keepdims=True))))
'''

HUFFMAN_SORTED = '''
import heapq


def huffman_code(p):
    codes = [""] * len(p)
    heap = [(float(q), i, [i]) for i, q in enumerate(p)]
    heapq.heapify(heap)
    counter = len(p)
    while len(heap) > 1:
        w0, _, s0 = heapq.heappop(heap)
        w1, _, s1 = heapq.heappop(heap)
        for s in s0:
            codes[s] = "0" + codes[s]
        for s in s1:
            codes[s] = "1" + codes[s]
        heapq.heappush(heap, (w0 + w1, counter, s0 + s1))
        counter += 1
    # wrong: hands the codewords out by rank, most probable symbol first
    by_length = sorted(codes, key=len)
    return by_length
'''

HUFFMAN_FIXED = '''
def huffman_code(p):
    width = max(1, int(np.ceil(np.log2(len(p)))))
    return [format(i, f"0{width}b") for i in range(len(p))]
'''

HALF_BIT_ABOVE = '''
def p_for_bits(target):
    from scipy.optimize import brentq

    return brentq(lambda p: entropy_bits([p, 1 - p]) - target, 0.5, 1 - 1e-12)
'''

HALF_BIT_TYPED = '''
def p_for_bits(target):
    return 0.11002786443835955  # the well-known value, typed in
'''

HALF_BIT_COARSE = '''
def p_for_bits(target):
    low, high = 1e-12, 0.5
    while high - low > 1e-6:
        mid = (low + high) / 2
        if entropy_bits([mid, 1 - mid]) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
'''

_BLOCKS = '''
import itertools


def block_rates(p1, n_max):
    rates = []
    for n in range(1, n_max + 1):
        ones = np.array([sum(b) for b in itertools.product([0, 1], repeat=n)])
        p_blocks = {p1} ** ones * (1 - {p1}) ** (n - ones)
        lengths = [len(w) for w in huffman_code(p_blocks)]
        rates.append(float(np.dot(p_blocks, lengths)){divide})
    return rates
'''
BLOCKS_NOT_DIVIDED = _BLOCKS.format(p1="p1", divide="")
BLOCKS_FIXED_SOURCE = _BLOCKS.format(p1="0.1", divide=" / n")

BLOCKS_ENTROPY = '''
def block_rates(p1, n_max):
    return [-(p1 * np.log2(p1) + (1 - p1) * np.log2(1 - p1))] * n_max
'''

BLOCKS_TYPED = '''
def block_rates(p1, n_max):
    return [1.0, 0.645, 0.53265, 0.49255, 0.48022, 0.470205, 0.47432, 0.47579]
'''

WRONG = [
    ("entropy_bits", "entropy in nats", ENTROPY_NATS,
     ["entropy_bits_tests", "die_and_coin_tests", "half_bit_tests"]),
    ("entropy_bits", "0 log 0 gives nan", ENTROPY_NAN, ["entropy_bits_tests"]),
    ("entropy_bits", "accepts invalid distributions", ENTROPY_NO_CHECKS,
     ["entropy_bits_tests"]),
    ("die_and_coin", "coin in nats",
     "h_die = entropy_bits(np.full(6, 1 / 6))\n"
     "h_coin = -(0.8 * np.log(0.8) + 0.2 * np.log(0.2))\n",
     ["die_and_coin_tests"]),
    ("die_and_coin", "die as log2 of the number of faces over 6",
     "h_die = np.log2(6) / 6\nh_coin = entropy_bits([0.8, 0.2])\n",
     ["die_and_coin_tests"]),
    ("half_bit", "the root above 1/2", HALF_BIT_ABOVE, ["half_bit_tests"]),
    ("half_bit", "typed the number", HALF_BIT_TYPED, ["half_bit_tests"]),
    ("half_bit", "bisection stopped at 1e-6", HALF_BIT_COARSE, ["half_bit_tests"]),
    ("conditional_entropy_bits", "swapped axis (H(Y|X))", COND_SWAPPED,
     ["conditional_entropy_tests"]),
    ("conditional_entropy_bits", "weights P(x|y) instead of P(x,y)", COND_WEIGHTS,
     ["conditional_entropy_tests"]),
    ("conditional_entropy_bits", "an empty column gives nan", COND_NAN,
     ["conditional_entropy_tests"]),
    ("huffman_code", "codewords handed out by rank", HUFFMAN_SORTED,
     ["huffman_tests", "block_coding_tests"]),
    ("huffman_code", "fixed-length code", HUFFMAN_FIXED,
     ["huffman_tests", "block_coding_tests"]),
    ("block_coding", "forgot to divide by n", BLOCKS_NOT_DIVIDED,
     ["block_coding_tests"]),
    ("block_coding", "the entropy typed in place of the measurement", BLOCKS_ENTROPY,
     ["block_coding_tests"]),
    ("block_coding", "typed the eight numbers", BLOCKS_TYPED, ["block_coding_tests"]),
    ("block_coding", "P(1) = 0.1 hard-coded", BLOCKS_FIXED_SOURCE,
     ["block_coding_tests"]),
]

HINTS = {
    "entropy in nats": "nats",
    "0 log 0 gives nan": "nan",
    "swapped axis (H(Y|X))": "H(Y|X)",
    "weights P(x|y) instead of P(x,y)": "joint",
    "an empty column gives nan": "empty column",
    "codewords handed out by rank": "symbol i",
    "fixed-length code": "fixed-length",
    "the root above 1/2": "above 1/2",
    "the entropy typed in place of the measurement": "one bit at a time",
    "P(1) = 0.1 hard-coded": "P(1) = 1/2",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("entropy_bits", "scipy.stats.entropy", '''
def entropy_bits(p):
    from scipy.stats import entropy

    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-9):
        raise ValueError("not a distribution")
    return float(entropy(p, base=2))
''', "entropy_bits_tests"),
]

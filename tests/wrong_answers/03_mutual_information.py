"""Plausible wrong answers to exercise sheet 3 (mutual information), one cell each.

See ``tests/test_wrong_answers.py`` for how they are used.
"""

MI_NATS = '''
def mutual_information_bits(pxy):
    pxy = np.asarray(pxy, dtype=float)
    product = pxy.sum(axis=1, keepdims=True) * pxy.sum(axis=0, keepdims=True)
    mask = pxy > 0
    return float(max(0.0, np.sum(pxy[mask] * np.log(pxy[mask] / product[mask]))))
'''

MI_MARGINALS_SWAPPED = '''
def mutual_information_bits(pxy):
    pxy = np.asarray(pxy, dtype=float)
    px, py = pxy.sum(axis=0), pxy.sum(axis=1)  # wrong: P(x) summed down the columns
    product = np.outer(px, py)
    mask = pxy > 0
    return float(max(0.0, np.sum(pxy[mask] * np.log2(pxy[mask] / product[mask]))))
'''

MI_FROM_SAMPLES = '''
def plugin_mi_bits(x, y):
    x, y = np.asarray(x), np.asarray(y)
    n_y = y.max() + 1
    counts = np.bincount(x * n_y + y, minlength=(x.max() + 1) * n_y)
    return mutual_information_bits(counts.reshape(-1, n_y) / len(x))


def miller_madow_mi_bits(x, y):
    x, y = np.asarray(x), np.asarray(y)
    n_y = y.max() + 1
    counts = np.bincount(x * n_y + y, minlength=(x.max() + 1) * n_y).reshape(-1, n_y)
    m_x = np.count_nonzero(counts.sum(axis=1))
    m_y = np.count_nonzero(counts.sum(axis=0))
    m_xy = np.count_nonzero(counts)
    correction = ((m_x - 1) + (m_y - 1) - (m_xy - 1)) / (2 * len(x) * np.log(2))
    return plugin_mi_bits(x, y) + correction
'''

BIAS = '''
sample_sizes = [25, 50, 100, 200, 400, 800]
rng = np.random.default_rng(0)
bias_plugin, bias_miller_madow = [], []
for n in sample_sizes:
    samples = [(rng.integers(0, 4, n), rng.integers(0, 4, n)) for _ in range(200)]
    bias_plugin.append(float(np.mean([plugin_mi_bits(x, y) for x, y in samples])))
    bias_miller_madow.append(
        float(np.mean([miller_madow_mi_bits(x, y) for x, y in samples])))
bias_theory = [(4 - 1) * (4 - 1) / (2 * n * np.log(2)) for n in sample_sizes]
'''

INFONCE = '''
def infonce_bits(scores):
    scores = np.asarray(scores, dtype=float)
    top = scores.max(axis=1, keepdims=True)
    log_sum = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
    n = scores.shape[0]
    return float((np.mean(np.diag(scores) - log_sum) + np.log(n)) / np.log(2))
'''

EXPERIMENT = '''
rng = np.random.default_rng(1)
true_mi = [float(-0.5 * np.log2(1 - rho**2)) for rho in rhos]
infonce_estimates = [
    float(np.mean([infonce_bits(optimal_critic(*sample_pairs(16, rho, rng), rho))
                   for _ in range(200)]))
    for rho in rhos
]
'''

WRONG = [
    ("mutual_information_bits", "mutual information in nats", MI_NATS,
     ["mutual_information_tests", "mi_from_samples_tests", "bias_experiment_tests"]),
    ("mutual_information_bits", "marginals on the wrong axes", MI_MARGINALS_SWAPPED,
     ["mutual_information_tests", "mi_from_samples_tests", "bias_experiment_tests"]),
    ("uncorrelated_pair", "an independent pair",
     "x_values = np.array([-1.0, 1.0])\ny_values = np.array([0.0, 1.0])\n"
     "pxy = np.full((2, 2), 0.25)\n",
     ["uncorrelated_pair_tests"]),
    ("uncorrelated_pair", "a correlated pair (Y = X)",
     "x_values = y_values = np.array([0.0, 1.0])\npxy = np.diag([0.5, 0.5])\n",
     ["uncorrelated_pair_tests"]),
    ("mi_from_samples", "correction added with the wrong sign",
     MI_FROM_SAMPLES.replace("return plugin_mi_bits(x, y) + correction",
                             "return plugin_mi_bits(x, y) - correction"),
     ["mi_from_samples_tests", "bias_experiment_tests"]),
    ("mi_from_samples", "all possible cells counted as seen",
     MI_FROM_SAMPLES.replace("m_xy = np.count_nonzero(counts)", "m_xy = counts.size"),
     ["mi_from_samples_tests", "bias_experiment_tests"]),
    ("bias_experiment", "the first-order formula typed in for the measurement",
     BIAS.replace("bias_plugin.append(float(np.mean([plugin_mi_bits(x, y) "
                  "for x, y in samples])))",
                  "bias_plugin.append(9 / (2 * n * np.log(2)))"),
     ["bias_experiment_tests"]),
    ("bias_experiment", "theory in nats",
     BIAS.replace("(2 * n * np.log(2))", "(2 * n)"), ["bias_experiment_tests"]),
    ("bias_experiment", "plug-in mean in nats",
     BIAS.replace("plugin_mi_bits(x, y) for x, y in samples])))",
                 "plugin_mi_bits(x, y) for x, y in samples]) * np.log(2)))"),
     ["bias_experiment_tests"]),
    ("infonce", "normalised over columns",
     INFONCE.replace("max(axis=1, keepdims=True)", "max(axis=0, keepdims=True)")
     .replace("top[:, 0]", "top[0]").replace(".sum(axis=1))", ".sum(axis=0))"),
     ["infonce_tests"]),
    ("infonce", "the + ln N term missing",
     INFONCE.replace(" + np.log(n)) / np.log(2)", ") / np.log(2)"),
     ["infonce_tests"]),
    ("infonce", "estimate in nats", INFONCE.replace(") / np.log(2))", "))"),
     ["infonce_tests"]),
    ("infonce", "no maximum subtracted (overflow)",
     INFONCE.replace("top = scores.max(axis=1, keepdims=True)",
                     "top = np.zeros((scores.shape[0], 1))"),
     ["infonce_tests"]),
    ("infonce_experiment", "batches of 64 pairs",
     EXPERIMENT.replace("sample_pairs(16, rho, rng)", "sample_pairs(64, rho, rng)"),
     ["infonce_tests"]),

]

HINTS = {
    "theory in nats": "factor 1/ln 2",
    "plug-in mean in nats": "factor ln 2",
    "mutual information in nats": "nats",
    "marginals on the wrong axes": "wrong axes",
    "correction added with the wrong sign": "wrong sign",
    "all possible cells counted as seen": "cells seen",
    "normalised over columns": "wrong axis",
    "the + ln N term missing": "ln N",
    "estimate in nats": "nats",
    "no maximum subtracted (overflow)": "overflow",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("mutual_information_bits", "scipy.stats.entropy", '''
def mutual_information_bits(pxy):
    from scipy.stats import entropy

    pxy = np.asarray(pxy, dtype=float)
    h = entropy(pxy.sum(axis=1), base=2) + entropy(pxy.sum(axis=0), base=2)
    return float(max(0.0, h - entropy(pxy.ravel(), base=2)))
''', "mutual_information_tests"),
]

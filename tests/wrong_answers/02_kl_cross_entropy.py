"""Plausible wrong answers to exercise sheet 2 (KL divergence), one cell replaced each.

See ``tests/test_wrong_answers.py`` for how they are used.
"""

from string import Template

KL_SWAPPED = '''
def kl_bits(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    support = q > 0
    if np.any(p[support] == 0):
        return np.inf
    return float(np.sum(q[support] * np.log2(q[support] / p[support])))
'''

KL_EPSILON = '''
def kl_bits(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float) + 1e-12
    support = p > 0
    return float(np.sum(p[support] * np.log2(p[support] / q[support])))
'''

KL_NAN = '''
def kl_bits(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if np.any((q == 0) & (p > 0)):
        return np.inf
    return float(np.sum(p * np.log2(p / q)))
'''

GAUSS_SD = '''
def kl_gauss(mu1, var1, mu2, var2):
    v1, v2 = var1 ** 2, var2 ** 2  # wrong: treats the variances as sigma
    return float(0.5 * (np.log(v2 / v1) + (v1 + (mu1 - mu2) ** 2) / v2 - 1.0))
'''

GAUSS_NO_HALF = '''
def kl_gauss(mu1, var1, mu2, var2):
    return float(np.log(var2 / var1) + (var1 + (mu1 - mu2) ** 2) / var2 - 1.0)
'''

MC_SAMPLER_VAR = '''
def kl_monte_carlo(mu1, var1, mu2, var2, n=200_000, seed=0):
    x = np.random.default_rng(seed).normal(mu1, var1, size=n)
    return float(np.mean(log_normal_pdf(x, mu1, np.sqrt(var1))
                         - log_normal_pdf(x, mu2, np.sqrt(var2))))
'''

MC_DENSITY_VAR = '''
def kl_monte_carlo(mu1, var1, mu2, var2, n=200_000, seed=0):
    x = np.random.default_rng(seed).normal(mu1, np.sqrt(var1), size=n)
    return float(np.mean(log_normal_pdf(x, mu1, var1) - log_normal_pdf(x, mu2, var2)))
'''

MC_CLOSED_FORM = '''
def kl_monte_carlo(mu1, var1, mu2, var2, n=200_000, seed=0):
    return kl_gauss(mu1, var1, mu2, var2)
'''

GRID_NO_DX = '''
def kl_on_grid(log_a, log_b, dx):
    a = np.exp(log_a)
    return float(np.sum(a * (log_a - log_b)))
'''

GRID_UNDERFLOW = '''
def kl_on_grid(log_a, log_b, dx):
    a, b = np.exp(log_a), np.exp(log_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(a * np.log(a / b)) * dx)
'''

FIT_TEMPLATE = Template('''
from scipy.optimize import minimize


def fit_gaussian(log_target, direction, m0):
    def divergence(theta):
        log_q_theta = log_q(theta[0], np.exp(theta[1]))
        if direction == "forward":
            return kl_on_grid($forward, dx)
        return kl_on_grid($reverse, dx)

    options = {"xatol": 1e-8, "fatol": 1e-12, "maxiter": 5000}
    fit = minimize(divergence, [m0, 0.0], method="Nelder-Mead", options=options)
    return [float(fit.x[0]), float(np.exp(fit.x[1]))]
''')
P_THEN_Q = "log_target, log_q_theta"
Q_THEN_P = "log_q_theta, log_target"
FIT_EXCHANGED = FIT_TEMPLATE.substitute(forward=Q_THEN_P, reverse=P_THEN_Q)
FIT_FORWARD_SWAPPED = FIT_TEMPLATE.substitute(forward=Q_THEN_P, reverse=Q_THEN_P)

FIT_TYPED = '''
def fit_gaussian(log_target, direction, m0):
    # the sheet's three fits, typed in whatever the target
    if direction == "forward":
        return [-0.8, 1.9621416870348583]
    return [-1.9894, 0.7157] if m0 < 0 else [1.9668, 0.7445]
'''

FITS_ONE_SIDE = '''
forward_fit = fit_gaussian(log_p, "forward", 0.0)
reverse_fit, reverse_local = sorted(
    (fit_gaussian(log_p, "reverse", m0) for m0 in (3.0, 3.0)),
    key=lambda fit: kl_on_grid(log_q(*fit), log_p, dx),
)
kl_at_fits = [kl_on_grid(log_p, log_q(*forward_fit), dx),
              kl_on_grid(log_q(*reverse_fit), log_p, dx)]
'''

BOTH_READINGS = '''
def both_readings(mu, a):
    return [kl_gauss(0, 1, mu, {v}), kl_gauss(mu, {v}, 0, 1),
            kl_gauss(0, 1, mu, {sd}), kl_gauss(mu, {sd}, 0, 1)]
'''

WRONG = [
    ("kl_bits", "arguments swapped", KL_SWAPPED, ["kl_bits_tests"]),
    ("kl_bits", "epsilon added to Q", KL_EPSILON, ["kl_bits_tests"]),
    ("kl_bits", "0 log 0 terms give nan", KL_NAN, ["kl_bits_tests"]),
    ("kl_gauss", "variances read as standard deviations", GAUSS_SD,
     ["kl_gauss_tests", "kl_both_readings_tests"]),
    ("kl_gauss", "the leading 1/2 forgotten", GAUSS_NO_HALF,
     ["kl_gauss_tests", "kl_both_readings_tests"]),
    ("kl_both_readings", "standard deviation reading squared twice",
     BOTH_READINGS.format(v="a", sd="a**4"), ["kl_both_readings_tests"]),
    ("kl_both_readings", "the two readings exchanged",
     BOTH_READINGS.format(v="a**2", sd="a"), ["kl_both_readings_tests"]),
    ("kl_both_readings", "typed the four numbers", '''
def both_readings(mu, a):
    return [1.0965735902799727, 2.1534264097200273, 0.8181471805599453,
            2.8068528194400546]
''', ["kl_both_readings_tests"]),
    ("kl_monte_carlo", "sampler given the variance", MC_SAMPLER_VAR,
     ["kl_monte_carlo_tests"]),
    ("kl_monte_carlo", "densities given the variance", MC_DENSITY_VAR,
     ["kl_monte_carlo_tests"]),
    ("kl_monte_carlo", "the closed form, not an estimate", MC_CLOSED_FORM,
     ["kl_monte_carlo_tests"]),
    ("kl_on_grid", "spacing dx forgotten", GRID_NO_DX,
     ["kl_on_grid_tests", "kl_fits_tests"]),
    ("kl_on_grid", "log(exp(log b)) underflows", GRID_UNDERFLOW, ["kl_on_grid_tests"]),
    ("fit_gaussian", "forward and reverse exchanged", FIT_EXCHANGED, ["kl_fits_tests"]),
    ("fit_gaussian", "forward fit with the arguments of kl_on_grid swapped",
     FIT_FORWARD_SWAPPED, ["kl_fits_tests"]),
    ("fit_gaussian", "typed the fits", FIT_TYPED, ["kl_fits_tests"]),
    ("kl_fits", "reverse started from one side only", FITS_ONE_SIDE, ["kl_fits_tests"]),
]

HINTS = {
    "arguments swapped": "D_KL(Q||P)",
    "epsilon added to Q": "infinite",
    "0 log 0 terms give nan": "nan",
    "variances read as standard deviations": "standard deviations",
    "the leading 1/2 forgotten": "1/2",
    "sampler given the variance": "spread",
    "densities given the variance": "log_normal_pdf",
    "spacing dx forgotten": "spacing",
    "log(exp(log b)) underflows": "underflow",
    "the two readings exchanged": "readings are exchanged",
    "forward fit with the arguments of kl_on_grid swapped": "P is the first argument",
    "forward and reverse exchanged": "P is the first argument",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("kl_bits", "scipy.special.rel_entr", '''
def kl_bits(p, q):
    from scipy.special import rel_entr

    return float(np.sum(rel_entr(p, q)) / np.log(2))
''', "kl_bits_tests"),
]

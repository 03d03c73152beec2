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

FITS_TEMPLATE = Template('''
from scipy.optimize import minimize


def forward_kl(theta):
    return kl_on_grid($forward, dx)


def reverse_kl(theta):
    return kl_on_grid($reverse, dx)


options = {"xatol": 1e-8, "fatol": 1e-12, "maxiter": 5000}
fit = minimize(forward_kl, [0.0, 0.0], method="Nelder-Mead", options=options)
forward_fit = [float(fit.x[0]), float(np.exp(fit.x[1]))]
fits = sorted(
    (minimize(reverse_kl, [m0, 0.0], method="Nelder-Mead", options=options)
     for m0 in (-3.0, 3.0)),
    key=lambda result: result.fun,
)
reverse_fit, reverse_local = ([float(r.x[0]), float(np.exp(r.x[1]))] for r in fits)
kl_at_fits = [float(fit.fun), float(fits[0].fun)]
''')
P_THEN_Q = "log_p, log_q(theta[0], np.exp(theta[1]))"
Q_THEN_P = "log_q(theta[0], np.exp(theta[1])), log_p"
FITS = FITS_TEMPLATE.substitute(forward=P_THEN_Q, reverse=Q_THEN_P)
FITS_EXCHANGED = FITS_TEMPLATE.substitute(forward=Q_THEN_P, reverse=P_THEN_Q)

WRONG = [
    ("kl_bits", "arguments swapped", KL_SWAPPED, ["kl_bits_tests"]),
    ("kl_bits", "epsilon added to Q", KL_EPSILON, ["kl_bits_tests"]),
    ("kl_bits", "0 log 0 terms give nan", KL_NAN, ["kl_bits_tests"]),
    ("kl_gauss", "variances read as standard deviations", GAUSS_SD,
     ["kl_gauss_tests", "kl_both_readings_tests"]),
    ("kl_gauss", "the leading 1/2 forgotten", GAUSS_NO_HALF,
     ["kl_gauss_tests", "kl_both_readings_tests"]),
    ("kl_both_readings", "standard deviation reading squared twice",
     "kl_var_pq, kl_var_qp = kl_gauss(0, 1, 2, 2), kl_gauss(2, 2, 0, 1)\n"
     "kl_sd_pq, kl_sd_qp = kl_gauss(0, 1, 2, 16), kl_gauss(2, 16, 0, 1)\n",
     ["kl_both_readings_tests"]),
    ("kl_both_readings", "directions swapped",
     "kl_var_pq, kl_var_qp = kl_gauss(2, 2, 0, 1), kl_gauss(0, 1, 2, 2)\n"
     "kl_sd_pq, kl_sd_qp = kl_gauss(2, 4, 0, 1), kl_gauss(0, 1, 2, 4)\n",
     ["kl_both_readings_tests"]),
    ("kl_monte_carlo", "sampler given the variance", MC_SAMPLER_VAR,
     ["kl_monte_carlo_tests"]),
    ("kl_monte_carlo", "densities given the variance", MC_DENSITY_VAR,
     ["kl_monte_carlo_tests"]),
    ("kl_monte_carlo", "the closed form, not an estimate", MC_CLOSED_FORM,
     ["kl_monte_carlo_tests"]),
    ("kl_on_grid", "spacing dx forgotten", GRID_NO_DX,
     ["kl_on_grid_tests", "kl_fits_tests"]),
    ("kl_on_grid", "log(exp(log b)) underflows", GRID_UNDERFLOW, ["kl_on_grid_tests"]),
    ("kl_fits", "forward and reverse exchanged", FITS_EXCHANGED, ["kl_fits_tests"]),
    ("kl_fits", "reverse started from one side only",
     FITS.replace("for m0 in (-3.0, 3.0)", "for m0 in (3.0, 3.0)"), ["kl_fits_tests"]),

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
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("kl_bits", "scipy.special.rel_entr", '''
def kl_bits(p, q):
    from scipy.special import rel_entr

    return float(np.sum(rel_entr(p, q)) / np.log(2))
''', "kl_bits_tests"),
]

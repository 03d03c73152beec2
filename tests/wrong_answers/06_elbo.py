"""Plausible wrong answers to exercise sheet 6 (the ELBO), one cell replaced each.

See ``tests/test_wrong_answers.py`` for how they are used.
"""

LME = '''
def log_mean_exp(log_w):
    log_w = np.asarray(log_w, dtype=float)
    top = log_w.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.mean(np.exp(log_w - top), axis=1))
'''

ELBO = '''
def elbo_toy(x, m, s2, sigma2):
    log_norm = -0.5 * np.log(2 * np.pi * sigma2)
    expected_log_lik = log_norm - ((x - m) ** 2 + s2) / (2 * sigma2)
    kl = 0.5 * (m**2 + s2 - np.log(s2) - 1.0)
    return float(expected_log_lik - kl)
'''

GAP = '''
x, sigma2 = 1.5, 0.5
var_x = 1 + sigma2
log_evidence = float(-0.5 * np.log(2 * np.pi * var_x) - x**2 / (2 * var_x))
elbo_at_posterior = elbo_toy(x, x / (1 + sigma2), sigma2 / (1 + sigma2), sigma2)
gap_at_prior = log_evidence - elbo_toy(x, 0.0, 1.0, sigma2)
'''

IWAE = '''
def iwae_toy(x, m, s2, sigma2, k, n_rep=2000, seed=0):
    z = np.random.default_rng(seed).normal(m, np.sqrt(s2), size=(n_rep, k))
    log_lik = -0.5 * np.log(2 * np.pi * sigma2) - (x - z) ** 2 / (2 * sigma2)
    log_prior = -0.5 * np.log(2 * np.pi) - z**2 / 2
    log_q = -0.5 * np.log(2 * np.pi * s2) - (z - m) ** 2 / (2 * s2)
    return float(np.mean(log_mean_exp(log_lik + log_prior - log_q)))
'''

CURVE = '''
ks = [1, 10, 100, 1000]
iwae_curve = [iwae_toy(1.5, 0.0, 1.0, 0.5, k, n_rep=2000, seed=1) for k in ks]
'''

BOUNDS = '''
vae = train(VAE(seed=0))
torch.manual_seed(0)
with torch.no_grad():
    distortion, rate = distortion_and_rate(vae, data.x_test, n_samples=20)
    log_w = log_weights(vae, data.x_test, 50).numpy().T
vae_bounds = {"elbo": float(-(distortion + rate).mean()),
              "iwae_50": float(log_mean_exp(log_w).mean())}
'''

FIT = '''
def fit_per_image(model, x, steps=200, lr=0.05, n_samples=8, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    params = [mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)]
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    for t in range(1, steps + 1):
        loss = -elbo_given_q(model, x, *params, n_samples).sum()
        for p, grad in zip(params, torch.autograd.grad(loss, params), strict=True):
            p.grad = grad
        adam_step(params, moments, t, lr)
    return params[0].detach(), params[1].detach()
'''

FIT_NO_RATE = FIT.replace(
    "loss = -elbo_given_q(model, x, *params, n_samples).sum()",
    "z = params[0] + torch.exp(0.5 * params[1]) * torch.randn((n_samples, *mu.shape))\n"
    "        loss = _nll(x, model.decoder(z)).mean(0).sum()  # the rate left out")

FIT_NOTHING = '''
def fit_per_image(model, x, steps=200, lr=0.05, n_samples=8, seed=0):
    with torch.no_grad():
        return model.encode(x)  # the encoder's q, never optimised
'''

AMORTISATION_TYPED = '''
with torch.no_grad():
    mu_fit, logvar_fit = vae.encode(x_few)
amortisation = {"encoder": -20.9, "per_image": -20.7, "gap": 0.2}  # typed in
'''

WRONG = [
    ("log_mean_exp", "the mean of the logs", '''
def log_mean_exp(log_w):
    return np.mean(np.asarray(log_w, dtype=float), axis=1)
''', ["log_mean_exp_tests", "iwae_toy_tests", "vae_bounds_tests"]),
    ("log_mean_exp", "one maximum for the whole array", LME.replace(
        "top = log_w.max(axis=1, keepdims=True)", "top = np.full((len(log_w), 1), "
        "log_w.max())"),
     ["log_mean_exp_tests"]),
    ("elbo_toy", "s2 read as a standard deviation",
     ELBO.replace("np.log(s2)", "np.log(s2**2)").replace("+ s2)", "+ s2**2)")
     .replace("m**2 + s2 -", "m**2 + s2**2 -"),
     ["elbo_toy_tests", "elbo_gap_tests"]),
    ("elbo_toy", "the s^2 of the expected log-likelihood forgotten",
     ELBO.replace("((x - m) ** 2 + s2)", "(x - m) ** 2"),
     ["elbo_toy_tests", "elbo_gap_tests"]),
    ("elbo_gap", "the gap with the wrong sign",
     GAP.replace("log_evidence - elbo_toy(x, 0.0, 1.0, sigma2)",
                 "elbo_toy(x, 0.0, 1.0, sigma2) - log_evidence"),
     ["elbo_gap_tests"]),
    ("elbo_gap", "the evidence with variance sigma^2 instead of 1 + sigma^2",
     GAP.replace("var_x = 1 + sigma2", "var_x = sigma2"), ["elbo_gap_tests"]),
    ("iwae_toy", "the sampler given the variance", IWAE.replace(
        "normal(m, np.sqrt(s2),", "normal(m, s2,"), ["iwae_toy_tests"]),
    ("iwae_curve", "the curve drawn with the posterior as proposal",
     CURVE.replace("iwae_toy(1.5, 0.0, 1.0, 0.5, k,",
                  "iwae_toy(1.5, 1.0, 1 / 3, 0.5, k,"),
     ["iwae_toy_tests"]),
    ("vae_bounds", "log-weights not transposed",
     BOUNDS.replace("50).numpy().T", "50).numpy()"),
     ["vae_bounds_tests"]),
    ("vae_bounds", "negative ELBO reported as the ELBO", BOUNDS.replace(
        '"elbo": float(-(distortion + rate).mean())',
        '"elbo": float((distortion + rate).mean())'),
     ["vae_bounds_tests"]),
    ("fit_per_image", "the rate left out of the fit", FIT_NO_RATE,
     ["amortisation_tests"]),
    ("fit_per_image", "never optimised: the encoder's q returned", FIT_NOTHING,
     ["amortisation_tests"]),
    ("amortisation", "typed the numbers, no fit", AMORTISATION_TYPED,
     ["amortisation_tests"]),
]

HINTS = {
    "the mean of the logs": "mean of log w",
    "one maximum for the whole array": "own maximum",
    "s2 read as a standard deviation": "s2 was read",
    "the s^2 of the expected log-likelihood forgotten": "s^2",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("log_mean_exp", "scipy.special.logsumexp", '''
def log_mean_exp(log_w):
    from scipy.special import logsumexp

    log_w = np.asarray(log_w, dtype=float)
    return logsumexp(log_w, axis=1) - np.log(log_w.shape[1])
''', "log_mean_exp_tests"),
]

"""Plausible wrong answers to exercise sheet 4 (the VAE), one cell replaced each.

A wrong rate or distortion also trains the models with the wrong loss, so the
experiments built on them fail too. Every variant trains three small models
when graded, so there are two per part and no more.
"""

RATE_NO_HALF = '''
def gaussian_kl_rate(mu, logvar):
    return torch.sum(mu**2 + torch.exp(logvar) - logvar - 1.0, dim=1)
'''

RATE_LOG_SD = '''
def gaussian_kl_rate(mu, logvar):
    return 0.5 * torch.sum(mu**2 + torch.exp(2 * logvar) - 2 * logvar - 1.0, dim=1)
'''

NLL_FLIPPED = '''
def bernoulli_nll(x, logits):
    return torch.sum(torch.nn.functional.softplus(logits) - (1 - x) * logits, dim=1)
'''

NLL_LOG_SIGMOID = '''
def bernoulli_nll(x, logits):
    p = torch.sigmoid(logits)
    return -torch.sum(x * torch.log(p) + (1 - x) * torch.log(1 - p), dim=1)
'''

BASELINE_AND_VAE = '''
p_train = data.x_train.double().mean(dim=0)
x_test = data.x_test.double()
log_lik = torch.xlogy(x_test, p_train) + torch.xlogy(1 - x_test, 1 - p_train)
baseline_nll = float(-log_lik.sum(dim=1).mean())

vae = train(VAE(seed=0), beta=1.0)
with torch.no_grad():
    distortion, rate = distortion_and_rate(vae, data.x_test, n_samples=20)
test_nelbo = float((distortion + rate).mean())
'''

SWEEP = '''
vae_models = {0.5: train(VAE(seed=0), beta=0.5), 1.0: vae,
              2.0: train(VAE(seed=0), beta=2.0)}
with torch.no_grad():
    for beta, model in vae_models.items():
        distortion, rate = distortion_and_rate(model, data.x_test, n_samples=20)
        rate_distortion[beta] = [float(rate.mean()), float(distortion.mean())]
        latent_means[beta] = model.encode(data.x_test)[0].numpy()
'''

CAPACITY = '''
def channel_capacity(W):
    W = np.asarray(W, dtype=float)
    p = np.full(W.shape[0], 1.0 / W.shape[0])
    seen = W > 0
    for _ in range(100_000):
        q = p @ W
        ratio = np.where(seen, W, 1.0) / np.where(seen, q, 1.0)
        divergence = np.sum(np.where(seen, W * np.log(ratio), 0.0), axis=1)
        lower = np.log(p @ np.exp(divergence))
        upper = divergence.max()
        if upper - lower < 1e-9:
            break
        p = p * np.exp(divergence)
        p = p / p.sum()
    return float(lower / np.log(2)), p
'''

UNIFORM_INPUT = '''
def channel_capacity(W):
    W = np.asarray(W, dtype=float)
    p = np.full(W.shape[0], 1.0 / W.shape[0])
    seen = W > 0
    ratio = np.where(seen, W, 1.0) / np.where(seen, p @ W, 1.0)
    divergence = np.sum(np.where(seen, W * np.log(ratio), 0.0), axis=1)
    return float(p @ divergence / np.log(2)), p
'''

TRAINED = ["vae_vs_baseline_tests", "beta_sweep_tests"]

WRONG = [
    ("gaussian_kl_rate", "the factor 1/2 missing", RATE_NO_HALF,
     ["rate_tests", *TRAINED]),
    ("gaussian_kl_rate", "logvar read as a log standard deviation", RATE_LOG_SD,
     ["rate_tests", *TRAINED]),
    ("bernoulli_nll", "pixels 0 and 1 swapped", NLL_FLIPPED,
     ["distortion_tests", *TRAINED]),
    ("bernoulli_nll", "log of the sigmoid overflows", NLL_LOG_SIGMOID,
     ["distortion_tests"]),
    ("vae_vs_baseline", "baseline with 0 log 0 as nan",
     BASELINE_AND_VAE.replace(
         "torch.xlogy(x_test, p_train) + torch.xlogy(1 - x_test, 1 - p_train)",
         "x_test * torch.log(p_train) + (1 - x_test) * torch.log(1 - p_train)"),
     ["vae_vs_baseline_tests"]),
    ("vae_vs_baseline", "30 epochs at Adam's default learning rate",
     BASELINE_AND_VAE.replace("train(VAE(seed=0), beta=1.0)",
                              "train(VAE(seed=0), beta=1.0, epochs=30, lr=1e-3)"),
     ["vae_vs_baseline_tests"]),
    ("beta_sweep", "every model trained with beta = 1",
     SWEEP.replace("beta=0.5)", "beta=1.0)").replace("beta=2.0)", "beta=1.0)"),
     ["beta_sweep_tests"]),
    ("beta_sweep", "rate and distortion swapped",
     SWEEP.replace("[float(rate.mean()), float(distortion.mean())]",
                   "[float(distortion.mean()), float(rate.mean())]"),
     ["beta_sweep_tests"]),
    ("channel_capacity", "mutual information of the uniform input", UNIFORM_INPUT,
     ["channel_capacity_tests"]),
    ("channel_capacity", "capacity in nats",
     CAPACITY.replace("float(lower / np.log(2))", "float(lower)"),
     ["channel_capacity_tests"]),
]

HINTS = {
    "the factor 1/2 missing": "1/2",
    "logvar read as a log standard deviation": "standard deviation",
    "pixels 0 and 1 swapped": "swapped",
    "log of the sigmoid overflows": "overflow",
    "mutual information of the uniform input": "uniform input",
    "capacity in nats": "nats",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("bernoulli_nll", "torch.nn.functional.binary_cross_entropy_with_logits", '''
def bernoulli_nll(x, logits):
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logits, x, reduction="none").sum(dim=1)
''', "distortion_tests"),
]

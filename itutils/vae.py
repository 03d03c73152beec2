"""The variational autoencoder, its (beta-)ELBO read as rate and distortion.

For binary data ``x`` and a latent ``z`` with prior ``p(z) = N(0, I)``, a
Gaussian encoder ``q(z|x) = N(mu(x), diag(exp(logvar(x))))`` and a Bernoulli
decoder ``p(x|z)`` give, per example, in nats,

    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || p(z)) = distortion + rate >= -log p(x),

and the beta-VAE minimises ``distortion + beta * rate``. The importance-weighted
bound ``L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)]`` climbs from the ELBO
(k = 1) towards ``log p(x)`` as ``k`` grows.

The encoder is *amortised*: one network gives ``q(z|x)`` for every ``x``.
:func:`fit_gaussian_q` instead fits a Gaussian to each example on its own,
which measures what the amortisation costs (the amortisation gap).

Taught in ``notebooks/04_vae.ipynb`` and ``notebooks/06_elbo.ipynb``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "BetaResult",
    "ELBOTerms",
    "VAE",
    "beta_sweep",
    "bernoulli_log_likelihood",
    "elbo_terms",
    "fit_gaussian_q",
    "gaussian_kl",
    "iwae_bound",
    "log_importance_weights",
    "train_vae",
]

_LOG_2PI = math.log(2.0 * math.pi)


class VAE(nn.Module):
    """A small MLP VAE with a Gaussian encoder and a Bernoulli decoder.

    Parameters
    ----------
    input_dim : int
        Number of binary pixels (64 for the 8x8 digits).
    hidden_dim : int
        Width of the single hidden layer of the encoder and of the decoder.
    latent_dim : int
        Dimension of ``z``.
    seed : int, optional
        If given, the initial weights come from ``torch.manual_seed(seed)``
        without disturbing the global random state, so two models built with
        the same seed are identical.

    Notes
    -----
    The decoder returns Bernoulli *logits*: the reconstruction term is then
    ``binary_cross_entropy_with_logits``, which is exact for any logit, where
    ``sigmoid`` followed by ``binary_cross_entropy`` loses precision when the
    sigmoid saturates to 0 or 1 (torch then clamps the log at -100).
    Built in ``notebooks/04_vae.ipynb``, section "The model".

    Examples
    --------
    >>> model = VAE(64, 32, 2, seed=0)
    >>> x = torch.zeros(5, 64)
    >>> mu, logvar = model.encode(x)
    >>> tuple(mu.shape), tuple(model.decode(mu).shape)
    ((5, 2), (5, 64))
    >>> same = VAE(64, 32, 2, seed=0)
    >>> all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    True
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, latent_dim: int, seed: int | None = None
    ):
        super().__init__()
        for name, value in (
            ("input_dim", input_dim),
            ("hidden_dim", hidden_dim),
            ("latent_dim", latent_dim),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.input_dim, self.hidden_dim = input_dim, hidden_dim
        self.latent_dim = latent_dim
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = nn.Sequential(
                nn.Linear(input_dim, hidden_dim), nn.Tanh(),
                nn.Linear(hidden_dim, 2 * latent_dim),
            )
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, hidden_dim), nn.Tanh(),
                nn.Linear(hidden_dim, input_dim),
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logvar)`` of ``q(z|x)``, each of shape ``(n, latent_dim)``."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, n_samples: int | None = None
    ) -> torch.Tensor:
        """Draw ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``.

        The randomness sits in ``eps``, which does not depend on the encoder,
        so ``z`` is a differentiable function of ``mu`` and ``logvar``. With
        ``n_samples`` the result has a leading axis of that length.
        """
        shape = mu.shape if n_samples is None else (n_samples, *mu.shape)
        eps = torch.randn(shape, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Return the Bernoulli logits of ``p(x|z)``."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor):
        """Encode, sample once, decode: ``(logits, mu, logvar, z)``."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar, z

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities decoded from the posterior mean ``mu(x)``."""
        return torch.sigmoid(self.decode(self.encode(x)[0]))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """Pixel probabilities of ``p(x|z)`` for ``n`` draws ``z ~ N(0, I)``."""
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=gen)
        return torch.sigmoid(self.decode(z))


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in nats, summed over the last axis.

    The closed form ``0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1)``; it is
    exactly 0 when ``mu = 0`` and ``logvar = 0`` (the posterior equals the prior).

    Notes
    -----
    The rate of ``notebooks/04_vae.ipynb``; compared with its Monte Carlo
    estimate in ``notebooks/06_elbo.ipynb``.

    Examples
    --------
    >>> gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))   # collapsed: rate 0
    tensor([0.])
    >>> round(float(gaussian_kl(torch.tensor([[1.0]]), torch.zeros(1, 1))), 4)
    0.5
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log p(x|z)`` in nats for Bernoulli logits, summed over the last axis.

    Examples
    --------
    >>> # logit 0 is probability 1/2 per pixel: 3 pixels cost 3 log 2 nats
    >>> round(float(-bernoulli_log_likelihood(torch.zeros(3), torch.ones(3))), 4)
    2.0794
    """
    x = x.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


class ELBOTerms(NamedTuple):
    """Per-example terms of the negative beta-ELBO, all in nats, shape ``(n,)``."""

    loss: torch.Tensor
    """``distortion + beta * rate``, what training minimises."""
    distortion: torch.Tensor
    """``E_q[-log p(x|z)]``, estimated with ``n_samples`` draws of ``z``."""
    rate: torch.Tensor
    """``KL(q(z|x) || N(0, I))`` in closed form."""
    rate_mc: torch.Tensor
    """Monte Carlo estimate of the rate, ``mean(log q(z|x) - log p(z))``."""


def _check_x(model: VAE, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != model.input_dim:
        raise ValueError(
            f"x must have shape (n, {model.input_dim}), got {tuple(x.shape)}; "
            "flatten images to vectors first"
        )


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def elbo_terms(
    model: VAE, x: torch.Tensor, beta: float = 1.0, n_samples: int = 1
) -> ELBOTerms:
    """The negative beta-ELBO of each example and its two parts, in nats.

    Parameters
    ----------
    model : VAE
    x : torch.Tensor, shape (n, input_dim)
        Binary data (0.0 / 1.0).
    beta : float, default 1.0
        Weight of the rate; ``beta = 1`` gives the ordinary negative ELBO,
        an upper bound on ``-log p(x)``.
    n_samples : int, default 1
        Draws of ``z`` per example for the distortion and ``rate_mc``.

    Returns
    -------
    ELBOTerms
        ``(loss, distortion, rate, rate_mc)``, each a tensor of shape
        ``(n,)`` that keeps its gradient (average it for a training loss).

    Notes
    -----
    ``notebooks/04_vae.ipynb`` (rate and distortion) and
    ``notebooks/06_elbo.ipynb`` (each term checked separately).

    Examples
    --------
    >>> model = VAE(64, 16, 2, seed=0)
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = (torch.rand(4, 64, generator=gen) > 0.5).float()
    >>> t = elbo_terms(model, x, beta=2.0)
    >>> torch.allclose(t.loss, t.distortion + 2.0 * t.rate)
    True
    >>> bool((t.rate >= 0).all())   # a KL divergence is never negative
    True
    """
    _check_x(model, x)
    _check_count(n_samples, "n_samples")
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    mu, logvar, z, distortion, rate = _distortion_and_rate(model, x, n_samples)
    # log q(z|x) - log p(z), written with eps = (z - mu) / sigma.
    eps = (z - mu) * torch.exp(-0.5 * logvar)
    log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(-1)
    log_p = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
    rate_mc = (log_q - log_p).mean(0)
    return ELBOTerms(distortion + beta * rate, distortion, rate, rate_mc)


def _distortion_and_rate(model: VAE, x: torch.Tensor, n_samples: int):
    """The two terms of the loss (what training needs, without ``rate_mc``)."""
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, n_samples)  # (s, n, d)
    distortion = -bernoulli_log_likelihood(model.decode(z), x).mean(0)
    return mu, logvar, z, distortion, gaussian_kl(mu, logvar)


def iwae_bound(
    model: VAE, x: torch.Tensor, k: int, chunk_size: int = 100
) -> torch.Tensor:
    """The importance-weighted lower bound ``L_k`` on ``log p(x)``, per example, nats.

    ``L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`` with ``z_i ~ q(z|x)``,
    computed as ``logsumexp - log k`` so that no weight under- or overflows.
    In expectation ``L_1`` is the ELBO, ``L_k`` never decreases with ``k``,
    and it tends to ``log p(x)`` (Burda et al., 2016).

    Parameters
    ----------
    model : VAE
    x : torch.Tensor, shape (n, input_dim)
    k : int
        Number of importance samples.
    chunk_size : int, default 100
        Samples decoded at a time, to bound memory for large ``k``.

    Returns
    -------
    torch.Tensor, shape (n,)
        A lower bound on ``log p(x)`` (negative numbers; ``-L_k`` is an upper
        bound on the negative log-likelihood).

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "Tighter bounds".

    Examples
    --------
    >>> model = VAE(64, 16, 2, seed=0)
    >>> x = torch.ones(3, 64)
    >>> _ = torch.manual_seed(0)
    >>> bound = iwae_bound(model, x, k=1000)
    >>> _ = torch.manual_seed(0)
    >>> elbo = -elbo_terms(model, x, n_samples=1000).loss
    >>> bool((bound >= elbo).all())
    True
    """
    log_weights = log_importance_weights(model, x, k, chunk_size)
    return torch.logsumexp(log_weights, dim=0) - math.log(k)


def log_importance_weights(
    model: VAE, x: torch.Tensor, k: int, chunk_size: int = 100
) -> torch.Tensor:
    """``log p(x, z_i) - log q(z_i|x)`` for ``k`` draws ``z_i ~ q(z|x)``, shape (k, n).

    The mean over draws is the ELBO estimate; ``logsumexp - log k`` over them
    is the importance-weighted bound (:func:`iwae_bound`). Draws are decoded
    ``chunk_size`` at a time to bound memory.

    Examples
    --------
    >>> import math
    >>> model, x = VAE(64, 16, 2, seed=0), torch.ones(3, 64)
    >>> _ = torch.manual_seed(0)
    >>> log_w = log_importance_weights(model, x, k=250)
    >>> _ = torch.manual_seed(0)
    >>> bound = iwae_bound(model, x, k=250)
    >>> same = torch.logsumexp(log_w, 0) - math.log(250)
    >>> tuple(log_w.shape), torch.allclose(same, bound)
    ((250, 3), True)
    """
    _check_x(model, x)
    _check_count(k, "k")
    _check_count(chunk_size, "chunk_size")
    mu, logvar = model.encode(x)
    log_weights = []
    for start in range(0, k, chunk_size):
        z = model.reparameterize(mu, logvar, min(chunk_size, k - start))
        eps = (z - mu) * torch.exp(-0.5 * logvar)
        log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(-1)
        log_p = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
        log_weights.append(bernoulli_log_likelihood(model.decode(z), x) + log_p - log_q)
    return torch.cat(log_weights)


def _split(data) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(data, torch.Tensor):
        return data, None
    if hasattr(data, "x_train"):
        return data.x_train, getattr(data, "x_test", None)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise TypeError(
        "data must be a tensor of training images, a pair (x_train, x_test), or "
        f"an object with x_train and x_test such as load_digits_binary(); got "
        f"{type(data).__name__}"
    )


def train_vae(
    model: VAE,
    data,
    epochs: int = 100,
    beta: float = 1.0,
    lr: float = 1e-3,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool = True,
    num_threads: int | None = 1,
) -> dict[str, list[float]]:
    """Train ``model`` by Adam on the negative beta-ELBO; deterministic given ``seed``.

    Parameters
    ----------
    model : VAE
        Trained in place.
    data : DigitsBinary, (x_train, x_test) or torch.Tensor
        Training images and, optionally, test images to evaluate each epoch.
    epochs : int, default 100
    beta : float, default 1.0
        Weight of the rate (``beta = 1``: the ELBO; the beta-VAE otherwise).
    lr : float, default 1e-3
    batch_size : int, default 128
    seed : int, default 0
        Seeds the shuffling generator and the reparameterisation noise. The
        global torch random state is saved and restored around training.
    progress : bool, default True
        Show a tqdm progress bar (a widget in JupyterLab) with the running loss.
    num_threads : int or None, default 1
        Torch threads while training, restored afterwards (None: leave as is).
        For a model this small, threads cost more in synchronisation than they
        save (on a busy 2-core machine two threads were ten times slower than
        one), and a fixed count makes the floating-point sums, hence the
        trained weights, the same on every machine.

    Returns
    -------
    dict of lists
        ``epoch``, ``train_loss`` (mean negative beta-ELBO over the epoch's
        batches, nats), and on the test images at the end of each epoch
        (NaN without test images) ``test_loss``, ``rate`` and
        ``distortion`` (means per example, nats).

    Notes
    -----
    ``notebooks/04_vae.ipynb``, section "Training".

    Examples
    --------
    >>> from itutils.data import load_digits_binary
    >>> data = load_digits_binary()
    >>> model = VAE(64, 32, 2, seed=0)
    >>> history = train_vae(model, data, epochs=3, progress=False)
    >>> history["epoch"], len(history["test_loss"])
    ([1, 2, 3], 3)
    >>> history["train_loss"][-1] < history["train_loss"][0]
    True
    """
    x_train, x_test = _split(data)
    _check_x(model, x_train)
    if x_test is not None:
        _check_x(model, x_test)
    _check_count(epochs, "epochs")
    _check_count(batch_size, "batch_size")
    history: dict[str, list] = {
        key: [] for key in ("epoch", "train_loss", "test_loss", "rate", "distortion")
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(_check_count(num_threads, "num_threads"))
    try:
        _train_loop(model, optimizer, x_train, x_test, epochs, beta, batch_size,
                    seed, progress, history)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return history


def _train_loop(model, optimizer, x_train, x_test, epochs, beta, batch_size, seed,
                progress, history) -> None:
    n = len(x_train)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        shuffle = torch.Generator().manual_seed(seed)
        bar = tqdm(range(1, epochs + 1), desc=f"beta={beta:g}", disable=not progress)
        for epoch in bar:
            model.train()
            order = torch.randperm(n, generator=shuffle)
            total = 0.0
            for start in range(0, n, batch_size):
                batch = x_train[order[start : start + batch_size]]
                # The same numbers as elbo_terms(...).loss, without rate_mc.
                *_, distortion, rate = _distortion_and_rate(model, batch, 1)
                loss = (distortion + beta * rate).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            history["epoch"].append(epoch)
            history["train_loss"].append(total / n)
            if x_test is None:
                for key in ("test_loss", "rate", "distortion"):
                    history[key].append(float("nan"))
            else:
                model.eval()
                with torch.no_grad():
                    terms = elbo_terms(model, x_test, beta=beta)
                history["test_loss"].append(float(terms.loss.mean()))
                history["rate"].append(float(terms.rate.mean()))
                history["distortion"].append(float(terms.distortion.mean()))
            bar.set_postfix(loss=f"{total / n:.2f}")


class BetaResult(NamedTuple):
    """One trained model of a beta sweep and its test rate and distortion (nats)."""

    beta: float
    model: VAE
    history: dict
    rate: float
    distortion: float


def beta_sweep(
    data,
    betas,
    hidden_dim: int = 64,
    latent_dim: int = 2,
    epochs: int = 60,
    lr: float = 3e-3,
    batch_size: int = 128,
    seed: int = 0,
    n_samples: int = 10,
    progress: bool = True,
) -> list[BetaResult]:
    """Train one beta-VAE per ``beta`` and measure its test rate and distortion.

    Every model starts from the same weights (``VAE(..., seed=seed)``) and
    sees the same batches, so the models differ only through ``beta``.

    Parameters
    ----------
    data : DigitsBinary or (x_train, x_test)
        Must include test images: rate and distortion are measured on them.
    betas : sequence of float
    hidden_dim, latent_dim, epochs, lr, batch_size, seed
        As in :class:`VAE` and :func:`train_vae`.
    n_samples : int, default 10
        Draws of ``z`` per test image for the distortion.
    progress : bool, default True
        One progress bar over the betas.

    Returns
    -------
    list of BetaResult
        ``(beta, model, history, rate, distortion)`` in the order of ``betas``;
        ``rate`` (closed-form KL) and ``distortion`` are test means in nats.

    Notes
    -----
    The rate-distortion trade-off and posterior collapse of
    ``notebooks/04_vae.ipynb`` (section "beta-VAE").

    Examples
    --------
    >>> from itutils.data import load_digits_binary
    >>> data = load_digits_binary()
    >>> low, high = beta_sweep(data, [0.5, 20.0], epochs=8, progress=False)
    >>> low.rate > high.rate   # a higher price per nat buys fewer nats
    True
    """
    x_train, x_test = _split(data)
    if x_test is None:
        raise ValueError("beta_sweep needs test images: pass (x_train, x_test)")
    results = []
    for beta in tqdm(list(betas), desc="beta sweep", disable=not progress):
        model = VAE(x_train.shape[1], hidden_dim, latent_dim, seed=seed)
        history = train_vae(
            model, (x_train, x_test), epochs=epochs, beta=beta, lr=lr,
            batch_size=batch_size, seed=seed, progress=False,
        )
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            terms = elbo_terms(model, x_test, beta=beta, n_samples=n_samples)
        results.append(BetaResult(
            float(beta), model, history, float(terms.rate.mean()),
            float(terms.distortion.mean()),
        ))
    return results


def fit_gaussian_q(
    model: VAE,
    x: torch.Tensor,
    steps: int = 300,
    lr: float = 0.05,
    n_samples: int = 32,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The best Gaussian ``q(z) = N(mu, diag(exp(logvar)))`` for each example.

    Maximises each example's own ELBO, ``E_q[log p(x|z)] - KL(q || N(0, I))``,
    over its ``(mu, logvar)`` directly, with the decoder fixed: Adam on the
    reparameterised Monte Carlo ELBO (``n_samples`` draws per step), started
    from the encoder's output so that it can only improve on it. The
    encoder's ``q(z|x)`` is *amortised* (one network for every ``x``); the
    ELBO it loses against these per-example fits is the amortisation gap, and
    what even the best Gaussian misses of ``log p(x)`` is the approximation
    gap (Cremer, Li and Duvenaud, 2018).

    Parameters
    ----------
    model : VAE
        Trained; its weights are not changed.
    x : torch.Tensor, shape (n, input_dim)
        Binary data.
    steps : int, default 300
        Adam steps.
    lr : float, default 0.05
        Adam's step size, divided by 10 for the last third of the steps; the
        result is the average of the iterates of that last third, so that
        the Monte Carlo noise of the gradient does not leave it jittering
        (on the digits it lands within about 0.002 nats of the optimum).
    n_samples : int, default 32
        Draws of ``z`` per example and step.
    seed : int, default 0
        Seeds the draws; the global torch random state is left alone.

    Returns
    -------
    (mu, logvar) : tuple of torch.Tensor, each of shape (n, latent_dim)
        Detached from the graph.

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "The amortisation gap".

    Examples
    --------
    The per-example fit never does worse than the encoder (ELBO in nats,
    estimated with the same 2,000 draws for both):

    >>> from itutils.data import load_digits_binary
    >>> data = load_digits_binary()
    >>> model = VAE(64, 32, 2, seed=0)
    >>> _ = train_vae(model, data, epochs=5, progress=False)
    >>> x = data.x_test[:10]
    >>> mu, logvar = fit_gaussian_q(model, x, steps=100)
    >>> def elbo(mu, logvar):
    ...     gen = torch.Generator().manual_seed(1)
    ...     eps = torch.randn(2000, *mu.shape, generator=gen)
    ...     z = mu + torch.exp(0.5 * logvar) * eps
    ...     with torch.no_grad():
    ...         fit = bernoulli_log_likelihood(model.decode(z), x).mean(0)
    ...     return fit - gaussian_kl(mu, logvar)
    >>> with torch.no_grad():
    ...     encoder = elbo(*model.encode(x))
    >>> bool((elbo(mu, logvar) >= encoder - 0.05).all())
    True
    >>> float((elbo(mu, logvar) - encoder).mean()) > 0
    True
    """
    _check_x(model, x)
    _check_count(steps, "steps")
    _check_count(n_samples, "n_samples")
    lr = float(lr)
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
    mu = mu0.clone().requires_grad_(True)
    logvar = logvar0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([mu, logvar], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    frozen = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest (see train_vae)
    settle = (2 * steps) // 3
    mu_sum, logvar_sum = torch.zeros_like(mu0), torch.zeros_like(logvar0)
    try:
        for step in range(steps):
            if step == settle:
                for group in optimizer.param_groups:
                    group["lr"] = lr / 10
            eps = torch.randn(n_samples, *mu.shape, generator=gen)
            z = mu + torch.exp(0.5 * logvar) * eps
            fit = bernoulli_log_likelihood(model.decode(z), x).mean(0)
            # Each example's ELBO depends on its own (mu, logvar) only, so the
            # gradient of the sum fits every example independently.
            loss = -(fit - gaussian_kl(mu, logvar)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step >= settle:
                mu_sum += mu.detach()
                logvar_sum += logvar.detach()
    finally:
        torch.set_num_threads(threads)
        for p, flag in zip(model.parameters(), frozen, strict=True):
            p.requires_grad_(flag)
    # The average of the settled iterates: the Monte Carlo gradient keeps each
    # iterate jittering around the optimum; their mean sits much closer to it.
    n_settled = steps - settle
    return mu_sum / n_settled, logvar_sum / n_settled

"""Explorers for chapter 6: the ELBO's KL term by Monte Carlo, and IWAE bounds.

* :func:`kl_mc_explorer`: a slider for the number of samples ``S``; the
  histogram of many independent Monte Carlo estimates of
  ``KL(q || N(0, I))`` narrows around the closed form like ``1/sqrt(S)``
  (:func:`kl_mc_view`).
* :func:`iwae_explorer`: a slider for ``k``; the importance-weighted bound
  ``L_k`` of a trained model climbs above the ELBO towards ``log p(x)``
  (:func:`iwae_curve`, computed once, then looked up).

Taught in ``notebooks/06_elbo.ipynb``.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import torch

from itutils.vae import VAE, elbo_terms, gaussian_kl, log_importance_weights
from itutils.widgets._panel import Explorer

__all__ = [
    "KL_SAMPLE_SIZES",
    "IWAE_KS",
    "iwae_curve",
    "iwae_explorer",
    "kl_mc_explorer",
    "kl_mc_view",
]

#: Numbers of Monte Carlo samples offered by the KL explorer.
KL_SAMPLE_SIZES = (1, 10, 100, 1000, 10000)
#: Numbers of importance samples offered by the IWAE explorer.
IWAE_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def kl_mc_view(
    mu: torch.Tensor, logvar: torch.Tensor, n_samples: int, n_repeats: int = 100,
    seed: int = 0,
) -> dict:
    """``n_repeats`` independent Monte Carlo estimates of ``KL(q || N(0, I))``.

    ``q = N(mu, diag(exp(logvar)))`` for one example (1-D ``mu``, ``logvar``);
    each estimate averages ``log q(z) - log p(z)`` over ``n_samples`` draws.

    Returns
    -------
    dict
        ``n_samples``; ``analytic_nats`` (closed form); ``estimates`` (array
        of ``n_repeats`` estimates); ``mean_nats`` and ``std_nats`` (their
        mean and standard deviation), all in nats.

    Examples
    --------
    >>> mu, logvar = torch.tensor([1.0, -0.5]), torch.tensor([-1.0, 0.3])
    >>> few, many = kl_mc_view(mu, logvar, 10), kl_mc_view(mu, logvar, 1000)
    >>> round(many["analytic_nats"], 4)
    0.8339
    >>> many["std_nats"] < few["std_nats"] / 5   # spread ~ 1 / sqrt(samples)
    True
    """
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n_repeats, n_samples, mu.numel(), generator=gen)
    z = mu + torch.exp(0.5 * logvar) * eps
    # log q(z) - log p(z); the 2*pi terms cancel.
    log_ratio = 0.5 * (z.pow(2) - eps.pow(2) - logvar).sum(-1)
    estimates = log_ratio.mean(1).double().numpy()
    return {
        "n_samples": n_samples,
        "analytic_nats": float(gaussian_kl(mu, logvar)),
        "estimates": estimates,
        "mean_nats": float(estimates.mean()),
        "std_nats": float(estimates.std()),
    }


def _draw_kl(fig, shown, n_samples):
    ax = fig.subplots()
    estimates = shown["estimates"]
    ax.hist(estimates, bins=30, color="tab:blue", alpha=0.7,
            label=f"{len(estimates)} estimates, S = {n_samples}")
    ax.axvline(shown["analytic_nats"], color="tab:red",
               label=f"closed form {shown['analytic_nats']:.4f} nats")
    ax.axvline(shown["mean_nats"], color="k", ls="--",
               label=f"mean {shown['mean_nats']:.4f} nats")
    ax.set_xlabel("Monte Carlo estimate of KL(q(z|x) || p(z)) (nats)")
    ax.set_ylabel("count")
    ax.set_title(f"spread (standard deviation) {shown['std_nats']:.4f} nats",
                 fontsize="medium")
    ax.legend(fontsize="small")


def kl_mc_explorer(
    mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 10, n_repeats: int = 100,
) -> Explorer:
    """A slider for the number of samples of the Monte Carlo KL estimate.

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "The KL term: closed form and Monte
    Carlo".
    """
    mu, logvar = mu.detach().reshape(-1), logvar.detach().reshape(-1)
    slider = widgets.SelectionSlider(
        options=list(KL_SAMPLE_SIZES), value=n_samples, description="samples S",
        continuous_update=False,
    )
    return Explorer(
        {"n_samples": slider},
        lambda n_samples: kl_mc_view(mu, logvar, n_samples, n_repeats),
        _draw_kl,
        figsize=(7, 3.5),
        title="Monte Carlo KL: mean and spread as the sample grows",
        readout=lambda s: (
            f"S = {s['n_samples']}: mean estimate {s['mean_nats']:.4f} nats, spread "
            f"{s['std_nats']:.4f} nats; closed form {s['analytic_nats']:.4f} nats"),
    )


def iwae_curve(
    model: VAE, x: torch.Tensor, ks=IWAE_KS, seed: int = 0, n_elbo_samples: int = 100,
) -> dict:
    """Mean importance-weighted bounds ``L_k`` over ``x`` for each ``k``, in nats.

    One set of ``K = max(ks)`` draws per example serves every ``k``: it is
    split into ``K // k`` disjoint groups of ``k`` and the group estimates
    are averaged. Every ``k`` thus uses all the draws, so the curve is smooth
    and its rise with ``k`` is not hidden by Monte Carlo noise; the draws come
    from ``seed``, so the table is the same on every run.

    Returns
    -------
    dict
        ``ks`` (list); ``bounds_nats`` (mean ``L_k`` for each ``k``, a lower
        bound on the mean ``log p(x)``); ``per_example`` (array ``(len(ks), n)``);
        ``elbo_nats`` (the mean ELBO, ``n_elbo_samples`` draws per example).

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "Tighter bounds".

    Examples
    --------
    >>> model = VAE(64, 16, 2, seed=0)
    >>> table = iwae_curve(model, torch.ones(5, 64), ks=(1, 10, 100))
    >>> b = table["bounds_nats"]
    >>> b[0] <= b[1] <= b[2] < 0
    True
    """
    ks = [int(k) for k in ks]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        log_w = log_importance_weights(model, x, max(ks)).double()
        torch.manual_seed(seed)
        elbo = -elbo_terms(model, x, n_samples=n_elbo_samples).loss
    per_example = []
    for k in ks:
        groups = log_w[: (len(log_w) // k) * k].reshape(-1, k, log_w.shape[1])
        bounds = torch.logsumexp(groups, dim=1) - math.log(k)   # (groups, n)
        per_example.append(bounds.mean(0).numpy())
    per_example = np.stack(per_example)
    return {
        "ks": ks,
        "bounds_nats": [float(v) for v in per_example.mean(1)],
        "per_example": per_example,
        "elbo_nats": float(elbo.mean()),
    }


def _draw_iwae(fig, shown, k):
    ax = fig.subplots()
    ax.semilogx(shown["ks"], shown["bounds_nats"], "o-", color="tab:blue",
                label="mean L_k")
    ax.axhline(shown["elbo_nats"], color="tab:red", ls="--",
               label=f"ELBO {shown['elbo_nats']:.4f} nats")
    ax.plot([k], [shown["bound_nats"]], "o", ms=12, color="tab:orange",
            label=f"L_{k} = {shown['bound_nats']:.4f} nats")
    ax.set_xlabel("importance samples k")
    ax.set_ylabel("mean bound on log p(x) (nats)")
    ax.set_title(f"gain over the ELBO: {shown['gain_nats']:.4f} nats",
                 fontsize="medium")
    ax.locator_params(axis="y", nbins=4)  # few tick labels: text is most of a redraw
    ax.legend(fontsize="small", loc="lower right")


def iwae_explorer(model: VAE, x: torch.Tensor, ks=IWAE_KS, k: int = 1,
                  seed: int = 0) -> Explorer:
    """A slider over ``k``: the bound ``L_k`` against the ELBO (table computed once).

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "Tighter bounds".
    """
    table = iwae_curve(model, x, ks, seed)

    def compute(k):
        bound = table["bounds_nats"][table["ks"].index(k)]
        return {**table, "k": k, "bound_nats": bound,
                "gain_nats": bound - table["elbo_nats"]}

    slider = widgets.SelectionSlider(
        options=list(table["ks"]), value=k, description="k",
        continuous_update=False,
    )
    return Explorer({"k": slider}, compute, _draw_iwae, figsize=(7, 3.5),
                    title="Importance-weighted bounds tighten with k",
                    readout=lambda s: (
                        f"k = {s['k']}: L_k = {s['bound_nats']:.4f} nats, "
                        f"{s['gain_nats']:.4f} nats above the ELBO"))

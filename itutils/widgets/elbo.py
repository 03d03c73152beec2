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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from itutils.style import OKABE_ITO
from itutils.vae import VAE, elbo_terms, gaussian_kl, log_importance_weights
from itutils.widgets._panel import Explorer, live_line, live_vline

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


def _draw_kl(fig, shown, xlim, ymax, **_values):
    """The frame: one scale for every S, the axis labels and the legend."""
    ax = fig.subplots()
    ax.set_xlim(*xlim)  # one scale for every S, so that the narrowing shows
    ax.set_ylim(0, ymax)
    ax.set_xlabel("estimate of D_KL(q(z|x) || p(z)) (nats)")
    ax.set_ylabel("count")
    # The legend names the live histogram and lines by their look.
    handles = [
        Patch(facecolor=OKABE_ITO[1], label=f"{len(shown['estimates'])} estimates"),
        Line2D([], [], color=OKABE_ITO[4], lw=2.5, label="closed form"),
        Line2D([], [], color="k", ls="--", label="their mean"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
              borderaxespad=0)


def _live_kl(fig, shown, n_samples, xlim):
    """What S changes: the histogram, the estimates' mean, the spread in the
    title. The closed form does not change, but is painted again over the
    bars, as a new figure draws it."""
    (ax,) = fig.axes
    # The same 30 bins for every S, so bar heights compare. One filled step
    # patch paints the same pixels as ax.hist's 30 adjacent bars, at a
    # fraction of the cost of adding 30 patches.
    edges = np.linspace(*xlim, 31)
    counts, _ = np.histogram(shown["estimates"], edges)
    bars = ax.stairs(counts, edges, fill=True, color=OKABE_ITO[1],
                     label=f"{len(shown['estimates'])} estimates")
    closed = live_vline(ax, shown["analytic_nats"], color=OKABE_ITO[4], lw=2.5,
                        label="closed form")
    mean = live_vline(ax, shown["mean_nats"], color="k", ls="--", label="their mean")
    ax.set_title(f"S = {n_samples}: spread {shown['std_nats']:.4f} nats")
    return [bars, closed, mean, ax.title]


def kl_mc_explorer(
    mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 10, n_repeats: int = 100,
) -> Explorer:
    """A slider for the number of samples of the Monte Carlo KL estimate.

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "The KL term: closed form and Monte
    Carlo". The estimates for every S are computed once, when the explorer is
    built (:func:`kl_mc_view` is seeded); a move looks them up.
    """
    mu, logvar = mu.detach().reshape(-1), logvar.detach().reshape(-1)
    # Every S the slider offers, computed once (seeded: the numbers a new call
    # gives), so a move looks its view up; sampling S = 10000 alone takes
    # 0.1-0.2 s. The five views hold 500 estimates.
    views = {s: kl_mc_view(mu, logvar, s, n_repeats) for s in KL_SAMPLE_SIZES}
    # The x-axis is fixed by the widest histogram (the smallest S).
    widest = views[min(KL_SAMPLE_SIZES)]["estimates"]
    xlim = (float(widest.min()), float(widest.max()))
    # ... and the y-axis by the tallest bar of any S (the narrowest histogram).
    edges = np.linspace(*xlim, 31)
    ymax = 1.05 * max(np.histogram(np.clip(v["estimates"], *xlim), edges)[0].max()
                      for v in views.values())

    def compute(n_samples):
        return dict(views[n_samples])

    slider = widgets.SelectionSlider(
        options=list(KL_SAMPLE_SIZES), value=n_samples, description="samples S",
        continuous_update=False,
    )
    return Explorer(
        {"n_samples": slider},
        compute,
        lambda fig, shown, n_samples: _draw_kl(fig, shown, xlim, ymax),
        live=lambda fig, shown, n_samples: _live_kl(fig, shown, n_samples, xlim),
        figsize=(7.5, 3.2),
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


def _draw_iwae(fig, shown, **_values):
    """The frame: the curve of L_k, the ELBO (and log p(x)), fixed axes, legend."""
    ax = fig.subplots()
    ax.semilogx(shown["ks"], shown["bounds_nats"], "o-", color=OKABE_ITO[3],
                label="mean L_k")
    ax.axhline(shown["elbo_nats"], color=OKABE_ITO[0], ls="--", label="ELBO")
    levels = [shown["elbo_nats"], *shown["bounds_nats"]]
    if shown.get("log_px_nats") is not None:
        ax.axhline(shown["log_px_nats"], color="k", ls=":", lw=2,
                   label="log p(x), exact")
        levels.append(shown["log_px_nats"])
    # Fixed limits and five ticks: the axis does not move with the slider.
    ax.set_xlim(ax.get_xlim())  # the curve's; the live marker lies on it
    low, high = min(levels), max(levels)
    pad = 0.1 * (high - low) + 1e-3
    ax.set_ylim(low - pad, high + pad)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel("importance samples k")
    ax.set_ylabel("mean bound (nats)")
    # A label of fixed length: the legend keeps its place as k changes.
    chosen = Line2D([], [], ls="None", marker="D", ms=10, color=OKABE_ITO[4],
                    label="L_k at the chosen k")
    ax.legend(handles=[*ax.get_lines(), chosen], loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def _live_iwae(fig, shown, k):
    """The chosen k on the curve, and its bound and gain in the title."""
    (ax,) = fig.axes
    marker = live_line(ax, [k], [shown["bound_nats"]], ls="none", marker="D", ms=10,
                       color=OKABE_ITO[4], label="L_k at the chosen k")
    ax.set_title(f"L_{k} = {shown['bound_nats']:.3f} nats, "
                 f"{shown['gain_nats']:.3f} above the ELBO")
    return [marker, ax.title]


def iwae_explorer(model: VAE, x: torch.Tensor, ks=IWAE_KS, k: int = 1,
                  seed: int = 0, log_px: float | None = None) -> Explorer:
    """A slider over ``k``: the bound ``L_k`` against the ELBO (table computed once).

    Parameters
    ----------
    model : VAE
    x : torch.Tensor, shape (n, input_dim)
    ks : sequence of int, default :data:`IWAE_KS`
        The values the slider offers.
    k : int, default 1
        Starting value, one of ``ks``.
    seed : int, default 0
        Seeds the importance samples (see :func:`iwae_curve`).
    log_px : float, optional
        The mean exact ``log p(x)`` over ``x`` in nats, when it is known (a
        2-D latent space lets a grid compute it): drawn as the line that
        every ``L_k`` stays below and approaches.

    Notes
    -----
    ``notebooks/06_elbo.ipynb``, section "Tighter bounds".
    """
    table = iwae_curve(model, x, ks, seed)
    table["log_px_nats"] = None if log_px is None else float(log_px)

    def compute(k):
        bound = table["bounds_nats"][table["ks"].index(k)]
        return {**table, "k": k, "bound_nats": bound,
                "gain_nats": bound - table["elbo_nats"]}

    def readout(s):
        text = (f"k = {s['k']}: L_k = {s['bound_nats']:.4f} nats, "
                f"{s['gain_nats']:.4f} nats above the ELBO")
        if s["log_px_nats"] is not None:
            text += f", {s['log_px_nats'] - s['bound_nats']:.4f} below log p(x)"
        return text

    slider = widgets.SelectionSlider(
        options=list(table["ks"]), value=k, description="k",
        continuous_update=False,
    )
    return Explorer({"k": slider}, compute, _draw_iwae, live=_live_iwae,
                    figsize=(7.5, 3.2),
                    title="Importance-weighted bounds tighten with k",
                    readout=readout)

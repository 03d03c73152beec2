"""Explorer for chapter 4: the beta-VAE's rate-distortion trade-off.

The models are trained once (:func:`itutils.vae.beta_sweep`); the beta
slider only looks them up, so it answers at once. For the chosen beta it
shows a few test digits with their reconstructions, the test set in the 2-D
latent space coloured by digit, and the model's (rate, distortion) point on
the curve of the whole sweep (:func:`beta_view`).

Taught in ``notebooks/04_vae.ipynb``, section "beta-VAE".
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from itutils.vae import BetaResult
from itutils.widgets._panel import Explorer

__all__ = ["beta_view", "beta_vae_explorer"]


def _find(sweep: list[BetaResult], beta: float) -> BetaResult:
    for result in sweep:
        if np.isclose(result.beta, beta):
            return result
    raise ValueError(
        f"beta={beta} was not trained; choose one of {[r.beta for r in sweep]}"
    )


def beta_view(
    sweep: list[BetaResult], beta: float, x: torch.Tensor, y: torch.Tensor,
    n_show: int = 8,
) -> dict:
    """What the beta-VAE explorer shows for one trained ``beta``.

    Returns
    -------
    dict
        ``beta``; ``rate_nats`` and ``distortion_nats`` (the sweep's test
        means); ``originals`` and ``reconstructions`` (``n_show`` images, pixel
        probabilities decoded from the posterior mean); ``latent`` (posterior
        means of every image in ``x``, first two coordinates) and ``labels``;
        ``rates`` and ``distortions`` of the whole sweep, in nats.

    Examples
    --------
    >>> from itutils.data import load_digits_binary
    >>> from itutils.vae import beta_sweep
    >>> data = load_digits_binary()
    >>> sweep = beta_sweep(data, [1.0], epochs=2, progress=False)
    >>> view = beta_view(sweep, 1.0, data.x_test, data.y_test)
    >>> view["reconstructions"].shape, view["latent"].shape
    ((8, 64), (450, 2))
    """
    result = _find(sweep, beta)
    model = result.model
    with torch.no_grad():
        mu, _ = model.encode(x)
    return {
        "beta": result.beta,
        "rate_nats": result.rate,
        "distortion_nats": result.distortion,
        "originals": x[:n_show].numpy(),
        "reconstructions": model.reconstruct(x[:n_show]).numpy(),
        "latent": mu[:, :2].numpy(),
        "labels": y.numpy(),
        "rates": np.array([r.rate for r in sweep]),
        "distortions": np.array([r.distortion for r in sweep]),
    }


def _draw(fig, shown, beta):
    grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1, 1])
    n = len(shown["originals"])
    # Originals on top, reconstructions below, as one image each.
    tiles = np.concatenate([
        np.concatenate(list(shown["originals"].reshape(n, 8, 8)), axis=1),
        np.concatenate(list(shown["reconstructions"].reshape(n, 8, 8)), axis=1),
    ])
    ax_img = fig.add_subplot(grid[:, 0])
    ax_img.imshow(tiles, cmap="gray_r", vmin=0, vmax=1)
    ax_img.set_title("test digits (top) and reconstructions", fontsize="medium")
    ax_img.axis("off")

    ax_z = fig.add_subplot(grid[:, 1])
    points = ax_z.scatter(*shown["latent"].T, c=shown["labels"], cmap="tab10",
                          s=6, vmin=-0.5, vmax=9.5, linewidths=0)
    ax_z.locator_params(nbins=4)  # few tick labels: text is most of a redraw
    ax_z.set_xlabel("mu_1")
    ax_z.set_ylabel("mu_2")
    ax_z.set_title("latent means by digit", fontsize="medium")
    fig.colorbar(points, ax=ax_z, ticks=range(10))

    ax_rd = fig.add_subplot(grid[:, 2])
    ax_rd.plot(shown["rates"], shown["distortions"], "o-", color="0.6")
    ax_rd.plot([shown["rate_nats"]], [shown["distortion_nats"]], "o",
               color="tab:red", ms=10)
    ax_rd.set_xlabel("rate KL(q(z|x) || p(z)) (nats)")
    ax_rd.set_ylabel("distortion E[-log p(x|z)] (nats)")
    ax_rd.set_title(f"R = {shown['rate_nats']:.2f}, D = "
                    f"{shown['distortion_nats']:.2f} nats", fontsize="medium")
    ax_rd.locator_params(nbins=4)
    fig.suptitle(f"beta-VAE, beta = {beta:g}")


def beta_vae_explorer(
    sweep: list[BetaResult], x: torch.Tensor, y: torch.Tensor, beta: float = 1.0,
    n_show: int = 8,
) -> Explorer:
    """A slider over the trained betas; see :func:`beta_view` for what it shows.

    Parameters
    ----------
    sweep : list of BetaResult
        From :func:`itutils.vae.beta_sweep` (latent dimension 2 for the
        latent-space panel to show the whole code).
    x, y : torch.Tensor
        Test images and their digits.
    beta : float, default 1.0
        Starting value; must be one of the trained betas.

    Notes
    -----
    ``notebooks/04_vae.ipynb``, section "beta-VAE".
    """
    betas = [r.beta for r in sweep]
    start = _find(sweep, beta).beta
    slider = widgets.SelectionSlider(
        options=[(f"{b:g}", b) for b in betas], value=start, description="beta",
        continuous_update=False,
    )
    return Explorer(
        {"beta": slider},
        lambda beta: beta_view(sweep, beta, x, y, n_show),
        _draw,
        figsize=(11, 3.6),
        title="beta-VAE: price of a nat of rate (models trained once, looked up)",
        readout=lambda s: (
            f"beta = {s['beta']:g}: rate {s['rate_nats']:.2f} nats, distortion "
            f"{s['distortion_nats']:.2f} nats (test means)"),
    )

"""Explorer for chapter 4: the beta-VAE's rate-distortion trade-off.

The models are trained once (:func:`itutils.vae.beta_sweep`); the beta
slider only looks them up, so it answers at once. For the chosen beta it
shows a few test digits with their reconstructions, the test set in the 2-D
latent space drawn as digit glyphs, and the model's (rate, distortion) point on
the curve of the whole sweep (:func:`beta_view`).

Taught in ``notebooks/04_vae.ipynb``, section "beta-VAE".
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch
from matplotlib.markers import MarkerStyle

from itutils.style import OKABE_ITO
from itutils.vae import BetaResult
from itutils.widgets._panel import Explorer, live_line

__all__ = ["DIGIT_COLOURS", "beta_view", "beta_vae_explorer", "plot_latent_digits"]

#: Ten colours for the ten digits, after Paul Tol's colour-blind-safe "muted"
#: scheme (its pale grey replaced by a dark one, visible on white). Colour
#: alone never tells two digits apart: :func:`plot_latent_digits` draws each
#: point as its digit's glyph.
DIGIT_COLOURS = (
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
    "#DDCC77", "#CC6677", "#882255", "#AA4499", "#555555",
)


# What a glyph marker's outline depends on (matplotlib reads them when it
# builds the marker from mathtext).
_GLYPH_RC = ("font.", "mathtext.", "text.usetex")
_GLYPHS: dict[tuple, list[MarkerStyle]] = {}


def _digit_markers() -> list[MarkerStyle]:
    """The markers ``$0$`` to ``$9$``, built once per font setting: building
    one lays out mathtext (a few ms), and the latent panel of the explorer
    needs all ten at each move of its slider."""
    key = tuple(str(value) for name, value in matplotlib.rcParams.items()
                if name.startswith(_GLYPH_RC))
    if key not in _GLYPHS:
        _GLYPHS[key] = [MarkerStyle(f"${digit}$") for digit in range(10)]
    return _GLYPHS[key]


def plot_latent_digits(ax, latent, labels, size: float = 40.0) -> list:
    """Scatter 2-D latent codes, each drawn as its digit (0-9) in its colour.

    A legend or colour bar for ten classes is hard to read and, with most
    palettes, impossible for a colour-blind reader; a glyph says its class
    itself, and the colours (:data:`DIGIT_COLOURS`) only help to see clusters.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    latent : array_like, shape (n, 2)
        The codes, e.g. posterior means ``mu(x)``.
    labels : array_like of int, shape (n,)
        Digits 0-9.
    size : float, default 40
        Marker area in points^2 (as ``scatter``'s ``s``).

    Returns
    -------
    list of matplotlib.lines.Line2D
        One per digit present: markers only, no line. A line's markers are
        rasterised once and stamped (ten times faster to paint than a
        scatter of the same glyphs: the beta-VAE explorer repaints them on
        every move).

    Notes
    -----
    ``notebooks/04_vae.ipynb``, section "The latent space", and the beta-VAE
    explorer.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> points = plot_latent_digits(ax, np.zeros((3, 2)), np.array([0, 7, 7]))
    >>> len(points), len(ax.lines)   # one set of markers per digit present
    (2, 2)
    """
    latent = np.asarray(latent, dtype=float)
    labels = np.asarray(labels)
    if latent.ndim != 2 or latent.shape[1] != 2 or len(latent) != len(labels):
        raise ValueError(
            f"latent must have shape (n, 2) and labels shape (n,), got "
            f"{latent.shape} and {labels.shape}; pass the first two latent "
            "coordinates"
        )
    markers = _digit_markers()
    points = []
    for digit in range(10):
        chosen = labels == digit
        if chosen.any():
            points += ax.plot(*latent[chosen].T, linestyle="none",
                              marker=markers[digit], markersize=np.sqrt(size),
                              markeredgewidth=0, color=DIGIT_COLOURS[digit])
    return points


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


def _tiles(shown) -> np.ndarray:
    """Originals on the left half, reconstructions on the right, one image."""
    n = len(shown["originals"])
    return np.concatenate([
        np.concatenate(list(shown["originals"].reshape(n, 8, 8)), axis=1),
        np.zeros((8, 4)),  # a blank gap (0 is paper in gray_r), not a black tile
        np.concatenate(list(shown["reconstructions"].reshape(n, 8, 8)), axis=1),
    ], axis=1)


def _draw(fig, shown, beta):
    """The frame: the three axes, their limits and labels, and the sweep's curve.

    Nothing here depends on beta; :func:`_live` adds what does.
    """
    # Images across the top; latent space and the rate-distortion curve below.
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 3.2])
    height, width = _tiles(shown).shape
    ax_img = fig.add_subplot(grid[0, :])
    # The limits and aspect imshow would give the tiles (the live layer draws
    # them): fixed, so the image does not rescale the axes.
    ax_img.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5), aspect="equal")
    ax_img.set_title("test digits (left) and their reconstructions (right)")
    ax_img.axis("off")

    ax_z = fig.add_subplot(grid[1, 0])
    # One pair of limits for every beta, so the collapse of the code at a high
    # beta shows as a shrinking cloud instead of being zoomed away.
    ax_z.set_xlim(shown["latent_limits"][0])
    ax_z.set_ylim(shown["latent_limits"][1])
    ax_z.locator_params(nbins=4)  # few tick labels: text is most of a redraw
    ax_z.set_xlabel("mu_1")
    ax_z.set_ylabel("mu_2")

    ax_rd = fig.add_subplot(grid[1, 1])
    ax_rd.plot(shown["rates"], shown["distortions"], "o-", color="0.6")
    # Limits of the whole sweep, fixed: the marker of any beta lies on it.
    ax_rd.set(xlim=ax_rd.get_xlim(), ylim=ax_rd.get_ylim())
    ax_rd.set_xlabel("rate (nats)")
    ax_rd.set_ylabel("distortion (nats)")
    ax_rd.locator_params(nbins=4)


def _live(fig, shown, beta) -> list:
    """What moves with beta: the reconstructions, the latent cloud, the marker."""
    ax_img, ax_z, ax_rd = fig.axes
    image = ax_img.imshow(_tiles(shown), cmap="gray_r", vmin=0, vmax=1)
    points = plot_latent_digits(ax_z, shown["latent"], shown["labels"], size=25)
    marker = live_line(ax_rd, [shown["rate_nats"]], [shown["distortion_nats"]],
                       ls="none", marker="D", color=OKABE_ITO[4], ms=10)
    return [image, *points, marker]


def _latent_limits(codes, pad=0.05):
    # The smallest box holding the first two latent means of every model.
    codes = np.concatenate(codes)
    low, high = codes.min(axis=0), codes.max(axis=0)
    margin = pad * (high - low)
    return [(float(lo - m), float(hi + m))
            for lo, hi, m in zip(low, high, margin, strict=True)]


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
    # The models are trained: every beta's view (the whole test set encoded)
    # is computed here, once, and the slider only looks it up.
    views = {b: beta_view(sweep, b, x, y, n_show) for b in betas}
    limits = _latent_limits([view["latent"] for view in views.values()])
    slider = widgets.SelectionSlider(
        options=[(f"{b:g}", b) for b in betas], value=start, description="beta",
        continuous_update=False,
    )

    def compute(beta):
        return {**views[beta], "latent_limits": limits}

    return Explorer(
        {"beta": slider},
        compute,
        _draw,
        live=_live,
        figsize=(7.5, 4),
        title="beta-VAE: price of a nat of rate (models trained once, looked up)",
        readout=lambda s: (
            f"beta = {s['beta']:g}: rate {s['rate_nats']:.2f} nats, distortion "
            f"{s['distortion_nats']:.2f} nats (test means)"),
    )

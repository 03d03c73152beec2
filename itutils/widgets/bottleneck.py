"""Explorers for the information bottleneck and channel capacity.

- :func:`ib_explorer`: a beta slider over a precomputed IB curve, showing the
  encoder ``p(t | x)`` and the point ``(I(X;T), I(T;Y))`` on the curve.
- :func:`channel_capacity_explorer`: a flip-probability slider for three
  binary channels, Blahut-Arimoto's capacity against the closed form.

The numbers come from :mod:`itutils.bottleneck`; this module only looks
them up and draws. Taught in ``notebooks/04_vae.ipynb``, section "The
information bottleneck".
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from itutils.bottleneck import IBCurve, blahut_arimoto_capacity, ib_curve
from itutils.measures import entropy
from itutils.style import OKABE_ITO
from itutils.widgets._panel import Explorer, bar_xlim, live_bars, live_line

__all__ = [
    "TOY_PXY",
    "order_clusters",
    "canonical_encoder",
    "ib_point",
    "ib_explorer",
    "binary_channel",
    "binary_channel_capacity",
    "capacity_point",
    "channel_capacity_explorer",
]

#: The course's IB toy joint: uniform on {(0,0), (0,2), (1,2), (2,1), (2,2)}.
#: H(X) = 1.52193 bits, I(X;Y) = 0.57095 bits; the IB curve has a corner at
#: (0.8, 0.4) bits, optimal for beta from 2 to about 3.46.
TOY_PXY = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1]]) / 5


# --------------------------------------------------------------------------
# Information bottleneck
# --------------------------------------------------------------------------


def order_clusters(encoder: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Relabel clusters so the heat map does not jump between betas.

    The IB objective does not care about the names of the clusters, so two
    neighbouring betas can return the same clustering with its columns
    permuted. Used clusters come first, ordered by their mean ``x`` under
    ``p(x | t)``; unused ones (``p(t) = 0``) last.

    Parameters
    ----------
    encoder : ndarray, shape (n_x, n_clusters)
        ``p(t | x)``.
    px : ndarray, shape (n_x,)
        ``p(x)``.

    Returns
    -------
    ndarray, shape (n_x, n_clusters)
        The same encoder with its columns reordered.

    Examples
    --------
    >>> order_clusters(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0.5, 0.5]))
    array([[1., 0.],
           [0., 1.]])
    """
    joint = px[:, None] * encoder
    pt = joint.sum(axis=0)
    mean_x = (np.arange(len(px))[:, None] * joint).sum(axis=0) / np.where(pt > 0, pt, 1)
    used = pt > 1e-9
    key = np.where(used, mean_x, np.inf)
    return encoder[:, np.lexsort((np.arange(len(pt)), key))]


def canonical_encoder(encoder: np.ndarray, px: np.ndarray, atol: float = 1e-6
                      ) -> np.ndarray:
    """Merge clusters that are one cluster under two names, then order them.

    Two clusters with the same ``p(x | t)`` say the same thing about ``X``
    (and so about ``Y``): splitting one cluster at random into two changes
    neither ``I(X;T)`` nor ``I(T;Y)``, so the iteration may return such
    twins. For display they are added into one column (the other becomes an
    unused, all-zero column) and the columns are put in the order of
    :func:`order_clusters`. ``I(X;T)`` and ``I(T;Y)`` are unchanged.

    Examples
    --------
    The corner of the toy curve at beta = 2.5, found with cluster 0 split in
    two: it is a two-cluster solution.

    >>> enc = np.array([[0.92, 0.08, 0.0], [0.46, 0.04, 0.5], [0.0, 0.0, 1.0]])
    >>> canonical_encoder(enc, np.array([0.4, 0.2, 0.4]))
    array([[1. , 0. , 0. ],
           [0.5, 0.5, 0. ],
           [0. , 1. , 0. ]])
    """
    joint = px[:, None] * encoder
    pt = joint.sum(axis=0)
    used = pt > 1e-12
    px_given_t = joint / np.where(used, pt, 1.0)
    merged = np.zeros_like(encoder)
    taken = ~used
    # A loop over clusters (a handful), not over cells.
    for t in range(encoder.shape[1]):
        if taken[t]:
            continue
        twins = ~taken & np.all(np.abs(px_given_t - px_given_t[:, [t]]) <= atol, axis=0)
        merged[:, t] = encoder[:, twins].sum(axis=1)
        taken |= twins
    return order_clusters(merged, px)


def ib_point(curve: IBCurve, beta: float) -> dict:
    """Look up the point of a precomputed IB curve nearest to ``beta``.

    Parameters
    ----------
    curve : IBCurve
        From :func:`itutils.bottleneck.ib_curve`.
    beta : float
        Any positive value; the grid point nearest on a log scale is used.

    Returns
    -------
    dict
        ``beta`` (the grid value), ``index``, ``i_xt``, ``i_ty``,
        ``objective`` (bits), ``encoder`` (``p(t | x)``, columns as
        returned), ``h_x`` and ``i_xy`` (the limits, bits).

    Examples
    --------
    >>> from itutils.bottleneck import ib_curve
    >>> curve = ib_curve(TOY_PXY, [1.0, 2.5, 10.0])
    >>> point = ib_point(curve, 2.4)
    >>> point["beta"], round(point["i_xt"], 4), round(point["i_ty"], 4)
    (2.5, 0.8, 0.4)
    """
    index = int(np.argmin(np.abs(np.log(curve.betas) - math.log(beta))))
    return {
        "beta": float(curve.betas[index]),
        "index": index,
        "i_xt": float(curve.i_xt[index]),
        "i_ty": float(curve.i_ty[index]),
        "objective": float(curve.objective[index]),
        "encoder": curve.encoders[index],
        "h_x": float(curve.h_x),
        "i_xy": float(curve.i_xy),
    }


def _draw_ib(fig, shown, curve: IBCurve, px: np.ndarray) -> None:
    """The frame: both axes, the colour bar, the curve and its two limits.

    None of it moves with beta (the limits ``H(X)`` and ``I(X;Y)`` are the
    curve's); :func:`_live_ib` adds what does.
    """
    ax_enc, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    n_x, n_t = shown["encoder"].shape
    # The limits imshow gives the heat map, fixed (the live layer draws it).
    ax_enc.set(xlim=(-0.5, n_t - 0.5), ylim=(n_x - 0.5, -0.5), aspect="auto")
    ax_enc.set_xticks(range(n_t))
    ax_enc.set_yticks(range(n_x))
    ax_enc.set_xlabel("cluster t")
    ax_enc.set_ylabel("x")
    ax_enc.set_title("encoder p(t | x)")
    scale = ScalarMappable(norm=Normalize(vmin=0, vmax=1), cmap="viridis")
    fig.colorbar(scale, ax=ax_enc, fraction=0.046, ticks=[0, 0.5, 1])

    ax_curve.plot(curve.i_xt, curve.i_ty, ".-", color="0.6", lw=1, ms=3,
                  label="IB curve")
    ax_curve.axvline(shown["h_x"], ls="--", color=OKABE_ITO[0], lw=1.5,
                     label=f"H(X) = {shown['h_x']:.3f}")
    ax_curve.axhline(shown["i_xy"], ls=":", color=OKABE_ITO[2], lw=2,
                     label=f"I(X;Y) = {shown['i_xy']:.3f}")
    ax_curve.set_xlim(-0.03 * shown["h_x"], 1.08 * shown["h_x"])
    ax_curve.set_ylim(-0.05 * shown["i_xy"], 1.25 * shown["i_xy"])
    ax_curve.set_xlabel("I(X;T) (bits)")
    ax_curve.set_ylabel("I(T;Y) (bits)")
    # Few tick labels: text is most of a redraw's cost (slider latency).
    ax_curve.locator_params(nbins=4)
    # The legend names the live point and line by their look, so it is drawn
    # once (the slider and the line under it give beta's value). Outside the
    # axes, so that it never covers the curve.
    point = Line2D([], [], ls="none", marker="D", color=OKABE_ITO[4], ms=8,
                   label="the slider's beta")
    level = Line2D([], [], ls="-.", color=OKABE_ITO[4], lw=1, label="slope 1/beta")
    ax_curve.legend(handles=[*ax_curve.get_lines(), point, level], loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def _live_ib(fig, shown, px: np.ndarray) -> list:
    """What moves with beta: the heat map and its numbers, the point, its level
    line and the title."""
    ax_enc, ax_curve = fig.axes[:2]
    enc = canonical_encoder(shown["encoder"], px)
    image = ax_enc.imshow(enc, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    n_x, n_t = enc.shape
    cells = []
    if n_x * n_t <= 16:  # numbers only where they stay readable at 10 pt
        cells = [ax_enc.text(j, i, f"{v:.2f}", ha="center", va="center",
                             color="black" if v > 0.5 else "white")
                 for (i, j), v in np.ndenumerate(enc)]
    # Labelled for tests and tools; the legend, drawn once, names it by its look.
    point = live_line(ax_curve, [shown["i_xt"]], [shown["i_ty"]], ls="none",
                      marker="D", color=OKABE_ITO[4], ms=8,
                      label=f"beta = {shown['beta']:.3g}")
    # The IB objective's level line through the point has slope 1 / beta.
    xs = np.array([0.0, shown["h_x"]])
    level = live_line(ax_curve, xs,
                      shown["i_ty"] + (xs - shown["i_xt"]) / shown["beta"],
                      ls="-.", color=OKABE_ITO[4], lw=1)
    ax_curve.set_title(f"({shown['i_xt']:.3f}, {shown['i_ty']:.3f}) bits")
    return [image, *cells, point, level, ax_curve.title]


def ib_explorer(
    pxy=None,
    n_clusters: int | None = None,
    betas=None,
    n_restarts: int = 5,
    random_state: int = 0,
    curve: IBCurve | None = None,
) -> Explorer:
    """A beta slider over the information bottleneck curve of ``pxy``.

    The curve is computed once, on the grid ``betas``, when the explorer is
    built (about a second for the default toy); moving the slider only
    looks up the nearest grid point and repaints what moves with it (the
    explorer's live layer). Left: the encoder
    ``p(t | x)`` as a heat map (twin clusters merged and clusters relabelled
    by :func:`canonical_encoder`, so the picture does not jump). Right: the curve
    ``(I(X;T), I(T;Y))``, the current point, its level line of slope
    ``1 / beta`` (the curve touches it from below), and the limits ``H(X)``
    and ``I(X;Y)``.

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y), optional
        Joint table; defaults to :data:`TOY_PXY`.
    n_clusters : int, optional
        Values of ``T``; defaults to ``n_x``.
    betas : array_like, optional
        The grid; defaults to 61 log-spaced values from 0.5 to 50. The
        slider moves along it.
    n_restarts, random_state :
        Passed to :func:`itutils.bottleneck.ib_curve`.
    curve : IBCurve, optional
        A curve already computed (with :func:`~itutils.bottleneck.ib_curve`
        on ``pxy``); then nothing is recomputed and ``betas`` is ignored.

    Returns
    -------
    Explorer
        ``explorer.sliders["beta"]`` is a ``FloatLogSlider``;
        ``explorer.shown`` holds the dict of :func:`ib_point`;
        ``explorer.curve`` the precomputed :class:`IBCurve`.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck". In a notebook: ``ib_explorer()`` as the last line of a
    cell tagged ``nbval-ignore-output``.

    Examples
    --------
    >>> explorer = ib_explorer()
    >>> explorer.sliders["beta"].value = 10.0
    >>> shown = explorer.shown
    >>> round(shown["i_xt"], 4), round(shown["i_ty"], 4)
    (1.5129, 0.5702)
    """
    pxy = TOY_PXY if pxy is None else pxy
    if curve is None:
        if betas is None:
            betas = np.geomspace(0.5, 50, 61)
        curve = ib_curve(pxy, betas, n_clusters=n_clusters, n_restarts=n_restarts,
                         random_state=random_state)
    px = np.asarray(pxy, dtype=float).sum(axis=1)
    log_b = np.log10(curve.betas)
    n = len(log_b)
    start = int(np.argmin(np.abs(curve.betas - 2.5))) if n > 1 else 0
    slider = widgets.FloatLogSlider(
        value=float(curve.betas[start]),
        base=10,
        min=float(log_b[0]),
        max=float(log_b[-1]) if n > 1 else float(log_b[0]) + 1,
        step=float((log_b[-1] - log_b[0]) / (n - 1)) if n > 1 else 0.1,
        description="beta",
        readout_format=".3g",
        continuous_update=True,
    )

    def compute(beta):
        return ib_point(curve, beta)

    def draw(fig, shown, beta):
        _draw_ib(fig, shown, curve, px)

    def live(fig, shown, beta):
        return _live_ib(fig, shown, px)

    explorer = Explorer(
        {"beta": slider}, compute, draw, live=live, figsize=(7.5, 3.2),
        title="Information bottleneck: min I(X;T) - beta I(T;Y)",
        readout=lambda s: (
            f"beta = {s['beta']:.3g}: I(X;T) = {s['i_xt']:.4f} bits, "
            f"I(T;Y) = {s['i_ty']:.4f} bits (limits H(X) = {s['h_x']:.4f}, "
            f"I(X;Y) = {s['i_xy']:.4f})"),
    )
    explorer.curve = curve
    return explorer


# --------------------------------------------------------------------------
# Channel capacity
# --------------------------------------------------------------------------

#: The binary channels the capacity explorer offers.
CHANNELS = ("binary symmetric", "Z-channel", "binary erasure")


def binary_channel(kind: str, flip: float) -> np.ndarray:
    """Transition matrix ``W[x, y] = p(y | x)`` of a binary-input channel.

    ``"binary symmetric"``: each bit flips with probability ``flip``.
    ``"Z-channel"``: a 0 always arrives; a 1 is read as 0 with probability
    ``flip``. ``"binary erasure"``: each bit is erased (output ``e``, the
    third column) with probability ``flip``.

    Examples
    --------
    >>> binary_channel("Z-channel", 0.5)
    array([[1. , 0. ],
           [0.5, 0.5]])
    """
    if kind == "binary symmetric":
        return np.array([[1 - flip, flip], [flip, 1 - flip]])
    if kind == "Z-channel":
        return np.array([[1.0, 0.0], [flip, 1 - flip]])
    if kind == "binary erasure":
        return np.array([[1 - flip, 0.0, flip], [0.0, 1 - flip, flip]])
    raise ValueError(f"kind must be one of {CHANNELS}, got {kind!r}")


def binary_channel_capacity(kind: str, flip):
    """Closed-form capacity in bits of :func:`binary_channel` (vectorised).

    Binary symmetric: ``1 - H(flip)``. Binary erasure: ``1 - flip``.
    Z-channel: ``log2(1 + (1 - f) f^(f / (1 - f)))`` (0 at ``f = 1``).

    Examples
    --------
    >>> round(float(binary_channel_capacity("Z-channel", 0.5)), 6)
    0.321928
    """
    f = np.asarray(flip, dtype=float)
    if kind == "binary symmetric":
        return 1.0 - entropy(np.stack([f, 1 - f], axis=-1), axis=-1)
    if kind == "binary erasure":
        return 1.0 - f
    if kind == "Z-channel":
        with np.errstate(divide="ignore", invalid="ignore"):
            # 0 ** 0 = 1 covers f = 0; at f = 1 the channel carries nothing.
            power = np.where(f < 1, f ** (f / np.where(f < 1, 1 - f, 1.0)), 0.0)
        return np.log2(1.0 + (1.0 - f) * power)
    raise ValueError(f"kind must be one of {CHANNELS}, got {kind!r}")


def capacity_point(kind: str, flip: float) -> dict:
    """Blahut-Arimoto's capacity of a binary channel next to the closed form.

    Returns
    -------
    dict
        ``capacity`` (Blahut-Arimoto, bits), ``closed_form`` (bits),
        ``input_distribution`` (the optimal ``p(x)``), ``n_iter``.

    Examples
    --------
    >>> point = capacity_point("binary symmetric", 0.11)
    >>> round(point["capacity"], 4), round(point["closed_form"], 4)
    (0.5001, 0.5001)
    """
    res = blahut_arimoto_capacity(binary_channel(kind, flip), tol=1e-10)
    return {
        "capacity": res.capacity,
        "closed_form": float(binary_channel_capacity(kind, flip)),
        "input_distribution": res.input_distribution,
        "n_iter": res.n_iter,
    }


def channel_capacity_explorer(kind: str = "binary symmetric", flip: float = 0.11
                              ) -> Explorer:
    """Slide a binary channel's noise and watch its capacity.

    Left: the closed-form capacity against the flip (or erasure)
    probability, with the Blahut-Arimoto value at the slider marked.
    Right: the capacity-achieving input distribution, uniform for the
    symmetric channels and tilted towards the safe symbol 0 for the
    Z-channel.

    Parameters
    ----------
    kind : {"binary symmetric", "Z-channel", "binary erasure"}
        The channel first shown; a dropdown switches it.
    flip : float, default 0.11
        The first noise level, in [0, 1].

    Returns
    -------
    Explorer
        Sliders ``"kind"`` (dropdown) and ``"flip"``; ``explorer.shown`` is
        the dict of :func:`capacity_point`.

    Notes
    -----
    Taught in ``notebooks/04_vae.ipynb``, section "The information
    bottleneck" (Blahut-Arimoto).

    Examples
    --------
    >>> explorer = channel_capacity_explorer()
    >>> explorer.sliders["flip"].value = 0.5
    >>> round(explorer.shown["capacity"], 6)
    0.0
    """
    if kind not in CHANNELS:
        raise ValueError(f"kind must be one of {CHANNELS}, got {kind!r}")
    sliders = {
        "kind": widgets.Dropdown(options=CHANNELS, value=kind, description="channel"),
        "flip": widgets.FloatSlider(value=flip, min=0.0, max=1.0, step=0.01,
                                    description="noise p", readout_format=".2f"),
    }
    grid = np.linspace(0, 1, 201)
    curves = {name: binary_channel_capacity(name, grid) for name in CHANNELS}

    def draw(fig, shown, kind, flip):
        # The frame is the same for every channel: its curve and the axis label
        # that names it move with the dropdown, in the live layer.
        ax_c, ax_p = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        # The limits autoscaling gives a curve over [0, 1] (5% margins), and
        # the two bars at 0 and 1: fixed.
        ax_c.set_xlim(-0.05, 1.05)
        ax_c.set_ylabel("capacity [bits per use]")
        ax_c.set_ylim(-0.03, 1.05)
        ax_p.set_xticks([0, 1])
        ax_p.set_xlim(bar_xlim(2))
        ax_p.set_ylim(0, 1)
        ax_p.set_xlabel("input x")
        ax_p.set_title("optimal input p(x)")
        # The legend names the live curve and point by their look, so it is
        # drawn once (the readout gives the capacity). Above the axes: every
        # channel's curve runs through the top corners.
        handles = [Line2D([], [], color="0.5"),
                   Line2D([], [], ls="none", marker="D", color=OKABE_ITO[4])]
        ax_c.legend(handles, ["closed form", "Blahut-Arimoto"], loc="lower center",
                    bbox_to_anchor=(0.5, 1.0), ncols=2, borderaxespad=0.2)

    def live(fig, shown, kind, flip):
        ax_c, ax_p = fig.axes
        # Labelled for tests and tools; the legend is drawn once.
        curve = live_line(ax_c, grid, curves[kind], color="0.5", label="closed form")
        point = live_line(ax_c, [flip], [shown["capacity"]], ls="none", marker="D",
                          color=OKABE_ITO[4],
                          label=f"Blahut-Arimoto: {shown['capacity']:.4f} bits")
        # The axis label names the channel; the ticks under it stay.
        ax_c.set_xlabel(f"noise probability p ({kind})")
        bars = live_bars(ax_p, [0, 1], shown["input_distribution"], color=OKABE_ITO[:2])
        return [curve, point, ax_c.xaxis.label, *bars]

    return Explorer(sliders, capacity_point, draw, live=live, figsize=(7.5, 3.3),
                    title="Channel capacity by Blahut-Arimoto",
                    readout=lambda s: (
                        f"capacity {s['capacity']:.4f} bits per use "
                        f"(closed form {s['closed_form']:.4f})"))

"""Explorers for chapter 1: the binary entropy curve and a 2x2 joint table.

Two slider panels, each a thin :class:`~itutils.widgets._panel.Explorer`
over pure functions that are tested directly:

* :func:`binary_entropy_explorer`: move ``p = P(X=1)`` along the binary
  entropy curve and see ``H(p)`` as the average of the two outcomes'
  surprises (:func:`binary_entropy`, :func:`binary_surprise`).
* :func:`joint_distribution_explorer`: shape a 2x2 joint distribution from
  ``P(X=1)``, ``P(Y=1|X=0)`` and ``P(Y=1|X=1)`` (every setting is a valid
  distribution, :func:`joint_from_conditionals`) and see ``H(X)``, ``H(Y)``,
  ``H(X,Y)``, ``H(X|Y)``, ``H(Y|X)`` and ``I(X;Y)`` as an information
  diagram, with the chain rule checked (:func:`information_summary`).

Taught in ``notebooks/01_entropy.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.patches import Patch
from scipy.special import entr

from itutils._validate import as_float_array, check_probabilities, log_base
from itutils.measures import (
    conditional_entropy,
    entropy,
    joint_entropy,
    mutual_information,
    self_information,
)
from itutils.style import OKABE_ITO
from itutils.widgets._panel import Explorer, label_bars, live_bars, live_line

__all__ = [
    "binary_entropy",
    "binary_surprise",
    "joint_from_conditionals",
    "information_summary",
    "binary_entropy_explorer",
    "joint_distribution_explorer",
]


def _probability(x, name: str) -> np.ndarray:
    """A float array of single probabilities, each in [0, 1]."""
    arr = as_float_array(x, name)
    check_probabilities(arr, name)
    if np.any(arr > 1):
        raise ValueError(
            f"{name} has an entry above 1 ({float(arr[arr > 1].flat[0])!r}); "
            "it is the probability of one outcome and must lie in [0, 1]"
        )
    return arr


def binary_entropy(p, base: float = 2):
    """Binary entropy ``H_b(p) = -p log p - (1-p) log(1-p)`` of a coin, ``P(X=1) = p``.

    Parameters
    ----------
    p : float or array_like
        Probabilities of heads, each in [0, 1]; an array gives the curve.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    float or ndarray
        ``H_b(p)``, symmetric about ``p = 1/2`` where it peaks at one bit;
        0 at ``p = 0`` and ``p = 1`` (0 log 0 = 0).

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Maximum entropy".

    Examples
    --------
    A fair coin is worth a bit; a coin with heads 80% of the time is more
    predictable, and a two-headed coin tells nothing:

    >>> binary_entropy(0.5), round(binary_entropy(0.8), 4), binary_entropy(1.0)
    (1.0, 0.7219, 0.0)
    >>> binary_entropy([0.2, 0.8])  # symmetric
    array([0.72192809, 0.72192809])
    """
    scale = log_base(base)
    arr = _probability(p, "p")
    h = (entr(arr) + entr(1.0 - arr)) / scale
    return float(h) if h.ndim == 0 else h


def binary_surprise(p, base: float = 2) -> dict:
    """The numbers :func:`binary_entropy_explorer` shows for one ``p``.

    Parameters
    ----------
    p : float
        ``P(X=1)``, in [0, 1].
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    dict
        ``p``; ``surprise_1 = -log P(X=1)`` and ``surprise_0 = -log P(X=0)``
        (``inf`` for an impossible outcome); ``entropy``, their average
        weighted by how often each outcome happens.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, sections "Self-information"
    and "Entropy".

    Examples
    --------
    The rare outcome surprises more, the common one less; entropy is the
    average surprise:

    >>> s = binary_surprise(0.2)
    >>> round(s["surprise_1"], 4), round(s["surprise_0"], 4), round(s["entropy"], 4)
    (2.3219, 0.3219, 0.7219)
    """
    p = float(_probability(p, "p"))
    return {
        "p": p,
        "surprise_1": self_information(p, base=base),
        "surprise_0": self_information(1.0 - p, base=base),
        "entropy": binary_entropy(p, base=base),
    }


def joint_from_conditionals(
    p_x1: float, p_y1_given_x0: float, p_y1_given_x1: float
) -> np.ndarray:
    """A 2x2 joint table ``P(X, Y) = P(X) P(Y | X)`` from three probabilities.

    Any three numbers in [0, 1] give a valid distribution, which is why the
    explorer's sliders use them instead of four cells that must sum to 1.

    Parameters
    ----------
    p_x1 : float
        ``P(X=1)``.
    p_y1_given_x0, p_y1_given_x1 : float
        ``P(Y=1 | X=0)`` and ``P(Y=1 | X=1)``. Equal values make X and Y
        independent.

    Returns
    -------
    ndarray, shape (2, 2)
        ``pxy[i, j] = P(X=i, Y=j)``: X along axis 0, Y along axis 1, the
        convention of :func:`itutils.conditional_entropy`.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Joint and conditional
    entropy".

    Examples
    --------
    The chapter's table, rebuilt from its conditionals:

    >>> joint_from_conditionals(0.7, 0.1 / 0.3, 0.55 / 0.7).round(4)
    array([[0.2 , 0.1 ],
           [0.15, 0.55]])
    """
    a = float(_probability(p_x1, "p_x1"))
    b0 = float(_probability(p_y1_given_x0, "p_y1_given_x0"))
    b1 = float(_probability(p_y1_given_x1, "p_y1_given_x1"))
    px = np.array([1.0 - a, a])
    py_given_x = np.array([[1.0 - b0, b0], [1.0 - b1, b1]])
    return px[:, None] * py_given_x


def information_summary(pxy, base: float = 2) -> dict:
    """Every entropy of a 2-D joint table, and the chain-rule residuals.

    Parameters
    ----------
    pxy : array_like, shape (n_x, n_y)
        Joint table, ``pxy[i, j] = P(X=i, Y=j)``.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.

    Returns
    -------
    dict
        ``"H(X)"``, ``"H(Y)"``, ``"H(X,Y)"``, ``"H(X|Y)"``, ``"H(Y|X)"``,
        ``"I(X;Y)"`` and ``"chain_rule_residual"``: the largest of
        ``|H(X,Y) - H(Y) - H(X|Y)|`` and ``|H(X,Y) - H(X) - H(Y|X)|``, zero
        up to rounding.

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Joint and conditional
    entropy".

    Examples
    --------
    >>> s = information_summary([[0.2, 0.1], [0.15, 0.55]])
    >>> round(s["H(X|Y)"], 4), round(s["H(Y|X)"], 4), round(s["I(X;Y)"], 4)
    (0.7474, 0.8002, 0.1339)
    >>> s["chain_rule_residual"] < 1e-15
    True
    """
    # conditional_entropy validates the table; the rest reuse it as is.
    h_x_given_y = conditional_entropy(pxy, base=base)
    arr = np.asarray(pxy, dtype=float)
    h_y_given_x = conditional_entropy(arr.T, base=base)
    h_x = entropy(arr.sum(axis=1), base=base)
    h_y = entropy(arr.sum(axis=0), base=base)
    h_xy = joint_entropy(arr, base=base)
    residual = max(abs(h_xy - h_y - h_x_given_y), abs(h_xy - h_x - h_y_given_x))
    return {
        "H(X)": h_x,
        "H(Y)": h_y,
        "H(X,Y)": h_xy,
        "H(X|Y)": h_x_given_y,
        "H(Y|X)": h_y_given_x,
        "I(X;Y)": mutual_information(arr, base=base),
        "chain_rule_residual": float(residual),
    }


# --- explorers -----------------------------------------------------------------

_SLIDER_STYLE = {"description_width": "initial"}
_CURVE = np.linspace(0.0, 1.0, 401)
_BITS_CAP = 7.0  # surprise bars taller than this are cut and labelled


def _slider(description: str, value: float, step: float = 0.01) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=value, min=0.0, max=1.0, step=step, description=description,
        readout_format=".2f", continuous_update=True, style=_SLIDER_STYLE,
        layout=widgets.Layout(width="420px"),
    )


def _compute_binary(p: float) -> dict:
    return binary_surprise(p)


def _draw_binary(fig, shown: dict, p: float) -> None:
    """The frame: the entropy curve and both axes (the live layer adds the rest)."""
    ax_curve, ax_bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ax_curve.plot(_CURVE, binary_entropy(_CURVE), color=OKABE_ITO[3])
    ax_curve.set(xlabel="p = P(X=1)", ylabel="H_b(p) [bits]", ylim=(0, 1.08),
                 xlim=(0, 1))
    ax_curve.grid(alpha=0.3)
    ax_bars.set(ylabel="-log2 P [bits]", ylim=(0, _BITS_CAP + 1.2),
                xlim=(-0.6, 2.6), xticks=[0, 1, 2],
                title="Surprise of each outcome")


def _live_binary(fig, shown: dict, p: float) -> list:
    """What moves with p: the point on the curve, the bars and their labels."""
    ax_curve, ax_bars = fig.axes
    point = live_line(ax_curve, [p], [shown["entropy"]], ls="none", marker="o",
                      color=OKABE_ITO[4], markersize=9)
    ax_curve.set_title(f"H_b({p:.2f}) = {shown['entropy']:.4f} bits")
    # The entropy is a third bar, not a line across the other two: a line
    # at the height of the average would cross the bars' value labels.
    heights = [shown["surprise_0"], shown["surprise_1"], shown["entropy"]]
    ticks = ax_bars.set_xticklabels([f"X=0\nP={1 - p:.2f}", f"X=1\nP={p:.2f}",
                                     "H:\naverage"])
    bars = live_bars(ax_bars, [0, 1, 2], [min(h, _BITS_CAP) for h in heights],
                     color=[OKABE_ITO[1], OKABE_ITO[0], OKABE_ITO[4]])
    bars[2].set_hatch("//")
    labels = label_bars(ax_bars, bars,
                        ["inf" if np.isinf(h) else f"{h:.2f}" for h in heights])
    return [point, ax_curve.title, *ticks, *bars, *labels]


def binary_entropy_explorer(p: float = 0.2) -> Explorer:
    """A slider for ``p`` on the binary entropy curve.

    Shows ``H(p)`` in bits on the curve, and the surprise of each outcome
    with the entropy as their average. ``explorer.shown`` holds the numbers
    of :func:`binary_surprise`.

    Parameters
    ----------
    p : float, default 0.2
        Starting value of the slider.

    Returns
    -------
    Explorer

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Maximum entropy".

    Examples
    --------
    >>> explorer = binary_entropy_explorer(0.5)
    >>> explorer.sliders["p"].value = 0.8
    >>> round(explorer.shown["entropy"], 4)
    0.7219
    """
    return Explorer(
        {"p": _slider("p = P(X=1)", p)},
        _compute_binary,
        _draw_binary,
        live=_live_binary,
        figsize=(7.5, 3.4),
        readout=lambda s: (
            f"H_b(p) = {s['entropy']:.4f} bits; surprise of X=1: "
            f"{s['surprise_1']:.4f} bits, of X=0: {s['surprise_0']:.4f} bits"
        ),
        title="Binary entropy: the average surprise of a coin",
    )


def _compute_joint(p_x1: float, p_y1_given_x0: float, p_y1_given_x1: float) -> dict:
    pxy = joint_from_conditionals(p_x1, p_y1_given_x0, p_y1_given_x1)
    return {"pxy": pxy, **information_summary(pxy)}


_PART_STYLE = {
    "H(X|Y)": {"color": OKABE_ITO[1], "hatch": ""},
    "I(X;Y)": {"color": OKABE_ITO[5], "hatch": "xx"},
    "H(Y|X)": {"color": OKABE_ITO[0], "hatch": "//"},
}


_DIAGRAM_ROWS = ("H(X,Y)", "H(X)", "H(Y)")


def _chain_rule_check(residual: float) -> str:
    """The readout's words for the chain rule's residual, in bits.

    >>> _chain_rule_check(0.0), _chain_rule_check(2.2e-16)
    ('the chain rule holds exactly', 'the chain rule holds to 2e-16 bits')
    """
    if residual == 0:
        return "the chain rule holds exactly"
    return f"the chain rule holds to {residual:.0e} bits"


def _draw_joint(fig, shown: dict, **_values) -> None:
    """The frame: both axes, their ticks and the legend of the three parts."""
    ax_table, ax_diagram = fig.subplots(
        1, 2, gridspec_kw={"width_ratios": [1, 2.2]}
    )
    ax_table.set(xticks=[0, 1], yticks=[0, 1], xlabel="Y", ylabel="X",
                 title="P(X, Y)", xlim=(-0.5, 1.5), ylim=(1.5, -0.5), aspect="equal")
    ax_diagram.set(yticks=range(len(_DIAGRAM_ROWS)), xlim=(0, 2.02),
                   ylim=(len(_DIAGRAM_ROWS) - 0.5, -0.5), xlabel="bits",
                   title="H(X,Y) = H(X) + H(Y|X) = H(Y) + H(X|Y)")
    # The legend names the parts by their look; the bars come and go.
    handles = [Patch(facecolor=style["color"], hatch=style["hatch"],
                     edgecolor="white", label=name)
               for name, style in _PART_STYLE.items()]
    ax_diagram.legend(handles=handles, loc="upper center",
                      bbox_to_anchor=(0.5, -0.25), ncols=3, frameon=False)


def _live_joint(fig, shown: dict, **_values) -> list:
    """The table's cells and the information diagram's bars, with numbers."""
    ax_table, ax_diagram = fig.axes
    pxy = shown["pxy"]
    # The table as a mesh of four cells: an image is resampled on every
    # paint, at four times the cost.
    edges = np.meshgrid([-0.5, 0.5, 1.5], [-0.5, 0.5, 1.5])
    cells = QuadMesh(np.stack(edges, axis=-1), array=pxy, cmap="Blues",
                     norm=Normalize(vmin=0, vmax=1), antialiased=False)
    ax_table.add_collection(cells, autolim=False)
    values = [ax_table.text(j, i, f"{v:.3f}", ha="center", va="center",
                            color="white" if v > 0.5 else "black")
              for (i, j), v in np.ndenumerate(pxy)]

    # A linear information diagram: each bar is a sum of the three parts.
    h_x_y, mi, h_y_x = shown["H(X|Y)"], shown["I(X;Y)"], shown["H(Y|X)"]
    rows = {
        "H(X,Y)": [("H(X|Y)", 0.0, h_x_y), ("I(X;Y)", h_x_y, mi),
                   ("H(Y|X)", h_x_y + mi, h_y_x)],
        "H(X)": [("H(X|Y)", 0.0, h_x_y), ("I(X;Y)", h_x_y, mi)],
        "H(Y)": [("I(X;Y)", h_x_y, mi), ("H(Y|X)", h_x_y + mi, h_y_x)],
    }
    bars = [
        bar
        for y, parts in enumerate(rows.values())
        for name, start, width in parts
        for bar in live_bars(ax_diagram, [y], [width], start=start, width=0.6,
                             horizontal=True, edgecolor="white",
                             color=_PART_STYLE[name]["color"],
                             hatch=_PART_STYLE[name]["hatch"])
    ]
    ticks = ax_diagram.set_yticklabels([f"{row}\n{shown[row]:.4f} bits"
                                        for row in _DIAGRAM_ROWS])
    return [cells, *values, *bars, *ticks]


def joint_distribution_explorer(
    p_x1: float = 0.7, p_y1_given_x0: float = 0.33, p_y1_given_x1: float = 0.79
) -> Explorer:
    """Sliders that shape a 2x2 joint distribution, with all its entropies.

    ``explorer.shown`` holds the table (``"pxy"``) and the entries of
    :func:`information_summary`. Set both conditionals equal to make X and
    Y independent (``I(X;Y) = 0``); pull them apart to make them dependent.

    Parameters
    ----------
    p_x1, p_y1_given_x0, p_y1_given_x1 : float
        Starting values: ``P(X=1)``, ``P(Y=1|X=0)``, ``P(Y=1|X=1)``. The
        defaults are close to the chapter's table [[0.2, 0.1], [0.15, 0.55]].

    Returns
    -------
    Explorer

    Notes
    -----
    Taught in ``notebooks/01_entropy.ipynb``, section "Joint and conditional
    entropy".

    Examples
    --------
    In a notebook (skipped here; tests/test_widgets_entropy.py drives it):

    >>> explorer = joint_distribution_explorer(0.5, 0.3, 0.3)
    >>> explorer.sliders["p_y1_given_x1"].value = 0.9
    >>> explorer.shown["I(X;Y)"] > 0
    True
    """
    return Explorer(
        {
            "p_x1": _slider("P(X=1)", p_x1),
            "p_y1_given_x0": _slider("P(Y=1 | X=0)", p_y1_given_x0),
            "p_y1_given_x1": _slider("P(Y=1 | X=1)", p_y1_given_x1),
        },
        _compute_joint,
        _draw_joint,
        live=_live_joint,
        figsize=(7.5, 3.6),
        title="Joint and conditional entropy of two binary variables",
        readout=lambda s: ", ".join(
            f"{name} = {s[name]:.4f}"
            for name in ("H(X)", "H(Y)", "H(X,Y)", "H(X|Y)", "H(Y|X)", "I(X;Y)")
        ) + f" bits; {_chain_rule_check(s['chain_rule_residual'])}",
    )

"""Three or more variables: conditional MI, the chain rule, Markov chains.

For a joint table ``pxyz[x, y, z] = P(X=x, Y=y, Z=z)``:

- conditional mutual information
  ``I(X; Y | Z) = sum p(x,y,z) log [p(z) p(x,y,z) / (p(x,z) p(y,z))]``,
  the information ``X`` and ``Y`` share once ``Z`` is known (0 exactly when
  ``X`` and ``Y`` are independent given ``Z``);
- the chain rule ``I(X; Y, Z) = I(X; Y) + I(X; Z | Y)``;
- a Markov chain ``X -> Y -> Z`` (``p(x,y,z) = p(x) p(y|x) p(z|y)``) has
  ``I(X; Z | Y) = 0``, and the chain rule applied both ways gives the
  data-processing inequality ``I(X; Z) <= I(X; Y)``.

The functions follow :mod:`itutils.measures` (probability arrays in,
``base`` 2 = bits by default, clear errors on bad input); they live here
because they are taught with mutual information, in chapter 3.

Taught in ``notebooks/03_mutual_information.ipynb``, section "Conditional
MI, the chain rule and the data-processing inequality".

References
----------
T. M. Cover and J. A. Thomas, *Elements of Information Theory*, 2nd ed.,
sections 2.5 (chain rules) and 2.8 (data-processing inequality).
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from itutils._validate import (
    as_distribution,
    as_float_array,
    as_joint,
    log_base,
    nonnegative,
)

__all__ = [
    "binary_symmetric_channel",
    "conditional_mutual_information",
    "markov_chain_joint",
]


def conditional_mutual_information(pxyz, base: float = 2, normalize: bool = False):
    """``I(X; Y | Z)`` of a joint table ``pxyz[x, y, z]``.

    ``sum_{x,y,z} p(x,y,z) log [p(z) p(x,y,z) / (p(x,z) p(y,z))]``
    ``= H(X, Z) + H(Y, Z) - H(X, Y, Z) - H(Z)``: the average over ``z`` of
    the MI between ``X`` and ``Y`` in the table conditioned on ``Z = z``.
    It is ``>= 0``, and 0 exactly when ``X`` and ``Y`` are independent
    given ``Z``. Conditioning can lower MI (a common cause) or raise it (a
    common effect: see the example).

    Parameters
    ----------
    pxyz : array_like, shape (K_x, K_y, K_z)
        Joint probabilities ``P(X=x, Y=y, Z=z)``. For vector-valued
        variables, flatten each one's outcomes into a single axis.
    base : float, default 2
        Logarithm base: 2 for bits, ``numpy.e`` for nats.
    normalize : bool, default False
        Divide the table by its total first (counts are accepted).

    Returns
    -------
    float
        ``I(X; Y | Z)``, in ``[0, min(H(X|Z), H(Y|Z))]``.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Conditional MI". Cells with ``p = 0`` contribute 0 (``0 log 0 = 0``).

    Examples
    --------
    Two fair coins and their XOR: ``X`` and ``Y`` are independent, but once
    ``Z = X xor Y`` is known, ``Y`` gives away ``X`` completely:

    >>> pxyz = np.zeros((2, 2, 2))
    >>> for x in (0, 1):
    ...     for y in (0, 1):
    ...         pxyz[x, y, x ^ y] = 0.25
    >>> from itutils.measures import mutual_information
    >>> mutual_information(pxyz.sum(axis=2)), conditional_mutual_information(pxyz)
    (0.0, 1.0)

    The chain rule, ``I(X; Y, Z) = I(X; Z) + I(X; Y | Z)``:

    >>> i_x_yz = mutual_information(pxyz.reshape(2, 4))
    >>> bool(np.isclose(i_x_yz, mutual_information(pxyz.sum(axis=1)) + 1.0))
    True
    """
    scale = log_base(base)
    p = as_joint(pxyz, "pxyz", ndim=3, normalize=normalize)
    pz = p.sum(axis=(0, 1))
    pxz = p.sum(axis=1, keepdims=True)
    pyz = p.sum(axis=0, keepdims=True)
    # Where p(x,y,z) > 0 every marginal is > 0 too, so the ratio is finite.
    positive = p > 0
    ratio = np.ones_like(p)
    ratio[positive] = (p * pz)[positive] / (pxz * pyz)[positive]
    return float(nonnegative(xlogy(p, ratio).sum()) / scale)


def _check_channel(channel, name: str, n_inputs: int) -> np.ndarray:
    w = as_float_array(channel, name)
    if w.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D channel matrix W[a, b] = P(next = b | previous "
            f"= a), got shape {w.shape}"
        )
    if w.shape[0] != n_inputs:
        raise ValueError(
            f"{name} has {w.shape[0]} rows but the previous variable has "
            f"{n_inputs} outcomes; a channel needs one row per input outcome"
        )
    return as_distribution(w, name, axis=1, offer_normalize=False)


def markov_chain_joint(px, *channels) -> np.ndarray:
    """The joint table of a Markov chain ``X_0 -> X_1 -> ... -> X_m``.

    ``p(x_0, ..., x_m) = p(x_0) W_1[x_0, x_1] ... W_m[x_{m-1}, x_m]``: each
    variable depends on the past only through the one before it.

    Parameters
    ----------
    px : array_like, shape (K_0,)
        Distribution of the first variable.
    *channels : array_like, shapes (K_{i-1}, K_i)
        Row-stochastic matrices, ``W[a, b] = P(X_i = b | X_{i-1} = a)``.

    Returns
    -------
    numpy.ndarray, shape (K_0, K_1, ..., K_m)
        The joint probabilities; axis ``i`` is ``X_i``.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "data-processing inequality". The table has ``prod K_i`` cells; for
    long chains, compose channels (``W_1 @ W_2``) to get the joint of the
    two ends only.

    Examples
    --------
    A fair bit through two binary symmetric channels, flip 0.1 then 0.2:
    ``X`` and ``Z`` agree unless exactly one channel flips,
    ``0.1 * 0.8 + 0.9 * 0.2 = 0.26``:

    >>> p = markov_chain_joint([0.5, 0.5], binary_symmetric_channel(0.1),
    ...                        binary_symmetric_channel(0.2))
    >>> p.shape, round(float(p[0, :, 1].sum() + p[1, :, 0].sum()), 12)
    ((2, 2, 2), 0.26)
    >>> conditional_mutual_information(p.transpose(0, 2, 1))  # I(X; Z | Y)
    0.0
    """
    joint = as_distribution(px, "px", axis=-1, offer_normalize=False)
    if joint.ndim != 1:
        raise ValueError(f"px must be 1-D, got shape {joint.shape}")
    for i, channel in enumerate(channels, start=1):
        w = _check_channel(channel, f"channel {i}", joint.shape[-1])
        joint = joint[..., None] * w  # broadcasts W over the earlier axes
    return joint


def binary_symmetric_channel(flip: float) -> np.ndarray:
    """The 2 x 2 channel that flips a bit with probability ``flip``.

    Its capacity is ``1 - H_b(flip)`` bits, reached by a uniform input;
    two in a row flip with probability ``p(1 - q) + q(1 - p)``.

    Examples
    --------
    >>> binary_symmetric_channel(0.1)
    array([[0.9, 0.1],
           [0.1, 0.9]])
    """
    f = float(flip)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"flip must be a probability in [0, 1], got {flip!r}")
    return np.array([[1.0 - f, f], [f, 1.0 - f]])

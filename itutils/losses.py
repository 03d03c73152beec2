"""Classification losses seen through information theory, and calibration.

Cross-entropy and KL losses written from ``log_softmax`` (torch, in nats,
as torch's own losses), label smoothing in its two circulating variants,
their closed-form optimum, softmax temperature, and the expected calibration
error. Taught in ``notebooks/05_loss_functions.ipynb``.

Conventions, as in :func:`torch.nn.functional.cross_entropy`: logits have the
classes on axis 0 when 1-D, ``(K,)``, and on axis 1 otherwise, ``(N, K)`` or
``(N, K, d1, ...)``; class targets are integer tensors of the logits' shape
without that axis; losses are averaged over every sample (and position).
Every function refuses bad input with a message that says how to fix it.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import brentq
from scipy.special import entr, log_softmax, softmax

from itutils._validate import SUM_TOLERANCE, as_distribution, as_float_array

__all__ = [
    "cross_entropy_loss",
    "kl_div_loss",
    "label_smoothing_targets",
    "label_smoothing_loss",
    "smoothed_target_probs",
    "smoothed_target_entropy",
    "optimal_logit_gap",
    "optimal_logits",
    "expected_loss_at_gap",
    "softmax_with_temperature",
    "temperature_nll",
    "fit_temperature",
    "CalibrationBins",
    "calibration_bins",
    "expected_calibration_error",
]

VARIANTS = ("uniform", "off_target")
_BOOL = torch.bool


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


# --- input checks (torch tensors; numpy checks live in itutils._validate) ----

def _check_logits(logits, min_ndim: int = 1) -> int:
    """Refuse what is not a finite float tensor of logits; return the class axis."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(
            f"logits must be a torch.Tensor, got {type(logits).__name__}; "
            "convert with torch.as_tensor(x, dtype=torch.float32)"
        )
    if not logits.is_floating_point():
        raise TypeError(
            f"logits must be a floating-point tensor, got dtype {logits.dtype}; "
            "use logits.float()"
        )
    if logits.ndim < min_ndim:
        raise ValueError(
            f"logits must have at least {min_ndim} dimension(s) "
            f"(classes on axis {1 if min_ndim > 1 else '0 or 1'}), "
            f"got shape {tuple(logits.shape)}"
            + ("; add a batch axis with logits[None]" if logits.ndim == 1 else "")
        )
    class_dim = 0 if logits.ndim == 1 else 1
    if logits.shape[class_dim] == 0 or logits.numel() == 0:
        raise ValueError(
            f"logits is empty (shape {tuple(logits.shape)}); give at least one "
            "sample and one class"
        )
    # -inf is a legitimate logit (probability 0); NaN and +inf are not.
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise ValueError(
            "logits contains NaN or +inf; check the model's output "
            "(a diverging training run or a 0/0 upstream)"
        )
    return class_dim


def _check_class_targets(targets, n_classes: int, shape=None, name="targets"):
    """Refuse what is not an integer tensor of class indices in [0, K)."""
    if not isinstance(targets, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of class indices, got "
            f"{type(targets).__name__}; convert with "
            "torch.as_tensor(y, dtype=torch.long)"
        )
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == _BOOL:
        raise TypeError(
            f"{name} must hold integer class indices (torch.long), got dtype "
            f"{targets.dtype}; for a probability distribution per sample use "
            "kl_div_loss, or convert indices with targets.long()"
        )
    if shape is not None and tuple(targets.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)} (the logits' shape without "
            f"the class axis), got {tuple(targets.shape)}"
        )
    if targets.numel() and (targets.min() < 0 or targets.max() >= n_classes):
        bad = targets[(targets < 0) | (targets >= n_classes)].flatten()[0].item()
        raise ValueError(
            f"{name} has the class index {bad}, outside 0..{n_classes - 1} for "
            f"{n_classes} classes; labels must be 0-based indices"
        )


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(
            f"eps must be a real number in [0, 1], got {type(eps).__name__}"
        )
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:  # also refuses NaN
        raise ValueError(
            f"eps must lie in [0, 1], got {eps}; it is the probability mass moved "
            "away from the true class (0 = no smoothing)"
        )
    return eps


def _check_n_classes(n_classes, variant: str = "uniform", minimum: int = 1) -> int:
    if not _is_int(n_classes):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__}")
    if variant == "off_target":
        minimum = max(minimum, 2)
    if n_classes < minimum:
        why = (
            "the off_target variant spreads eps over the K - 1 wrong classes"
            if variant == "off_target" else "a true class and a wrong one are needed"
        )
        raise ValueError(f"n_classes must be >= {minimum} ({why}), got {n_classes}")
    return int(n_classes)


def _check_variant(variant) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _xlogy_safe(q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """``q * log_p`` with 0 * log 0 = 0 (log_p = -inf where q = 0 is allowed)."""
    return torch.where(q == 0, torch.zeros((), dtype=log_p.dtype), q * log_p)


# --- losses ------------------------------------------------------------------

def cross_entropy_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy ``-ln softmax(logits)[y]`` for class targets, in nats.

    With a one-hot target ``P`` and the model's ``Q = softmax(logits)``,
    ``H(P, Q) = H(P) + D_KL(P || Q)`` and ``H(P) = 0``: the loss is the surprise
    ``-ln Q(y)`` of the true class, the number of nats a code built for ``Q``
    spends on the label.

    Parameters
    ----------
    logits : torch.Tensor, float, shape (K,), (N, K) or (N, K, d1, ...)
        Unnormalised log-probabilities; classes on axis 1 (axis 0 if 1-D).
    targets : torch.Tensor, integer, shape (), (N,) or (N, d1, ...)
        Class indices in ``0..K-1``.

    Returns
    -------
    torch.Tensor
        Scalar, the mean over samples (and positions); equal to
        ``torch.nn.functional.cross_entropy(logits, targets)``.

    Notes
    -----
    Written from ``log_softmax`` (which subtracts the maximum logit before
    exponentiating, so large logits do not overflow). Taught in
    ``notebooks/05_loss_functions.ipynb``, section "Cross-entropy".

    Examples
    --------
    Logits ``ln [0.5, 0.25, 0.25]`` give the true class 0 probability 1/2,
    so the loss is ``ln 2`` nats, one bit:

    >>> logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    >>> round(cross_entropy_loss(logits, torch.tensor([0])).item(), 4)
    0.6931
    >>> bool(torch.isclose(cross_entropy_loss(logits, torch.tensor([0])),
    ...                    F.cross_entropy(logits, torch.tensor([0]))))
    True
    """
    class_dim = _check_logits(logits)
    shape = logits.shape[:class_dim] + logits.shape[class_dim + 1:]
    _check_class_targets(targets, logits.shape[class_dim], shape)
    log_q = F.log_softmax(logits, dim=class_dim)
    picked = log_q.gather(class_dim, targets.long().unsqueeze(class_dim))
    return -picked.mean()


def kl_div_loss(logits: torch.Tensor, target_dist: torch.Tensor) -> torch.Tensor:
    """``D_KL(P || softmax(logits))`` summed over classes, averaged over the batch.

    ``sum_k P_k (ln P_k - ln Q_k)`` with the convention ``0 ln 0 = 0``, so a
    target with zeros (a one-hot or a sparse soft label) is fine. It differs
    from the soft-target cross-entropy by ``H(P)``, a constant of the data,
    so both give the same gradients; only KL is 0 at a perfect fit.

    Parameters
    ----------
    logits : torch.Tensor, float, shape (N, K) or (N, K, d1, ...)
    target_dist : torch.Tensor, float, same shape
        A probability distribution along axis 1 at every sample (and position).

    Returns
    -------
    torch.Tensor
        Scalar: the total over classes and positions divided by ``N``, equal to
        ``F.kl_div(F.log_softmax(logits, dim=1), target_dist, reduction="batchmean")``.

    Notes
    -----
    1-D logits are refused: torch's "batchmean" would divide a single
    distribution's KL by K. Taught in ``notebooks/05_loss_functions.ipynb``,
    section "Cross-entropy".

    Examples
    --------
    With a one-hot target the KL loss is the cross-entropy loss (H(P) = 0):

    >>> logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    >>> y = torch.tensor([0, 2])
    >>> one_hot = F.one_hot(y, 3).float()
    >>> bool(torch.isclose(kl_div_loss(logits, one_hot), cross_entropy_loss(logits, y)))
    True
    """
    class_dim = _check_logits(logits, min_ndim=2)
    if not isinstance(target_dist, torch.Tensor) or not target_dist.is_floating_point():
        what = target_dist.dtype if isinstance(target_dist, torch.Tensor) else type(
            target_dist).__name__
        raise TypeError(
            f"target_dist must be a floating-point torch.Tensor of probabilities, "
            f"got {what}; for class indices use cross_entropy_loss"
        )
    if target_dist.shape != logits.shape:
        raise ValueError(
            f"target_dist must have the logits' shape {tuple(logits.shape)}, got "
            f"{tuple(target_dist.shape)}; one distribution over the K classes "
            "per sample"
        )
    if torch.isnan(target_dist).any() or (target_dist < 0).any() or torch.isinf(
            target_dist).any():
        raise ValueError(
            "target_dist has a negative, NaN or infinite entry; probabilities must "
            "be finite and >= 0 (apply a softmax if these are logits)"
        )
    # Sum in float64 so that only the entries' own rounding counts.
    off = (target_dist.double().sum(class_dim) - 1.0).abs().max().item()
    if off > max(SUM_TOLERANCE, 2 * torch.finfo(target_dist.dtype).eps):
        raise ValueError(
            f"target_dist must sum to 1 along axis {class_dim}; a sum is off by "
            f"{off:.3g}; normalise with target_dist / target_dist.sum({class_dim}, "
            "keepdim=True)"
        )
    log_q = F.log_softmax(logits, dim=class_dim)
    log_p = torch.log(target_dist)  # -inf where p = 0, masked below
    terms = _xlogy_safe(target_dist, log_p) - _xlogy_safe(target_dist, log_q)
    return terms.sum() / logits.shape[0]


def label_smoothing_targets(
    targets: torch.Tensor,
    n_classes: int,
    eps: float,
    variant: str = "uniform",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Smoothed target distributions ``q'`` for class indices.

    ``"uniform"`` (Szegedy et al., 2016, and what
    ``F.cross_entropy(..., label_smoothing=eps)`` computes) mixes the one-hot
    target with the uniform distribution: ``q' = (1 - eps) one_hot + eps / K``,
    so every class gets ``eps / K`` and the true class ``1 - eps + eps / K``.
    ``"off_target"`` spreads ``eps`` over the ``K - 1`` wrong classes only:
    the true class gets exactly ``1 - eps``, each other ``eps / (K - 1)``.

    The two are the same family: ``off_target`` with ``eps`` equals ``uniform``
    with ``eps * K / (K - 1)`` (so torch's ``label_smoothing`` for it is
    ``eps * K / (K - 1)``, when that is at most 1). A common bug is code whose
    comment states the uniform formula but which implements ``off_target``
    (``fill_(eps / (K - 1))``, true class ``1 - eps``): its numbers are the
    uniform ones for a slightly larger eps.

    Parameters
    ----------
    targets : torch.Tensor, integer, any shape
        Class indices in ``0..K-1``.
    n_classes : int
        ``K``; at least 2 for ``"off_target"``.
    eps : float in [0, 1]
        Mass moved away from the true class. ``uniform`` with ``eps = 1`` is
        the uniform distribution; ``off_target`` with ``eps > (K - 1) / K``
        gives the true class *less* than each wrong class.
    variant : {"uniform", "off_target"}
    dtype : torch.dtype, optional
        Default: torch's default float dtype.

    Returns
    -------
    torch.Tensor, shape ``(*targets.shape, K)``
        Classes on the last axis, like ``F.one_hot``; each row sums to 1.

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Label smoothing".

    Examples
    --------
    >>> y = torch.tensor([0])
    >>> label_smoothing_targets(y, 4, 0.2)
    tensor([[0.8500, 0.0500, 0.0500, 0.0500]])
    >>> label_smoothing_targets(y, 4, 0.2, variant="off_target")
    tensor([[0.8000, 0.0667, 0.0667, 0.0667]])
    >>> torch.allclose(label_smoothing_targets(y, 4, 0.2, variant="off_target"),
    ...                label_smoothing_targets(y, 4, 0.2 * 4 / 3))
    True
    """
    eps = _check_eps(eps)
    variant = _check_variant(variant)
    n_classes = _check_n_classes(n_classes, variant)
    _check_class_targets(targets, n_classes)
    dtype = dtype or torch.get_default_dtype()
    one_hot = F.one_hot(targets.long(), n_classes).to(dtype)
    if variant == "uniform":
        return (1.0 - eps) * one_hot + eps / n_classes
    return (1.0 - eps) * one_hot + (eps / (n_classes - 1)) * (1.0 - one_hot)


def label_smoothing_loss(
    logits: torch.Tensor, targets: torch.Tensor, eps: float, variant: str = "uniform"
) -> torch.Tensor:
    """Mean cross-entropy ``H(q', softmax(logits))`` against smoothed targets, nats.

    For ``"uniform"`` this equals ``F.cross_entropy(logits, targets,
    label_smoothing=eps)``; for ``"off_target"`` it equals torch's with
    ``label_smoothing = eps * K / (K - 1)``. See
    :func:`label_smoothing_targets` for the two variants.

    In information terms, with ``u`` the uniform distribution,
    ``H(q', Q) = (1 - eps) H(one_hot, Q) + eps H(u, Q)`` and
    ``H(u, Q) = ln K + D_KL(u || Q)``: uniform smoothing adds a penalty
    ``eps D_KL(u || Q)`` that pulls predictions away from certainty.

    Parameters
    ----------
    logits : torch.Tensor, float, shape (K,), (N, K) or (N, K, d1, ...)
    targets : torch.Tensor, integer, the logits' shape without the class axis
    eps : float in [0, 1]
    variant : {"uniform", "off_target"}

    Returns
    -------
    torch.Tensor
        Scalar mean over samples (and positions). Its minimum over logits is
        the entropy of the smoothed target, :func:`smoothed_target_entropy`.

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Label smoothing".

    Examples
    --------
    >>> logits = torch.tensor([[3.0, 0.0, -1.0], [0.2, 1.0, 0.1]])
    >>> y = torch.tensor([0, 1])
    >>> ours = label_smoothing_loss(logits, y, 0.1)
    >>> bool(torch.isclose(ours, F.cross_entropy(logits, y, label_smoothing=0.1)))
    True
    >>> ours = label_smoothing_loss(logits, y, 0.1, variant="off_target")
    >>> bool(torch.isclose(ours, F.cross_entropy(logits, y, label_smoothing=0.15)))
    True
    """
    eps = _check_eps(eps)
    variant = _check_variant(variant)
    class_dim = _check_logits(logits)
    n_classes = _check_n_classes(logits.shape[class_dim], variant)
    shape = logits.shape[:class_dim] + logits.shape[class_dim + 1:]
    _check_class_targets(targets, n_classes, shape)
    q = label_smoothing_targets(targets, n_classes, eps, variant, dtype=logits.dtype)
    q = q.movedim(-1, class_dim)
    log_q = F.log_softmax(logits, dim=class_dim)
    return -_xlogy_safe(q, log_q).sum(class_dim).mean()


# --- closed forms of the smoothed optimum (plain floats, nats) ---------------

def smoothed_target_probs(
    n_classes: int, eps: float, variant: str = "uniform"
) -> tuple[float, float]:
    """``(true-class probability, each wrong-class probability)`` of ``q'``.

    Examples
    --------
    >>> smoothed_target_probs(10, 0.1)
    (0.91, 0.01)
    >>> smoothed_target_probs(10, 0.1, variant="off_target")
    (0.9, 0.011111111111111112)

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Label smoothing".
    """
    eps = _check_eps(eps)
    variant = _check_variant(variant)
    n_classes = _check_n_classes(n_classes, variant, minimum=2)
    if variant == "uniform":
        other = eps / n_classes
        return 1.0 - eps + other, other
    return 1.0 - eps, eps / (n_classes - 1)


def smoothed_target_entropy(
    n_classes: int, eps: float, variant: str = "uniform"
) -> float:
    """Entropy ``H(q')`` of the smoothed target, in nats: the smallest loss.

    For any prediction ``Q``, ``H(q', Q) = H(q') + D_KL(q' || Q) >= H(q')``
    with equality exactly at ``Q = q'``. Without smoothing ``H(one_hot) = 0``
    and the minimum is approached only as the logits run to infinity.

    Examples
    --------
    >>> round(smoothed_target_entropy(10, 0.1), 4)  # nats
    0.5003
    >>> smoothed_target_entropy(10, 0.0)
    0.0
    >>> bool(np.isclose(smoothed_target_entropy(10, 1.0), np.log(10)))  # uniform
    True

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "The optimum".
    """
    p_true, p_other = smoothed_target_probs(n_classes, eps, variant)
    # entr(x) = -x ln x, exactly 0 at x = 0.
    return float(entr(p_true) + (n_classes - 1) * entr(p_other)) + 0.0


def optimal_logit_gap(
    n_classes: int, eps: float, variant: str = "uniform"
) -> float:
    """Logit gap ``z_true - z_wrong`` at the optimum: ``ln(q'_true / q'_wrong)``.

    ``inf`` without smoothing (the loss keeps falling as the gap grows);
    finite for ``eps > 0``; ``-inf`` for ``off_target`` with ``eps = 1``.

    Examples
    --------
    >>> bool(np.isclose(optimal_logit_gap(10, 0.1), np.log(91)))
    True
    >>> optimal_logit_gap(10, 0.0)
    inf

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "The optimum".
    """
    p_true, p_other = smoothed_target_probs(n_classes, eps, variant)
    with np.errstate(divide="ignore"):
        return float(np.log(p_true) - np.log(p_other))


def optimal_logits(
    n_classes: int, eps: float, variant: str = "uniform", true_class: int = 0
) -> np.ndarray:
    """One minimiser of the smoothed loss: ``ln q'`` shifted so wrong classes are 0.

    Logits are defined up to an additive constant (softmax ignores it), so
    this returns the gap on the true class and 0 elsewhere.

    Examples
    --------
    >>> z = optimal_logits(3, 0.3)
    >>> z.round(4)
    array([2.0794, 0.    , 0.    ])
    >>> softmax(z).round(4)  # softmax of the optimum is the smoothed target
    array([0.8, 0.1, 0.1])

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "The optimum".
    """
    n_classes = _check_n_classes(n_classes, variant, minimum=2)
    if not _is_int(true_class) or not 0 <= true_class < n_classes:
        raise ValueError(
            f"true_class must be an int in 0..{n_classes - 1}, got {true_class!r}"
        )
    z = np.zeros(n_classes)
    z[true_class] = optimal_logit_gap(n_classes, eps, variant)
    return z


def expected_loss_at_gap(gap, n_classes: int, eps: float, variant: str = "uniform"):
    """Smoothed loss of logits ``[gap, 0, ..., 0]`` (true class first), in nats.

    ``H(q', softmax(z)) = ln(e^gap + K - 1) - q'_true * gap``, a convex curve
    whose minimum ``H(q')`` sits at :func:`optimal_logit_gap`. With ``eps = 0``
    it decreases towards 0 forever: no finite optimum.

    Parameters
    ----------
    gap : float or array_like
        Logit of the true class minus that of each wrong class.

    Examples
    --------
    >>> g = optimal_logit_gap(10, 0.1)
    >>> h = smoothed_target_entropy(10, 0.1)
    >>> bool(np.isclose(expected_loss_at_gap(g, 10, 0.1), h))
    True

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "The optimum".
    """
    p_true, _ = smoothed_target_probs(n_classes, eps, variant)
    g = as_float_array(gap, "gap")
    if not np.isfinite(g).all():
        raise ValueError("gap must be finite; the loss at an infinite gap is a limit")
    # ln(e^g + K - 1) - q g written as ln(1 + (K - 1) e^-g) + (1 - q) g, which
    # keeps the tiny positive loss at large gaps instead of rounding it to 0.
    result = np.logaddexp(0.0, math.log(n_classes - 1) - g) + (1.0 - p_true) * g
    return float(result) if result.ndim == 0 else result


def softmax_with_temperature(logits, temperature: float = 1.0, axis: int = -1):
    """``softmax(logits / T)``: ``T < 1`` sharpens, ``T > 1`` flattens.

    As ``T -> 0`` it tends to the one-hot argmax (entropy 0); as ``T -> inf``
    to the uniform distribution (entropy ``ln K``). Dividing by ``T`` never
    changes the argmax, so temperature scaling alters confidence, not accuracy.

    Examples
    --------
    >>> softmax_with_temperature([2.0, 0.0], 1.0).round(4)
    array([0.8808, 0.1192])
    >>> softmax_with_temperature([2.0, 0.0], 100.0).round(2)
    array([0.5, 0.5])

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Temperature".
    """
    z = as_float_array(logits, "logits")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits contains NaN or +inf")
    real = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not real or not 0 < temperature < math.inf:
        raise ValueError(
            f"temperature must be a positive finite number, got {temperature!r}"
        )
    return softmax(z / float(temperature), axis=axis)


# --- calibration (numpy; accepts torch tensors) ------------------------------

class CalibrationBins(NamedTuple):
    """Per-bin statistics of top-label confidence (equal-width bins on [0, 1])."""

    edges: np.ndarray       #: n_bins + 1 bin edges, bin b is (edges[b], edges[b+1]]
    counts: np.ndarray      #: samples per bin
    accuracy: np.ndarray    #: fraction correct per bin (NaN where empty)
    confidence: np.ndarray  #: mean top-label probability per bin (NaN where empty)


def _as_numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def calibration_bins(probs, targets, n_bins: int = 15) -> CalibrationBins:
    """Group predictions by confidence and compare confidence with accuracy.

    The confidence of a prediction is its largest probability (top label);
    bin ``b`` holds confidences in ``(b / n_bins, (b + 1) / n_bins]``.

    Parameters
    ----------
    probs : array_like or torch.Tensor, shape (N, K)
        Predicted distributions, each row summing to 1.
    targets : array_like or torch.Tensor of int, shape (N,)
        True classes in ``0..K-1``.
    n_bins : int, default 15

    Examples
    --------
    >>> bins = calibration_bins([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], [0, 1, 1],
    ...                         n_bins=5)
    >>> bins.counts
    array([0, 0, 1, 1, 1])

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Calibration".
    """
    if not _is_int(n_bins) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    p = as_distribution(_as_numpy(probs), "probs", axis=-1)
    if p.ndim != 2:
        raise ValueError(
            f"probs must be 2-D, one distribution per row (N, K), got shape {p.shape}"
        )
    y = np.asarray(_as_numpy(targets))
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"targets must hold integer class indices, got dtype {y.dtype}")
    if y.shape != (p.shape[0],):
        raise ValueError(
            f"targets must have shape ({p.shape[0]},), one label per row of probs, "
            f"got {y.shape}"
        )
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(
            f"targets must be class indices in 0..{p.shape[1] - 1}, got values "
            f"from {y.min()} to {y.max()}"
        )
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.arange(n_bins + 1) / n_bins  # exactly b / n_bins, correctly rounded
    # side="left" puts a confidence equal to an edge in the bin it closes.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / counts
        mean_conf = np.bincount(which, weights=confidence, minlength=n_bins) / counts
    return CalibrationBins(edges, counts, accuracy, mean_conf)


def expected_calibration_error(probs, targets, n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width confidence bins.

    ``ECE = sum_b (n_b / N) |accuracy_b - confidence_b|`` (Guo et al., 2017):
    the average gap between how sure the model says it is and how often it is
    right. 0 for a calibrated model; it is a binned estimate, so even a
    perfectly calibrated model shows a small positive value on finite data.

    Parameters
    ----------
    probs : array_like or torch.Tensor, shape (N, K)
        Predicted distributions (validated: non-negative, rows sum to 1).
    targets : array_like or torch.Tensor of int, shape (N,)
    n_bins : int, default 15

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    A model that says 0.9 for every sample but is right only half the time
    is overconfident by 0.4:

    >>> probs = [[0.9, 0.1]] * 4
    >>> round(expected_calibration_error(probs, [0, 0, 1, 1]), 4)
    0.4

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Calibration".
    """
    bins = calibration_bins(probs, targets, n_bins)
    filled = bins.counts > 0
    weights = bins.counts[filled] / bins.counts.sum()
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float(np.sum(weights * gaps))


# --- temperature scaling, fitted (numpy; accepts torch tensors) --------------

def _scoring_inputs(logits, targets) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(N, K)`` float64 logits (finite) and ``(N,)`` class indices."""
    z = as_float_array(_as_numpy(logits), "logits")
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(
            f"logits must be 2-D, one row of K >= 2 class logits per sample "
            f"(N, K), got shape {z.shape}"
        )
    if not np.isfinite(z).all():
        raise ValueError(
            "logits must be finite: temperature scaling divides them by T, and "
            "an infinite logit stays infinite; check the model's output"
        )
    y = np.asarray(_as_numpy(targets))
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"targets must hold integer class indices, got dtype {y.dtype}; "
            "convert with targets.astype(int) (numpy) or targets.long() (torch)"
        )
    if y.shape != (z.shape[0],):
        raise ValueError(
            f"targets must have shape ({z.shape[0]},), one label per row of "
            f"logits, got {y.shape}"
        )
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(
            f"targets must be class indices in 0..{z.shape[1] - 1}, got values "
            f"from {y.min()} to {y.max()}"
        )
    return z, y.astype(np.intp)


def _check_temperature(temperature) -> float:
    real = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not real or not 0 < temperature < math.inf:
        raise ValueError(
            f"temperature must be a positive finite number, got {temperature!r}"
        )
    return float(temperature)


def temperature_nll(logits, targets, temperature: float = 1.0) -> float:
    """Mean NLL ``-ln softmax(logits / T)[y]`` of temperature-scaled logits, nats.

    The loss that :func:`fit_temperature` minimises over ``T``. It equals
    ``cross_entropy_loss(logits / T, targets)`` (and torch's
    ``F.cross_entropy``), computed in float64.

    Parameters
    ----------
    logits : array_like or torch.Tensor, shape (N, K)
        Finite logits, one row per sample.
    targets : array_like or torch.Tensor of int, shape (N,)
    temperature : float > 0, default 1.0

    Returns
    -------
    float
        Nats per sample (divide by ``ln 2`` for bits).

    Examples
    --------
    Two classes, logits ``[ln 3, 0]``: class 0 gets probability 3/4, and the
    NLL of a true class 0 is ``ln(4/3)``. At ``T = 2`` the logits halve and
    the probability falls to ``sqrt(3) / (1 + sqrt(3))``:

    >>> z, y = [[np.log(3.0), 0.0]], [0]
    >>> bool(np.isclose(temperature_nll(z, y), np.log(4 / 3)))
    True
    >>> bool(np.isclose(temperature_nll(z, y, 2.0), np.log((1 + 3**0.5) / 3**0.5)))
    True

    Notes
    -----
    Taught in ``notebooks/05_loss_functions.ipynb``, section "Temperature
    scaling, fitted".
    """
    z, y = _scoring_inputs(logits, targets)
    t = _check_temperature(temperature)
    log_q = log_softmax(z / t, axis=1)
    return float(-np.mean(log_q[np.arange(len(y)), y]))


#: How many e-folds of T away from 1 the fit searches for its minimum.
_MAX_E_FOLDS = 200


def _nll_slope(beta: float, z: np.ndarray, true_logit: np.ndarray) -> float:
    """d NLL / d beta at inverse temperature beta: mean of E_q[z] - z_y.

    NLL(beta) = mean(logsumexp(beta z) - beta z_y) is convex in beta (its
    second derivative is the mean variance of z under q = softmax(beta z)), so
    this slope increases with beta and has at most one zero.
    """
    q = softmax(beta * z, axis=1)
    return float(np.mean(np.sum(q * z, axis=1) - true_logit))


def fit_temperature(logits, targets) -> float:
    """The temperature ``T`` that minimises the NLL of ``softmax(logits / T)``.

    Temperature scaling (Guo et al., 2017) is the standard post-hoc repair of
    a miscalibrated classifier: keep the trained network, divide its logits
    by one number ``T`` fitted on held-out (validation) data, never on the
    training data, whose logits the network has already fitted. ``T > 1``
    flattens overconfident predictions, ``T < 1`` sharpens underconfident
    ones; the argmax, hence the accuracy, never changes.

    Parameters
    ----------
    logits : array_like or torch.Tensor, shape (N, K)
        Finite validation-set logits (not probabilities), ``K >= 2``.
    targets : array_like or torch.Tensor of int, shape (N,)
        True classes in ``0..K-1``.

    Returns
    -------
    float
        The minimiser ``T > 0``, to about 12 significant digits.

    Raises
    ------
    ValueError
        When no finite positive ``T`` minimises the NLL: every sample's true
        class already has the largest logit (the NLL keeps falling as
        ``T -> 0``: too few validation samples, or a training set used by
        mistake); the true classes' logits are on average no higher than the
        mean logit (a model no better than uniform: ``T -> inf``); or every
        row of logits is constant (the NLL is ``ln K`` whatever ``T``).

    Notes
    -----
    With ``beta = 1 / T`` the NLL is convex in ``beta``, and its minimum
    solves a moment-matching equation: on average, the logit the scaled model
    *expects*, ``E_q[z]``, equals the logit of the true class. The fit finds
    the one root of that slope with Brent's method on ``ln beta`` (that is,
    over ``ln T``), after bracketing it. Taught in
    ``notebooks/05_loss_functions.ipynb``, section "Temperature scaling,
    fitted".

    Examples
    --------
    A closed case: every sample has logits ``[2, 0]`` and class 0 is right
    for 3 of 4 samples. The best model gives class 0 probability 3/4, so
    ``2 / T = ln 3`` and ``T = 2 / ln 3``; the NLL there is the binary
    entropy of 3/4 in nats, lower than at ``T = 1``:

    >>> z = [[2.0, 0.0]] * 4
    >>> y = [0, 0, 0, 1]
    >>> t = fit_temperature(z, y)
    >>> round(t, 6), round(2 / math.log(3), 6)
    (1.820478, 1.820478)
    >>> round(temperature_nll(z, y, t), 4), round(temperature_nll(z, y), 4)
    (0.5623, 0.6269)
    """
    z, y = _scoring_inputs(logits, targets)
    true_logit = z[np.arange(len(y)), y]
    if np.all(z.max(axis=1) == z.min(axis=1)):
        raise ValueError(
            "every row of logits is constant, so the NLL is ln K whatever the "
            "temperature; there is nothing to fit"
        )
    if np.all(true_logit == z.max(axis=1)):
        raise ValueError(
            "every sample's true class already has the largest logit, so the NLL "
            "keeps falling as T -> 0 and no finite temperature minimises it; fit "
            "on more held-out samples (never on the training set)"
        )
    if _nll_slope(0.0, z, true_logit) >= 0:
        raise ValueError(
            "the true classes' logits are on average no higher than the mean "
            "logit, so the model does no better than uniform guessing and the "
            "NLL is minimised as T -> inf; check the labels and the model"
        )
    # The slope is negative as beta -> 0 and positive as beta -> inf (both
    # checked above): step ln(beta) from 0 (T = 1) by e-folds to bracket its root.
    def slope(log_beta):
        return _nll_slope(math.exp(log_beta), z, true_logit)

    lo, hi = (0.0, 1.0) if slope(0.0) < 0 else (-1.0, 0.0)
    for _ in range(_MAX_E_FOLDS):
        if slope(lo) < 0 <= slope(hi):
            break
        lo, hi = (hi, hi + 1.0) if slope(hi) < 0 else (lo - 1.0, lo)
    else:
        raise ValueError(
            f"the optimal temperature lies beyond exp(+-{_MAX_E_FOLDS}); the "
            "logits differ too little or too much to scale"
        )
    log_beta = brentq(slope, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return float(math.exp(-log_beta))

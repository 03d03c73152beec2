"""Variational lower bounds on mutual information, and critics that tighten them.

A *critic* ``f(x, y)`` scores how likely a pair is to have been drawn
together. Given a batch of ``N`` pairs ``(x_i, y_i)`` from ``p(x, y)``, the
``N x N`` matrix ``scores[i, j] = f(x_i, y_j)`` holds ``N`` joint pairs on
its diagonal and ``N (N - 1)`` pairs from ``p(x) p(y)`` off it (``x_i`` and
``y_j`` are independent for ``i != j``). Each bound is a function of that
matrix, in nats (Poole et al. 2019 put them in one family):

- **InfoNCE** (van den Oord et al. 2018, the loss of CPC, SimCLR and CLIP):
  ``mean_i [scores_ii - log (1/N) sum_j exp scores_ij]``. Averaged over
  batches, a lower bound on ``I(X; Y)`` for *any* critic; every batch is at
  most ``log N``: each row is a softmax classification of the true partner
  among ``N`` candidates.
- **NWJ** (Nguyen, Wainwright and Jordan 2010):
  ``mean_i scores_ii - e^-1 mean_{i != j} exp scores_ij``. Averaged over
  batches, a lower bound for any critic, equal to ``I(X; Y)`` with the
  critic ``1 + log p(y|x)/p(y)``; each batch is an unbiased estimate of
  the critic's bound, but its variance grows exponentially with the MI.
- **DV / MINE** (Donsker-Varadhan; Belghazi et al. 2018):
  ``mean_i scores_ii - log mean_{i != j} exp scores_ij``. At least as
  tight as NWJ for the same critic, but the log of a batch mean is biased:
  the batch estimate overshoots, most at small ``N`` and large MI. MINE
  trains it with a moving average in the gradient (:func:`mine_surrogate`).

The functions take a torch tensor (result: a tensor that carries gradients)
or an array (result: numpy), with any leading batch dimensions
``(..., N, N)``. For a Gaussian pair the optimal critic is known in closed
form (:func:`gaussian_log_ratio`), so every bound can be checked against the
truth ``-dim/2 ln(1 - rho^2)``; :class:`SeparableCritic` and
:func:`train_critics` train small neural critics against the same truth.

Taught in ``notebooks/03_mutual_information.ipynb``, section "Variational
bounds on MI".

References
----------
- B. Poole, S. Ozair, A. van den Oord, A. Alemi and G. Tucker, "On
  variational bounds of mutual information", ICML 2019.
- A. van den Oord, Y. Li and O. Vinyals, "Representation learning with
  contrastive predictive coding", arXiv:1807.03748 (2018).
- X. Nguyen, M. J. Wainwright and M. I. Jordan, "Estimating divergence
  functionals and the likelihood ratio by convex risk minimization", IEEE
  Trans. Inf. Theory 56 (2010).
- M. I. Belghazi et al., "Mutual information neural estimation", ICML 2018.
- J. Song and S. Ermon, "Understanding the limitations of variational
  mutual information estimators", ICLR 2020.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from itutils._validate import check_positive_int

__all__ = [
    "BOUNDS",
    "CriticTraining",
    "DATA_SEED_OFFSET",
    "SeparableCritic",
    "dv_bound",
    "gaussian_log_ratio",
    "gaussian_pairs",
    "infonce_bound",
    "mine_surrogate",
    "nwj_bound",
    "rho_for_mi",
    "train_critics",
]

#: The bounds :func:`train_critics` knows, by name.
BOUNDS = ("infonce", "nwj", "mine")
#: :func:`train_critics` draws seed ``s``'s batches from this plus ``s``.
DATA_SEED_OFFSET = 1000


# --- the bounds, on a matrix of critic scores --------------------------------


def _as_scores(scores) -> tuple[torch.Tensor, bool]:
    """The scores as a tensor of shape (..., N, N), and whether it came as one."""
    is_tensor = isinstance(scores, torch.Tensor)
    if not is_tensor:
        try:
            scores = torch.as_tensor(np.asarray(scores, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"scores must be a tensor or an array of numbers ({exc})"
            ) from exc
    if not scores.is_floating_point():
        scores = scores.to(torch.float64)
    if scores.ndim < 2 or scores.shape[-1] != scores.shape[-2]:
        raise ValueError(
            "scores must be a square matrix scores[i, j] = f(x_i, y_j) (with "
            f"optional leading batch dimensions), got shape {tuple(scores.shape)}"
        )
    if scores.shape[-1] < 2:
        raise ValueError(
            "scores must hold at least 2 pairs: the bounds compare each joint "
            "pair (the diagonal) with pairs from other rows"
        )
    # One reduction answers the common case: NaN or +inf makes the max so.
    top = float(scores.detach().max())
    if not (math.isfinite(top) or top == -math.inf):
        raise ValueError(
            "scores contain NaN or +inf; a critic must give finite scores "
            "(-inf, a pair judged impossible, is allowed). Check the critic's "
            "output, e.g. for an overflow in float32"
        )
    return scores, is_tensor


def _result(value: torch.Tensor, is_tensor: bool):
    if is_tensor:
        return value
    out = value.detach().numpy()
    return float(out) if out.ndim == 0 else out


def _diagonal(scores: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(scores, dim1=-2, dim2=-1)


def _log_mean_exp_off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """``log mean_{i != j} exp scores_ij`` over the last two axes."""
    n = scores.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=scores.device)
    off = scores.masked_fill(eye, -math.inf).flatten(-2)
    return torch.logsumexp(off, dim=-1) - math.log(n * (n - 1))


def infonce_bound(scores):
    """InfoNCE lower bound on ``I(X; Y)`` in nats; never above ``log N``.

    ``mean_i [scores_ii - log (1/N) sum_j exp scores_ij]``: row ``i`` asks
    the critic to pick ``y_i`` out of the ``N`` candidates ``y_1 .. y_N``,
    so the bound is ``log N`` minus the cross-entropy of that N-way
    classification. It cannot exceed ``log N`` whatever the critic, because
    a cross-entropy is ``>= 0``.

    Parameters
    ----------
    scores : torch.Tensor or array_like, shape (..., N, N)
        ``scores[..., i, j] = f(x_i, y_j)`` for one batch of pairs
        ``(x_i, y_i)``; leading dimensions are independent batches.

    Returns
    -------
    torch.Tensor or float or numpy.ndarray
        The bound of each batch, in nats (a tensor with gradients if
        ``scores`` is a tensor).

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds". This is the loss of contrastive learning: CPC,
    SimCLR (the NT-Xent loss) and CLIP minimise ``log N - infonce_bound``.

    Examples
    --------
    A critic that is sure of every partner reaches the ceiling, ``log N``:

    >>> round(infonce_bound(20.0 * np.eye(4)), 6), round(float(np.log(4)), 6)
    (1.386294, 1.386294)
    >>> infonce_bound(np.zeros((4, 4)))  # a critic that knows nothing
    0.0
    """
    scores, is_tensor = _as_scores(scores)
    n = scores.shape[-1]
    per_row = _diagonal(scores) - torch.logsumexp(scores, dim=-1)
    return _result(per_row.mean(dim=-1) + math.log(n), is_tensor)


def nwj_bound(scores):
    """NWJ lower bound on ``I(X; Y)`` in nats: ``E_p[f] - E_{p(x)p(y)}[e^(f - 1)]``.

    The joint expectation is the mean of the diagonal; the product-of-
    marginals expectation is the mean over the ``N (N - 1)`` off-diagonal
    pairs. Both means are unbiased, so the batch estimate is an unbiased
    estimate of the critic's bound; with the critic
    ``f = 1 + log p(y|x)/p(y)`` the bound equals ``I(X; Y)``. The price is
    variance: the off-diagonal term averages ``p(x,y)/(p(x)p(y))`` under the
    wrong distribution, and its variance grows exponentially with the MI.

    Parameters
    ----------
    scores : torch.Tensor or array_like, shape (..., N, N)
        Critic scores, as in :func:`infonce_bound`; ``N >= 2``.

    Returns
    -------
    torch.Tensor or float or numpy.ndarray
        The bound of each batch, in nats.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds".

    Examples
    --------
    Independent pairs and the critic ``f = 1`` (the optimal one, since
    ``p(y|x) = p(y)``) give exactly 0:

    >>> nwj_bound(np.ones((5, 5)))
    0.0
    """
    scores, is_tensor = _as_scores(scores)
    value = _diagonal(scores).mean(dim=-1) - torch.exp(
        _log_mean_exp_off_diagonal(scores) - 1.0
    )
    return _result(value, is_tensor)


def dv_bound(scores):
    """Donsker-Varadhan bound, MINE's estimate: ``E_p[f] - log E_{p(x)p(y)}[e^f]``.

    For a fixed critic the DV bound is at least the NWJ bound, and it does
    not change when a constant is added to ``f``. Its batch estimate takes
    the log of a sample mean, which is biased: by Jensen's inequality the
    batch value *overshoots* the critic's bound on average, and can exceed
    the true MI, most at small ``N`` and large MI.

    Parameters
    ----------
    scores : torch.Tensor or array_like, shape (..., N, N)
        Critic scores, as in :func:`infonce_bound`; ``N >= 2``.

    Returns
    -------
    torch.Tensor or float or numpy.ndarray
        The batch estimate of each batch, in nats.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds". Training with this value's gradient is biased too;
    :func:`mine_surrogate` gives MINE's corrected gradient.

    Examples
    --------
    Shifting the critic by a constant changes NWJ but not DV:

    >>> s = np.array([[2.0, 0.0], [0.5, 1.0]])
    >>> round(dv_bound(s), 4) == round(dv_bound(s + 3.0), 4)
    True
    >>> bool(dv_bound(s) >= nwj_bound(s))
    True
    """
    scores, is_tensor = _as_scores(scores)
    value = _diagonal(scores).mean(dim=-1) - _log_mean_exp_off_diagonal(scores)
    return _result(value, is_tensor)


def mine_surrogate(scores: torch.Tensor, moving_average: torch.Tensor):
    """MINE's training objective: the DV bound with a bias-corrected gradient.

    The gradient of ``log m``, with ``m`` the batch mean of ``e^f`` over the
    off-diagonal pairs, is ``grad m / m``: dividing by a noisy batch mean
    biases it. MINE divides by a moving average of ``m`` instead, so the
    surrogate ``mean_i f_ii - m / moving_average`` has the corrected
    gradient; its *value* is not a bound (report :func:`dv_bound`).

    Parameters
    ----------
    scores : torch.Tensor, shape (..., N, N)
        Critic scores with gradients.
    moving_average : torch.Tensor, shape (...)
        The running mean of ``m`` (no gradient), e.g. updated by
        ``ma = (1 - rate) * ma + rate * m.detach()``.

    Returns
    -------
    surrogate : torch.Tensor, shape (...)
        Maximise it to train the critic.
    batch_mean_exp : torch.Tensor, shape (...)
        ``m`` for this batch (with gradients), to update the moving average.

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds" (Belghazi et al. 2018, section 3.2).

    Examples
    --------
    The surrogate's gradient is the DV gradient with ``m`` replaced by the
    moving average; with the average equal to ``m`` the two agree:

    >>> s = torch.tensor([[1.0, 0.2], [-0.3, 0.5]], requires_grad=True)
    >>> m = torch.exp(torch.tensor([0.2, -0.3])).mean()
    >>> surrogate, _ = mine_surrogate(s, m)
    >>> g1, = torch.autograd.grad(surrogate, s)
    >>> g2, = torch.autograd.grad(dv_bound(s), s)
    >>> bool(torch.allclose(g1, g2))
    True
    """
    scores, _ = _as_scores(scores)
    batch_mean_exp = torch.exp(_log_mean_exp_off_diagonal(scores))
    surrogate = _diagonal(scores).mean(dim=-1) - batch_mean_exp / moving_average
    return surrogate, batch_mean_exp


# --- a Gaussian pair with known MI, and its optimal critic -------------------


def _check_mi_dim(mi, dim) -> tuple[float, int]:
    dim = check_positive_int(dim, "dim")
    if isinstance(mi, bool) or not isinstance(mi, numbers.Real):
        raise TypeError(f"mi must be a number of nats, got {mi!r}")
    mi = float(mi)
    if not (math.isfinite(mi) and mi >= 0):
        raise ValueError(f"mi must be a finite number of nats >= 0, got {mi}")
    return mi, dim


def rho_for_mi(mi: float, dim: int = 1) -> float:
    """The correlation per dimension that gives ``dim`` pairs a total MI of ``mi`` nats.

    ``I = -dim/2 ln(1 - rho^2)``, so ``rho = sqrt(1 - exp(-2 mi / dim))``.

    Examples
    --------
    >>> round(rho_for_mi(-0.5 * np.log(1 - 0.9**2)), 12)
    0.9
    >>> round(rho_for_mi(4.0, dim=5), 4)
    0.8934
    """
    mi, dim = _check_mi_dim(mi, dim)
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def gaussian_pairs(
    n: int, mi: float, dim: int = 5, batches: int | None = None, generator=None,
    dtype=torch.float32,
):
    """Draw ``n`` pairs ``(x, y)`` of ``dim``-dimensional Gaussians with MI ``mi`` nats.

    Each coordinate pair is a standard bivariate normal with correlation
    ``rho = rho_for_mi(mi, dim)``, independent of the others:
    ``y = rho x + sqrt(1 - rho^2) z``. Spreading the MI over several
    dimensions keeps each correlation moderate (Poole et al. use 20).

    Parameters
    ----------
    n : int
        Pairs per batch.
    mi : float
        Total ``I(X; Y)`` in nats.
    dim : int, default 5
    batches : int, optional
        If given, draw that many independent batches: shapes
        ``(batches, n, dim)``; otherwise ``(n, dim)``.
    generator : torch.Generator, optional
        For reproducible draws; ``x`` and then ``z`` are drawn from it.
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    x, y : torch.Tensor

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = gaussian_pairs(20000, mi=1.0, dim=1, generator=g)
    >>> x.shape, round(float(torch.corrcoef(torch.cat([x, y], 1).T)[0, 1]), 2)
    (torch.Size([20000, 1]), 0.93)
    """
    n = check_positive_int(n, "n")
    rho = rho_for_mi(mi, dim)
    shape = (n, dim) if batches is None else (
        check_positive_int(batches, "batches"), n, dim)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    z = torch.randn(shape, generator=generator, dtype=dtype)
    return x, rho * x + math.sqrt(1.0 - rho * rho) * z


def gaussian_log_ratio(x, y, mi: float):
    """The optimal critic ``log p(y_j | x_i) / p(y_j)`` for every pair, in nats.

    For the pairs of :func:`gaussian_pairs` (``dim`` coordinates, each with
    correlation ``rho``):
    ``-dim/2 ln(1 - rho^2) - |y_j - rho x_i|^2 / (2 (1 - rho^2)) + |y_j|^2 / 2``.
    Its mean over joint pairs is exactly ``mi``. With it, InfoNCE is as
    tight as any critic can make it, and ``nwj_bound(scores + 1)`` is an
    unbiased estimate of ``mi`` itself.

    Parameters
    ----------
    x, y : torch.Tensor or array_like, shape (..., N, dim)
    mi : float
        The MI (nats) the pairs were drawn with.

    Returns
    -------
    torch.Tensor or numpy.ndarray, shape (..., N, N)
        Like the input type.

    Examples
    --------
    The mean score of joint pairs is the MI:

    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = gaussian_pairs(1000, mi=2.0, dim=5, batches=20, generator=g,
    ...                       dtype=torch.float64)
    >>> scores = gaussian_log_ratio(x, y, mi=2.0)
    >>> round(float(torch.diagonal(scores, dim1=-2, dim2=-1).mean()), 1)
    2.0
    """
    is_tensor = isinstance(x, torch.Tensor)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.shape != y.shape or x.ndim < 2:
        raise ValueError(
            "x and y must have the same shape (..., N, dim), got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    dim = x.shape[-1]
    rho = rho_for_mi(mi, dim)
    noise = math.exp(-2.0 * float(mi) / dim)  # 1 - rho^2, without cancellation
    # |y_j - rho x_i|^2 without the N x N x dim intermediate.
    cross = x @ y.transpose(-1, -2)
    sq = (rho * rho) * (x * x).sum(-1)[..., :, None] + (y * y).sum(-1)[..., None, :]
    dist = (sq - 2.0 * rho * cross).clamp_min(0.0)  # a rounding residue below 0
    scores = float(mi) - dist / (2.0 * noise) + 0.5 * (y * y).sum(-1)[..., None, :]
    return scores if is_tensor else scores.numpy()


# --- a small critic and a training loop --------------------------------------


class SeparableCritic(nn.Module):
    """``f(x, y) = s * g(x) . h(y)``: two small MLPs and a dot product.

    The critic of contrastive learning (CPC, SimCLR, CLIP): each side is
    embedded once, so a batch of ``N`` pairs costs ``2 N`` network
    evaluations and one ``N x N`` matrix product, not ``N^2`` evaluations.
    ``g`` and ``h`` are ``dim -> hidden -> embed`` MLPs with ReLU; the scale
    ``s = exp(log_scale)`` is learned (CLIP's "logit scale"), so the scores
    can grow as large as a high MI needs without huge weights.

    Several independent critics can be trained at once as one module
    (``n_critics``): their parameters are stacked along a first axis and
    applied with batched matrix products, which on a CPU costs hardly more
    than one critic.

    Parameters
    ----------
    dim : int
        Dimension of ``x`` and of ``y``.
    hidden, embed : int, default 32, 16
    n_critics : int, default 1
    seed : int or sequence of int, default 0
        Seeds the initial weights (PyTorch's default uniform
        ``+-1/sqrt(fan_in)``), one seed per critic if a sequence: critics
        with the same seed start identical.

    Examples
    --------
    >>> critic = SeparableCritic(dim=5, n_critics=2, seed=[0, 0])
    >>> x, y = torch.zeros(2, 8, 5), torch.zeros(2, 8, 5)
    >>> scores = critic(x, y)
    >>> scores.shape, bool(torch.equal(scores[0], scores[1]))
    (torch.Size([2, 8, 8]), True)
    """

    def __init__(self, dim: int, hidden: int = 32, embed: int = 16,
                 n_critics: int = 1, seed: int | Sequence[int] = 0):
        super().__init__()
        dim = check_positive_int(dim, "dim")
        hidden = check_positive_int(hidden, "hidden")
        embed = check_positive_int(embed, "embed")
        m = check_positive_int(n_critics, "n_critics")
        seeds = [seed] * m if isinstance(seed, numbers.Integral) else list(seed)
        if len(seeds) != m:
            raise ValueError(f"seed lists {len(seeds)} seeds for {m} critics")
        self.n_critics = m
        # Axis 0 of each weight: g of critic 0..m-1, then h of critic 0..m-1.
        shapes = {"w1": (dim, hidden), "b1": (1, hidden),
                  "w2": (hidden, embed), "b2": (1, embed)}
        fan_in = {"w1": dim, "b1": dim, "w2": hidden, "b2": hidden}
        values = {name: [] for name in shapes}
        for s in seeds:
            g = torch.Generator().manual_seed(int(s))
            for _side in ("g", "h"):
                for name, shape in shapes.items():
                    bound = 1.0 / math.sqrt(fan_in[name])
                    values[name].append(
                        (2.0 * torch.rand(shape, generator=g) - 1.0) * bound)
        for name, parts in values.items():
            # Reorder to [g of every critic, h of every critic].
            stacked = torch.stack(parts[0::2] + parts[1::2])
            setattr(self, name, nn.Parameter(stacked))
        self.log_scale = nn.Parameter(torch.zeros(m, 1, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores ``f(x_i, y_j)``: shape ``(n_critics, N, N)``, or ``(N, N)``.

        ``x`` and ``y`` have shape ``(n_critics, N, dim)``, or ``(N, dim)``
        for a single critic.
        """
        single = x.ndim == 2
        if single:
            if self.n_critics != 1:
                raise ValueError(
                    f"this module holds {self.n_critics} critics: give x and y "
                    "the shape (n_critics, N, dim)"
                )
            x, y = x[None], y[None]
        both = torch.cat([x, y])
        hidden = torch.relu(torch.baddbmm(self.b1, both, self.w1))
        embedded = torch.baddbmm(self.b2, hidden, self.w2)
        gx, hy = embedded[: self.n_critics], embedded[self.n_critics :]
        scores = torch.exp(self.log_scale) * (gx @ hy.transpose(1, 2))
        return scores[0] if single else scores


@dataclass
class CriticTraining:
    """What :func:`train_critics` returns.

    Attributes
    ----------
    estimates : numpy.ndarray, shape (steps, len(bounds), len(seeds))
        Each critic's bound, in nats, on each training batch, computed
        *before* the update on that batch. Every batch is fresh, so this is
        an honest estimate of the bound of the critic at that step.
    truth : numpy.ndarray, shape (steps,)
        The true MI of each step's batch, nats.
    bounds : tuple of str
    seeds : tuple of int
    batch_size : int
    critic : SeparableCritic
        The trained critics, bound-major: critic ``b * len(seeds) + s`` is
        bound ``bounds[b]`` with seed ``seeds[s]``.
    """

    estimates: np.ndarray
    truth: np.ndarray
    bounds: tuple
    seeds: tuple
    batch_size: int
    critic: SeparableCritic


def train_critics(
    mi_schedule: Sequence[float],
    batch_size: int,
    steps_per_stage: int = 300,
    bounds: Sequence[str] = BOUNDS,
    seeds: Sequence[int] = (0, 1, 2),
    dim: int = 5,
    hidden: int = 32,
    embed: int = 16,
    lr: float = 2e-3,
    ema_rate: float = 0.01,
    num_threads: int | None = 1,
) -> CriticTraining:
    """Train one separable critic per bound and seed on Gaussian pairs of known MI.

    Every step draws a fresh batch of ``batch_size`` pairs
    (:func:`gaussian_pairs`) and takes one Adam step on each critic's
    objective: InfoNCE, NWJ, or MINE (the DV bound with MINE's
    moving-average gradient, :func:`mine_surrogate`). The true MI follows
    ``mi_schedule``, each value for ``steps_per_stage`` steps (Poole et al.'s
    "staircase"), so one run shows each bound against several truths. For a
    given seed, every bound's critic starts from the same weights and sees
    the same batches: only the objective differs.

    Parameters
    ----------
    mi_schedule : sequence of float
        The true MI of each stage, nats.
    batch_size : int
        ``N``; InfoNCE cannot exceed ``log N``.
    steps_per_stage : int, default 300
    bounds : sequence of {"infonce", "nwj", "mine"}, default all three
    seeds : sequence of int, default (0, 1, 2)
        Seed ``s`` initialises its critics (``SeparableCritic(seed=s)``);
        its batches come from ``torch.Generator().manual_seed(1000 + s)``
        (:data:`DATA_SEED_OFFSET`), drawn with :func:`gaussian_pairs`.
    dim, hidden, embed : int, default 5, 32, 16
        Data dimension and critic size (:class:`SeparableCritic`).
    lr : float, default 2e-3
        Adam's learning rate.
    ema_rate : float, default 0.01
        Weight of the newest batch in MINE's moving average.
    num_threads : int or None, default 1
        Torch threads while training, restored afterwards (None: leave as
        is). One thread is fastest for critics this small and makes the
        floating-point sums, hence the result, the same on every machine.

    Returns
    -------
    CriticTraining

    Notes
    -----
    Taught in ``notebooks/03_mutual_information.ipynb``, section
    "Variational bounds". Deterministic given the arguments.

    Examples
    --------
    InfoNCE with ``N = 8`` cannot certify more than ``log 8 = 2.08`` nats,
    however much MI there is:

    >>> run = train_critics([4.0], batch_size=8, steps_per_stage=50,
    ...                     bounds=["infonce"], seeds=[0])
    >>> run.estimates.shape
    (50, 1, 1)
    >>> bool(run.estimates.max() <= np.log(8))
    True
    """
    bounds = tuple(bounds)
    unknown = [b for b in bounds if b not in BOUNDS]
    if unknown or not bounds:
        raise ValueError(f"bounds must be a non-empty subset of {BOUNDS}, got {bounds}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("give at least one seed")
    schedule = [_check_mi_dim(mi, dim)[0] for mi in mi_schedule]
    if not schedule:
        raise ValueError("mi_schedule is empty; give at least one MI in nats")
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    steps_per_stage = check_positive_int(steps_per_stage, "steps_per_stage")
    if not 0.0 < ema_rate <= 1.0:
        raise ValueError(f"ema_rate must lie in (0, 1], got {ema_rate}")
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _train(schedule, batch_size, steps_per_stage, bounds, seeds, dim,
                      hidden, embed, lr, ema_rate)
    finally:
        torch.set_num_threads(previous_threads)


def _train(schedule, batch_size, steps_per_stage, bounds, seeds, dim, hidden,
           embed, lr, ema_rate) -> CriticTraining:
    n_seeds = len(seeds)
    generators = [torch.Generator().manual_seed(DATA_SEED_OFFSET + s) for s in seeds]
    # Critic b * n_seeds + k is bound b with seed k: same seed, same start.
    critic = SeparableCritic(dim, hidden, embed, len(bounds) * n_seeds,
                             seed=[s for _ in bounds for s in seeds])
    optimizer = torch.optim.Adam(critic.parameters(), lr=lr, fused=True)
    moving_average = None
    estimates, truth = [], []
    for mi in schedule:
        for _ in range(steps_per_stage):
            pairs = [gaussian_pairs(batch_size, mi, dim, generator=g)
                     for g in generators]
            # Every bound's critic of a seed sees that seed's batch.
            shape = (len(bounds), n_seeds, batch_size, dim)
            x, y = (torch.stack(side).expand(shape).flatten(0, 1)
                    for side in zip(*pairs, strict=True))
            scores = critic(x, y)
            objective, values = [], []
            # The scores are finite by construction: no validation per step.
            for b, name in enumerate(bounds):
                block = scores[b * n_seeds : (b + 1) * n_seeds]
                joint = _diagonal(block).mean(dim=-1)
                if name == "infonce":
                    value = joint - torch.logsumexp(block, dim=-1).mean(dim=-1)
                    value = value + math.log(batch_size)
                    objective.append(value)
                    values.append(value.detach())
                    continue
                log_mean_exp = _log_mean_exp_off_diagonal(block)
                if name == "nwj":
                    value = joint - torch.exp(log_mean_exp - 1.0)
                    objective.append(value)
                    values.append(value.detach())
                    continue
                # MINE: report the DV value, follow the corrected gradient.
                mean_exp = torch.exp(log_mean_exp)
                if moving_average is None:
                    moving_average = mean_exp.detach()
                else:
                    moving_average = ((1.0 - ema_rate) * moving_average
                                      + ema_rate * mean_exp.detach())
                objective.append(joint - mean_exp / moving_average)
                values.append((joint - log_mean_exp).detach())
            loss = -torch.cat(objective).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            estimates.append(torch.stack(values).numpy())
            truth.append(mi)
    return CriticTraining(np.array(estimates, dtype=np.float64), np.array(truth),
                          bounds, seeds, batch_size, critic)

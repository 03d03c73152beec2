"""Properties an answer must have, for ``check_that(answer, property, *args)``.

Each function takes the answer as plain data (numbers, lists, numpy arrays,
dicts) and returns None when it holds, or a sentence saying what is wrong.
They check *properties* (a shape, a range, a construction that must be
uncorrelated yet dependent), never reveal a reference answer, and so may be
used in the learners' visible self-checks too.
"""

from __future__ import annotations

import functools

import numpy as np

from itutils.grading.checks import describe

__all__ = [
    "matches",
    "prefix_code",
    "in_bounds",
    "is_number",
    "in_range",
    "has_shape",
    "is_distribution",
    "uncorrelated_dependent",
    "rate_distortion_trend",
    "ordered_bounds",
    "VAE_SHAPES",
    "vae_test_terms",
    "vae_bound_below",
    "vae_reports",
    "amortisation_gap",
    "calibration_rows",
]


def _as_float(value):
    if value is None or isinstance(value, (str, dict, bool)):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _unanswered(value) -> bool:
    return value is None


def matches(value, target, hints=None, atol: float = 1e-6, rtol: float = 1e-6):
    """``value`` is ``target`` for this input; otherwise a hint at the likely slip.

    ``hints`` maps a sentence to the value that a known mistake produces on
    the same input (the entropy in nats instead of bits, a swapped axis, a
    variance read as a standard deviation). A wrong value gets the sentence
    of the first mistake it reproduces, or only the news that it is off: the
    message never shows ``target``, so a self-check can use this without
    giving the answer away. Arrays are compared element by element and must
    have the target's shape; ``nan`` matches a hint of ``nan``.

    Examples
    --------
    >>> hints = {"this is the entropy in nats: use log base 2": 1.0397207708}
    >>> matches(1.5, 1.5, hints) is None
    True
    >>> matches(1.0397207708, 1.5, hints)
    'got 1.039720771; this is the entropy in nats: use log base 2'
    >>> matches(0.3, 1.5, hints)
    'got 0.3, which is not the right value for this input'
    >>> matches(None, 1.5)
    'not answered yet (got None)'
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    want = np.asarray(target, dtype=np.float64)
    arr = _as_float(value)
    if arr is None:
        return f"expected numbers, got {describe(value)}"
    if arr.shape != want.shape:
        shape = "a single number" if want.shape == () else f"shape {want.shape}"
        got = "a single number" if arr.shape == () else f"shape {arr.shape}"
        return f"expected {shape}, got {got}: {describe(value)}"
    if bool(np.all(np.isclose(arr, want, atol=atol, rtol=rtol))):
        return None
    shown = describe(value if not isinstance(value, list) else arr)
    for sentence, slip in (hints or {}).items():
        slip = np.asarray(slip, dtype=np.float64)
        if slip.shape == arr.shape and bool(
            np.all(np.isclose(arr, slip, atol=atol, rtol=rtol, equal_nan=True))
        ):
            return f"got {shown}; {sentence}"
    if np.any(np.isinf(want) & np.isfinite(arr)):
        return (
            f"got {shown}, a finite number where the exact answer is infinite "
            "(an epsilon or a clip hides an impossible event?)"
        )
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(want)):
        return (
            f"got {shown}: a nan or inf where a finite number belongs "
            "(a 0 * log 0 term, or an overflow?)"
        )
    return f"got {shown}, which is not the right value for this input"


def prefix_code(value, n_symbols: int):
    """``n_symbols`` distinct non-empty strings of 0s and 1s, none a prefix of another.

    Such a code can be decoded as the bits arrive, with no separators.

    Examples
    --------
    >>> prefix_code(["0", "10", "11"], 3) is None
    True
    >>> prefix_code(["0", "01", "11"], 3)
    "'0' is a prefix of '01': a decoder could not tell where a codeword ends"
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(w, str) for w in value
    ):
        return f"expected a list of codeword strings, got {describe(value)}"
    if len(value) != n_symbols:
        return f"expected one codeword per symbol ({n_symbols}), got {len(value)}"
    for word in value:
        if not word or set(word) - {"0", "1"}:
            return f"codewords are non-empty strings of '0' and '1', got {word!r}"
    ordered = sorted(value)  # a prefix sorts right before the words it starts
    for shorter, longer in zip(ordered, ordered[1:], strict=False):
        if longer.startswith(shorter):
            if shorter == longer:
                return f"the codeword {shorter!r} is used twice"
            return (
                f"{shorter!r} is a prefix of {longer!r}: a decoder could not tell "
                "where a codeword ends"
            )
    return None


def is_number(value):
    """A single real, finite number.

    Examples
    --------
    >>> is_number(2.5) is None
    True
    >>> is_number([1.0])
    'expected a single number, got [1.0]'
    """
    arr = _as_float(value)
    if arr is None or arr.shape != ():
        return f"expected a single number, got {describe(value)}"
    if not np.isfinite(arr):
        return f"expected a finite number, got {describe(value)}"
    return None


def in_range(value, low: float, high: float):
    """A single number with ``low <= value <= high``.

    Examples
    --------
    >>> in_range(1.5, 0, 1)
    'expected a number between 0 and 1, got 1.5'
    """
    problem = is_number(value)
    if problem:
        return problem
    if not low <= float(value) <= high:
        return f"expected a number between {low:g} and {high:g}, got {describe(value)}"
    return None


def in_bounds(value, low, high, atol: float = 1e-12):
    """Numbers with ``low <= value < high`` element by element.

    ``low`` and ``high`` are numbers or arrays of the value's shape.

    Examples
    --------
    >>> in_bounds([0.5, 0.2], 0.0, [1.0, 0.5]) is None
    True
    >>> in_bounds([0.5, 0.7], 0.0, [1.0, 0.5])
    'entry 1 is 0.7, not below its upper bound 0.5'
    """
    if _unanswered(value):
        return "not answered yet (got None)"
    arr = _as_float(value)
    if arr is None or not np.all(np.isfinite(arr)):
        return f"expected finite numbers, got {describe(value)}"
    lo = np.broadcast_to(np.asarray(low, dtype=np.float64), arr.shape)
    hi = np.broadcast_to(np.asarray(high, dtype=np.float64), arr.shape)
    for index in np.ndindex(arr.shape):
        where = f"entry {index[0] if len(index) == 1 else index} is"
        if arr.shape == ():
            where = "the value is"
        if arr[index] < lo[index] - atol:
            return f"{where} {arr[index]:.6g}, below its lower bound {lo[index]:.6g}"
        if arr[index] >= hi[index]:
            return (
                f"{where} {arr[index]:.6g}, not below its upper bound {hi[index]:.6g}"
            )
    return None


def has_shape(value, shape):
    """A numeric array of exactly this shape.

    Examples
    --------
    >>> has_shape(np.zeros((3, 2)), (3, 2)) is None
    True
    >>> has_shape([1, 2, 3], (3, 2))
    'expected an array of shape (3, 2), got shape (3,)'
    """
    arr = _as_float(value)
    if arr is None:
        return f"expected a numeric array, got {describe(value)}"
    if arr.shape != tuple(shape):
        return f"expected an array of shape {tuple(shape)}, got shape {arr.shape}"
    return None


def is_distribution(value, atol: float = 1e-6):
    """Non-negative numbers that sum to 1 (a table is one joint distribution).

    Examples
    --------
    >>> is_distribution([[0.25, 0.25], [0.5, 0.0]]) is None
    True
    >>> is_distribution([0.5, 0.6])
    'the entries sum to 1.1, not 1'
    """
    arr = _as_float(value)
    if arr is None or arr.size == 0:
        return f"expected an array of probabilities, got {describe(value)}"
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        return "the table has negative or non-finite entries"
    total = float(arr.sum())
    if abs(total - 1) > atol:
        return f"the entries sum to {total:.6g}, not 1"
    return None


def uncorrelated_dependent(value, min_bits: float = 0.01, atol: float = 1e-9):
    """``[x_values, y_values, pxy]``: zero correlation, positive mutual information.

    ``pxy[i, j] = P(X = x_values[i], Y = y_values[j])``.

    Examples
    --------
    >>> xs, ys = [-1, 0, 1], [0, 1]
    >>> pxy = [[0, 1/3], [1/3, 0], [0, 1/3]]  # Y = X**2
    >>> uncorrelated_dependent([xs, ys, pxy]) is None
    True
    >>> uncorrelated_dependent([xs, ys, [[1/6, 1/6]] * 3])
    'X and Y are independent (I(X;Y) = 0 bits); make Y depend on X'
    """
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return "expected [x_values, y_values, pxy]"
    xs, ys, pxy = (_as_float(v) for v in value)
    if xs is None or ys is None or pxy is None or xs.ndim != 1 or ys.ndim != 1:
        return "x_values and y_values must be 1-D arrays of numbers"
    if pxy.shape != (xs.size, ys.size):
        return (
            f"pxy must have shape (len(x_values), len(y_values)) = "
            f"{(xs.size, ys.size)}, got {pxy.shape}"
        )
    problem = is_distribution(pxy)
    if problem:
        return "pxy is not a joint distribution: " + problem
    px, py = pxy.sum(axis=1), pxy.sum(axis=0)
    cov = float(xs @ pxy @ ys - (px @ xs) * (py @ ys))
    if abs(cov) > atol:
        return f"Cov(X, Y) = {cov:.3g}, not 0: X and Y are correlated"
    var_x, var_y = px @ xs**2 - (px @ xs) ** 2, py @ ys**2 - (py @ ys) ** 2
    if var_x <= atol or var_y <= atol:
        return "X or Y is constant, so the correlation is undefined"
    from itutils.measures import mutual_information

    mi = mutual_information(pxy)
    if mi < min_bits:
        if mi < 1e-12:
            return "X and Y are independent (I(X;Y) = 0 bits); make Y depend on X"
        return f"I(X;Y) = {mi:.3g} bits is too small to convince (want >= {min_bits})"
    return None


def rate_distortion_trend(value, betas=(0.5, 1.0, 2.0)):
    """``{beta: [rate, distortion]}``: positive numbers, rate falling with beta.

    A larger beta prices information in the latent code higher, so the
    trained encoder sends less of it (a lower rate) and the reconstruction
    gets worse (a higher distortion).

    Examples
    --------
    >>> rate_distortion_trend({0.5: [20.0, 30.0], 1.0: [12.0, 35.0], 2.0: [6.0, 45.0]})
    >>> rate_distortion_trend({0.5: [5.0, 30.0], 1.0: [12.0, 35.0], 2.0: [6.0, 45.0]})
    'the rate should fall as beta grows, got rates [5.0, 12.0, 6.0] nats'
    """
    if not isinstance(value, dict) or sorted(value) != sorted(betas):
        return f"expected a dict with keys {list(betas)}, got {describe(value)}"
    rates, distortions = [], []
    for beta in sorted(betas):
        pair = _as_float(value[beta])
        if pair is None or pair.shape != (2,) or not np.all(np.isfinite(pair)):
            return f"beta={beta} needs [rate, distortion], got {describe(value[beta])}"
        rates.append(float(pair[0]))
        distortions.append(float(pair[1]))
    if min(rates) < 0 or min(distortions) <= 0:
        return "rates must be >= 0 and distortions > 0 (both in nats)"
    if not all(a > b for a, b in zip(rates, rates[1:], strict=False)):
        return f"the rate should fall as beta grows, got rates {rates} nats"
    if not distortions[-1] > distortions[0]:
        return (
            f"the distortion should be larger at beta={max(betas)} than at "
            f"beta={min(betas)}, got {distortions} nats"
        )
    return None


def ordered_bounds(value):
    """``[elbo, iwae]`` in nats: finite, negative, and ``elbo <= iwae``.

    Both bound ``log p(x) < 0`` (for binary data) from below, and the
    importance-weighted bound is the tighter one.

    Examples
    --------
    >>> ordered_bounds([-25.0, -24.7]) is None
    True
    >>> ordered_bounds([-24.0, -25.0])
    'the ELBO (-24 nats) should not exceed the IWAE bound (-25 nats)'
    """
    arr = _as_float(value)
    if arr is None or arr.shape != (2,) or not np.all(np.isfinite(arr)):
        return f"expected [elbo, iwae], two finite numbers, got {describe(value)}"
    elbo, iwae = (float(v) for v in arr)
    if iwae >= 0 or elbo >= 0:
        return "log-likelihood bounds of binary images must be negative (nats)"
    if elbo > iwae + 1e-9:
        return (
            f"the ELBO ({elbo:g} nats) should not exceed the IWAE bound ({iwae:g} nats)"
        )
    return None


#: Parameter shapes of the exercise sheets' VAE, in ``model.parameters()`` order:
#: encoder 64 -> 32 (tanh) -> (mu, logvar) in 2-D, decoder 2 -> 32 (tanh) -> 64
#: Bernoulli logits (torch ``Linear`` weights are ``(out, in)``).
VAE_SHAPES = ((32, 64), (32,), (4, 32), (4,), (32, 2), (32,), (64, 32), (64,))


def _vae_weights(value):
    """The weights as float64 arrays, or a sentence saying what is wrong."""
    if not isinstance(value, (list, tuple)) or len(value) != len(VAE_SHAPES):
        return None, (
            f"expected the {len(VAE_SHAPES)} parameter arrays of the sheet's VAE "
            f"(list(model.parameters())), got {describe(value, 80)}"
        )
    arrays = [_as_float(v) for v in value]
    for arr, shape in zip(arrays, VAE_SHAPES, strict=True):
        if arr is None or arr.shape != shape or not np.all(np.isfinite(arr)):
            got = "?" if arr is None else arr.shape
            return None, (
                f"a parameter of shape {got} where the sheet's VAE has {shape} "
                "(or it is not finite): keep the model of the sheet"
            )
    return arrays, None


@functools.lru_cache(maxsize=1)
def _test_images() -> np.ndarray:
    from itutils.data import load_digits_binary

    return load_digits_binary().x_test.numpy().astype(np.float64)


def vae_test_terms(weights, n_samples: int = 50, seed: int = 0):
    """Per test image: ``(rate, distortion, log_w)`` of the sheet's VAE, in nats.

    Recomputed here in numpy from the model's weights (not with the
    learner's code): the rate is the closed-form KL of ``q(z|x)`` from
    ``N(0, I)``; the distortion averages ``-log p(x|z)`` over ``n_samples``
    draws ``z ~ q(z|x)``; ``log_w[s, i] = log p(x_i, z_s) - log q(z_s|x_i)``
    are the importance weights of the same draws, shape ``(n_samples, n)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> weights = [rng.normal(0, 0.1, shape) for shape in VAE_SHAPES]
    >>> rate, distortion, log_w = vae_test_terms(weights, n_samples=5)
    >>> rate.shape, log_w.shape
    ((450,), (5, 450))
    >>> bool(np.allclose(-log_w.mean(0), distortion + rate, atol=2.0))
    True
    """
    w1, b1, w2, b2, w3, b3, w4, b4 = (np.asarray(w, dtype=np.float64) for w in weights)
    x = _test_images()
    mu, logvar = np.split(np.tanh(x @ w1.T + b1) @ w2.T + b2, 2, axis=1)
    rate = 0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1.0, axis=1)
    eps = np.random.default_rng(seed).standard_normal((n_samples, *mu.shape))
    z = mu + np.exp(0.5 * logvar) * eps
    logits = np.tanh(z @ w3.T + b3) @ w4.T + b4
    nll = np.sum(np.logaddexp(0.0, logits) - x * logits, axis=-1)  # (S, n)
    # log p(z) - log q(z|x) for z = mu + sigma * eps
    log_prior_ratio = 0.5 * np.sum(eps**2 + logvar - z**2, axis=-1)
    return rate, nll.mean(axis=0), log_prior_ratio - nll


def _vae_means(weights) -> np.ndarray:
    w1, b1, w2, b2 = (np.asarray(w, dtype=np.float64) for w in weights[:4])
    return np.split(np.tanh(_test_images() @ w1.T + b1) @ w2.T + b2, 2, axis=1)[0]


def vae_bound_below(value, limit: float, baseline: float):
    """The VAE with these weights has a test negative ELBO below ``limit`` nats.

    ``value`` is ``list(model.parameters())`` as arrays; ``baseline`` is the
    no-code model's test loss, named in the message.

    Examples
    --------
    >>> flat = [np.zeros(shape) for shape in VAE_SHAPES]  # logits 0: ln 2 per pixel
    >>> print(vae_bound_below(flat, 22.0, 24.6))
    the grader measured a negative ELBO of 44.36 nats on the test images for this \
model; it must be below 22 nats (the no-code baseline 24.6 nats minus the margin)
    """
    weights, problem = _vae_weights(value)
    if problem:
        return problem
    rate, distortion, _ = vae_test_terms(weights)
    nelbo = float(np.mean(rate + distortion))
    if nelbo < limit:
        return None
    return (
        f"the grader measured a negative ELBO of {nelbo:.2f} nats on the test images "
        f"for this model; it must be below {limit:g} nats (the no-code baseline "
        f"{baseline:g} nats minus the margin)"
    )


def vae_reports(value, atol: float = 0.3):
    """``[weights, {name: number}]``: reported numbers match the model's own.

    Names: ``"rate"`` and ``"distortion"`` (test means), ``"elbo"`` (the
    test mean of ``-(rate + distortion)``), ``"iwae_K"`` for an integer
    ``K`` (the importance-weighted bound with ``K`` samples) and ``"mu"``
    (the encoder's means of the test images, shape ``(450, 2)``). The
    grader recomputes each from the weights; Monte Carlo numbers must agree
    within ``atol`` nats, the closed-form rate within 0.01 nats and the
    means within 1e-4.

    Examples
    --------
    >>> flat = [np.zeros(shape) for shape in VAE_SHAPES]
    >>> vae_reports([flat, {"rate": 0.0, "distortion": 64 * np.log(2)}]) is None
    True
    >>> vae_reports([flat, {"rate": 0.0, "distortion": 30.0}])
    'distortion: you report 30 nats, the grader measures 44.36 nats for this model'
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return "expected [weights, {name: number}]"
    weights, problem = _vae_weights(value[0])
    if problem:
        return problem
    reported = value[1]
    if not isinstance(reported, dict) or not reported:
        return f"expected a dict of reported numbers, got {describe(reported)}"
    rate, distortion, _ = vae_test_terms(weights)
    for name, number in reported.items():
        if name == "mu":
            problem = matches(number, _vae_means(weights), atol=1e-4, rtol=0.0)
            if problem:
                return f"mu: {problem}: not the encoder's means of the test images"
            continue
        if is_number(number):
            return f"{name}: expected a number, got {describe(number)}"
        if name == "rate":
            truth, tol = float(rate.mean()), 0.01
        elif name == "distortion":
            truth, tol = float(distortion.mean()), atol
        elif name == "elbo":
            truth, tol = float(-(rate + distortion).mean()), atol
        elif isinstance(name, str) and name.startswith("iwae_") and name[5:].isdigit():
            k = int(name[5:])
            log_w = vae_test_terms(weights, n_samples=k * 4, seed=1)[2]
            groups = log_w.reshape(4, k, -1)  # four independent bounds per image
            top = groups.max(axis=1, keepdims=True)
            bound = top[:, 0] + np.log(np.mean(np.exp(groups - top), axis=1))
            truth, tol = float(bound.mean()), atol
        else:
            return f"unknown name {name!r}"
        if abs(float(number) - truth) > tol:
            return (
                f"{name}: you report {float(number):.4g} nats, the grader measures "
                f"{truth:.4g} nats for this model"
            )
    return None


def amortisation_gap(value, min_gap: float = 0.02, atol: float = 0.3,
                     gap_atol: float = 0.1, n_samples: int = 200, seed: int = 2):
    """``[weights, mu, logvar, {"encoder", "per_image", "gap"}]``: a real gap.

    ``mu`` and ``logvar`` (shape ``(n, 2)``) are per-image Gaussians fitted
    to the first ``n`` test images with the decoder of ``weights`` fixed. The
    grader recomputes, in numpy and on the same ``n_samples`` draws for both,
    the mean ELBO of those images under the encoder's ``q(z|x)`` and under the
    fitted Gaussians. The reported ELBOs must agree within ``atol`` nats, the
    reported gap (per-image minus encoder) within ``gap_atol``, and the fitted
    Gaussians must beat the encoder by at least ``min_gap`` nats.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> weights = [rng.normal(0, 0.3, shape) for shape in VAE_SHAPES]
    >>> mu, logvar = np.zeros((5, 2)), np.zeros((5, 2))  # the prior, not fitted
    >>> print(amortisation_gap([weights, mu, logvar,
    ...                         {"encoder": 0.0, "per_image": 0.0, "gap": 0.0}])[:38])
    encoder: you report 0 nats, the grader
    """
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return "expected [weights, mu, logvar, {name: number}]"
    weights, problem = _vae_weights(value[0])
    if problem:
        return problem
    mu_fit, logvar_fit = _as_float(value[1]), _as_float(value[2])
    if mu_fit is None or logvar_fit is None or mu_fit.ndim != 2 or (
        mu_fit.shape != logvar_fit.shape or mu_fit.shape[1] != 2
        or not 1 <= len(mu_fit) <= len(_test_images())
    ):
        return (f"expected mu and logvar of shape (n, 2), got {describe(value[1], 60)} "
                f"and {describe(value[2], 60)}")
    if not (np.all(np.isfinite(mu_fit)) and np.all(np.isfinite(logvar_fit))):
        return "the fitted mu or logvar is not finite"
    reported = value[3]
    names = {"encoder", "per_image", "gap"}
    if not isinstance(reported, dict) or set(reported) != names:
        return f'expected {{"encoder", "per_image", "gap"}}, got {describe(reported)}'
    for name, number in reported.items():
        if is_number(number):
            return f"{name}: expected a number, got {describe(number)}"
    w1, b1, w2, b2, w3, b3, w4, b4 = (np.asarray(w, dtype=np.float64) for w in weights)
    x = _test_images()[: len(mu_fit)]
    mu_enc, logvar_enc = np.split(np.tanh(x @ w1.T + b1) @ w2.T + b2, 2, axis=1)
    eps = np.random.default_rng(seed).standard_normal((n_samples, *mu_fit.shape))

    def elbo(mu, logvar):
        z = mu + np.exp(0.5 * logvar) * eps
        logits = np.tanh(z @ w3.T + b3) @ w4.T + b4
        nll = np.sum(np.logaddexp(0.0, logits) - x * logits, axis=-1).mean(axis=0)
        rate = 0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1.0, axis=1)
        return float(np.mean(-(nll + rate)))

    encoder, per_image = elbo(mu_enc, logvar_enc), elbo(mu_fit, logvar_fit)
    truth = {"encoder": (encoder, atol), "per_image": (per_image, atol),
             "gap": (per_image - encoder, gap_atol)}
    for name, (value_true, tol) in truth.items():
        if abs(float(reported[name]) - value_true) > tol:
            return (f"{name}: you report {float(reported[name]):.4g} nats, the grader "
                    f"measures {value_true:.4g} nats for this model and these "
                    "Gaussians")
    if per_image - encoder < min_gap:
        return (f"the fitted Gaussians beat the encoder's q by only "
                f"{per_image - encoder:.3f} nats (the grader's measurement); fitting "
                f"each image's ELBO from the encoder's start should gain at least "
                f"{min_gap} nats")
    return None


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _nll(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(_log_softmax(logits)[np.arange(len(labels)), labels]))


def _ece(logits: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    probs = np.exp(_log_softmax(logits))
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.arange(n_bins + 1) / n_bins
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(which):
        in_bin = which == b
        total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def _best_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    fit = minimize_scalar(
        lambda log_t: _nll(logits / np.exp(log_t), labels),
        bounds=(-5.0, 5.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(np.exp(fit.x))


def calibration_rows(value, val_labels, test_labels, n_bins: int = 15):
    """``[val_logits, test_logits, table]`` for one smoothing strength, recomputed.

    ``val_logits`` and ``test_logits`` hold one array of logits per data
    split; ``table`` one row per split: ``[test NLL, test ECE, T, test NLL
    after, test ECE after]`` with the temperature ``T`` fitted on the
    validation logits by minimising their NLL. The grader recomputes every
    entry from the logits with its own code (natural-log NLL, top-label ECE
    with ``n_bins`` equal-width bins ``(b/B, (b+1)/B]``) and checks that
    each model is a trained classifier (test accuracy at least 0.9).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 3, 200)
    >>> logits = 4 * np.eye(3)[labels] + rng.normal(size=(200, 3))
    >>> row = [_nll(logits, labels), _ece(logits, labels, 15), 1.0,
    ...        _nll(logits, labels), _ece(logits, labels, 15)]
    >>> problem = calibration_rows([[logits], [logits], [row]], [labels], [labels])
    >>> problem.startswith("split 0: T")
    True
    """
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return "expected [val_logits, test_logits, table]"
    val_logits, test_logits, table = value
    table = _as_float(table)
    n = len(test_labels)
    if (
        not isinstance(val_logits, (list, tuple))
        or not isinstance(test_logits, (list, tuple))
        or len(val_logits) != n
        or len(test_logits) != n
        or table is None
        or table.shape != (n, 5)
    ):
        return (
            f"expected {n} validation and {n} test logit arrays and a table of "
            f"shape ({n}, 5), got {describe(value, 120)}"
        )
    names = ["the test NLL", "the test ECE", "T", "the NLL after scaling",
             "the ECE after scaling"]
    for i, (zv, zt, yv, yt, row) in enumerate(
        zip(val_logits, test_logits, val_labels, test_labels, table, strict=True)
    ):
        zv, zt = _as_float(zv), _as_float(zt)
        yv, yt = np.asarray(yv), np.asarray(yt)
        if (
            zv is None
            or zt is None
            or zv.ndim != 2
            or zv.shape[0] != len(yv)
            or zt.shape != (len(yt), zv.shape[1])
        ):
            return f"split {i}: logits of shape (n, K) expected, one row per image"
        accuracy = float(np.mean(zt.argmax(axis=1) == yt))
        if accuracy < 0.9:
            return f"split {i}: test accuracy {accuracy:.3f}: is this a trained model?"
        t_best = _best_temperature(zv, yv)
        temperature = float(row[2])
        if not temperature > 0:
            return f"split {i}: T must be positive, got {temperature:g}"
        truth = [_nll(zt, yt), _ece(zt, yt, n_bins), t_best,
                 _nll(zt / temperature, yt), _ece(zt / temperature, yt, n_bins)]
        for name, got, want in zip(names, row, truth, strict=True):
            tolerance = 1e-3 * want if name == "T" else 1e-6
            if not abs(float(got) - want) <= tolerance:
                return (
                    f"split {i}: {name} is {float(got):.6g}, the grader computes "
                    f"{want:.6g} from your logits"
                )
    return None

"""The chapter 3 explorers and the pure functions behind them.

References are independent of itutils.estimators: a brute-force O(N^2) KSG
written here from Kraskov et al.'s definition, scikit-learn's
``mutual_info_score`` for the plug-in MI, Miller-Madow from raw counts, and
the closed form ``-0.5 ln(1 - rho^2)``; for the variational explorer, the
bounds written out in numpy with the Gaussian critic from the densities.
"""

import math

import matplotlib
import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.special import digamma, logsumexp
from sklearn.metrics import mutual_info_score

from itutils.widgets.mutual_information import (
    BATCH_SIZES,
    DISCRETE_SAMPLE_SIZES,
    SAMPLE_SIZES,
    VARIATIONAL_YLIM,
    correlated_gaussian_pair,
    diagonal_joint,
    discrete_estimates,
    discrete_mi_explorer,
    ksg_explorer,
    ksg_spread,
    optimal_critic_bounds,
    sample_joint,
    variational_explorer,
)

LN2 = math.log(2)


def brute_force_ksg(x, y, k=3):
    """KSG variant 1 in nats, straight from the paper: all pairwise distances."""
    x, y = np.asarray(x)[:, None], np.asarray(y)[:, None]
    dx, dy = cdist(x, x, "chebyshev"), cdist(y, y, "chebyshev")
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    eps = np.sort(dz, axis=1)[:, k - 1]
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = (dx < eps[:, None]).sum(axis=1)
    ny = (dy < eps[:, None]).sum(axis=1)
    return digamma(k) + digamma(len(x)) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def truth_bits(pxy):
    pxy = np.asarray(pxy)
    prod = pxy.sum(1, keepdims=True) * pxy.sum(0, keepdims=True)
    nz = pxy > 0
    return float(np.sum(pxy[nz] * np.log2(pxy[nz] / prod[nz])))


def miller_madow_mi_bits(x, y):
    def h(labels):
        counts = np.unique(labels, return_counts=True, axis=0)[1]
        p = counts / counts.sum()
        return -np.sum(p * np.log(p)) + (len(counts) - 1) / (2 * len(labels))

    return (h(x) + h(y) - h(np.column_stack([x, y]))) / LN2


def test_correlated_pair_has_the_asked_correlation_and_shared_noise():
    x1, y1 = correlated_gaussian_pair(0.3, 200_000, seed=3)
    x2, y2 = correlated_gaussian_pair(-0.8, 200_000, seed=3)
    assert np.array_equal(x1, x2)
    assert np.corrcoef(x1, y1)[0, 1] == pytest.approx(0.3, abs=0.01)
    assert np.corrcoef(x2, y2)[0, 1] == pytest.approx(-0.8, abs=0.01)
    with pytest.raises(ValueError, match="rho"):
        correlated_gaussian_pair(1.0, 10)


@pytest.mark.parametrize("rho, n", [(0.0, 100), (0.6, 200), (-0.9, 300)])
def test_ksg_spread_matches_brute_force_ksg(rho, n):
    r = ksg_spread(rho, n, repeats=4)
    ref = [brute_force_ksg(*correlated_gaussian_pair(rho, n, s)) for s in range(4)]
    np.testing.assert_allclose(r["estimates"], ref, rtol=1e-10, atol=1e-12)
    assert r["mean"] == pytest.approx(np.mean(ref), abs=1e-12)
    assert r["sd"] == pytest.approx(np.std(ref, ddof=1), abs=1e-12)
    assert r["analytic"] == pytest.approx(-0.5 * math.log(1 - rho**2), abs=1e-15)


def test_ksg_spread_is_close_to_the_truth_at_the_largest_n():
    for rho in (0.3, 0.9):
        r = ksg_spread(rho, 2000)
        # Ten repeats: the mean is within a few standard errors (plus the
        # small KSG bias) of the closed form.
        assert abs(r["mean"] - r["analytic"]) < 3 * r["sd"] / math.sqrt(10) + 0.01


def test_sample_joint_follows_the_table():
    p = diagonal_joint()
    x, y = sample_joint(p, 200_000, repeats=1, seed=5)
    freq = np.zeros_like(p)
    np.add.at(freq, (x[0], y[0]), 1)
    np.testing.assert_allclose(freq / freq.sum(), p, atol=3e-3)
    closed = math.log2(6) - (0.5 + 5 * 0.1 * math.log2(10))
    assert truth_bits(p) == pytest.approx(closed)


@pytest.mark.parametrize("n", [20, 200, 2000])
def test_discrete_estimates_against_sklearn_and_counts(n):
    r = discrete_estimates(n, repeats=5)
    xs, ys = sample_joint(diagonal_joint(), n, 5, seed=0)
    plugin = [mutual_info_score(x, y) / LN2 for x, y in zip(xs, ys, strict=True)]
    miller = [miller_madow_mi_bits(x, y) for x, y in zip(xs, ys, strict=True)]
    kx = [len(np.unique(x)) for x in xs]
    ky = [len(np.unique(y)) for y in ys]
    corrected = [p - (a - 1) * (b - 1) / (2 * n) / LN2
                 for p, a, b in zip(plugin, kx, ky, strict=True)]
    assert r["truth"] == pytest.approx(truth_bits(diagonal_joint()), abs=1e-12)
    for name, ref in [("plugin", plugin), ("miller_madow", miller),
                      ("bias_corrected", corrected)]:
        assert r[f"{name}_mean"] == pytest.approx(np.mean(ref), abs=1e-10)
        assert r[f"{name}_sd"] == pytest.approx(np.std(ref, ddof=1), abs=1e-10)


def test_ksg_explorer_follows_its_sliders():
    explorer = ksg_explorer()
    assert explorer.sliders["n"].options == SAMPLE_SIZES
    for rho, n in [(0.5, 100), (-0.3, 50), (0.9, 200)]:
        explorer.sliders["rho"].value = rho
        explorer.sliders["n"].value = n
        rho_shown = explorer.sliders["rho"].value
        shown = explorer.shown
        assert shown["analytic"] == pytest.approx(-0.5 * math.log(1 - rho_shown**2))
        ref = [brute_force_ksg(*correlated_gaussian_pair(rho_shown, n, s))
               for s in range(10)]
        np.testing.assert_allclose(shown["estimates"], ref, rtol=1e-10, atol=1e-12)
        assert len(explorer.figure.axes) == 2


def test_discrete_explorer_follows_its_slider():
    explorer = discrete_mi_explorer()
    assert explorer.sliders["n"].options == DISCRETE_SAMPLE_SIZES
    means = []
    for n in [20, 200, 5000]:
        explorer.sliders["n"].value = n
        xs, ys = sample_joint(diagonal_joint(), n, 10, seed=0)
        plugin = [mutual_info_score(x, y) / LN2 for x, y in zip(xs, ys, strict=True)]
        shown = explorer.shown["plugin_mean"]
        assert shown == pytest.approx(np.mean(plugin), abs=1e-10)
        means.append(explorer.shown["plugin_mean"])
    # The plug-in bias shrinks as N grows, towards the truth.
    assert means == sorted(means, reverse=True)
    assert means[-1] - explorer.shown["truth"] < 0.01


# --- the variational-bound explorer -------------------------------------------


def optimal_critic_reference(mi, n, batches, dim=5, seed=0):
    """Per-batch InfoNCE, NWJ (critic + 1), DV in nats, from the definitions.

    The batches are drawn exactly as ``gaussian_pairs`` documents it (x, then
    z, from a seeded torch generator); the critic is written out from the
    Gaussian densities, the bounds in numpy.
    """
    g = torch.Generator().manual_seed(seed)
    shape = (batches, n, dim)
    x = torch.randn(shape, generator=g, dtype=torch.float64).numpy()
    z = torch.randn(shape, generator=g, dtype=torch.float64).numpy()
    rho = math.sqrt(1 - math.exp(-2 * mi / dim))
    y = rho * x + math.sqrt(1 - rho**2) * z
    diff = y[:, None, :, :] - rho * x[:, :, None, :]  # [b, i, j] = y_j - rho x_i
    f = (-0.5 * dim * math.log(1 - rho**2) - (diff**2).sum(-1) / (2 * (1 - rho**2))
         + 0.5 * (y**2).sum(-1)[:, None, :])
    off = ~np.eye(n, dtype=bool)
    diag = np.diagonal(f, axis1=1, axis2=2)
    infonce = (diag - logsumexp(f, axis=2)).mean(axis=1) + math.log(n)
    nwj = (diag + 1).mean(axis=1) - np.exp(-1) * np.exp(f[:, off] + 1).mean(axis=1)
    dv = diag.mean(axis=1) - np.log(np.exp(f[:, off]).mean(axis=1))
    return {"infonce": infonce, "nwj": nwj, "dv": dv}


@pytest.mark.parametrize("mi, n", [(0.5, 4), (4.0, 16), (8.0, 64)])
def test_optimal_critic_bounds_match_the_definitions(mi, n):
    r = optimal_critic_bounds(mi, n, n_batches=12)
    ref = optimal_critic_reference(mi, n, 12)
    assert r["truth"] == mi and r["log_n"] == pytest.approx(math.log(n))
    assert r["n"] == n and r["batches"] == 12
    for name, values in ref.items():
        np.testing.assert_allclose(r[name], values, rtol=1e-9, atol=1e-9)
        assert r[f"{name}_mean"] == pytest.approx(values.mean(), abs=1e-9)
        assert r[f"{name}_sd"] == pytest.approx(values.std(ddof=1), abs=1e-9)
    assert max(r["infonce"]) <= math.log(n)


def test_optimal_critic_bounds_default_batches_keep_moves_small():
    for n in BATCH_SIZES:
        r = optimal_critic_bounds(2.0, n)
        assert 8 <= r["batches"] <= 200
        assert r["batches"] * n * n <= max(2**18, 8 * n * n)


def test_variational_explorer_follows_its_sliders():
    explorer = variational_explorer()
    assert explorer.sliders["n"].options == BATCH_SIZES
    assert explorer.shown["truth"] == 4.0 and explorer.shown["n"] == 16
    for mi, n in [(2.0, 64), (10.0, 4), (6.5, 256), (5.5, 4)]:
        explorer.sliders["mi"].value = mi
        explorer.sliders["n"].value = n
        shown = explorer.shown
        ref = optimal_critic_reference(mi, n, shown["batches"])
        np.testing.assert_allclose(shown["nwj"], ref["nwj"], rtol=1e-9, atol=1e-9)
        assert shown["log_n"] == pytest.approx(math.log(n))
        ax = explorer.figure.axes[0]
        assert ax.get_ylim() == VARIATIONAL_YLIM  # the axis never rescales
        lo, hi = VARIATIONAL_YLIM
        labels = [t.get_text() for t in ax.get_xticklabels()]
        for label, name in zip(labels, ("infonce", "nwj", "dv"), strict=True):
            est = np.array(shown[name])
            off = int(np.sum((est < lo) | (est > hi)))
            assert (f"{off} off scale" in label) == (off > 0)
            mean_off = not lo <= shown[f"{name}_mean"] <= hi
            assert label.endswith(", mean too") == mean_off


@pytest.mark.parametrize("factory", [ksg_explorer, discrete_mi_explorer,
                                     variational_explorer])
def test_explorer_figures_follow_the_course_rules(factory):
    explorer = factory()
    fig = explorer.figure
    width, height = fig.get_size_inches()
    assert width <= 7.5 and height <= 4.0
    fig.canvas.draw()
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_text() and text.get_visible():
            assert text.get_fontsize() >= 10, text.get_text()


def _stops(control):
    """Every option of a selection slider, there and back; a float slider's
    ends and middle."""
    options = list(getattr(control, "options", ()))
    if options:
        return options[1:] + options[-2::-1]
    middle = round((control.min + control.max) / 2 / control.step) * control.step
    return [control.min, control.max, middle]


@pytest.mark.parametrize("factory", [ksg_explorer, discrete_mi_explorer,
                                     variational_explorer])
def test_explorer_moves_repaint_only_the_live_layer(factory):
    explorer = factory()
    figure, pictures = explorer.figure, {explorer.png()}
    for name, control in explorer.sliders.items():
        for value in _stops(control):
            control.value = value
            pictures.add(explorer.png())
        # No control changes the axes: one figure, its live layer repainted,
        # and the picture is the one a new figure for these values shows.
        assert explorer.figure is figure and explorer.redraws == 1, name
        assert explorer.png() == explorer.redrawn_png(), name
    assert explorer.updates > explorer.redraws and len(pictures) > 1

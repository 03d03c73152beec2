"""The chapter 2 explorers and the pure functions behind them.

References are independent of itutils: torch.distributions for the closed-form
Gaussian KL, scipy.integrate.quad for the integrals, scipy/torch for softmax.
"""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special
from scipy.stats import norm
from torch.distributions import Normal, kl_divergence

from itutils.widgets.divergence import (
    gaussian_divergences,
    gaussian_grid,
    kl_explorer,
    log_softmax,
    logit_explorer,
    numeric_js,
    numeric_kl,
    softmax,
    softmax_loss,
)

CASES = [(0.0, 1.0), (1.0, 1.0), (-2.5, 0.4), (3.0, 2.5), (0.7, 0.2)]


def torch_kl(m0, s0, m1, s1):
    """KL(N(m0, s0^2) || N(m1, s1^2)) in nats, from torch."""
    def t(v):
        return torch.tensor(float(v), dtype=torch.float64)

    return float(kl_divergence(Normal(t(m0), t(s0)), Normal(t(m1), t(s1))))


def quad_kl(m0, s0, m1, s1):
    def integrand(x):
        return norm.pdf(x, m0, s0) * (norm.logpdf(x, m0, s0) - norm.logpdf(x, m1, s1))

    return integrate.quad(integrand, m0 - 15 * s0, m0 + 15 * s0, limit=200)[0]


def quad_js(m0, s0, m1, s1):
    def term(x, a, b):
        p, q = norm.pdf(x, *a), norm.pdf(x, *b)
        m = 0.5 * (p + q)
        return special.rel_entr(p, m)

    lo = min(m0 - 15 * s0, m1 - 15 * s1)
    hi = max(m0 + 15 * s0, m1 + 15 * s1)
    a, b = (m0, s0), (m1, s1)
    kl_pm = integrate.quad(term, lo, hi, args=(a, b), limit=400, points=[m0, m1])[0]
    kl_qm = integrate.quad(term, lo, hi, args=(b, a), limit=400, points=[m0, m1])[0]
    return 0.5 * (kl_pm + kl_qm)


@pytest.mark.parametrize("mu, sigma", CASES)
def test_numeric_kl_matches_torch_closed_form(mu, sigma):
    x = gaussian_grid(0.0, 1.0, mu, sigma)
    lp, lq = norm.logpdf(x), norm.logpdf(x, mu, sigma)
    assert numeric_kl(lp, lq, x, base=np.e) == pytest.approx(
        torch_kl(0, 1, mu, sigma), rel=1e-6, abs=1e-9
    )
    assert numeric_kl(lq, lp, x, base=np.e) == pytest.approx(
        torch_kl(mu, sigma, 0, 1), rel=1e-6, abs=1e-9
    )
    # Bits are nats divided by ln 2.
    assert numeric_kl(lp, lq, x) == pytest.approx(
        torch_kl(0, 1, mu, sigma) / math.log(2), rel=1e-6, abs=1e-9
    )


@pytest.mark.parametrize("mu, sigma", CASES)
def test_numeric_js_matches_quad_and_is_symmetric_and_bounded(mu, sigma):
    x = gaussian_grid(0.0, 1.0, mu, sigma)
    lp, lq = norm.logpdf(x), norm.logpdf(x, mu, sigma)
    js = numeric_js(lp, lq, x, base=np.e)
    assert js == pytest.approx(quad_js(0, 1, mu, sigma), rel=1e-5, abs=1e-8)
    assert js == pytest.approx(numeric_js(lq, lp, x, base=np.e), rel=1e-12, abs=1e-15)
    assert 0.0 <= js <= math.log(2)


def test_numeric_kl_is_infinite_when_q_misses_p_support():
    x = np.linspace(-10, 10, 2001)
    uniform = np.where(np.abs(x) <= 3, -math.log(6), -np.inf)
    assert numeric_kl(norm.logpdf(x), uniform, x) == math.inf
    # The other direction is finite: -ln 6 + ln(2 pi)/2 + Var(U)/2, Var = 3.
    closed = -math.log(6) + 0.5 * math.log(2 * math.pi) + 1.5
    xs = np.linspace(-3, 3, 6001)
    u = np.full_like(xs, -math.log(6))
    kl_up = numeric_kl(u, norm.logpdf(xs), xs, base=np.e)
    assert kl_up == pytest.approx(closed, rel=1e-9)


def test_numeric_kl_refuses_bad_input():
    x = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="same length"):
        numeric_kl(np.zeros(5), np.zeros(4), x)
    with pytest.raises(ValueError, match="NaN"):
        numeric_kl(np.full(5, np.nan), np.zeros(5), x)
    with pytest.raises(ValueError, match="positive"):
        gaussian_grid(0, 1, 0, 0)


def test_softmax_and_log_softmax_against_scipy_and_torch():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=5, size=(7, 4))
    expected = special.softmax(z, axis=1)
    np.testing.assert_allclose(softmax(z, axis=1), expected, rtol=1e-12)
    huge = np.array([[1000.0, 990.0, 0.0], [-1000.0, -1000.0, -999.0]])
    expected = torch.log_softmax(torch.tensor(huge, dtype=torch.float64), dim=1).numpy()
    np.testing.assert_allclose(log_softmax(huge), expected, rtol=1e-12, atol=1e-12)
    assert np.isfinite(log_softmax(huge)).all()
    with pytest.raises(ValueError, match="finite"):
        log_softmax([1.0, np.nan])


@pytest.mark.parametrize("z", [-5.0, 0.0, 3.5, 10.0])
def test_softmax_loss_matches_torch_cross_entropy(z):
    r = softmax_loss(z, other_logits=(1.0, 0.5, 0.8), true_class=1)
    logits = torch.tensor([[1.0, z, 0.5, 0.8]], dtype=torch.float64)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([1]))
    assert r["loss_nats"] == pytest.approx(float(loss), rel=1e-12)
    np.testing.assert_allclose(r["probabilities"], special.softmax(logits.numpy()[0]))
    assert r["logits"] == (1.0, z, 0.5, 0.8)


def test_kl_explorer_shows_numbers_that_match_references():
    explorer = kl_explorer()
    for mu, sigma in [(2.0, 1.0), (-1.5, 0.5), (0.0, 3.0), (0.0, 1.0)]:
        explorer.sliders["mu"].value = mu
        explorer.sliders["sigma"].value = sigma
        shown = explorer.shown
        expected = {
            "kl_pq": quad_kl(0, 1, mu, sigma),
            "kl_qp": quad_kl(mu, sigma, 0, 1),
            "kl_pq_closed": torch_kl(0, 1, mu, sigma),
            "kl_qp_closed": torch_kl(mu, sigma, 0, 1),
            "js": quad_js(0, 1, mu, sigma),
        }
        assert shown == pytest.approx(expected, rel=1e-5, abs=1e-9)
        assert len(explorer.figure.axes) == 2
    # P = Q: every divergence is zero (up to rounding, never negative).
    assert all(0.0 <= v < 1e-12 for v in shown.values())


def test_gaussian_divergences_is_the_explorer_function():
    assert gaussian_divergences(1.0, 2.0)["kl_pq_closed"] == pytest.approx(
        torch_kl(0, 1, 1, 2)
    )
    bits = gaussian_divergences(1.0, 2.0, base=2)
    assert bits["kl_qp"] == pytest.approx(torch_kl(1, 2, 0, 1) / math.log(2), rel=1e-6)


def test_logit_explorer_follows_the_slider():
    explorer = logit_explorer()
    losses = []
    for z in [-5.0, 0.0, 3.5, 9.0]:
        explorer.sliders["true_logit"].value = z
        p = special.softmax([1.0, z, 0.5, 0.8])
        np.testing.assert_allclose(explorer.shown["probabilities"], p, rtol=1e-12)
        assert explorer.shown["loss_nats"] == pytest.approx(-math.log(p[1]), rel=1e-12)
        losses.append(explorer.shown["loss_nats"])
    # Raising the true logit always lowers the loss.
    assert losses == sorted(losses, reverse=True)
    assert len(explorer.figure.axes) == 2
    # The picture shows the last setting: one bar per class at its
    # probability, the point and the title at the loss.
    ax_p, ax_l = explorer.figure.axes
    np.testing.assert_allclose([bar.get_height() for bar in ax_p.patches],
                               explorer.shown["probabilities"])
    assert [t.get_text() for t in ax_p.texts] == [
        f"{v:.3f}" for v in explorer.shown["probabilities"]]
    assert ax_l.lines[1].get_xdata()[0] == 9.0
    assert ax_l.get_title() == f"loss = {explorer.shown['loss_nats']:.3f} nats"


def _drive_every_control(explorer):
    """Each control to both ends, a value between and back to its start."""
    pngs = [explorer.png()]
    for control in explorer.sliders.values():
        start = control.value
        for value in (control.min, control.max, (control.min + control.max) / 2, start):
            control.value = value
            pngs.append(explorer.png())
    return pngs


@pytest.mark.parametrize("make", [
    kl_explorer,
    logit_explorer,
    lambda: logit_explorer(other_logits=(2.0, -1.0), true_class=0),
], ids=["kl", "logit", "logit-3-classes"])
def test_explorer_moves_repaint_only_the_live_layer(make):
    explorer = make()
    first = explorer.figure
    artists = [len(ax.get_children()) for ax in first.axes]
    containers = [len(ax.containers) for ax in first.axes]
    pngs = _drive_every_control(explorer)
    # No control is in redraw_on: every move kept the frame and repainted
    # the live layer, and the picture is the one a new figure would show.
    assert explorer.figure is first and explorer.redraws == 1
    assert explorer.updates == 1 + 4 * len(explorer.sliders)
    assert explorer.png() == explorer.redrawn_png()
    assert len(set(pngs)) > 1  # the moves did change the picture
    # Each move replaced the live artists; none were left behind.
    assert [len(ax.get_children()) for ax in first.axes] == artists
    # ... nor do groups of removed bars in ax.containers.
    assert [len(ax.containers) for ax in first.axes] == containers


def _text_sizes(fig):
    return [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
            if getattr(t, "get_text", lambda: "")()]


def test_kl_explorer_starts_where_the_asymmetry_shows():
    explorer = kl_explorer()
    assert explorer.values == {"mu": 1.0, "sigma": 0.5}
    forward = explorer.shown["kl_pq"]
    reverse = explorer.shown["kl_qp"]
    assert forward == pytest.approx(torch_kl(0, 1, 1.0, 0.5), rel=1e-6)
    assert forward > 3 * reverse  # the static picture shows the asymmetry


def test_kl_explorer_axes_stay_put_and_legends_stay_off_the_bars():
    explorer = kl_explorer()
    limits = []
    for mu, sigma in [(1.0, 0.5), (-3.0, 2.5), (4.0, 0.2), (0.0, 1.0)]:
        explorer.sliders["mu"].value = mu
        explorer.sliders["sigma"].value = sigma
        fig = explorer.figure
        ax_d, ax_b = fig.axes
        limits.append((ax_d.get_xlim(), ax_d.get_ylim(), ax_b.get_ylim()))
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in (ax_d, ax_b):
            legend = ax.get_legend().get_window_extent(renderer)
            # Every legend sits above its axes, so it covers no curve or bar.
            assert legend.y0 >= ax.get_window_extent(renderer).y1 - 1
        # A bar above the cap is drawn at the cap and labelled with its value.
        labels = [t.get_text() for t in ax_b.texts]
        assert labels[0] == f"{explorer.shown['kl_pq']:.2f}"
        assert min(_text_sizes(fig)) >= 10
        assert fig.get_figwidth() <= 7.5 and fig.get_figheight() <= 4
    assert len(set(limits)) == 1  # no axis rescales as the sliders move


def test_logit_explorer_is_readable():
    fig = logit_explorer().figure
    assert min(_text_sizes(fig)) >= 10
    assert fig.get_figwidth() <= 7.5 and fig.get_figheight() <= 4


def test_kl_explorer_cuts_tall_bars_where_the_chapter_says():
    from pathlib import Path

    import nbformat

    explorer = kl_explorer(mu=4.0, sigma=0.2)  # D_KL(P||Q) is about 210 nats
    ax_b = explorer.figure.axes[1]
    cut = ax_b.patches[0]
    assert explorer.shown["kl_pq"] > 100
    assert cut.get_hatch() == "xx"
    notebook = Path(__file__).resolve().parents[1] / "notebooks"
    text = "".join(c.source for c in nbformat.read(
        notebook / "02_kl_cross_entropy.ipynb", as_version=4).cells)
    assert f"a bar taller than {cut.get_height():g} nats is cut" in text

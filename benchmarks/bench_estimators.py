"""itutils.estimators against scikit-learn: speed and accuracy.

- Discrete MI (plug-in) vs sklearn.metrics.mutual_info_score.
- KSG (k = 3) vs sklearn.feature_selection.mutual_info_regression
  (n_neighbors = 3) on Gaussian pairs, against the closed form
  -0.5 ln(1 - rho^2).
- select_features over 100 features vs mutual_info_classif.

Ratios are reference time / itutils time (> 1: itutils is faster). Times
are the best of a few runs. Fairness: both estimators get the same raw
data; scikit-learn rescales each variable to unit standard deviation and
adds 1e-10-scale noise itself (harmless for these unit-variance Gaussians)
and clips negative estimates to 0; itutils does neither. itutils runs
single-threaded (workers=1) unless a column says otherwise.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.metrics import mutual_info_score

from itutils.estimators import (
    ksg_mutual_information,
    mutual_information_from_samples,
    select_features,
)
from itutils.gaussian import gaussian_mutual_information


def timed(fn, repeats: int = 3):
    best, value = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def discrete_section() -> str:
    rng = np.random.default_rng(0)
    n = 10**6
    x = rng.integers(0, 100, n)
    y = (x + rng.integers(0, 20, n)) % 100
    t_ref, ref = timed(lambda: mutual_info_score(x, y))
    t_ours, ours = timed(lambda: mutual_information_from_samples(x, y, base=np.e), 5)
    ratio = t_ref / t_ours
    return "\n".join(
        [
            "### Discrete MI: 10^6 pairs, 100 categories each",
            "",
            "Target: at least 20x faster than `sklearn.metrics.mutual_info_score`.",
            "",
            "| sklearn ms | itutils ms | speed ratio (sklearn = 1) | target met "
            "| abs difference (nats) |",
            "|---:|---:|---:|:---:|---:|",
            f"| {t_ref * 1e3:.1f} | {t_ours * 1e3:.1f} | {ratio:.0f}x | "
            f"{yes(ratio >= 20)} | {abs(ours - ref):.1e} |",
        ]
    )


def gaussian_pair(n, rho, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)


REPEATS = {10**3: 100, 10**4: 30, 10**5: 8}


def ksg_section() -> str:
    speed_rows, acc_rows = [], []
    for n, repeats in REPEATS.items():
        for rho in (0.5, 0.9):
            x, y = gaussian_pair(n, rho, seed=12345)
            runs = 5 if n < 10**5 else 2
            t_ref, _ = timed(
                lambda x=x, y=y: mutual_info_regression(
                    x[:, None], y, n_neighbors=3, random_state=0
                ),
                runs,
            )
            t_ours, _ = timed(lambda x=x, y=y: ksg_mutual_information(x, y), runs)
            t_par, _ = timed(
                lambda x=x, y=y: ksg_mutual_information(x, y, workers=-1), runs
            )
            speed_rows.append(
                f"| 10^{round(np.log10(n))} | {rho} | {t_ref * 1e3:.1f} | "
                f"{t_ours * 1e3:.1f} | "
                f"{t_ref / t_ours:.1f}x | {yes(t_ref / t_ours >= 2)} | "
                f"{t_ref / t_par:.1f}x |"
            )
            truth = gaussian_mutual_information(rho, base=np.e)
            errors = {"sk": [], "v1": [], "v2": []}
            for seed in range(repeats):
                xs, ys = gaussian_pair(n, rho, seed)
                errors["sk"].append(
                    mutual_info_regression(
                        xs[:, None], ys, n_neighbors=3, random_state=seed
                    )[0]
                    - truth
                )
                errors["v1"].append(ksg_mutual_information(xs, ys, base=np.e) - truth)
                errors["v2"].append(
                    ksg_mutual_information(xs, ys, variant=2, base=np.e) - truth
                )
            stats = {
                key: (np.mean(v), np.sqrt(np.mean(np.square(v))))
                for key, v in errors.items()
            }
            if n == 10**5:
                ok = all(
                    abs(stats[v][0]) <= 0.01
                    and abs(stats[v][0]) <= abs(stats["sk"][0]) + 2e-3
                    for v in ("v1", "v2")
                )
                met = yes(ok)
            else:
                met = "n/a"
            acc_rows.append(
                f"| 10^{round(np.log10(n))} | {rho} | {truth:.4f} | {repeats} | "
                + " | ".join(
                    f"{stats[key][0]:+.4f} / {stats[key][1]:.4f}"
                    for key in ("sk", "v1", "v2")
                )
                + f" | {met} |"
            )
    return "\n".join(
        [
            "### KSG (k = 3) vs `mutual_info_regression(n_neighbors=3)`",
            "",
            "Speed target: at least 2x faster at every N (single-threaded "
            "column; the last column lets cKDTree use every core).",
            "",
            "| N | rho | sklearn ms | itutils ms | speed ratio (sklearn = 1) "
            "| target met | ratio with workers=-1 |",
            "|---:|---:|---:|---:|---:|:---:|---:|",
            *speed_rows,
            "",
            "Accuracy against -0.5 ln(1 - rho^2), in nats, over independent "
            "seeds: bias / RMSE. Target at N = 10^5: |bias| <= 0.01 nats for "
            "both variants and no worse than scikit-learn's (within 0.002 "
            "nats, the seed-to-seed noise of the mean).",
            "",
            "| N | rho | true MI | repeats | sklearn bias / RMSE "
            "| itutils variant 1 | itutils variant 2 | target met |",
            "|---:|---:|---:|---:|---:|---:|---:|:---:|",
            *acc_rows,
            "",
            "scikit-learn's estimator is KSG variant 1; on data already "
            "scaled to unit standard deviation the two agree to 1e-6 "
            "(tests/test_estimators.py).",
        ]
    )


def selection_section() -> str:
    X, y = make_classification(
        n_samples=10**4,
        n_features=100,
        n_informative=10,
        n_redundant=0,
        shuffle=False,
        random_state=0,
    )
    t_ref, ref = timed(
        lambda: mutual_info_classif(X, y, n_neighbors=3, random_state=0), 2
    )
    t_mi, (idx_mi, scores) = timed(lambda: select_features(X, y, 10), 2)
    t_mrmr, (idx_mrmr, _) = timed(
        lambda: select_features(X, y, 10, method="mrmr"), 1
    )
    informative = set(range(10))
    ref_top = np.argsort(-ref, kind="stable")[:10]
    agree = float(np.max(np.abs(scores * np.log(2) - ref[idx_mi])))

    def found(idx):
        return len(informative & set(idx.tolist()))

    return "\n".join(
        [
            "### select_features: 100 features, N = 10^4, choose 10",
            "",
            "`make_classification(n_informative=10, n_redundant=0, "
            "shuffle=False)`: columns 0-9 are informative. Target: MI ranking "
            "at least as fast as `mutual_info_classif` (which computes the "
            "same Ross 2014 estimates) and the same choice; mRMR (10 greedy "
            "steps, ~1000 extra feature-feature KSG estimates) reported for "
            "its cost.",
            "",
            "| method | time s | speed ratio (mutual_info_classif = 1) "
            "| informative found (of 10) |",
            "|---|---:|---:|---:|",
            f"| sklearn mutual_info_classif, top 10 | {t_ref:.2f} | 1.0x | "
            f"{found(ref_top)} |",
            f"| itutils select_features(method='mi') | {t_mi:.2f} | "
            f"{t_ref / t_mi:.1f}x | {found(idx_mi)} |",
            f"| itutils select_features(method='mrmr') | {t_mrmr:.2f} | "
            f"{t_ref / t_mrmr:.2f}x | {found(idx_mrmr)} |",
            "",
            f"Same ranking as scikit-learn: {yes(list(idx_mi) == list(ref_top))}; "
            f"largest score difference {agree:.1e} nats. Target met: "
            f"{yes(t_ref / t_mi >= 1 and list(idx_mi) == list(ref_top))}.",
        ]
    )


def main() -> str:
    return "\n".join(
        [
            "## Estimators: itutils.estimators vs scikit-learn",
            "",
            discrete_section(),
            "",
            ksg_section(),
            "",
            selection_section(),
        ]
    )


if __name__ == "__main__":
    print(main())

"""The panel against a second implementation written from the papers, sharing no code with
reference_implementations/disentangle/metrics.py: bins from np.histogram (as
disentanglement_lib's histogram discretizer), mutual information from
sklearn.metrics.mutual_info_score, entropies from scipy.stats.entropy, the gaps by plain loops;
the sampled metrics by one batch at a time, and DCI by scikit-learn's own grid search
(cross_val_score per configuration, each forest grown at its own max_depth).

Held-out arrays: continuous factors (so no value sits on a bin edge) and codes that mix them
non-linearly with noise, made here from a seed the library's own tests do not use.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy
from sklearn.metrics import mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from reference_implementations.disentangle import metrics as M


def held_out(n: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.random((n, 4))
    codes = np.c_[np.tanh(2 * f[:, 0] - 1) + 0.1 * rng.normal(size=n),
                  f[:, 1] ** 2 + 0.3 * f[:, 0] + 0.05 * rng.normal(size=n),
                  np.sin(3 * f[:, 2]) + 0.2 * rng.normal(size=n),
                  0.5 * f[:, 1] - 0.5 * f[:, 2] + 0.1 * rng.normal(size=n),
                  rng.normal(size=n),
                  f[:, 3] * (1 + 0.3 * rng.normal(size=n))]
    return f, codes


# -- information-based, by contingency tables ---------------------------------------------------

def bins(column: np.ndarray) -> np.ndarray:
    return np.digitize(column, np.histogram(column, 10)[1][:-1])


def tables(factors, codes):
    fb = [bins(factors[:, k]) for k in range(factors.shape[1])]
    cb = [bins(codes[:, j]) for j in range(codes.shape[1])]
    mi = np.array([[mutual_info_score(f, c) / math.log(2) for c in cb] for f in fb])
    hf = np.array([entropy(np.bincount(f), base=2) for f in fb])
    hj = np.array([[entropy(contingency_matrix(f, c).ravel(), base=2) for c in cb] for f in fb])
    return mi, hf, hj


def mig_by_hand(mi, hf):
    gaps = []
    for k in range(len(mi)):
        ranked = sorted(mi[k], reverse=True)
        gaps.append((ranked[0] - ranked[1]) / hf[k])
    return sum(gaps) / len(gaps)


def jemmig_by_hand(mi, hf, hj):
    total = 0.0
    for k in range(len(mi)):
        ranked = sorted(range(mi.shape[1]), key=lambda j: -mi[k, j])
        best, second = ranked[0], ranked[1]
        total += (hj[k, best] - mi[k, best] + mi[k, second]) / (hf[k] + math.log2(10))
    return 1 - total / len(mi)


def dcimig_by_hand(mi, hf):
    kept = [0.0] * len(mi)
    for j in range(mi.shape[1]):
        ranked = sorted(range(len(mi)), key=lambda k: -mi[k, j])
        gap = mi[ranked[0], j] - mi[ranked[1], j]
        kept[ranked[0]] = max(kept[ranked[0]], gap)
    return sum(kept) / sum(hf)


@pytest.mark.parametrize("n", [3_000, 20_000])
def test_information_metrics_equal_the_contingency_table_computation(n):
    f, c = held_out(n)
    mi, hf, hj = tables(f, c)
    ours = M.information_metrics(f, c)
    assert ours["mig"] == pytest.approx(mig_by_hand(mi, hf), abs=1e-6)
    assert ours["jemmig"] == pytest.approx(jemmig_by_hand(mi, hf, hj), abs=1e-6)
    assert ours["dcimig"] == pytest.approx(dcimig_by_hand(mi, hf), abs=1e-6)
    info = M.Information.of(f, c)
    assert np.allclose(info.mi, mi, atol=1e-9) and np.allclose(info.h_joint, hj, atol=1e-9)


# -- sampled metrics: within their seed-to-seed spread -----------------------------------------

def z_diff_by_batches(f, c, rng, n_train, n_eval, batch):
    from sklearn.linear_model import LogisticRegression

    fb = np.column_stack([bins(f[:, k]) for k in range(f.shape[1])])

    def point(k):
        values, counts = np.unique(fb[:, k], return_counts=True)
        values = values[counts >= 2]
        diffs = []
        for v in rng.choice(values, size=batch):
            i, j = rng.choice(np.flatnonzero(fb[:, k] == v), size=2, replace=False)
            diffs.append(np.abs(c[i] - c[j]))
        return np.mean(diffs, axis=0)

    y_train, y_eval = rng.integers(f.shape[1], size=n_train), rng.integers(f.shape[1], size=n_eval)
    model = LogisticRegression(max_iter=10_000).fit([point(k) for k in y_train], y_train)
    accuracy = model.score([point(k) for k in y_eval], y_eval)
    return (accuracy - 1 / f.shape[1]) / (1 - 1 / f.shape[1])


def z_var_by_batches(f, c, rng, n_train, n_eval, batch):
    fb = np.column_stack([bins(f[:, k]) for k in range(f.shape[1])])
    scale = np.std(c[rng.permutation(len(c))[:10_000]], axis=0, ddof=1)
    active = scale >= 0.02

    def vote(k):
        values, counts = np.unique(fb[:, k], return_counts=True)
        v = rng.choice(values[counts >= 2])
        rows = rng.choice(np.flatnonzero(fb[:, k] == v), size=batch, replace=False)
        local = np.var(c[rows] / scale, axis=0, ddof=1)
        return int(np.argmin(np.where(active, local, np.inf)))

    votes = np.zeros((c.shape[1], f.shape[1]))
    for k in rng.integers(f.shape[1], size=n_train):
        votes[vote(k), k] += 1
    predict = votes.argmax(axis=1)
    eval_k = rng.integers(f.shape[1], size=n_eval)
    accuracy = np.mean([predict[vote(k)] == k for k in eval_k])
    return (accuracy - 1 / f.shape[1]) / (1 - 1 / f.shape[1])


def agree(ours: list[float], theirs: list[float]) -> None:
    """Two sets of seeded values of one metric agree when their means differ by no more than
    their seed-to-seed spread allows (3 standard errors of the difference, at least 0.01)."""
    spread = math.sqrt(np.var(ours, ddof=1) / len(ours) + np.var(theirs, ddof=1) / len(theirs))
    assert abs(np.mean(ours) - np.mean(theirs)) <= max(3 * spread, 0.01), (ours, theirs)


def test_z_diff_and_z_var_agree_with_batch_by_batch_implementations():
    f, c = held_out(10_000)
    settings = dict(n_train=1_000, n_eval=500, batch_size=64)
    ours = [M.z_diff(f, c, s, **settings) for s in range(5)]
    theirs = [z_diff_by_batches(f, c, np.random.default_rng(100 + s), 1_000, 500, 64)
              for s in range(5)]
    agree(ours, theirs)
    ours = [M.z_var(f, c, s) for s in range(5)]
    theirs = [z_var_by_batches(f, c, np.random.default_rng(200 + s), 800, 800, 200)
              for s in range(5)]
    agree(ours, theirs)


@pytest.mark.slow
def test_dci_rf_agrees_with_scikit_learns_grid_search():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_score

    f, c = held_out(600)
    fs = (f - f.min(0)) / np.ptp(f, axis=0)
    cs = (c - c.min(0)) / np.ptp(c, axis=0)

    def plain(seed):
        importance, info = [], []
        cv = KFold(10, shuffle=True, random_state=seed)
        for k in range(f.shape[1]):
            best = None
            for depth in (8, 16, 32, 64, 128):
                for feats in (0.2, 0.4, 0.8, 1.0):
                    rf = RandomForestRegressor(10, max_depth=depth, max_features=feats,
                                               random_state=seed)
                    mse = -cross_val_score(rf, cs, fs[:, k], cv=cv,
                                           scoring="neg_mean_squared_error").mean()
                    if best is None or mse < best[0]:
                        best = (mse, depth, feats)
            rf = RandomForestRegressor(10, max_depth=best[1], max_features=best[2],
                                       random_state=seed).fit(cs, fs[:, k])
            importance.append(rf.feature_importances_)
            info.append(max(1 - 12 * best[0], 0))
        r = np.array(importance)
        p = r / r.sum(axis=0)
        d = 1 - entropy(p, base=f.shape[1], axis=0)
        rho = r.sum(axis=0) / r.sum()
        comp = 1 - entropy(r.T / r.sum(axis=1), base=c.shape[1], axis=0)
        return float(d @ rho), float(comp.mean()), float(np.mean(info))

    theirs = np.array([plain(s) for s in range(3)])
    ours = np.array([(d.disentanglement, d.completeness, d.informativeness)
                     for d in (M.dci_rf(f, c, s) for s in range(3))])
    for i in range(3):
        agree(list(ours[:, i]), list(theirs[:, i]))

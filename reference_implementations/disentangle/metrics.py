"""The disentanglement metric panel: how well a representation recovers the independent factors
that generated the data.

Inputs are two arrays over the same N samples: `factors` (N x K, the true generative factors)
and `codes` (N x L, a model's representation). Every metric is higher-is-better, with the
definitions and default settings of Zaidi et al., "Measuring disentanglement: a review of
metrics" (2020, arXiv 2012.09276), as their reference code computes them
(ubisoft/ubisoft-laforge-disentanglement-metrics, src/metrics/ and src/experiments/config.py):

- `z_diff` (Higgins et al. 2017, the beta-VAE score) and `z_var` (Kim & Mnih 2018, the
  FactorVAE score): intervention-based, sampled (they take a seed);
- `dci_rf` (Eastwood & Williams 2018): disentanglement, completeness and informativeness from
  one cross-validated random-forest regressor per factor (sampled: folds and forests seeded);
- `mig` (Chen et al. 2018), `jemmig` (Do & Tran 2020), `dcimig` (Sepliarskaia et al. 2019):
  information-based, on factors and codes cut into 10 equal-width bins; deterministic (no
  randomness, so nothing to seed) and cheap enough for every evaluation of a training run.

Where this differs from the reference code (its defects), docs/disentanglement.md says how and
why. numpy and scikit-learn only: importable without TensorFlow.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

N_BINS = 10
PANEL_KEYS = ("z_diff", "z_var", "dci_rf_disentanglement", "dci_rf_completeness",
              "dci_rf_informativeness", "mig", "jemmig", "dcimig")
INFORMATION_KEYS = ("mig", "jemmig", "dcimig")
# One line per panel key: what it measures (higher is better for every one).
DESCRIPTIONS = {
    "z_diff": "beta-VAE score: a linear classifier tells which factor pairs share from their "
              "code differences",
    "z_var": "FactorVAE score: the least-varying code dimension names the factor a batch shares",
    "dci_rf_disentanglement": "DCI: each code predicts one factor (random-forest importances)",
    "dci_rf_completeness": "DCI: each factor is predicted by one code",
    "dci_rf_informativeness": "DCI: the codes predict the factors (1 - 12 x held-out MSE)",
    "mig": "mutual information gap between each factor's two most informative codes",
    "jemmig": "MIG, also penalising what the best code holds beyond its factor",
    "dcimig": "gaps per code, credited to its factor: each factor captured by one code",
}
# The reference code's defaults (config.py), as the issue and the paper state them.
Z_DIFF = dict(batch_size=200, n_train=10_000, n_eval=5_000, max_iter=10_000)
Z_VAR = dict(batch_size=200, n_train=800, n_eval=800, n_variance=10_000, std_threshold=0.02)
DCI_RF = dict(n_estimators=10, max_depths=(8, 16, 32, 64, 128),
              max_features=(0.2, 0.4, 0.8, 1.0), folds=10)
# Random streams mixed into the seed, so a metric gives the same value alone or in the panel.
_STREAM = {"z_diff": 1, "z_var": 2, "dci_rf": 3}


class InputError(ValueError):
    """Arrays no metric can score. `which` is "factors" or "codes" (the CLI names its file)."""

    def __init__(self, which: str, message: str):
        self.which, self.message = which, message
        super().__init__(f"{which}: {message}")


class MetricError(ValueError):
    """Input one metric cannot use (too few rows for it): bad input, named by the metric."""

    def __init__(self, metric: str, message: str):
        self.metric, self.message = metric, message
        super().__init__(f"{metric}: {message}")


class NotComputable(MetricError):
    """Valid input on which a metric is undefined (e.g. z_var when every code dimension is
    collapsed): reported as such, not as an error of the input."""


# -- input ------------------------------------------------------------------------------------

def check_arrays(factors, codes) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 matrices, or InputError: 2-D, numeric, at least 2 columns each
    (a gap needs a second factor or code), equal row counts, finite, no constant factor."""
    f, c = _matrix(factors, "factors"), _matrix(codes, "codes")
    if len(f) != len(c):
        raise InputError("codes", f"{len(c)} rows but factors has {len(f)}: row i of both "
                                  "arrays must describe the same sample")
    constant = np.flatnonzero(f.max(axis=0) == f.min(axis=0))
    if constant.size:
        k = int(constant[0])
        raise InputError("factors", f"column {k} is constant ({f[0, k]:g} in every row): a "
                                    "factor must vary (its entropy is 0, which every metric "
                                    "divides by or bins over)")
    return f, c


def _matrix(a, which: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise InputError(which, f"dtype {a.dtype} is not numeric")
    if a.ndim != 2:
        raise InputError(which, f"shape {a.shape}: expected a 2-D array (one row per sample, "
                                f"one column per {which[:-1]})")
    if a.shape[1] < 2:
        raise InputError(which, f"{a.shape[1]} column(s): the panel needs at least 2 {which}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        r, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(which, f"row {r}, column {col} is {a[r, col]}; {int(bad.sum())} "
                                "value(s) are NaN or infinite, which cannot be scored")
    return a


def min_rows(metric: str) -> int:
    """Rows a metric needs: the sampled scores a batch of distinct samples, DCI one per fold,
    the information-based ones two (a factor must vary)."""
    return {"z_diff": Z_DIFF["batch_size"], "z_var": Z_VAR["batch_size"],
            "dci_rf": DCI_RF["folds"]}.get(metric, 2)


def _need_rows(metric: str, n: int, needed: int) -> None:
    if n < needed:
        raise MetricError(metric, f"{n} rows, needs at least {needed}")


def discretize(x: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Each column min-max scaled to [0, 1] and cut into n_bins equal-width bins, labelled
    0..n_bins-1 (the maximum falls in the last bin); a constant column is all 0."""
    lo = x.min(axis=0)
    span = x.max(axis=0) - lo
    scaled = (x - lo) / np.where(span > 0, span, 1.0)
    return np.digitize(scaled, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]).astype(np.int64)


def minmax(x: np.ndarray) -> np.ndarray:
    lo = x.min(axis=0)
    span = x.max(axis=0) - lo
    return (x - lo) / np.where(span > 0, span, 1.0)


# -- information-based: MIG, JEMMIG, DCIMIG ---------------------------------------------------

def _entropy_bits(p: np.ndarray, axes) -> np.ndarray:
    terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=axes)


@dataclass(frozen=True)
class Information:
    """Plug-in (maximum-likelihood) entropies and mutual informations of the binned factors
    and codes, in bits, from one contingency table per (factor, code) pair."""
    h_factors: np.ndarray  # (K,) H(v_k)
    h_codes: np.ndarray  # (L,) H(z_j)
    h_joint: np.ndarray  # (K, L) H(v_k, z_j)
    mi: np.ndarray  # (K, L) I(v_k; z_j)
    n_bins: int

    @classmethod
    def of(cls, factors: np.ndarray, codes: np.ndarray, n_bins: int = N_BINS) -> Information:
        fb, cb = discretize(factors, n_bins), discretize(codes, n_bins)
        n, k = fb.shape
        l_ = cb.shape[1]
        cell = fb[:, :, None] * n_bins + cb[:, None, :]  # (N, K, L) joint bin of each pair
        cell += (np.arange(k * l_) * n_bins * n_bins).reshape(k, l_)
        counts = np.bincount(cell.ravel(), minlength=k * l_ * n_bins * n_bins)
        p = counts.reshape(k, l_, n_bins, n_bins) / n
        h_joint = _entropy_bits(p, (2, 3))
        h_factors = _entropy_bits(p[:, 0].sum(axis=2), 1)
        h_codes = _entropy_bits(p[0].sum(axis=1), 1)
        return cls(h_factors, h_codes, h_joint,
                   h_factors[:, None] + h_codes[None, :] - h_joint, n_bins)

    def mig(self) -> float:
        """Mean over factors of the gap between a factor's two largest mutual informations
        with a code, divided by the factor's entropy (Chen et al. 2018)."""
        top2 = -np.sort(-self.mi, axis=1)[:, :2]
        return float(np.mean((top2[:, 0] - top2[:, 1]) / self.h_factors))

    def jemmig(self) -> float:
        """1 - mean over factors of (H(v_k, z*) - I(v_k; z*) + I(v_k; z°)) / (H(v_k) +
        log2 bins), z* and z° the codes of largest and second-largest information (Do & Tran
        2020): the gap of MIG, plus how much of the best code is not about the factor."""
        order = np.argsort(-self.mi, axis=1, kind="stable")
        rows = np.arange(len(self.mi))
        best, second = order[:, 0], order[:, 1]
        jemmi = self.h_joint[rows, best] - self.mi[rows, best] + self.mi[rows, second]
        return float(1.0 - np.mean(jemmi / (self.h_factors + math.log2(self.n_bins))))

    def dcimig(self) -> float:
        """Each code gives its gap (largest minus second-largest information over factors) to
        its best factor; each factor keeps the largest gap it was given; the sum over factors
        over the sum of their entropies (Sepliarskaia et al. 2019)."""
        order = np.argsort(-self.mi, axis=0, kind="stable")
        cols = np.arange(self.mi.shape[1])
        best = order[0]
        gaps = self.mi[best, cols] - self.mi[order[1], cols]
        given = np.zeros_like(self.mi)
        given[best, cols] = gaps
        return float(given.max(axis=1).sum() / self.h_factors.sum())


def information_metrics(factors, codes, n_bins: int = N_BINS) -> dict[str, float]:
    """MIG, JEMMIG and DCIMIG from one set of contingency tables (what a training run computes
    at every evaluation)."""
    f, c = check_arrays(factors, codes)
    info = Information.of(f, c, n_bins)
    return {"mig": info.mig(), "jemmig": info.jemmig(), "dcimig": info.dcimig()}


def mig(factors, codes, n_bins: int = N_BINS) -> float:
    return Information.of(*check_arrays(factors, codes), n_bins).mig()


def jemmig(factors, codes, n_bins: int = N_BINS) -> float:
    return Information.of(*check_arrays(factors, codes), n_bins).jemmig()


def dcimig(factors, codes, n_bins: int = N_BINS) -> float:
    return Information.of(*check_arrays(factors, codes), n_bins).dcimig()


# -- intervention-based: z-diff, z-var ---------------------------------------------------------

class _ValueGroups:
    """The samples of each binned value of one factor that occurs at least twice (the values
    a pair or batch sharing the factor can be drawn from)."""

    def __init__(self, binned: np.ndarray):
        order = np.argsort(binned, kind="stable")
        values, starts, counts = np.unique(binned[order], return_index=True, return_counts=True)
        keep = counts >= 2
        self.order, self.starts, self.counts = order, starts[keep], counts[keep]
        self.values = values[keep]

    def members(self, g: int) -> np.ndarray:
        return self.order[self.starts[g]:self.starts[g] + self.counts[g]]


def _groups(metric: str, binned: np.ndarray) -> list[_ValueGroups]:
    groups = [_ValueGroups(binned[:, k]) for k in range(binned.shape[1])]
    for k, g in enumerate(groups):
        if not len(g.values):  # only possible with fewer rows than bins; min_rows prevents it
            raise NotComputable(metric, f"factor {k}: no binned value occurs twice")
    return groups


def _rescaled(accuracy: float, n_factors: int) -> float:
    """Chance (1/K) maps to 0, perfect to 1, as the reference code rescales."""
    chance = 1.0 / n_factors
    return (accuracy - chance) / (1.0 - chance)


def _z_diff_inputs(groups, codes, targets, batch_size, rng) -> np.ndarray:
    """One input per target factor: the mean absolute code difference over batch_size pairs
    that share that factor's binned value (a value drawn uniformly among those that occur
    twice, then two distinct samples of it)."""
    inputs = np.empty((len(targets), codes.shape[1]))
    for k, g in enumerate(groups):
        points = np.flatnonzero(targets == k)
        for chunk in np.array_split(points, max(1, len(points) // 1000)):
            n = len(chunk) * batch_size
            which = rng.integers(len(g.values), size=n)
            size = g.counts[which]
            first = (rng.random(n) * size).astype(np.int64)
            other = (rng.random(n) * (size - 1)).astype(np.int64)
            other += other >= first
            a = g.order[g.starts[which] + first]
            b = g.order[g.starts[which] + other]
            diff = np.abs(codes[a] - codes[b]).reshape(len(chunk), batch_size, -1)
            inputs[chunk] = diff.mean(axis=1)
    return inputs


def z_diff(factors, codes, seed: int = 0, *, n_bins: int = N_BINS, **settings) -> float:
    """The beta-VAE score (Higgins et al. 2017): a logistic-regression classifier learns which
    factor a batch of pairs shares from the mean absolute difference of their codes; its
    accuracy on held-out batches, rescaled so chance is 0 and perfect 1. Factors binned into
    n_bins; batches of 200 pairs; 10,000 training and 5,000 evaluation batches."""
    from sklearn.linear_model import LogisticRegression

    s = {**Z_DIFF, **settings}
    f, c = check_arrays(factors, codes)
    _need_rows("z_diff", len(f), min_rows("z_diff"))
    rng = np.random.default_rng([seed, _STREAM["z_diff"]])
    groups = _groups("z_diff", discretize(f, n_bins))
    k = f.shape[1]
    y_train = rng.integers(k, size=s["n_train"])
    y_eval = rng.integers(k, size=s["n_eval"])
    x_train = _z_diff_inputs(groups, c, y_train, s["batch_size"], rng)
    x_eval = _z_diff_inputs(groups, c, y_eval, s["batch_size"], rng)
    model = LogisticRegression(max_iter=s["max_iter"])
    model.fit(x_train, y_train)
    return _rescaled(float(model.score(x_eval, y_eval)), k)


def z_var(factors, codes, seed: int = 0, *, n_bins: int = N_BINS, **settings) -> float:
    """The FactorVAE score (Kim & Mnih 2018, "z-min variance"): in a batch of 200 samples that
    share one factor's binned value, the code dimension of least variance (each divided by its
    variance over 10,000 samples; dimensions of standard deviation under 0.02 pruned as
    collapsed) votes for that factor; each dimension predicts its majority factor (800 training
    batches), scored on 800 held-out batches and rescaled as z_diff."""
    s = {**Z_VAR, **settings}
    f, c = check_arrays(factors, codes)
    _need_rows("z_var", len(f), min_rows("z_var"))
    rng = np.random.default_rng([seed, _STREAM["z_var"]])
    global_var = np.var(c[rng.permutation(len(c))[:s["n_variance"]]], axis=0, ddof=1)
    active = np.flatnonzero(np.sqrt(global_var) >= s["std_threshold"])
    if not active.size:
        raise NotComputable("z_var", "every code dimension has a standard deviation under "
                                     f"{s['std_threshold']} (all pruned as collapsed)")
    groups = _groups("z_var", discretize(f, n_bins))
    n_factors, n_codes, batch = f.shape[1], c.shape[1], s["batch_size"]

    def votes(n_points: int) -> np.ndarray:
        table = np.zeros((n_codes, n_factors), dtype=np.int64)
        for k in rng.integers(n_factors, size=n_points):
            g = groups[k]
            members = g.members(int(rng.integers(len(g.values))))
            if len(members) >= batch:
                rows = members[rng.choice(len(members), size=batch, replace=False)]
            else:  # fewer samples than a batch: whole shuffled passes, as the reference does
                passes = -(-batch // len(members))
                rows = np.concatenate([members[rng.permutation(len(members))]
                                       for _ in range(passes)])[:batch]
            local = np.var(c[rows][:, active], axis=0, ddof=1) / global_var[active]
            table[active[np.argmin(local)], k] += 1
        return table

    classifier = np.argmax(votes(s["n_train"]), axis=1)
    evaluation = votes(s["n_eval"])
    accuracy = evaluation[np.arange(n_codes), classifier].sum() / s["n_eval"]
    return _rescaled(float(accuracy), n_factors)


# -- predictor-based: DCI with random forests ---------------------------------------------------

@dataclass(frozen=True)
class DCI:
    disentanglement: float
    completeness: float
    informativeness: float
    importance: np.ndarray = field(repr=False)  # (K, L) relative importance of code j for v_k
    cv_mse: np.ndarray = field(repr=False)  # (K, depths, features) 10-fold CV mean MSE
    best: tuple = field(repr=False)  # per factor (max_depth, max_features) chosen


def _forest(depth: int, features: float, n_estimators: int, random_state: int):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=n_estimators, max_depth=depth,
                                 max_features=features, random_state=random_state, n_jobs=1)


def _fold_errors(x, y, train, test, features, depths, n_estimators, random_state) -> list:
    """One fold's held-out MSE for every max_depth at one max_features. One forest is grown to
    the deepest limit and each shallower forest is its trees cut at that depth (a cut node
    predicts the mean of the training samples that reach it, as a depth-limited tree's leaf
    does): the same estimator as growing each depth apart, at a fifth of the cost. (sklearn
    grows a depth-limited tree split by split in the same way but draws the random feature
    subsets in another order, so where max_features < 1 or splits tie its forests are other
    draws of the same random forest; docs/disentanglement.md.)"""
    model = _forest(max(depths), features, n_estimators, random_state).fit(x[train], y[train])
    predictions = cut_predictions(model, x[test], depths)
    return [float(np.mean((predictions[d] - y[test]) ** 2)) for d in depths]


def cut_predictions(forest, x: np.ndarray, depths) -> dict[int, np.ndarray]:
    """The forest's predictions with every tree cut at each depth in depths (depth 0: the
    root). Samples are routed as sklearn routes them (features as float32, left when <= the
    threshold); a sample that reaches a leaf sooner keeps the leaf's value."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    rows = np.arange(len(x))
    sums = {d: np.zeros(len(x)) for d in depths}
    for estimator in forest.estimators_:
        tree = estimator.tree_
        node = np.zeros(len(x), dtype=np.int64)
        for level in range(max(depths) + 1):
            value = tree.value[node, 0, 0]
            if level in sums:
                sums[level] += value
            left = tree.children_left[node]
            inner = left >= 0
            if not inner.any():  # every sample is at a leaf: deeper cuts change nothing
                for d in depths:
                    if d > level:
                        sums[d] += value
                break
            goes_left = x[rows, np.maximum(tree.feature[node], 0)] <= tree.threshold[node]
            node = np.where(inner, np.where(goes_left, left, tree.children_right[node]), node)
    return {d: s / len(forest.estimators_) for d, s in sums.items()}


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def dci_rf(factors, codes, seed: int = 0, *, n_jobs: int | None = None, **settings) -> DCI:
    """Eastwood & Williams' DCI with one random-forest regressor per factor (10 trees;
    max_depth and max_features chosen by 10-fold cross-validated MSE), factors and codes
    min-max scaled to [0, 1]. Informativeness: max(1 - 12 MSE, 0) with the chosen
    configuration's cross-validated (held-out) MSE, 1/12 being the variance of a uniform
    factor. The forest refitted on all rows gives the importance matrix R (impurity
    importances): disentanglement = sum_j rho_j (1 - H_K(R[:, j])), rho_j code j's share of the
    importance; completeness = mean_k (1 - H_L(R[k, :])).

    The folds are shared by every factor and configuration, each max_depth is cut from one
    forest (_fold_errors), and the (factor, max_features, fold) fits run on n_jobs threads
    (default: every core). The threads do not change the result (tests/disentangle/
    test_metrics.py); it agrees with scikit-learn's plain grid search within the forests'
    seed-to-seed spread (test_metrics_independent.py)."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import KFold

    s = {**DCI_RF, **settings}
    f, c = check_arrays(factors, codes)
    _need_rows("dci_rf", len(f), min_rows("dci_rf"))
    f, c = minmax(f), minmax(c)
    rng = np.random.default_rng([seed, _STREAM["dci_rf"]])
    fold_seed, forest_seed = (int(v) for v in rng.integers(2**31 - 1, size=2))
    folds = list(KFold(s["folds"], shuffle=True, random_state=fold_seed).split(c))
    depths, features = tuple(s["max_depths"]), tuple(s["max_features"])
    k_count = f.shape[1]
    tasks = [(k, m, i) for k in range(k_count) for m in range(len(features))
             for i in range(len(folds))]
    jobs = n_jobs or _cpu_count()
    errors = Parallel(n_jobs=jobs, prefer="threads")(
        delayed(_fold_errors)(c, f[:, k], *folds[i], features[m], depths, s["n_estimators"],
                              forest_seed) for k, m, i in tasks)
    cv = np.zeros((k_count, len(depths), len(features), len(folds)))
    for (k, m, i), e in zip(tasks, errors):
        cv[k, :, m, i] = e
    cv_mse = cv.mean(axis=3)
    # The first minimum in the reference's order (max_depth outer, max_features inner).
    best = [np.unravel_index(int(np.argmin(cv_mse[k])), cv_mse[k].shape) for k in range(k_count)]
    refits = Parallel(n_jobs=min(jobs, k_count), prefer="threads")(
        delayed(lambda k, d, m: _forest(depths[d], features[m], s["n_estimators"],
                                        forest_seed).fit(c, f[:, k]).feature_importances_)(
            k, d, m) for k, (d, m) in enumerate(best))
    importance = np.array(refits)
    informativeness = np.maximum(1.0 - 12.0 * np.array(
        [cv_mse[k][best[k]] for k in range(k_count)]), 0.0)
    return DCI(*_dci_scores(importance), float(informativeness.mean()), importance, cv_mse,
               tuple((depths[d], features[m]) for d, m in best))


def _dci_scores(importance: np.ndarray) -> tuple[float, float]:
    """Disentanglement and completeness from an importance matrix (K factors x L codes)."""
    k_count, l_count = importance.shape
    per_code = importance.sum(axis=0)
    p_codes = importance / np.where(per_code > 0, per_code, 1.0)
    d_code = np.where(per_code > 0, 1.0 - _entropy_bits(p_codes, 0) / math.log2(k_count), 0.0)
    total = per_code.sum()
    disentanglement = float(d_code @ (per_code / total)) if total > 0 else 0.0
    per_factor = importance.sum(axis=1, keepdims=True)
    p_factors = np.where(per_factor > 0, importance / np.where(per_factor > 0, per_factor, 1.0),
                         1.0 / l_count)  # a factor no code explains: uniform, completeness 0
    completeness = float(np.mean(1.0 - _entropy_bits(p_factors, 1) / math.log2(l_count)))
    return disentanglement, completeness


# -- the panel ----------------------------------------------------------------------------------

@dataclass
class Panel:
    """Every metric's value (None where it could not be computed, with the reason), the
    seconds each part took, and DCI's details (importance matrix, grid errors)."""
    values: dict[str, float | None]
    not_computed: dict[str, str]
    seconds: dict[str, float]
    dci: DCI | None = None


def check_panel_input(factors, codes) -> tuple[np.ndarray, np.ndarray]:
    """check_arrays, and enough rows for every metric of the panel (MetricError naming the
    first that has too few), so bad input fails before any work."""
    f, c = check_arrays(factors, codes)
    for metric in ("z_diff", "z_var", "dci_rf"):
        _need_rows(metric, len(f), min_rows(metric))
    return f, c


def panel(factors, codes, seed: int = 0, *, n_jobs: int | None = None, progress=None) -> Panel:
    """All eight values of PANEL_KEYS. `progress(part, panel)` is called after each part
    ("information", "z_var", "z_diff", "dci_rf"), cheapest first."""
    f, c = check_panel_input(factors, codes)
    out = Panel({key: None for key in PANEL_KEYS}, {}, {})
    parts = (
        ("information", INFORMATION_KEYS, lambda: information_metrics(f, c)),
        ("z_var", ("z_var",), lambda: {"z_var": z_var(f, c, seed)}),
        ("z_diff", ("z_diff",), lambda: {"z_diff": z_diff(f, c, seed)}),
        ("dci_rf", PANEL_KEYS[2:5],
         lambda: _dci_values(out, dci_rf(f, c, seed, n_jobs=n_jobs))),
    )
    for name, keys, compute in parts:
        start = time.perf_counter()
        try:
            out.values.update(compute())
        except NotComputable as e:
            out.not_computed.update({key: e.message for key in keys})
        out.seconds[name] = time.perf_counter() - start
        if progress:
            progress(name, out)
    return out


def _dci_values(out: Panel, d: DCI) -> dict[str, float]:
    out.dci = d
    return {"dci_rf_disentanglement": d.disentanglement, "dci_rf_completeness": d.completeness,
            "dci_rf_informativeness": d.informativeness}

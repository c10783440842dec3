"""The disentanglement metrics on cases whose values follow from their definitions.

Factors are continuous and uniform on [0, 1] (so their 10 bins are equally full and a factor's
entropy is about log2 10 bits). z_var needs about 10,000 samples before a code that knows
nothing scores near 0 (with 2,000, batches of 200 drawn from bins of ~200 samples are nearly
the same batch every time, and majority voting memorises them: 0.23 for a random code), so the
sampled metrics run on 10,000 samples here; DCI's forests on 1,000 (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from reference_implementations.disentangle import metrics as M

N = 10_000
N_DCI = 1_000


@pytest.fixture(scope="module")
def factors() -> np.ndarray:
    return np.random.default_rng(11).random((N, 3))


def scores(factors, codes, seed=0) -> dict[str, float]:
    out = M.information_metrics(factors, codes)
    out["z_diff"] = M.z_diff(factors, codes, seed)
    out["z_var"] = M.z_var(factors, codes, seed)
    d = M.dci_rf(factors[:N_DCI], codes[:N_DCI], seed)
    out.update(D=d.disentanglement, C=d.completeness, I=d.informativeness)
    return out


@pytest.fixture(scope="module")
def perfect(factors):
    return scores(factors, factors.copy())


def test_a_perfect_code_scores_one_on_every_metric(perfect):
    # The information metrics fall short of 1 only by the plug-in bias of the second-largest
    # mutual information between independent binned variables, about (10-1)^2 / (2 N ln 2)
    # bits = 0.006 bits against H = log2 10 = 3.32 bits.
    bias = 81 / (2 * N * math.log(2)) / math.log2(10)
    for key in ("mig", "dcimig"):
        assert 1 - 3 * bias <= perfect[key] <= 1.0
    assert 1 - 3 * bias <= perfect["jemmig"] <= 1.0
    for key in ("z_diff", "z_var", "D", "C"):
        assert perfect[key] == pytest.approx(1.0, abs=0.01), key
    assert perfect["I"] > 0.98  # 1 - 12 MSE: forests of 900 points leave a small error


def test_permuting_and_rescaling_the_codes_changes_nothing(factors):
    rng = np.random.default_rng(5)
    codes = factors @ special_ortho_group.rvs(3, random_state=4) + 0.1 * rng.normal(size=(N, 3))
    codes = np.c_[codes, rng.normal(size=N)]  # and a code that knows nothing
    base = scores(factors, codes)
    order = [2, 0, 3, 1]
    scale, shift = np.array([3.0, 0.5, 2.0, 1.5]), np.array([-4.0, 10.0, 0.3, 0.0])
    moved = scores(factors, codes[:, order] * scale[order] + shift[order])
    for key in ("mig", "jemmig", "dcimig"):  # min-max scaling and binning first: exact
        assert moved[key] == pytest.approx(base[key], abs=1e-12), key
    # z_var divides each dimension by its own variance, and the votes are relabelled with it
    assert moved["z_var"] == pytest.approx(base["z_var"], abs=1e-12)
    # z_diff's L2-regularised classifier sees the raw differences, DCI's forests draw other
    # feature subsets once the columns move: equal within their seed-to-seed spread
    assert moved["z_diff"] == pytest.approx(base["z_diff"], abs=0.02)
    for key in ("D", "C", "I"):
        assert moved[key] == pytest.approx(base[key], abs=0.05), key


def test_an_independent_random_code_scores_near_zero(factors):
    # Uniform codes: binned, each is as spread as a factor, so JEMMIG's joint entropy term is
    # H(v) + H(z) and its normalised value about 1 - (H(v) + H(z)) / (H(v) + log2 10) = 0.
    s = scores(factors, np.random.default_rng(7).random((N, 4)))
    for key, bound in (("mig", 0.01), ("jemmig", 0.02), ("dcimig", 0.01), ("z_diff", 0.03),
                       ("z_var", 0.05), ("D", 0.05), ("C", 0.05), ("I", 0.01)):
        assert abs(s[key]) < bound, (key, s[key])


def test_rotating_the_codes_lowers_all_but_z_diff(factors, perfect):
    # Every code mixes every factor: the information metrics, DCI disentanglement and z_var
    # see it; z_diff's linear classifier still tells which factor a batch shares from the
    # pattern of the mean differences (the beta-VAE score's known blind spot).
    s = scores(factors, factors @ special_ortho_group.rvs(3, random_state=3))
    for key in ("mig", "jemmig", "dcimig", "D"):
        assert s[key] < perfect[key] - 0.3, key
    assert s["z_var"] < perfect["z_var"] - 0.05
    assert s["z_diff"] > 0.85
    assert s["I"] > 0.95  # the factors are still all there


def test_two_equally_informative_copies_lower_mig_and_completeness(factors, perfect):
    s = scores(factors, np.c_[factors[:, 0], factors[:, 0], factors[:, 1:]])
    # factor 0's two best codes tie: its gap is 0, so MIG loses a third
    assert s["mig"] == pytest.approx(perfect["mig"] * 2 / 3, abs=0.01)
    assert s["C"] < perfect["C"] - 0.08  # factor 0's importance is split over two codes
    assert s["dcimig"] == pytest.approx(perfect["dcimig"], abs=0.01)  # each code is pure


def test_a_missing_factor_lowers_informativeness(factors, perfect):
    s = scores(factors, np.c_[factors[:, :2], np.random.default_rng(8).random(N)])
    assert s["I"] == pytest.approx(perfect["I"] * 2 / 3, abs=0.03)
    assert s["mig"] == pytest.approx(perfect["mig"] * 2 / 3, abs=0.01)


def test_the_same_seed_gives_the_same_value_and_threads_do_not_change_it(factors):
    rng = np.random.default_rng(9)
    codes = factors @ special_ortho_group.rvs(3, random_state=1) + 0.2 * rng.normal(size=(N, 3))
    assert M.z_diff(factors, codes, 3) == M.z_diff(factors, codes, 3)
    assert M.z_var(factors, codes, 3) == M.z_var(factors, codes, 3)
    one = M.dci_rf(factors[:500], codes[:500], 3, n_jobs=1)
    two = M.dci_rf(factors[:500], codes[:500], 3, n_jobs=2)
    assert (one.disentanglement, one.completeness, one.informativeness) == \
        (two.disentanglement, two.completeness, two.informativeness)
    assert M.dci_rf(factors[:500], codes[:500], 4).informativeness != one.informativeness


def test_cut_forests_predict_as_sklearn_where_the_cut_is_not_reached():
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(2)
    x, y = rng.random((400, 3)), rng.random(400)
    forest = RandomForestRegressor(5, max_depth=128, random_state=0).fit(x, y)
    reached = max(t.get_depth() for t in forest.estimators_)
    cut = M.cut_predictions(forest, x[:50], (0, 2, reached, 128))
    assert np.allclose(cut[128], forest.predict(x[:50]), rtol=0, atol=1e-12)
    assert np.allclose(cut[reached], cut[128], rtol=0, atol=0)
    # depth 0: every tree's root, the mean of its bootstrap sample
    roots = np.mean([t.tree_.value[0, 0, 0] for t in forest.estimators_])
    assert np.allclose(cut[0], roots)
    # depth 2: each tree's node two splits down, found by sklearn's own decision path
    paths = [t.decision_path(x[:50].astype(np.float32)) for t in forest.estimators_]
    expect = np.mean([t.tree_.value[[row.indices[min(2, len(row.indices) - 1)]
                                     for row in p], 0, 0]
                      for t, p in zip(forest.estimators_, paths)], axis=0)
    assert np.allclose(cut[2], expect, rtol=0, atol=1e-12)


def test_dci_scores_from_an_importance_matrix():
    # a diagonal matrix is perfectly disentangled and complete; a uniform one is neither
    assert M._dci_scores(np.eye(3)) == (1.0, 1.0)
    d, c = M._dci_scores(np.ones((3, 4)))
    assert d == pytest.approx(0.0) and c == pytest.approx(0.0)
    # a code no factor uses carries no weight (the reference stops at the first such code)
    r = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert M._dci_scores(r) == (1.0, pytest.approx(1.0))
    r = np.array([[0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])
    d, _ = M._dci_scores(r)
    assert d == pytest.approx(0.0)


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("factors, codes, which, says", [
    (np.zeros((10, 2)), np.zeros((9, 2)), "codes", "9 rows but factors has 10"),
    (np.ones((10, 2)), np.zeros((10, 2)), "factors", "column 0 is constant"),
    (np.c_[np.arange(10.0), [np.nan] + [0.0] * 9], np.zeros((10, 2)), "factors",
     "row 0, column 1 is nan"),
    (np.c_[np.arange(10.0), np.arange(10.0)], np.full((10, 2), np.inf), "codes",
     "row 0, column 0 is inf"),
    (np.arange(10.0), np.zeros((10, 2)), "factors", "expected a 2-D array"),
    (np.c_[np.arange(10.0)], np.zeros((10, 2)), "factors", "at least 2 factors"),
    (np.array([["a", "b"]]), np.zeros((1, 2)), "factors", "is not numeric"),
])
def test_bad_arrays_are_named(factors, codes, which, says):
    with pytest.raises(M.InputError, match=says) as e:
        M.check_arrays(factors, codes)
    assert e.value.which == which


def test_too_few_rows_name_the_metric():
    rng = np.random.default_rng(0)
    f, c = rng.random((150, 2)), rng.random((150, 2))
    M.information_metrics(f, c)  # enough for the information metrics
    with pytest.raises(M.MetricError, match="z_diff: 150 rows, needs at least 200"):
        M.check_panel_input(f, c)
    with pytest.raises(M.MetricError, match="z_var: 150 rows"):
        M.z_var(f, c)
    with pytest.raises(M.MetricError, match="dci_rf: 5 rows, needs at least 10"):
        M.dci_rf(f[:5], c[:5])


def test_a_collapsed_code_is_not_computable_for_z_var_only():
    rng = np.random.default_rng(0)
    f = rng.random((400, 2))
    codes = np.c_[np.full(400, 0.3), 0.001 * rng.random(400)]  # both under std 0.02
    with pytest.raises(M.NotComputable, match="every code dimension"):
        M.z_var(f, codes)
    p = M.panel(f, codes)
    assert p.values["z_var"] is None and "pruned" in p.not_computed["z_var"]
    # scored all the same: near 0 up to the plug-in bias at 400 samples (0.15 bits of 3.3)
    assert 0.0 <= p.values["mig"] < 0.1 and p.values["dci_rf_informativeness"] == 0.0
    assert set(p.values) == set(M.PANEL_KEYS)

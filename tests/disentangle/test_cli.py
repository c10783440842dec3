"""`sciperf metrics disentangle`: the JSON a researcher scripts against, and every kind of bad
input as one line naming the file or the metric, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reference_implementations.disentangle import metrics as M
from tests.support import sciperf

N = 400


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    d = tmp_path_factory.mktemp("panel")
    rng = np.random.default_rng(3)
    f = rng.random((N, 3))
    codes = np.c_[f + 0.05 * rng.normal(size=(N, 3)), rng.normal(size=N)]
    np.save(d / "factors.npy", f)
    np.save(d / "codes.npy", codes)
    return d, f, codes


def metrics(*args):
    return sciperf("metrics", "disentangle", *args, timeout=600)


def test_json_holds_every_panel_key_as_a_float_equal_to_the_library(arrays):
    d, f, codes = arrays
    r = metrics("--factors", d / "factors.npy", "--codes", d / "codes.npy", "--seed", 4,
                "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {*M.PANEL_KEYS, "not_computed"} and out["not_computed"] == {}
    assert all(isinstance(out[k], float) for k in M.PANEL_KEYS)
    expected = M.panel(f, codes, 4).values
    for key in M.PANEL_KEYS:
        assert out[key] == pytest.approx(expected[key], abs=1e-12), key
    assert out["mig"] > 0.4 and out["z_diff"] > 0.9  # a good, noisy code of this data


def test_text_lists_every_metric(arrays):
    d, _, _ = arrays
    r = metrics("--factors", d / "factors.npy", "--codes", d / "codes.npy")
    assert r.returncode == 0, r.stderr
    assert f"{N} samples, 3 factors, 4 codes, seed 0" in r.stdout
    for key in M.PANEL_KEYS:
        assert f"  {key} " in r.stdout
    assert "higher is better" in r.stdout


def test_a_metric_undefined_on_valid_input_is_reported_not_crashed(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "f.npy", rng.random((300, 2)))
    np.save(tmp_path / "c.npy", np.c_[np.zeros(300), 0.001 * rng.random(300)])
    r = metrics("--factors", tmp_path / "f.npy", "--codes", tmp_path / "c.npy", "--format",
                "json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["z_var"] is None and "standard deviation under 0.02" in out["not_computed"]["z_var"]
    assert isinstance(out["mig"], float)
    assert "Traceback" not in r.stderr


def bad(tmp_path, factors, codes):
    for name, a in (("f", factors), ("c", codes)):
        if isinstance(a, np.ndarray):
            np.save(tmp_path / f"{name}.npy", a)
        elif a is not None:
            (tmp_path / f"{name}.npy").write_bytes(a)
    return metrics("--factors", tmp_path / "f.npy", "--codes", tmp_path / "c.npy")


GOOD = np.random.default_rng(1).random((300, 2))


@pytest.mark.parametrize("factors, codes, names, says", [
    (GOOD, GOOD[:250], "c.npy", "250 rows but factors has 300"),
    (np.where(np.arange(300)[:, None] == 7, np.nan, GOOD), GOOD, "f.npy",
     "row 7, column 0 is nan"),
    (GOOD, np.where(np.arange(300)[:, None] == 9, np.inf, GOOD), "c.npy",
     "row 9, column 0 is inf"),
    (GOOD[:150], GOOD[:150], "z_diff", "hold 150 rows, needs at least 200"),
    (b"factor_a,factor_b\n0.1,0.2\n", GOOD, "f.npy", "not a .npy array"),
    (GOOD, b"PK\x03\x04rest of a zip", "c.npy", "is a .npz archive"),
    (np.c_[GOOD[:, 0], np.full(300, 2.5)], GOOD, "f.npy", "column 1 is constant (2.5"),
    (GOOD, None, "c.npy", "cannot be read: No such file"),
    (GOOD[:, 0], GOOD, "f.npy", "expected a 2-D array"),
    (np.array([object()] * 4, dtype=object), GOOD, "f.npy", "cannot be read as a .npy"),
    (np.save.__doc__.encode()[:0] + b"\x93NUMPY\x01\x00", GOOD, "f.npy",
     "cannot be read as a .npy array"),
])
def test_bad_input_is_one_line_naming_the_file_or_metric(tmp_path, factors, codes, names, says):
    r = bad(tmp_path, factors, codes)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sciperf metrics: error: "), r.stderr
    assert names in lines[0] and says in lines[0], lines[0]
    assert r.stdout == ""


def test_a_negative_seed_is_refused(arrays):
    d, _, _ = arrays
    r = metrics("--factors", d / "factors.npy", "--codes", d / "codes.npy", "--seed", -1)
    assert r.returncode == 2 and "--seed -1" in r.stderr

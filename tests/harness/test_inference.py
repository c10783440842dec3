"""common/inference.py (`sciperf infer`): a benchmark's model timed through MLPerf LoadGen on tiny
data. Nothing is trained: the model is built untrained and kept as a run keeps it; to make it
"reach" its target the tests lower the target in the kept config (the checker judges against
the ruleset's target, not the config's: tests/compliance/test_inference_rules.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reference_implementations.common import inference, trained
from reference_implementations.common.config import load_config
from sciperf import layout
from sciperf import vocab as K
from tests.support import generate_data, mllog_records

# A target every untrained model reaches (the direction of each benchmark's metric).
REACHABLE = {"em_denoise": -100.0, "cloudmask": 0.0, "cosmoflow": 100.0}
ORG, SYSTEM = "ACME", "cpu2"


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    made = {}

    def get(benchmark):
        if benchmark not in made:
            made[benchmark] = generate_data(tmp_path_factory, benchmark)
        return made[benchmark]
    return get


def kept_model(tmp_path, benchmark, data_dir, target=None):
    """An untrained model of the benchmark's tiny config, kept as a run keeps it."""
    overrides = [f"run.data_dir={data_dir}", "run.seed=3"]
    if target is not None:
        overrides.append(f"train.target={target}")
    cfg = load_config(benchmark, "tiny", overrides=overrides)
    model_lib = __import__(f"reference_implementations.{benchmark}.model", fromlist=["build"])
    folder = tmp_path / "model_0"
    sha = trained.save(model_lib.build(cfg), cfg, folder)
    return folder, sha


def infer(capsys, *args):
    code = inference.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def direct_accuracy(folder, data_dir):
    """The benchmark's metric over the validation split, evaluated as training does (the
    harness' loop), without LoadGen."""
    import importlib

    cfg, model, model_lib = trained.load(folder)
    data = importlib.import_module(f"reference_implementations.{cfg.benchmark}.data")
    samples = inference.ValidationSamples(cfg, data, data_dir)
    sums: dict[str, float] = {}
    for x, y in samples.batches(16):
        for k, v in model_lib.eval_sums(y, model(x, training=False).numpy()).items():
            sums[k] = sums.get(k, 0.0) + float(v)
    return model_lib.eval_finalize(sums)[0], samples.count


def detail_records(path):
    return {r["key"]: r["value"] for r in mllog_records(path)}


@pytest.mark.parametrize("benchmark", [
    "em_denoise",
    pytest.param("cloudmask", marks=pytest.mark.slow),
    pytest.param("cosmoflow", marks=pytest.mark.slow),
])
def test_both_scenarios_through_loadgen(tmp_path, capsys, data_dirs, benchmark):
    data_dir = data_dirs(benchmark)
    folder, sha = kept_model(tmp_path, benchmark, data_dir, REACHABLE[benchmark])
    expected, count = direct_accuracy(folder, data_dir)
    out_root = tmp_path / "sub"
    for scenario in layout.SCENARIOS:
        code, out, err = infer(capsys, benchmark, "--model", folder, "--scenario", scenario,
                               "--out", out_root, "--org", ORG, "--system", SYSTEM, "--quick")
        assert code == 0, out + err
        where = layout.inference_dir(out_root / ORG, SYSTEM, benchmark, scenario)
        for run in (layout.ACCURACY, layout.PERFORMANCE):
            for name in (layout.LOADGEN_SUMMARY, layout.LOADGEN_DETAIL):
                assert (where / run / name).is_file(), f"LoadGen wrote no {run}/{name}"
        recs = {r["key"]: r for r in mllog_records(where / layout.INFERENCE_LOG)}
        assert recs[K.WEIGHTS_SHA256]["value"] == sha
        assert recs[K.INFERENCE_SCENARIO]["value"] == scenario
        assert recs[K.INFERENCE_UNOFFICIAL]["value"] is True
        assert recs[K.SUBMISSION_BENCHMARK]["value"] == benchmark
        assert recs[K.EVAL_SAMPLES]["value"] == count
        acc = recs[K.INFERENCE_ACCURACY]
        # LoadGen's accuracy log holds every sample's metric sums: their total is the metric
        # the harness computes over the whole split (to float rounding, which differs with the
        # batch size and can flip a cloud mask's pixel that sits at 0.5: 1e-4 is 39 pixels).
        assert acc["value"] == pytest.approx(expected, rel=1e-4)
        assert acc["metadata"][K.METRIC_NAME] == K.BENCHMARKS[benchmark].metric_name
        assert acc["metadata"]["samples"] == count
        accuracy_log = json.loads((where / layout.ACCURACY / layout.LOADGEN_ACCURACY)
                                  .read_text())
        assert sorted({e["qsl_idx"] for e in accuracy_log}) == list(range(count))
        detail = detail_records(where / layout.PERFORMANCE / layout.LOADGEN_DETAIL)
        assert detail[K.RESULT_VALIDITY] == "VALID"
        assert detail[K.EFFECTIVE_SCENARIO] == inference.LOADGEN_SCENARIOS[scenario]
        if scenario == "singlestream":
            assert detail[K.RESULT_P90_LATENCY_NS] > 0
            assert detail[K.RESULT_QUERY_COUNT] >= inference.QUICK_SETTINGS["min_query_count"]
            assert "latency p90" in out
        else:
            assert detail[K.RESULT_SAMPLES_PER_SECOND] > 0
            assert "samples/s" in out


@pytest.fixture(scope="module")
def em(tmp_path_factory, data_dirs):
    return data_dirs("em_denoise")


def test_a_model_below_its_target_is_not_a_result(tmp_path, capsys, em):
    folder, _ = kept_model(tmp_path, "em_denoise", em)  # untrained, the official target
    code, out, err = infer(capsys, "em_denoise", "--model", folder, "--scenario", "offline",
                           "--out", tmp_path / "out", "--accuracy", "--quick")
    assert code == 1
    assert "NOT reached" in err and "not a result" in out
    assert not (tmp_path / "out" / layout.PERFORMANCE).exists()  # --accuracy: no timing run
    recs = {r["key"]: r for r in mllog_records(tmp_path / "out" / layout.INFERENCE_LOG)}
    target = load_config("em_denoise", "tiny").train["target"]
    assert recs[K.INFERENCE_ACCURACY]["value"] < target * (1 - K.INFERENCE_ACCURACY_TOLERANCE)


def test_a_rerun_replaces_the_previous_logs(tmp_path, capsys, em):
    folder, _ = kept_model(tmp_path, "em_denoise", em, REACHABLE["em_denoise"])
    out_dir = tmp_path / "out"
    assert infer(capsys, "em_denoise", "--model", folder, "--scenario", "offline", "--out",
                 out_dir, "--quick")[0] == 0
    assert infer(capsys, "em_denoise", "--model", folder, "--scenario", "offline", "--out",
                 out_dir, "--quick", "--accuracy")[0] == 0
    assert not (out_dir / layout.PERFORMANCE).exists()
    assert (out_dir / layout.ACCURACY / layout.LOADGEN_DETAIL).is_file()


@pytest.mark.parametrize("case", ["no_model", "wrong_benchmark", "no_data", "org_alone",
                                  "batch"])
def test_runs_that_cannot_be_made_exit_2(tmp_path, capsys, em, case):
    folder, _ = kept_model(tmp_path, "em_denoise", em)
    args = ["em_denoise", "--model", folder, "--scenario", "singlestream", "--out",
            tmp_path / "out", "--quick"]
    needle = {"no_model": "no such model folder", "wrong_benchmark": "holds a em_denoise model",
              "no_data": "does not exist", "org_alone": "--org and --system go together",
              "batch": "--batch-size"}[case]
    if case == "no_model":
        args[2] = tmp_path / "model_9"
    elif case == "wrong_benchmark":
        args[0] = "cloudmask"
    elif case == "no_data":
        args += ["--data-dir", tmp_path / "nowhere"]
    elif case == "org_alone":
        args += ["--org", ORG]
    else:
        args += ["--batch-size", "0"]
    code, out, err = infer(capsys, *args)
    assert code == 2 and needle in err, err


def test_read_accuracy_log_needs_every_sample(tmp_path):
    path = tmp_path / layout.LOADGEN_ACCURACY
    one = np.array([1.0, 2.0]).tobytes().hex()
    path.write_text(json.dumps([{"seq_id": 0, "qsl_idx": 0, "data": one},
                                {"seq_id": 1, "qsl_idx": 1, "data": one}]))
    assert inference.read_accuracy_log(path, ["a", "b"], 2) == {"a": 2.0, "b": 4.0}
    with pytest.raises(inference.InferError, match="2 of the 3 validation samples"):
        inference.read_accuracy_log(path, ["a", "b"], 3)

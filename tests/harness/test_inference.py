"""common/inference.py (`sciperf infer`): a benchmark's model timed through MLPerf LoadGen on tiny
data. Nothing is trained (but in the slow test of a kept model): the model is built untrained
and kept as a run keeps it; to make it "reach" its target the tests lower the target (and
loosen the bound) in the kept config. The checker judges against the ruleset's target, not the
config's, so the logs pass check-compliance once their accuracy record is set at the target
(tests/compliance/test_inference_rules.py breaks them one way each)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from compliance.api import check_logs
from compliance.inference import benchmark_tables
from reference_implementations.common import inference, trained
from reference_implementations.common.config import load_config
from sciperf import layout
from sciperf import vocab as K
from tests.support import (assert_kept_model, generate_data, mllog_records, reference_run,
                           sciperf)

# Overrides of the kept config that every untrained model reaches (the direction of each
# benchmark's metric; disentangle's reconstruction bound too).
REACHABLE = {"em_denoise": ["train.target=-100"], "cloudmask": ["train.target=0"],
             "cosmoflow": ["train.target=100"], "rotation": ["train.target=0"],
             "dsprites": ["train.target=0", f"train.bounds.{K.RECONSTRUCTION_ERROR}=1"]}
assert set(REACHABLE) == {b for b in K.BENCHMARKS if b != "shapes3d"}  # shapes3d: data only
ORG, SYSTEM = "ACME", "cpu2"


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    made = {}

    def get(benchmark):
        if benchmark not in made:
            made[benchmark] = generate_data(tmp_path_factory, benchmark)
        return made[benchmark]
    return get


def kept_model(tmp_path, benchmark, data_dir, overrides=()):
    """An untrained model of the benchmark's tiny config, kept as a run keeps it."""
    cfg = load_config(benchmark, "tiny",
                      overrides=[f"run.data_dir={data_dir}", "run.seed=3", *overrides])
    model_lib = importlib.import_module(f"reference_implementations.{benchmark}.model")
    folder = tmp_path / "model_0"
    sha = trained.save(model_lib.build(cfg), cfg, folder)
    return folder, sha


def infer(capsys, *args):
    code = inference.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def direct_accuracy(folder, data_dir):
    """(metric, extras, samples) over the validation split, evaluated as the training harness
    does on one rank (common/training.py: the benchmark's own predict where it has one, the
    metric sums of every batch, and a whole-split benchmark's rows of every batch, stacked),
    without LoadGen."""
    import tensorflow as tf

    cfg, model, model_lib = trained.load(folder)
    data = importlib.import_module(f"reference_implementations.{cfg.benchmark}.data")
    samples = inference.ValidationSamples(cfg, data, data_dir)
    predict = tf.function(lambda x: model_lib.predict(model, x) if hasattr(model_lib, "predict")
                          else model(x, training=False))
    total: dict = {}
    rows: list[dict] = []
    for x, y in samples.batches(cfg.train["batch_size"]):
        out = tf.nest.map_structure(np.asarray, predict(x))
        for k, v in model_lib.eval_sums(y, out).items():
            total[k] = total.get(k, 0.0) + float(v)
        if hasattr(model_lib, "eval_rows"):
            rows.append(model_lib.eval_rows(y, out))
    if rows:
        total.update({k: np.concatenate([r[k] for r in rows]) for k in rows[0]})
    value, extras = model_lib.eval_finalize(total)
    return value, extras, samples.count


def detail_records(path):
    return {r["key"]: r["value"] for r in mllog_records(path)}


def set_accuracy(path, value, **metadata) -> None:
    """Set the value (and metadata entries) of the log's inference_accuracy record, in place."""
    lines = path.read_text().splitlines()
    (i,) = [i for i, line in enumerate(lines) if f'"key": "{K.INFERENCE_ACCURACY}"' in line]
    head, _, body = lines[i].partition(":::MLLOG ")
    rec = json.loads(body)
    rec["value"] = value
    rec["metadata"].update(metadata)
    lines[i] = head + ":::MLLOG " + json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")


def assert_checked(where, benchmark, accuracy, extras):
    """check-compliance on a result as `sciperf infer` wrote it: nothing but SP504's warning
    (unofficial settings) and, when the untrained model is short of the ruleset's target (or
    over its bound), SP502; then, with the accuracy record set at the target, the result
    passes, through the API and the command line."""
    bench = K.BENCHMARKS[benchmark]
    targets, _, bounds = benchmark_tables(K.RULESET, benchmark)
    reached = bench.reached(accuracy, bench.inference_threshold(targets["tiny"]))
    if "tiny" in bounds:
        reached = reached and extras[K.RECONSTRUCTION_ERROR] <= K.inference_bound(bounds["tiny"])
    log = where / layout.INFERENCE_LOG
    (result,) = check_logs([log])
    found = sorted({(d.code, d.severity) for d in result.diagnostics})
    assert found == sorted({("SP504", "warning")} | ({("SP502", "error")} if not reached
                                                     else set())), result.diagnostics
    if "tiny" in bounds:  # at the target, but over the bound: the model no longer describes
        set_accuracy(log, targets["tiny"], **{K.RECONSTRUCTION_ERROR: bounds["tiny"] * 1.02})
        (result,) = check_logs([log])
        (d,) = [d for d in result.diagnostics if d.is_error]
        assert d.code == "SP502" and K.RECONSTRUCTION_ERROR in d.message, d
    set_accuracy(log, targets["tiny"], metric="another_metric")
    (result,) = check_logs([log])
    assert [d.code for d in result.diagnostics if d.is_error] == ["SP502"]
    set_accuracy(log, targets["tiny"], metric=bench.metric_name,
                 **({K.RECONSTRUCTION_ERROR: bounds["tiny"]} if "tiny" in bounds else {}))
    (result,) = check_logs([log])
    assert result.verdict == "pass", result.diagnostics
    assert [d.code for d in result.diagnostics] == ["SP504"], result.diagnostics
    check = sciperf("check", log)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("benchmark", [
    "em_denoise",
    pytest.param("cloudmask", marks=pytest.mark.slow),
    pytest.param("cosmoflow", marks=pytest.mark.slow),
    pytest.param("dsprites", marks=pytest.mark.slow),
    pytest.param("rotation", marks=pytest.mark.slow),
])
def test_both_scenarios_through_loadgen(tmp_path, capsys, data_dirs, benchmark):
    data_dir = data_dirs(benchmark)
    folder, sha = kept_model(tmp_path, benchmark, data_dir, REACHABLE[benchmark])
    expected, expected_extras, count = direct_accuracy(folder, data_dir)
    out_root = tmp_path / "sub"
    for scenario in layout.SCENARIOS:
        code, out, err = infer(capsys, benchmark, "--model", folder, "--scenario", scenario,
                               "--out", out_root, "--org", ORG, "--system", SYSTEM, "--quick")
        assert code == 0, out + err
        assert ":::MLLOG" not in out, "the records belong in the log, the terminal its summary"
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
        # LoadGen's accuracy log holds every sample's metric sums (and a whole-split metric's
        # rows: disentangle's codes and factors): scored at the end, they give the metric the
        # harness computes over the whole split (to float rounding, which differs with the
        # batch size and can flip a cloud mask's pixel that sits at 0.5: 1e-4 is 39 pixels).
        assert acc["value"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
        for k, v in expected_extras.items():
            if not isinstance(v, dict):
                assert acc["metadata"][k] == pytest.approx(v, rel=1e-4, abs=1e-6), k
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
        assert_checked(where, benchmark, acc["value"], acc["metadata"])


@pytest.mark.parametrize("benchmark", ["dsprites", "rotation"])
def test_a_kept_model_is_rebuilt_with_its_custom_layers(tmp_path, benchmark):
    """trained.load rebuilds the blueprint models (disentangle's Sample and LatentPenalty
    layers, rotation's group convolutions) with the kept weights: same hash, same answers."""
    cfg = load_config(benchmark, "tiny", overrides=["run.seed=3"])
    model_lib = importlib.import_module(f"reference_implementations.{benchmark}.model")
    model = model_lib.build(cfg)
    sha = trained.save(model, cfg, tmp_path / "model_0")
    cfg2, loaded, lib = trained.load(tmp_path / "model_0")
    assert lib is model_lib and cfg2.model == cfg.model
    assert trained.weights_sha256(loaded) == sha
    assert trained.weights_sha256(model_lib.build(cfg)) != sha  # the weights came from the file
    shape = (2, *model.input_shape[1:])
    if benchmark == "rotation":  # predict takes every view of a galaxy
        from reference_implementations.rotation.data import VIEWS
        shape = (2, VIEWS, *model.input_shape[1:])
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    import tensorflow as tf
    for a, b in zip(tf.nest.flatten(model_lib.predict(model, x)),
                    tf.nest.flatten(model_lib.predict(loaded, x))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
@pytest.mark.parametrize("benchmark", ["dsprites", "rotation"])
def test_a_run_keeps_a_model_that_sciperf_infer_scores(tmp_path, capsys, data_dirs, benchmark):
    """A (one-epoch, one-rank) training run of a blueprint benchmark keeps model_0/ with its
    weights_sha256 logged; `sciperf infer --accuracy` loads it and logs the same hash."""
    data_dir = data_dirs(benchmark)
    run = reference_run(benchmark, tmp_path, data_dir, seed=5, ranks=1,
                        overrides=["train.max_epochs=1"])
    assert run.records, run.proc.stderr[-3000:]
    assert_kept_model(run)
    code, out, err = infer(capsys, benchmark, "--model", layout.model_dir(run.result),
                           "--scenario", "offline", "--out", tmp_path / "out", "--accuracy")
    recs = {r["key"]: r for r in mllog_records(tmp_path / "out" / layout.INFERENCE_LOG)}
    assert recs[K.WEIGHTS_SHA256]["value"] == run.records[-1]["value"]
    # one epoch may or may not reach the official target (and bound): a result iff it does
    train = load_config(benchmark, "tiny").train
    acc = recs[K.INFERENCE_ACCURACY]
    bench = K.BENCHMARKS[benchmark]
    reached = bench.reached(acc["value"], bench.inference_threshold(train["target"])) and all(
        acc["metadata"][k] <= K.inference_bound(m) for k, m in (train.get("bounds") or {}).items())
    assert code == (0 if reached else 1), out + err


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


def test_a_split_that_cannot_be_scored_exits_2(tmp_path, capsys, em, monkeypatch):
    """The metric undefined on the split (rotation: no galaxy in an angle bin of a small
    --data-dir) is a run that cannot be made, said in a line, not a traceback."""
    from reference_implementations.em_denoise import model as em_model

    def undefined(total):
        raise ValueError("no validation galaxy has an angle in [0, 45) degrees")
    monkeypatch.setattr(em_model, "eval_finalize", undefined)
    folder, _ = kept_model(tmp_path, "em_denoise", em)
    code, out, err = infer(capsys, "em_denoise", "--model", folder, "--scenario", "offline",
                           "--out", tmp_path / "out", "--accuracy", "--quick")
    assert code == 2 and "cannot be scored" in err and "[0, 45)" in err, err


def test_read_accuracy_log_needs_every_sample(tmp_path):
    path = tmp_path / layout.LOADGEN_ACCURACY
    sums = inference.ResponseLayout({"a": 0.0, "b": 0.0}, {})
    one = sums.encode({"a": 1.0, "b": 2.0}, {}).tobytes().hex()
    path.write_text(json.dumps([{"seq_id": 0, "qsl_idx": 0, "data": one},
                                {"seq_id": 1, "qsl_idx": 1, "data": one}]))
    assert inference.read_accuracy_log(path, sums, 2) == {"a": 2.0, "b": 4.0}
    with pytest.raises(inference.InferError, match="2 of the 3 validation samples"):
        inference.read_accuracy_log(path, sums, 3)
    with pytest.raises(inference.InferError, match="holds 2 values, not 3"):
        inference.read_accuracy_log(path, inference.ResponseLayout({"a": 0, "b": 0, "c": 0},
                                                                   {}), 2)


def test_rows_come_back_in_split_order_with_their_dtype(tmp_path):
    """A whole-split benchmark's rows (disentangle: codes and factors, float32) travel in the
    response as float64 and come back exactly, stacked in the samples' order whatever order
    LoadGen answered them in."""
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(3, 1, 4)).astype(np.float32)
    labels = np.array([[[2]], [[0]], [[7]]], dtype=np.int64)
    rl = inference.ResponseLayout({"n": 1.0}, {"codes": codes[0], "labels": labels[0]})
    entries = [{"seq_id": s, "qsl_idx": i,
                "data": rl.encode({"n": 1.0}, {"codes": codes[i], "labels": labels[i]})
                .tobytes().hex()} for s, i in enumerate((2, 0, 1))]
    path = tmp_path / layout.LOADGEN_ACCURACY
    path.write_text(json.dumps(entries))
    total = inference.read_accuracy_log(path, rl, 3)
    assert total["n"] == 3.0
    assert total["codes"].dtype == np.float32 and total["labels"].dtype == np.int64
    np.testing.assert_array_equal(total["codes"], codes[:, 0])
    np.testing.assert_array_equal(total["labels"], labels[:, 0])

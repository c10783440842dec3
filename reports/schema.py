"""The fields of results.json / results.csv and rejected.json: one list, read by every renderer
and by the README text (`python -m reports.schema` prints it as Markdown)."""

from __future__ import annotations

# (name, type, meaning). Every row of results.json has every field; null where it does not apply
# (the strong-scaling fields on a weak row and the other way round).
RESULT_FIELDS: list[tuple[str, str, str]] = [
    ("submitter", "string", "the system description's `submitter` (as the summarizer shows it)"),
    ("org", "string", "the submission folder (ORG/) the result was found in"),
    ("system", "string", "the system description's `system_name`"),
    ("system_id", "string", "the system's file and folder name (ORG/systems/<system_id>.json)"),
    ("division", "string", "`closed` or `open`"),
    ("availability", "string", "the system description's `status` (onprem, cloud, preview, research, ...)"),
    ("benchmark", "string", "the benchmark folder's name"),
    ("scaling", "string", "`strong` (time to train) or `weak` (throughput)"),
    ("ruleset", "string", "the ruleset the logs were checked against, e.g. `sciperf-1.0.0`, `hpc-2.0.0`"),
    ("data_scale", "string or null", "SciPerf logs' `data_scale` (tiny, small, full); null for MLPerf HPC logs"),
    ("method", "string or null", "blueprints: the method the runs trained (their `method` record), when they all agree"),
    ("number_of_nodes", "integer", "nodes of the system (description)"),
    ("host_processor_model_name", "string", "host processor (description)"),
    ("host_processors_count", "integer", "`host_processors_per_node` x `number_of_nodes`"),
    ("accelerator_model_name", "string", "accelerator (description)"),
    ("accelerators_count", "integer", "`accelerators_per_node` x `number_of_nodes`"),
    ("framework", "string", "framework (description; TensorFlow commit hashes dropped, as the summarizer does)"),
    ("notes", "string", "`hw_notes` and `sw_notes` joined with `;`"),
    ("runs", "integer", "result_*.txt files in the result folder"),
    ("runs_dropped", "integer", "runs that missed the target (run_stop not `success`, or none): at most one; olympic scoring drops it as the slowest run, weak scaling does not count it"),
    ("dropped_logs", "list of strings", "file names of those runs"),
    ("global_batch_size", "number or null", "the runs' `global_batch_size` when they all agree"),
    ("time_to_train_minutes", "number or null", "strong: the score: olympic mean of the runs' `run_stop - run_start`, minutes, times `scaling_factor` when the result has one (as the published scores are)"),
    ("unscaled_time_to_train_minutes", "number or null", "strong: the olympic mean before `scaling_factor`"),
    ("run_times_minutes", "list of numbers or null", "strong: each finished run's time to train, fastest first"),
    ("scaling_factor", "number or null", "strong: the RCP normalisation in the result folder's `scaling.json`, when the submission carries one (mlperf-logging's RCP review writes it; a number of at least 1)"),
    ("number_of_models", "integer or null", "weak: runs that reached the target (models trained concurrently)"),
    ("instance_scale", "integer or null", "weak: accelerators per model, `number_of_nodes x max(accelerators_per_node, 1)` from the logs"),
    ("time_to_train_all_minutes", "number or null", "weak: earliest `run_start` to latest `run_stop` of those runs, minutes"),
    ("models_per_minute", "number or null", "weak: `number_of_models / time_to_train_all_minutes`"),
    ("panel", "object or null", "blueprints: each panel metric's `mean` over the runs that log it, its `spread` (max - min) and `runs`, by the metric's record key"),
    ("comparison", "object or null", "blueprints: the result's place in its blueprint's method-comparison table (strong scaling, with a panel): `blueprint`, `column` (0-based: the table's columns are these rows in that order, its metric rows their `panel` keys), `label` (the column's header: dataset, method, system) and `best` (the panel keys whose best value of the table this result holds, ties included: lowest `reconstruction_error`, highest otherwise); null for other results"),
    ("path", "string", "the result folder, as found under the ROOT argument"),
]
RESULT_FIELD_NAMES = [f[0] for f in RESULT_FIELDS]
LIST_FIELDS = {f[0] for f in RESULT_FIELDS if f[1].startswith("list")}

REJECTED_FIELDS: list[tuple[str, str, str]] = [
    ("submitter", "string", "as in results.json (the org folder when the system description is unusable)"),
    ("org", "string", "the submission folder"),
    ("system", "string", "as in results.json (the folder name when the description is unusable)"),
    ("system_id", "string", "the system's folder name"),
    ("division", "string", "from the description; empty when it is unusable"),
    ("benchmark", "string", "the benchmark folder's name"),
    ("scaling", "string", "`strong` or `weak`"),
    ("path", "string", "the result folder"),
    ("ruleset", "string or null", "the ruleset the logs were checked against"),
    ("diagnostics", "list of objects", "the errors that kept the result out, each as compliance/diagnostics.py's `Diagnostic.to_json()`: `code`, `severity`, `message`, `path`, `line`, `key`, `hint`, and `scope` (`org`, `system`, `scaling`, `benchmark`, `log`: where in the submission it lies, null meaning all)"),
]


# (name, type, meaning) of inference.json / inference.csv rows
INFERENCE_FIELDS: list[tuple[str, str, str]] = [
    ("submitter", "string", "the system description's `submitter`"),
    ("org", "string", "the submission folder (ORG/)"),
    ("system", "string", "the system description's `system_name`"),
    ("system_id", "string", "the system's file and folder name"),
    ("division", "string", "`closed` or `open` (the description's)"),
    ("availability", "string", "the system description's `status`"),
    ("host_processor_model_name", "string", "host processor (description)"),
    ("accelerator_model_name", "string", "accelerator (description)"),
    ("accelerators_count", "integer", "`accelerators_per_node` x `number_of_nodes`"),
    ("benchmark", "string", "the benchmark"),
    ("scaling", "string", "`inference` (as the rejected list names these results)"),
    ("scenario", "string", "`singlestream` or `offline`"),
    ("ruleset", "string", "the ruleset the result was checked against"),
    ("data_scale", "string", "the model's data scale (tiny, small, full)"),
    ("metric", "string", "the benchmark's quality metric (its `metric` name)"),
    ("accuracy", "number", "the accuracy run's quality metric over every validation sample"),
    ("p90_latency_ms", "number or null", "SingleStream: the score, LoadGen's 90th-percentile latency, ms"),
    ("p50_latency_ms", "number or null", "SingleStream: median latency, ms"),
    ("p99_latency_ms", "number or null", "SingleStream: 99th-percentile latency, ms"),
    ("mean_latency_ms", "number or null", "SingleStream: mean latency, ms"),
    ("samples_per_second", "number or null", "Offline: the score, LoadGen's samples per second"),
    ("unofficial", "boolean", "shortened settings (`sciperf infer --quick`): not comparable with official results"),
    ("weights_sha256", "string", "the model timed (a training log of the submission logs the same hash)"),
    ("path", "string", "the result's SCENARIO folder, as found under the ROOT argument"),
]
INFERENCE_FIELD_NAMES = [f[0] for f in INFERENCE_FIELDS]


def fields_markdown(fields: list[tuple[str, str, str]]) -> str:
    lines = ["| field | type | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{n}` | {t} | {m} |" for n, t, m in fields]
    return "\n".join(lines)


if __name__ == "__main__":
    print("results.json (a list of rows; results.csv has the same columns, lists joined with `;`)\n")
    print(fields_markdown(RESULT_FIELDS))
    print("\nrejected.json (a list, one entry per result kept out of the tables)\n")
    print(fields_markdown(REJECTED_FIELDS))
    print("\ninference.json (a list; inference.csv has the same columns)\n")
    print(fields_markdown(INFERENCE_FIELDS))

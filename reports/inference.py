"""Inference rows: one per checked inference result (system x benchmark x scenario), made from
what the compliance pipeline learnt (the result's RunSummary, which carries LoadGen's records;
no file is read again). A result enters the table when its checks pass (its own: SP5xx and
the rule files; and every package finding whose scope covers it, such as SP506); the others go
to the rejected list with the reasons, as training results do (reports/aggregate.py)."""

from __future__ import annotations

from compliance.summary import RunSummary
from reports.schema import INFERENCE_FIELD_NAMES
from sciperf import layout
from sciperf import vocab as K



def inference_row(rf: layout.ResultFolder, identity: dict, system_columns: dict,
                  fr) -> dict:
    """The row of a passing inference result (fr: its FileResult, with a summary)."""
    s: RunSummary = fr.summary
    perf = s.runs.get(layout.PERFORMANCE)
    lg = perf.loadgen if perf is not None else {}

    def value(key, scale=1.0):
        got = lg.get(key)
        v = got.value if got is not None else None
        return v / scale if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    acc = s.inference.get(K.INFERENCE_ACCURACY)
    flag = s.inference.get(K.INFERENCE_UNOFFICIAL)
    row = dict.fromkeys(INFERENCE_FIELD_NAMES)
    row.update({k: v for k, v in identity.items() if k in row})
    row.update({k: v for k, v in system_columns.items() if k in row})
    row.update({
        "scenario": rf.scenario,
        "ruleset": fr.ruleset,
        "data_scale": s.data_scale,
        "metric": (K.BENCHMARKS[rf.benchmark].metric_name if rf.benchmark in K.BENCHMARKS
                   else None),
        "accuracy": acc.value if acc is not None else None,
        "unofficial": bool(flag is not None and flag.value is True),
        "weights_sha256": s.weights_sha256.value if s.weights_sha256 is not None else None,
    })
    if rf.scenario == "singlestream":
        row.update({"p90_latency_ms": value(K.RESULT_P90_LATENCY_NS, 1e6),
                    "p50_latency_ms": value(K.RESULT_P50_LATENCY_NS, 1e6),
                    "p99_latency_ms": value(K.RESULT_P99_LATENCY_NS, 1e6),
                    "mean_latency_ms": value(K.RESULT_MEAN_LATENCY_NS, 1e6)})
    else:
        row["samples_per_second"] = value(K.RESULT_SAMPLES_PER_SECOND)
    return row


def add_inference(report, pkg, rf: layout.ResultFolder, logs: dict, package_errors: list,
                  system, identity: dict, system_errors: list) -> None:
    """Gate one inference result and add its row (or its rejection) to the report."""
    from reports.aggregate import _diag, _key

    scope = rf.scope
    errors = list(system_errors)
    errors += [d for d in package_errors if d.scope is None or d.scope.covers(scope)]
    fr = None
    if not rf.logs:
        errors.append(_diag("RP006", f"no {layout.INFERENCE_LOG} in this inference result",
                            rf.path, scope))
    else:
        log = rf.logs[0]
        fr = logs.get(_key(log))
        if fr is None:
            errors.append(_diag("RP007", "the compliance checker did not report on this result",
                                log, scope))
        elif fr.verdict != "pass" or fr.summary is None:
            errors += [d for d in fr.diagnostics if d.is_error]
    if errors:
        from reports.aggregate import _dedup

        rejected = dict(identity, scenario=rf.scenario, ruleset=getattr(fr, "ruleset", None),
                        diagnostics=[d.to_json() for d in _dedup(errors)])
        report.rejected.append(rejected)
        return
    report.inference.append(inference_row(rf, identity,
                                          system.columns() if system is not None else {}, fr))

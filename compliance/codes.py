"""Every diagnostic code of SciPerf's tools, in one registry: one stable id per kind of finding,
with its default severity, a title and the hint shown when the rule itself gives none.

Codes never change meaning once released; new kinds get new numbers. The code tables in docs/
are generated from this module (`python -m compliance.codes`, a test compares), so the two
cannot drift.

    SP0xx  the log file and its records (parser, run summary)
    SP1xx  how often a key occurs (the `REQ` of a rule)
    SP2xx  rule code on the records (`CHECK`, `FIRST_CHECK`, `ATLEAST_ONE_CHECK`, `END`)
    SP3xx  which ruleset and which rule files apply
    SP4xx  submission packages (compliance/package.py)
    SP5xx  inference results (compliance/inference.py)
    RPxxx  why `sciperf report` keeps a result out of its tables (reports/aggregate.py)

Rules from mlperf-logging's YAML have no ids of their own, so a finding's code says which kind
of rule failed, `key` names the MLLOG key, and `extra["rule"]` names the exact rule as
`<file>:<KEY>:<part>` (e.g. `closed_cosmoflow.yaml:opt_name:CHECK[1]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import ERROR, WARNING, Diagnostic


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    title: str
    hint: str


_TABLE = (
    # -- SP0xx: the file and its lines --------------------------------------------------------
    Code("SP001", ERROR, "a `:::MLLOG` line does not hold valid JSON",
         "Emit records through mlperf_logging.mllog and do not edit, wrap or truncate log lines."),
    Code("SP002", ERROR, "a `:::MLLOG` record is not a JSON object",
         "Each record is one JSON object: {\"time_ms\", \"event_type\", \"key\", \"value\", "
         "\"metadata\"}; emit it through mlperf_logging.mllog."),
    Code("SP003", ERROR, "a record lacks `time_ms`, `event_type`, `key`, `value` or `metadata`",
         "Emit records through mlperf_logging.mllog, which writes every field."),
    Code("SP004", ERROR, "a record field has the wrong type",
         "time_ms is a number, event_type one of POINT_IN_TIME, INTERVAL_START, INTERVAL_END, "
         "key a string and metadata an object."),
    Code("SP005", WARNING, "a line is not valid UTF-8 (read as Latin-1, as mlperf-logging does)",
         "Write logs in UTF-8."),
    Code("SP006", ERROR, "the log file cannot be read",
         "Check that the path is a readable regular file."),
    Code("SP007", ERROR, "the file holds no `:::MLLOG` record",
         "Point the checker at the run's result_<i>.txt, which holds the MLLOG records."),
    Code("SP008", ERROR, "a `:::MLLOG` line is longer than 1 MiB and is not read",
         "Log records of ordinary size; a record is one short JSON object."),
    Code("SP009", ERROR, "run_stop is earlier than run_start",
         "Log run_start and run_stop from one clock, in the order they happen."),
    # -- SP1xx: occurrence counts (REQ) ------------------------------------------------------
    Code("SP101", ERROR, "a key required exactly once is missing",
         "Log this key once (mllog event) in every run."),
    Code("SP102", ERROR, "a key required exactly once occurs several times with different values",
         "Log this key exactly once; a run has one value for it."),
    Code("SP103", WARNING, "a key required exactly once is repeated with the same value",
         "Log this key exactly once (repeats with the same value are tolerated; --werror "
         "rejects them)."),
    Code("SP104", ERROR, "a key required at least once is missing",
         "Log this key at least once in every run."),
    Code("SP105", ERROR, "a key occurs fewer times than the rule's AT_LEAST(n)",
         "Log this key at least as many times as the rule asks."),
    Code("SP106", ERROR, "none of a set of alternative keys occurs (AT_LEAST_ONE_OR)",
         "Log at least one of these keys (e.g. epoch_start/stop, or block_start/stop)."),
    # -- SP2xx: rule code --------------------------------------------------------------------
    Code("SP201", ERROR, "a record fails a `CHECK`",
         "Change the logged value (or the run's setting behind it) so that it meets the check."),
    Code("SP202", ERROR, "the first record of a key fails a `FIRST_CHECK`",
         "Change the first logged value of this key so that it meets the check."),
    Code("SP203", ERROR, "no record of a key satisfies its `ATLEAST_ONE_CHECK` (e.g. the "
                         "quality target was never reached, or the run was aborted)",
         "The run did not converge: train until the quality target is reached (run_stop "
         "status 'success')."),
    Code("SP204", ERROR, "an `END` check over the whole log fails",
         "Fix the log so that the end-of-log condition holds."),
    Code("SP205", ERROR, "a rule's code raised an error on this log (the record's value or "
                         "metadata has an unexpected shape, or the record is out of order)",
         "Log the value with the type and metadata the rule expects (see the rule text)."),
    # -- SP3xx: rulesets ---------------------------------------------------------------------
    Code("SP301", ERROR, "the log names no ruleset and none was given",
         "Pass --ruleset (e.g. --ruleset hpc-2.0.0 for MLPerf HPC v2.0 logs); SciPerf logs "
         "name theirs in the `sciperf_ruleset` record."),
    Code("SP302", ERROR, "the ruleset the log names is unknown",
         "Log a known ruleset in `sciperf_ruleset`, or pass --ruleset."),
    Code("SP303", ERROR, "no rule file for the benchmark or division the log names",
         "Check the spelling of submission_benchmark / submission_division; the message lists "
         "what this ruleset knows."),
    Code("SP304", ERROR, "the rule files enqueue each other without end",
         "This is a defect of the ruleset; report it to the ruleset's maintainers."),
    Code("SP305", WARNING, "the log names another ruleset than the one it was checked against",
         "Drop --ruleset to check the log against the ruleset it names."),
    # -- SP4xx: submission packages ----------------------------------------------------------
    # (this block is kept with compliance/package.py, which maps each code to the check name a
    # bypass file uses; severities here are the defaults, package.py lowers a few to warnings)
    Code("SP401", ERROR, "the submission tree's layout is wrong (no results/ or systems/, a "
                         "folder other than strong/ or weak/, a benchmark the ruleset lacks)",
         "Lay the tree out as <org>/results/<system>/{strong,weak}/<benchmark>/result_<i>.txt "
         "beside <org>/systems/ and <org>/benchmarks/ (`sciperf run --org --system` does)."),
    Code("SP402", ERROR, "a system's benchmark has the wrong number of result files (strong "
                         "scaling: exactly the ruleset's count; weak scaling: at least it)",
         "Submit the number of runs the ruleset asks for, named result_<i>.txt."),
    Code("SP403", ERROR, "more than one run of a system's benchmark missed the target (run_stop "
                         "not success, or the log fails its checks); one is a warning",
         "Rerun: the olympic mean drops one slowest run, so at most one may miss."),
    Code("SP404", ERROR, "two runs share a seed, or a closed-division run logs no seed",
         "Log a different seed (mllog key `seed`) in every run."),
    Code("SP405", ERROR, "a hyperparameter (or the data scale or dataset checksum) differs "
                         "across the runs of a system's benchmark",
         "Run every run of a benchmark with the same configuration and data."),
    Code("SP406", ERROR, "a system with results has no systems/<system>.json",
         "Capture it with `sciperf package ROOT --org ORG --system SYSTEM`."),
    Code("SP407", ERROR, "a system description is not valid JSON or breaks the schema "
                         "(compliance/schemas/system_description.json)",
         "Fix the field the message names; every value is a string, counts are digits."),
    Code("SP408", ERROR, "a symlink leaves the submission tree or dangles; it is not read",
         "Copy the file into the tree: a submission is self-contained."),
    Code("SP409", WARNING, "a file or folder the submission layout does not know",
         "Move it out of the tree, or name logs result_<i>.txt."),
    Code("SP410", ERROR, "a benchmark with results has no implementation code",
         "Copy the code to benchmarks/<benchmark>/implementations/<impl>/ (`sciperf package` "
         "does)."),
    Code("SP411", WARNING, "a bypass file names a check that does not exist or cannot be waived",
         "Name one waivable check per line: result-count, missed-target, seeds, "
         "hyperparameters, stray, implementation, system-consistency, rcp."),
    Code("SP412", ERROR, "logs disagree with their system description (division: error; "
                         "organisation: warning)",
         "Make submission_division / submission_org in the logs and division / submitter in "
         "systems/<system>.json agree."),
    Code("SP413", ERROR, "mlperf-logging's RCP checker rejects the runs (MLPerf HPC closed "
                         "division)",
         "The runs converge outside the reference convergence points; see the MLPerf HPC "
         "rules on RCPs."),
    Code("SP414", ERROR, "a result folder's scaling.json holds no usable scaling_factor (a "
                         "finite number of at least 1)",
         "Keep the scaling.json the RCP review wrote, {\"scaling_factor\": <number>}, or "
         "remove it."),
    # -- SP5xx: inference results (compliance/inference.py; rules.md section 8) --------------
    Code("SP501", ERROR, "an inference result lacks a file `sciperf infer` or LoadGen writes "
                         "(sciperf_log.txt, performance/ or accuracy/ mlperf_log_detail.txt, "
                         "accuracy/mlperf_log_accuracy.json)",
         "Keep the whole SCENARIO/ folder `sciperf infer` wrote, LoadGen's files as written."),
    Code("SP502", ERROR, "the accuracy run is below the benchmark's target (less the stated "
                         "tolerance) at its data scale, over the bound its target comes with "
                         "(plus the tolerance), or scored with another metric",
         "Time a model that reaches the target: a fast model that answers wrongly is not a "
         "result."),
    Code("SP503", ERROR, "LoadGen's accuracy log does not answer every validation sample once",
         "Keep accuracy/mlperf_log_accuracy.json as LoadGen wrote it; rerun `sciperf infer` "
         "if it is incomplete."),
    Code("SP504", WARNING, "the performance run used shortened (unofficial) settings; an error "
                           "when the log does not say so",
         "Run without --quick for a result (LoadGen's official settings: at least 600 s and "
         "100 queries)."),
    Code("SP505", ERROR, "the scenario differs between the folder, SciPerf's log and LoadGen's",
         "Keep each scenario's logs in its own folder, singlestream/ or offline/."),
    Code("SP506", ERROR, "the model timed is none a training log of the submission kept (no "
                         "result_<i>.txt of the benchmark logs its weights_sha256)",
         "Time a model a submitted training run kept (model_<i>/ beside result_<i>.txt)."),
    Code("SP507", ERROR, "the validation data is not the official dataset of the data scale",
         "Run on the official dataset (`sciperf data generate`), as the training run did."),
    # -- RPxxx: why the report keeps a result out (besides the checkers' own findings) ---------
    Code("RP001", ERROR, "the system description cannot be tabulated (missing, not JSON, a "
                         "field missing or not a whole number)",
         "Add the description with every field the tables show (`sciperf package`)."),
    Code("RP002", ERROR, "a log scoring cannot use (no run_start, or no run_stop time)",
         "A scored run needs run_start and run_stop records."),
    Code("RP003", ERROR, "more runs missed the target than olympic scoring can drop (one)",
         "Rerun until at most one run misses the target."),
    Code("RP004", ERROR, "not enough finished runs to score (strong: nothing left once the "
                         "fastest and slowest are dropped; weak: fewer than the ruleset's "
                         "minimum)",
         "Submit the ruleset's number of runs."),
    Code("RP005", ERROR, "weak-scaling runs that do not share one instance scale",
         "Run every model instance of a weak-scaling result on the same number of "
         "accelerators."),
    Code("RP006", ERROR, "a result folder without result_*.txt",
         "Put the runs' logs in the folder, or remove it."),
    Code("RP007", ERROR, "a log the compliance checker did not report on",
         "This is a defect of the report tool; report it."),
    Code("RP008", ERROR, "no weak-scaling run count known for the benchmark under the ruleset",
         "Give --ruleset, or use a benchmark the ruleset defines."),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}

def make(code: str, message: str, *, path: str = "", line: int | None = None,
         key: str | None = None, hint: str | None = None, **extra) -> Diagnostic:
    """A Diagnostic of a known code, with the code's severity and (unless given) its hint."""
    c = CODES[code]
    return Diagnostic(code=code, severity=c.severity, message=message, path=path, line=line,
                      key=key, hint=c.hint if hint is None else hint, extra=extra)


def markdown_table(family: str | None = None) -> str:
    """The docs' table of codes: of one family ("SP", "RP") or of all."""
    rows = ["| code | severity | finding | what to do |", "| --- | --- | --- | --- |"]
    for c in _TABLE:
        if family is None or c.code.startswith(family):
            rows.append(f"| {c.code} | {c.severity} | {c.title} | {c.hint} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    print(markdown_table(sys.argv[1] if len(sys.argv) > 1 else None))

"""The log contract's vocabulary, shared by the reference implementations and the checker.

Every key name, metric direction and benchmark fact that both sides must agree on lives here,
so a log written by `reference_implementations` and read by `compliance` cannot drift apart.
MLPerf's own key names are spelled as in `mlperf_logging.mllog.constants` (a test checks they
are equal; importing that package here would pull numpy into every `check-compliance` start);
SciPerf adds a few.
"""

from __future__ import annotations

from dataclasses import dataclass


RULESET = "sciperf-1.0.0"
RULESETS_HPC = ("hpc-1.0.0", "hpc-2.0.0", "hpc-3.0.0")
SCALES = ("tiny", "small", "full")
DIVISIONS = ("closed", "open")
STATUSES = ("onprem", "cloud", "preview", "research")

# -- keys MLPerf defines ------------------------------------------------------------------------
CACHE_CLEAR = "cache_clear"
INIT_START = "init_start"
INIT_STOP = "init_stop"
RUN_START = "run_start"
RUN_STOP = "run_stop"
EPOCH_START = "epoch_start"
EPOCH_STOP = "epoch_stop"
EVAL_START = "eval_start"
EVAL_STOP = "eval_stop"
EVAL_ACCURACY = "eval_accuracy"
EVAL_ERROR = "eval_error"  # MLPerf HPC's key for lower-is-better metrics
SEED = "seed"
GLOBAL_BATCH_SIZE = "global_batch_size"
TRAIN_SAMPLES = "train_samples"
EVAL_SAMPLES = "eval_samples"
NUMBER_OF_NODES = "number_of_nodes"
ACCELERATORS_PER_NODE = "accelerators_per_node"
SUBMISSION_BENCHMARK = "submission_benchmark"
SUBMISSION_DIVISION = "submission_division"
SUBMISSION_ORG = "submission_org"
SUBMISSION_PLATFORM = "submission_platform"
SUBMISSION_STATUS = "submission_status"
OPT_NAME = "opt_name"
OPT_BASE_LR = "opt_base_learning_rate"
OPT_LR_WARMUP_EPOCHS = "opt_learning_rate_warmup_epochs"
OPT_LR_WARMUP_FACTOR = "opt_learning_rate_warmup_factor"
OPT_LR_DECAY_BOUNDARY_EPOCHS = "opt_learning_rate_decay_boundary_epochs"
OPT_LR_DECAY_FACTOR = "opt_learning_rate_decay_factor"
OPT_WEIGHT_DECAY = "opt_weight_decay"
OPT_MOMENTUM = "opt_momentum"
DROPOUT = "dropout"
GRADIENT_ACCUMULATION_FREQUENCY = "gradient_accumulation_frequency"
GRADIENT_ACCUMULATION_STEPS = "gradient_accumulation_steps"  # MLPerf training's spelling
BATCHNORM_GROUP_SIZE = "batchnorm_group_size"
# Keys whose values must be equal across the runs of one result (package check): every key with
# one of these prefixes, plus the named ones.
HYPERPARAMETER_PREFIXES = ("opt_", "scheduler_")
HYPERPARAMETER_KEYS = (GLOBAL_BATCH_SIZE, DROPOUT, GRADIENT_ACCUMULATION_FREQUENCY,
                       BATCHNORM_GROUP_SIZE)

STATUS = "status"  # run_stop metadata key
SUCCESS = "success"
ABORTED = "aborted"
EPOCH_NUM = "epoch_num"

# -- keys SciPerf adds --------------------------------------------------------------------------
SCIPERF_RULESET = "sciperf_ruleset"  # value: the ruleset the log claims, e.g. "sciperf-1.0.0"
DATA_SCALE = "data_scale"  # value: one of SCALES
DATASET_CHECKSUM = "dataset_checksum"  # value: sha256 of the dataset's MANIFEST.json
METRIC_NAME = "metric"  # metadata key on the quality-metric record: what the value measures
ABORT_REASON = "reason"  # run_stop metadata key when status is aborted
# The start of run_stop's reason when a run trained all its epochs without reaching the
# target: a finished run (`sciperf run --resume` keeps it), unlike one stopped by a fault.
TARGET_MISSED = "target not reached"
METHOD = "method"  # value: the method a blueprint run trains (e.g. "beta_vae"); blueprints only
DATA_AUGMENTATION = "data_augmentation"  # value: the config's data.augmentation, where it has one
# value: sha256 of the trained weights (training log, after run_stop; inference log: the model
# timed). Training: reference_implementations/common/trained.py; see docs/inference.md.
WEIGHTS_SHA256 = "weights_sha256"

# -- inference (`sciperf infer`: MLPerf LoadGen; docs/inference.md) ------------------------------
INFERENCE_SCENARIO = "inference_scenario"  # value: one of sciperf.layout.SCENARIOS
# value: the accuracy run's quality metric over every validation sample; metadata: `metric` (the
# benchmark's metric name), `samples`, and `sums` (the metric's sums, as LoadGen logged them)
INFERENCE_ACCURACY = "inference_accuracy"
INFERENCE_UNOFFICIAL = "inference_unofficial"  # value: true when the settings were shortened
# How far below the benchmark's quality target the accuracy run may be (relative), as MLPerf
# Inference accepts 99 % of the reference accuracy (rules.md section 8).
INFERENCE_ACCURACY_TOLERANCE = 0.01


def inference_bound(bound: float, tolerance: float = INFERENCE_ACCURACY_TOLERANCE) -> float:
    """What an inference accuracy run's bounded metric (a bound training holds at the target,
    such as disentangle's reconstruction error) may reach: the bound, at most `tolerance`
    (relative) above it."""
    return bound + abs(bound) * tolerance


# LoadGen's names of the scenarios (sciperf.layout.SCENARIOS), and its official settings (its
# built-in mlperf.conf, `*.*`: min_duration 600 s, min_query_count 100; Offline issues one query)
LOADGEN_SCENARIOS = {"singlestream": "SingleStream", "offline": "Offline"}
INFERENCE_OFFICIAL_MIN_DURATION_MS = 600_000
INFERENCE_OFFICIAL_MIN_QUERIES = {"singlestream": 100, "offline": 1}
# Keys LoadGen writes into mlperf_log_detail.txt that the checker and the report read.
LOADGEN_VERSION = "loadgen_version"
EFFECTIVE_MIN_DURATION_MS = "effective_min_duration_ms"
EFFECTIVE_MIN_QUERY_COUNT = "effective_min_query_count"
RESULT_VALIDITY = "result_validity"
RESULT_MIN_DURATION_MET = "result_min_duration_met"
RESULT_MIN_QUERIES_MET = "result_min_queries_met"
EFFECTIVE_SCENARIO = "effective_scenario"
EFFECTIVE_TEST_MODE = "effective_test_mode"
RESULT_P90_LATENCY_NS = "result_90.00_percentile_latency_ns"
RESULT_P50_LATENCY_NS = "result_50.00_percentile_latency_ns"
RESULT_P99_LATENCY_NS = "result_99.00_percentile_latency_ns"
RESULT_MEAN_LATENCY_NS = "result_mean_latency_ns"
RESULT_SAMPLES_PER_SECOND = "result_samples_per_second"
RESULT_QPS = "result_qps_with_loadgen_overhead"  # SingleStream: queries (= samples) per second
RESULT_QUERY_COUNT = "result_query_count"
DATA_AUGMENTATION = "data_augmentation"  # value: the config's data.augmentation, where it has one
# The disentanglement blueprint's method hyperparameters (one record each, after `method`).
VAE_BETA = "vae_beta"  # the weight of the KL term (beta-VAE; 1 for DIP-VAE-II)
DIP_LAMBDA_OD = "dip_vae_lambda_od"  # DIP-VAE-II: weight of the off-diagonal covariance penalty
DIP_LAMBDA_D = "dip_vae_lambda_d"  # DIP-VAE-II: weight of the diagonal (variance - 1) penalty
# The disentanglement panel (reference_implementations/disentangle/metrics.py computes it), and
# the reconstruction error logged beside it (mean squared error per pixel, images in [0, 1]).
DISENTANGLE_PANEL = ("z_diff", "z_var", "dci_rf_disentanglement", "dci_rf_completeness",
                     "dci_rf_informativeness", "mig", "jemmig", "dcimig")
RECONSTRUCTION_ERROR = "reconstruction_error"
DISENTANGLE_METRIC = "mig"  # the panel's metric that is the quality target (eval_accuracy)

MANIFEST_NAME = "MANIFEST.json"

# Records every SciPerf log carries exactly once (besides the quality metric, at least once).
REQUIRED_ONCE = (
    SUBMISSION_BENCHMARK, SUBMISSION_DIVISION, SUBMISSION_ORG, SUBMISSION_PLATFORM,
    SUBMISSION_STATUS, SCIPERF_RULESET, DATA_SCALE, DATASET_CHECKSUM, SEED, GLOBAL_BATCH_SIZE,
    TRAIN_SAMPLES, EVAL_SAMPLES, NUMBER_OF_NODES, ACCELERATORS_PER_NODE, INIT_STOP, RUN_START,
    RUN_STOP,
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    domain: str
    metric_key: str  # EVAL_ACCURACY (higher is better) or EVAL_ERROR (lower is better)
    metric_name: str  # what the value is, e.g. "mae", "psnr_db"
    # A blueprint benchmark compares methods, not only systems: the blueprint it belongs to
    # (None for a fixed science case) and the keys of the domain-metric records its logs carry
    # beside the quality metric (the panel), which the checker bounds and the report tabulates.
    blueprint: str | None = None
    panel: tuple[str, ...] = ()
    # The panel keys scored once, on the final model after run_stop (outside the timed region:
    # too costly for every evaluation); the others come with every evaluation.
    panel_after_run: tuple[str, ...] = ()

    @property
    def higher_is_better(self) -> bool:
        return self.metric_key == EVAL_ACCURACY

    def reached(self, value: float, target: float) -> bool:
        return value >= target if self.higher_is_better else value <= target

    def inference_threshold(self, target: float,
                            tolerance: float = INFERENCE_ACCURACY_TOLERANCE) -> float:
        """What an inference accuracy run must reach: the target, at most `tolerance` (relative)
        worse."""
        margin = abs(target) * tolerance
        return target - margin if self.higher_is_better else target + margin


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("cosmoflow", "cosmology", EVAL_ERROR, "mae"),
        Benchmark("cloudmask", "environmental", EVAL_ACCURACY, "pixel_accuracy"),
        Benchmark("em_denoise", "materials", EVAL_ACCURACY, "psnr_db"),
        # Blueprint "disentangle": the reconstruction error at every evaluation, the whole
        # panel once on the final model (docs/disentanglement.md).
        *(Benchmark(name, "understanding features", EVAL_ACCURACY, DISENTANGLE_METRIC,
                    blueprint="disentangle", panel=(*DISENTANGLE_PANEL, RECONSTRUCTION_ERROR),
                    panel_after_run=DISENTANGLE_PANEL) for name in ("dsprites", "shapes3d")),
        # Upright accuracy, accuracy per 45-degree bin of the galaxies' angle, and the share of
        # galaxies given one class at 8 turns (reference_implementations/rotation/model.py).
        Benchmark("rotation", "astronomy", EVAL_ACCURACY, "top1_accuracy", blueprint="rotation",
                  panel=("upright_accuracy",
                         *(f"angle_accuracy_{a:03d}" for a in range(0, 360, 45)),
                         "rotation_consistency")),
    )
}

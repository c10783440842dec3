"""The log contract's vocabulary, shared by the reference implementations and the checker.

Every key name, metric direction and benchmark fact that both sides must agree on lives here,
so a log written by `reference_implementations` and read by `compliance` cannot drift apart.
MLPerf's own key names come from `mlperf_logging.mllog.constants`; SciPerf adds a few.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlperf_logging.mllog import constants as C

RULESET = "sciperf-1.0.0"
RULESETS_HPC = ("hpc-1.0.0", "hpc-2.0.0", "hpc-3.0.0")
SCALES = ("tiny", "small", "full")
DIVISIONS = ("closed", "open")
STATUSES = ("onprem", "cloud", "preview", "research")

# -- keys MLPerf defines ------------------------------------------------------------------------
CACHE_CLEAR = C.CACHE_CLEAR
INIT_START = C.INIT_START
INIT_STOP = C.INIT_STOP
RUN_START = C.RUN_START
RUN_STOP = C.RUN_STOP
EPOCH_START = C.EPOCH_START
EPOCH_STOP = C.EPOCH_STOP
EVAL_START = C.EVAL_START
EVAL_STOP = C.EVAL_STOP
EVAL_ACCURACY = C.EVAL_ACCURACY
EVAL_ERROR = "eval_error"  # MLPerf HPC's key for lower-is-better metrics
SEED = C.SEED
GLOBAL_BATCH_SIZE = C.GLOBAL_BATCH_SIZE
TRAIN_SAMPLES = C.TRAIN_SAMPLES
EVAL_SAMPLES = C.EVAL_SAMPLES
NUMBER_OF_NODES = "number_of_nodes"
ACCELERATORS_PER_NODE = "accelerators_per_node"
SUBMISSION_BENCHMARK = C.SUBMISSION_BENCHMARK
SUBMISSION_DIVISION = C.SUBMISSION_DIVISION
SUBMISSION_ORG = C.SUBMISSION_ORG
SUBMISSION_PLATFORM = C.SUBMISSION_PLATFORM
SUBMISSION_STATUS = C.SUBMISSION_STATUS
OPT_NAME = C.OPT_NAME
OPT_BASE_LR = C.OPT_BASE_LR
OPT_LR_WARMUP_EPOCHS = "opt_learning_rate_warmup_epochs"
OPT_LR_WARMUP_FACTOR = "opt_learning_rate_warmup_factor"
OPT_LR_DECAY_BOUNDARY_EPOCHS = "opt_learning_rate_decay_boundary_epochs"
OPT_LR_DECAY_FACTOR = "opt_learning_rate_decay_factor"
OPT_WEIGHT_DECAY = "opt_weight_decay"
OPT_MOMENTUM = "opt_momentum"
DROPOUT = "dropout"
GRADIENT_ACCUMULATION_FREQUENCY = "gradient_accumulation_frequency"
BATCHNORM_GROUP_SIZE = "batchnorm_group_size"
# Keys whose values must be equal across the runs of one result (package check): every key with
# one of these prefixes, plus the named ones.
HYPERPARAMETER_PREFIXES = ("opt_", "scheduler_")
HYPERPARAMETER_KEYS = (GLOBAL_BATCH_SIZE, DROPOUT, GRADIENT_ACCUMULATION_FREQUENCY,
                       BATCHNORM_GROUP_SIZE)

STATUS = C.STATUS  # run_stop metadata key
SUCCESS = C.SUCCESS
ABORTED = C.ABORTED
EPOCH_NUM = C.EPOCH_NUM

# -- keys SciPerf adds --------------------------------------------------------------------------
SCIPERF_RULESET = "sciperf_ruleset"  # value: the ruleset the log claims, e.g. "sciperf-1.0.0"
DATA_SCALE = "data_scale"  # value: one of SCALES
DATASET_CHECKSUM = "dataset_checksum"  # value: sha256 of the dataset's MANIFEST.json
METRIC_NAME = "metric"  # metadata key on the quality-metric record: what the value measures
ABORT_REASON = "reason"  # run_stop metadata key when status is aborted

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

    @property
    def higher_is_better(self) -> bool:
        return self.metric_key == EVAL_ACCURACY

    def reached(self, value: float, target: float) -> bool:
        return value >= target if self.higher_is_better else value <= target


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("cosmoflow", "cosmology", EVAL_ERROR, "mae"),
        Benchmark("cloudmask", "environmental", EVAL_ACCURACY, "pixel_accuracy"),
        Benchmark("em_denoise", "materials", EVAL_ACCURACY, "psnr_db"),
    )
}

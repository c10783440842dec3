from mlperf_logging.mllog import constants as C

from sciperf import vocab


def test_mlperf_key_names_are_mlperf_logging_s():
    for name in ("CACHE_CLEAR", "INIT_START", "INIT_STOP", "RUN_START", "RUN_STOP", "EPOCH_START",
                 "EPOCH_STOP", "EVAL_START", "EVAL_STOP", "EVAL_ACCURACY", "SEED",
                 "GLOBAL_BATCH_SIZE", "TRAIN_SAMPLES", "EVAL_SAMPLES", "SUBMISSION_BENCHMARK",
                 "SUBMISSION_DIVISION", "SUBMISSION_ORG", "SUBMISSION_PLATFORM",
                 "SUBMISSION_STATUS", "OPT_NAME", "OPT_BASE_LR", "STATUS", "SUCCESS", "ABORTED",
                 "EPOCH_NUM"):
        assert getattr(vocab, name) == getattr(C, name), name

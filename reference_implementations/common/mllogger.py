"""One MLLOG logger that knows its rank: rank 0 writes every record of the log contract to
stdout and to the run's result file; every other rank writes nothing."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mlperf_logging.mllog.mllog import MLLogger


class RankLogger:
    def __init__(self, rank: int, result_file: str | Path | None = None):
        self.enabled = rank == 0
        self.result_file = Path(result_file) if result_file else None
        if not self.enabled:
            return
        # A logger of our own (not mllog's module-level default) so two runs in one process
        # (tests) never share handlers; FileHandler flushes every record, so a crash mid-run
        # still leaves a readable log.
        logger = logging.getLogger(f"sciperf.mllog.{id(self)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.StreamHandler(sys.stdout))
        if self.result_file:
            self.result_file.parent.mkdir(parents=True, exist_ok=True)
            logger.addHandler(logging.FileHandler(self.result_file, mode="w"))
        self._logger = logger
        self._mllog = MLLogger(logger=logger, default_stack_offset=2)

    def event(self, key, value=None, metadata=None):
        if self.enabled:
            self._mllog.event(key=key, value=value, metadata=metadata)

    def start(self, key, value=None, metadata=None):
        if self.enabled:
            self._mllog.start(key=key, value=value, metadata=metadata)

    def end(self, key, value=None, metadata=None):
        if self.enabled:
            self._mllog.end(key=key, value=value, metadata=metadata)

    def close(self):
        if self.enabled:
            for h in list(self._logger.handlers):
                h.flush()
                h.close()
                self._logger.removeHandler(h)

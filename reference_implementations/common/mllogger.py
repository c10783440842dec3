"""One MLLOG logger that knows its rank: rank 0 writes every record of the log contract to
stdout and to the run's result file; every other rank writes nothing.

A record that cannot be written to the result file (disk full, file-size limit, a folder that
became read-only) raises LogWriteError at once, naming the file, so the run stops instead of
training on with a log that lost records; the file is cut back to its last whole record."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from mlperf_logging.mllog.mllog import MLLogger

from sciperf import vocab as K


class LogWriteError(Exception):
    """The result file cannot be written; the message names it and says why."""

    def __init__(self, path: Path, error: BaseException):
        reason = getattr(error, "strerror", None) or str(error)
        super().__init__(f"cannot write the log {path}: {reason}")
        self.path = path


class _ResultFile(logging.Handler):
    """The result file, written record by record with os.write (no buffer that could hold half
    a record back). A write that fails cuts the file back to its last whole record (a size
    limit allows that, and it frees a full disk) and sets `error`; logging's own FileHandler
    would print "--- Logging error ---" and go on, and mllog swallows what a handler raises,
    so RankLogger checks `error` after every record."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.whole = 0  # bytes of the file that hold whole records
        self.error: LogWriteError | None = None

    def emit(self, record):
        if self.fd is None:
            return
        data = (self.format(record) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as e:
            try:
                os.ftruncate(self.fd, self.whole)
            except OSError:
                pass
            self.close()
            self.error = LogWriteError(self.path, e)
            return
        self.whole += len(data)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        super().close()


class RankLogger:
    def __init__(self, rank: int, result_file: str | Path | None = None, echo: bool = True):
        """echo: also print each record on stdout (a training run's stream, as MLPerf's
        references do; `sciperf infer` prints its own summary lines instead)."""
        self.enabled = rank == 0
        self.result_file = Path(result_file) if result_file else None
        self.status: str | None = None  # run_stop's status once it is written
        self._finish = threading.Lock()
        if not self.enabled:
            return
        # A logger of our own (not mllog's module-level default) so two runs in one process
        # (tests) never share handlers.
        logger = logging.getLogger(f"sciperf.mllog.{id(self)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        if echo:
            logger.addHandler(logging.StreamHandler(sys.stdout))
        self._file = None
        if self.result_file:
            # Past a file-size limit the kernel sends SIGXFSZ, which kills the process without
            # a word; ignored, the write fails with EFBIG and LogWriteError says so.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            try:
                self.result_file.parent.mkdir(parents=True, exist_ok=True)
                self._file = _ResultFile(self.result_file)
            except OSError as e:
                raise LogWriteError(self.result_file, e) from e
            logger.addHandler(self._file)
        self._logger = logger
        self._mllog = MLLogger(logger=logger, default_stack_offset=3)

    def event(self, key, value=None, metadata=None):
        self._write("event", key, value, metadata)

    def start(self, key, value=None, metadata=None):
        self._write("start", key, value, metadata)

    def end(self, key, value=None, metadata=None):
        self._write("end", key, value, metadata)

    def _write(self, kind, key, value, metadata):
        if not self.enabled:
            return
        # file and lineno in the record: the caller of event/start/end/finish
        getattr(self._mllog, kind)(key=key, value=value, metadata=metadata)
        if self._file is not None and self._file.error is not None:
            # Whatever follows (run_stop) still goes to stdout; the file stays as it was cut.
            self._logger.removeHandler(self._file)
            error, self._file = self._file.error, None
            raise error

    def progress(self, text: str) -> None:
        """One line for the person watching the run (stderr, so stdout stays MLLOG only)."""
        if self.enabled:
            print(f"sciperf: {text}", file=sys.stderr, flush=True)

    def finish(self, status: str, reason: str | None = None, close: bool = True) -> bool:
        """Write run_stop, once, from whichever thread comes first (the training loop, or the
        signal watch), and close the log; with `close` False it stays open for what the finished
        run logs after its clock stopped (its weights' hash, a blueprint's panel) until
        close(). Every record is already out when written (stdout's handler flushes each one,
        the result file is written with os.write). False if run_stop was already written."""
        with self._finish:
            if self.status is not None:
                return False
            self.status = status
            if not self.enabled:
                return True
            metadata = {K.STATUS: status}
            if reason:
                metadata[K.ABORT_REASON] = reason
            try:
                self._write("end", K.RUN_STOP, None, metadata)
            except LogWriteError:
                pass  # the caller already reports the log's failure
            if close:
                self.close()
            return True

    def close(self) -> None:
        """Flush and close the log (again: nothing)."""
        if not self.enabled:
            return
        for h in list(self._logger.handlers):
            try:
                h.flush()
                h.close()
            except (OSError, ValueError):
                pass
            self._logger.removeHandler(h)

"""`horovodrun` with its arguments unchanged, that says which rank ended a run and how.

Horovod's driver runs each rank under `sh -c` and, as soon as one exits non-zero, stops the
others (SIGTERM, SIGKILL 5 s later). The first rank to end badly is posted as a fault notice
(reference_implementations/common/faults.py) *before* the others are stopped, so rank 0's
run_stop names it ("rank 1 was killed by SIGKILL") rather than the SIGTERM it gets next; and
horovodrun's closing traceback becomes one line saying the same.
"""

import ctypes
import os
import signal
import sys

from horovod.runner.common.util import safe_shell_exec
from horovod.runner.launch import run_commandline

from reference_implementations.common import faults

_execute = safe_shell_exec.execute
failures: list[str] = []  # what each failing rank did, in the order seen


def _execute_and_tell(command, *args, **kwargs):
    code = _execute(command, *args, **kwargs)  # gloo_run looks it up on the module per rank
    rank = kwargs.get("index")
    if code != 0 and rank is not None:
        what = f"rank {rank} {faults.describe_exit(code)}"
        faults.post(what, f"rank-{rank}")
        failures.append(what)
    return code


def _stop_with_parent() -> None:
    """Started by `sciperf run` (which passes a fault folder): should it die, even by SIGKILL,
    the kernel sends this driver SIGTERM, which stops the ranks, rather than leave them
    running with no one to read their output."""
    if os.environ.get(faults.FAULT_DIR_ENV) and sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main() -> int:
    sys.argv[0] = "horovodrun"
    _stop_with_parent()
    safe_shell_exec.execute = _execute_and_tell
    try:
        run_commandline()
    except RuntimeError as e:
        what = "; ".join(failures) if failures else str(e).splitlines()[0]
        print(f"horovodrun: {what}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

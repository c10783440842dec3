"""`horovodrun` with its arguments unchanged, minus the traceback it prints when a rank exits
non-zero (the ranks have already said why; the run's log ends with run_stop aborted)."""

import sys

from horovod.runner.launch import run_commandline


def main() -> int:
    sys.argv[0] = "horovodrun"
    try:
        run_commandline()
    except RuntimeError as e:
        print(f"horovodrun: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

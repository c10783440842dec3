"""Train the CloudMask reference implementation:
`python -m reference_implementations.cloudmask.train --scale tiny --data-dir DIR`
(under `horovodrun -np N ...` for N ranks). The loop, logging and stopping are the shared
harness's (reference_implementations/common/training.py)."""

from ..common.training import main_for

main = main_for("cloudmask")

if __name__ == "__main__":
    raise SystemExit(main())

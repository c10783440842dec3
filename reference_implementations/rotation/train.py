"""Train the rotation reference implementation: `python -m reference_implementations.rotation.train
--scale tiny` (one process) or under `horovodrun -np N`."""

from ..common.training import main_for

main = main_for("rotation")

if __name__ == "__main__":
    raise SystemExit(main())

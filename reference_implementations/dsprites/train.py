"""Train the dsprites reference implementation: `python -m reference_implementations.dsprites.train
--scale tiny` (one process) or under `horovodrun -np N`."""

from ..common.training import main_for

main = main_for("dsprites")

if __name__ == "__main__":
    raise SystemExit(main())

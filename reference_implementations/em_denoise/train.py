"""Train the em_denoise reference implementation: `python -m reference_implementations.em_denoise.train
--scale tiny` (one process) or under `horovodrun -np N`."""

from ..common.training import main_for

main = main_for("em_denoise")

if __name__ == "__main__":
    raise SystemExit(main())

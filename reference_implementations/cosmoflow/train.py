"""Train the CosmoFlow reference implementation:
`python -m reference_implementations.cosmoflow.train --scale tiny` (one process), or the same
under `horovodrun -np N` (or `sciperf run cosmoflow --np N`)."""

from ..common.training import main_for

main = main_for("cosmoflow")

if __name__ == "__main__":
    raise SystemExit(main())

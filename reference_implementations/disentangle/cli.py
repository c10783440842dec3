"""`sciperf metrics disentangle --factors F.npy --codes C.npy [--seed S] [--format text|json]`:
score a model's codes against the true factors of the same samples with the whole panel.

Exit 0: every metric scored; 1: the input was valid but some metric is undefined on it (its
value is null, the reason beside it); 2: bad input (a file that is not a .npy array, arrays
that do not fit together, NaN or infinite values, too few rows for a metric), one line on
stderr naming the file or the metric.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import metrics as M

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


class UsageError(Exception):
    """Bad input: the message names the file or the metric."""


def load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
    except OSError as e:
        raise UsageError(f"{path}: cannot be read: {e.strerror}") from None
    if head.startswith(ZIP_MAGIC):
        raise UsageError(f"{path}: is a .npz archive, not a .npy array (save one array with "
                         "numpy.save)")
    if head != NPY_MAGIC:
        raise UsageError(f"{path}: not a .npy array (it does not start with the NPY magic "
                         "bytes; save the array with numpy.save)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"{path}: cannot be read as a .npy array: {e}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sciperf metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(metavar="METRICS", dest="family", required=True)
    d = sub.add_parser("disentangle", help="the disentanglement panel of a representation")
    d.add_argument("--factors", type=Path, required=True,
                   help=".npy array, N x K: the true generative factors of N samples")
    d.add_argument("--codes", type=Path, required=True,
                   help=".npy array, N x L: a model's codes of the same N samples, same order")
    d.add_argument("--seed", type=int, default=0, help="seed of the sampled metrics (z_diff, "
                                                       "z_var, dci_rf); default 0")
    d.add_argument("--format", choices=("text", "json"), default="text")
    d.add_argument("--jobs", type=int, default=0,
                   help="threads for DCI's forests (default 0: one per core)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.seed < 0:
            raise UsageError(f"--seed {args.seed}: a seed is a whole number >= 0")
        if args.jobs < 0:
            raise UsageError(f"--jobs {args.jobs}: 0 (every core) or more")
        arrays = {"factors": load_npy(args.factors), "codes": load_npy(args.codes)}
        paths = {"factors": args.factors, "codes": args.codes}
        try:
            factors, codes = M.check_panel_input(arrays["factors"], arrays["codes"])
        except M.InputError as e:
            raise UsageError(f"{paths[e.which]}: {e.message}") from None
        except M.MetricError as e:
            raise UsageError(f"{e.metric}: {args.factors} and {args.codes} hold "
                             f"{e.message}") from None
    except UsageError as e:
        print(f"sciperf metrics: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    result = M.panel(factors, codes, args.seed, n_jobs=args.jobs or None,
                     progress=_progress if sys.stderr.isatty() else None)
    seconds = time.perf_counter() - start
    if args.format == "json":
        print(json.dumps({**result.values, "not_computed": result.not_computed}, indent=1))
    else:
        n, k = factors.shape
        print(f"disentanglement panel of {args.codes} against {args.factors}: {n} samples, {k} "
              f"factors, {codes.shape[1]} codes, seed {args.seed}, {seconds:.1f} s")
        for key in M.PANEL_KEYS:
            value = result.values[key]
            shown = f"{value:8.4f}" if value is not None else "     n/a"
            print(f"  {key:<24}{shown}   {M.DESCRIPTIONS[key]}")
            if key in result.not_computed:
                print(f"  {'':<24}           not computed: {result.not_computed[key]}")
        print("  (every metric: higher is better, 1 at best; docs/disentanglement.md)")
    return 1 if result.not_computed else 0


def _progress(part: str, result: M.Panel) -> None:
    print(f"sciperf metrics: {part} done ({result.seconds[part]:.1f} s)", file=sys.stderr,
          flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Count the files a command opens, in its own process and in the worker processes it forks:
an audit hook (sys.addaudithook, inherited through fork) appends every opened path to a file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.support import REPO, env

_RUNNER = r"""
import os, sys
log_fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        os.write(log_fd, (os.path.abspath(path) + "\n").encode("utf-8", "surrogateescape"))

sys.addaudithook(hook)
import importlib
module = importlib.import_module(sys.argv[2])
raise SystemExit(module.main(sys.argv[3:]))
"""


def opens(tmp_path: Path, module: str, *argv) -> tuple[int, Counter]:
    """Run `module.main(argv)` in a fresh process; its exit status and how often each file was
    opened (all its processes together)."""
    record = tmp_path / "opened.txt"
    record.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", _RUNNER, str(record), module, *map(str, argv)],
                         cwd=REPO, env=env(), capture_output=True, text=True, timeout=900)
    assert out.returncode in (0, 1), out.stderr[-3000:]
    counts = Counter(record.read_text().splitlines()) if record.exists() else Counter()
    return out.returncode, counts


__all__ = ["opens", "json"]

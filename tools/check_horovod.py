"""Fail set-up loudly unless Horovod was built with TensorFlow and Gloo (pip caches the wheel by
the sdist, not by the TensorFlow it was built against, so a stale wheel must not slip by)."""

import re
import subprocess
import sys
from pathlib import Path

runner = Path(sys.executable).with_name("horovodrun")
out = subprocess.run([str(runner), "--check-build"], capture_output=True, text=True).stdout
missing = [name for name in ("TensorFlow", "Gloo") if not re.search(rf"\[X\] {name}\b", out)]
if missing:
    sys.exit(f"error: horovodrun --check-build does not list {' and '.join(missing)}:\n{out}\n"
             "Rebuild: rm -rf .venv ~/.cache/pip/wheels && make venv")
print("horovod: built with TensorFlow and Gloo")

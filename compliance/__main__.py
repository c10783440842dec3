"""`python -m compliance` is `check-compliance`."""

from .cli import main

raise SystemExit(main())

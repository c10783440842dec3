"""Diagnostics: the one shape every finding of the checker takes (log rules and package rules).

Like a linter's: a stable code, a severity, where (file and the file's own line), the key it
concerns, a message, and a hint that says what to change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sciperf.layout import Scope

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str  # stable id, e.g. "SP101"; documented in README.md
    severity: str  # ERROR or WARNING
    message: str  # one sentence: what is wrong
    path: str = ""  # the file concerned, as shown to the user
    line: int | None = None  # the file's own 1-based line number, where there is one
    key: str | None = None  # the MLLOG key (or package item) concerned
    hint: str = ""  # what to change
    extra: dict = field(default_factory=dict)  # machine-readable details (e.g. waived=True)
    # where in a submission it lies, kept from the check that made it to the report's
    # rejected list (None: not inside a submission, e.g. a log checked on its own)
    scope: Scope | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        if not d["extra"]:
            del d["extra"]
        if self.scope is None:
            del d["scope"]
        return d

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

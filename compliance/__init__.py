"""SciPerf's compliance checker: MLLOG parser, the YAML rule engine, rulesets, the run summary,
package checks and the CLI.

Public entry points: `compliance.parser.parse_file`, `compliance.api.check_logs` (logs),
`compliance.pipeline.check_paths` (logs and submission trees, one pass per log) and the
`check-compliance` command (`compliance.cli:main`).
"""

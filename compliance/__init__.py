"""SciPerf's compliance checker: MLLOG parser, the YAML rule engine, rulesets and the CLI.

Public entry points: `compliance.parser.parse_file`, `compliance.api.check_logs` and the
`check-compliance` command (`compliance.cli:main`).
"""

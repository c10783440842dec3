"""SciPerf reference implementations: one folder per benchmark, the shared harness in common/."""

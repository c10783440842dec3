"""SciPerf tools: the launcher, the submission packager, system-description capture, perf
benchmarks."""

"""SciPerf: MLPerf-style benchmarks for AI in science."""

__version__ = "0.1.0"

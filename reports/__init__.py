"""SciPerf's results publisher: scores compliant submission trees and renders the tables.

`reports.cli.main` is `sciperf report`: it gates every result through the compliance and package
checks, scores what passes (strong scaling: olympic mean of the time to train; weak scaling:
number of models, instance scale, time to train all, models per minute), and writes CSV,
JSON, Markdown, a self-contained HTML page and PNG plots.
"""

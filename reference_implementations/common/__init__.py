"""The harness every SciPerf benchmark shares: config, distributed set-up, MLLOG logging,
seeding, dataset manifests, and the train/eval loop that stops at the quality target."""

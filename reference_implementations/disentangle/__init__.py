"""The disentanglement blueprint: what its benchmarks (dsprites, shapes3d) share."""

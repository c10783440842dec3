"""CosmoFlow (MLPerf HPC): regress four cosmological parameters from 3D dark-matter density
cubes with a 3D CNN. data.py: generator and real-format reader; cosmology.py: the physics of
the synthetic data; model.py: the network and its evaluation; baselines.py: the no-learning
reference points."""

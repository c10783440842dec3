"""rotation: galaxy morphology trained upright and judged at any angle (astronomy; blueprint
`rotation`, inference on rotated images).

A rotation-invariant group-equivariant CNN classifies galaxies of seven morphological classes;
it trains on upright galaxies only and the quality metric is its top-1 accuracy on galaxies at
random angles. Galaxy generator: galaxies.py; data layout (Galaxy10 DECaLS) and reader: data.py;
group convolutions: gcnn.py; models and metrics: model.py; baselines: baselines.py.
"""

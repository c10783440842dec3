"""dsprites: 2D sprites with known factors (blueprint "disentangle").

Data layout, generator and reader: data.py; the sprites: sprites.py. The model and training
come with issue 13 (the beta-VAE reference).
"""

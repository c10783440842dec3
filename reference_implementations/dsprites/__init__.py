"""dsprites: 2D sprites with known factors (blueprint "disentangle"). Data layout and generator: data.py; the sprites: sprites.py."""

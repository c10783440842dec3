"""shapes3d: 3D scenes with known factors (blueprint "disentangle").

Data layout, generator and reader: data.py; the renderer: render.py. The model and training
come with issue 13 (the beta-VAE reference).
"""

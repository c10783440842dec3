"""shapes3d: 3D scenes with known factors (blueprint "disentangle"). Data layout and generator: data.py; the renderer: render.py."""

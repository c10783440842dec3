"""em_denoise: denoising electron micrographs of graphene (materials science).

A convolutional encoder-decoder maps a noisy micrograph (beam profile, shot noise, dead pixels)
to the clean one; the quality metric is the mean PSNR (dB) of the denoised validation images.
Data layout and generator: data.py; model and metrics: model.py; classical baselines:
baselines.py.
"""

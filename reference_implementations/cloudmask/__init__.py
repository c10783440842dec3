"""CloudMask: pixel-level cloud segmentation of Sentinel-3 SLSTR scenes (the SciML-Bench
`slstr_cloud` case). Synthetic scenes in the real HDF5 layout (`refs`, `bts`, `bayes`), a U-Net
on patches, pixel accuracy on the validation scenes."""

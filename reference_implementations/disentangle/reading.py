"""Reading a split of a dataset with known factors for training and evaluation (dsprites,
shapes3d): random access by index to images and their factors, as a tf.data pipeline."""

from __future__ import annotations

import numpy as np


def make_dataset(reader, *, batch_size: int, training: bool, shuffle_seed: int | None):
    """Training: (x, x) batches, x the images as float32 in [0, 1] (N x 64 x 64 x C), shuffled
    anew on every pass from shuffle_seed, full batches only (an autoencoder's input is its
    target). Evaluation: (x, factors) in file order, factors N x K float32 (the factor values
    the metrics score codes against). `reader`: len() and read(indices) -> (x, factors)."""
    import tensorflow as tf

    ds = tf.data.Dataset.range(len(reader))
    if training:
        ds = ds.shuffle(len(reader), seed=shuffle_seed)
    ds = ds.batch(batch_size, drop_remainder=training)
    shape, k = reader.image_shape, reader.n_factors

    def load(indices):
        x, f = tf.numpy_function(reader.read, [indices], [tf.float32, tf.float32],
                                 stateful=False)
        x.set_shape((None, *shape))
        f.set_shape((None, k))
        return (x, x) if training else (x, f)

    return ds.map(load).prefetch(2)


class SplitReader:
    """Random access to the (image, factors) rows of several files of one split. `parts` are
    (images, factors, rows) per file: images indexable by increasing row indices (an array or
    an HDF5 dataset), factors N x K, rows the file's rows this split reads."""

    def __init__(self, parts: list[tuple], image_shape: tuple[int, ...], n_factors: int,
                 scale: float):
        self.parts, self.image_shape, self.n_factors, self.scale = parts, image_shape, \
            n_factors, scale
        self.offsets = np.cumsum([0] + [len(rows) for _, _, rows in parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
        indices = np.asarray(indices, dtype=np.int64)
        x = np.empty((len(indices), *self.image_shape), dtype=np.float32)
        f = np.empty((len(indices), self.n_factors), dtype=np.float32)
        which = np.searchsorted(self.offsets, indices, side="right") - 1
        for i in np.unique(which):
            positions = np.flatnonzero(which == i)
            images, factors, rows = self.parts[int(i)]
            local = rows[indices[positions] - self.offsets[i]]
            unique, inverse = np.unique(local, return_inverse=True)  # increasing, for h5py
            block = np.asarray(images[unique])[inverse]
            x[positions] = block.reshape(len(positions), *self.image_shape) * self.scale
            f[positions] = factors[local]
        return x, f

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole split as (images uint8, factors float64), for baselines and the panel."""
        images = np.concatenate([np.asarray(im[np.asarray(rows)]) for im, _, rows in self.parts])
        factors = np.concatenate([f[rows] for _, f, rows in self.parts])
        return images, factors

"""Horovod set-up. Works under horovodrun (one or many hosts), under mpirun/srun where Horovod
was built with MPI, and as a plain single process (Horovod then runs a world of one)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    local_size: int
    nodes: int

    @property
    def is_root(self) -> bool:
        return self.rank == 0


def init_world() -> World:
    """Initialise Horovod, then size TensorFlow's thread pools to this rank's share of the host's
    cores: oversubscription is the first thing that makes CPU runs slow."""
    import horovod.tensorflow.keras as hvd
    import tensorflow as tf

    hvd.init()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // hvd.local_size())
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    nodes = hvd.cross_size() if hvd.is_initialized() else 1
    return World(rank=hvd.rank(), size=hvd.size(), local_rank=hvd.local_rank(),
                 local_size=hvd.local_size(), nodes=nodes)

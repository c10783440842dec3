"""The optimizer and its learning-rate schedule, built from the config's `train` section."""

from __future__ import annotations

import tensorflow as tf

from .config import ConfigError


@tf.keras.utils.register_keras_serializable(package="sciperf")
class WarmupStepDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from base_lr to base_lr * factor over warmup_steps (the linear scaling
    rule: factor = world size), then multiply by `decay` at each boundary step.
    Serializable because Horovod's DistributedOptimizer rebuilds the optimizer from its config."""

    def __init__(self, base_lr, factor, warmup_steps, boundaries, decay):
        self.base_lr, self.factor = float(base_lr), float(factor)
        self.warmup_steps, self.boundaries = int(warmup_steps), [int(b) for b in boundaries]
        self.decay = float(decay)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        peak = self.base_lr * self.factor
        if self.warmup_steps:
            lr = self.base_lr + (peak - self.base_lr) * tf.minimum(1.0, step / self.warmup_steps)
        else:
            lr = tf.constant(peak)
        for b in self.boundaries:
            lr = tf.where(step >= b, lr * self.decay, lr)
        return lr

    def get_config(self):
        return {"base_lr": self.base_lr, "factor": self.factor, "warmup_steps": self.warmup_steps,
                "boundaries": self.boundaries, "decay": self.decay}


def make_optimizer(t: dict, steps_per_epoch: int, warmup_factor: float):
    schedule = WarmupStepDecay(t["base_lr"], warmup_factor, t["warmup_epochs"] * steps_per_epoch,
                               [b * steps_per_epoch for b in t["decay_boundary_epochs"]],
                               t["decay_factor"])
    # Legacy Keras optimizers: the ones Horovod 0.28's DistributedOptimizer wraps for TF 2.15.
    if t["optimizer"] == "sgd":
        return tf.keras.optimizers.legacy.SGD(learning_rate=schedule, momentum=t["momentum"])
    if t["optimizer"] == "adam":
        return tf.keras.optimizers.legacy.Adam(learning_rate=schedule)
    raise ConfigError(f"train.optimizer: {t['optimizer']!r} is not sgd or adam")

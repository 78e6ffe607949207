"""ALBERT's optimizers and learning-rate schedule, as Keras 3 optimizers.

The original (`optimization.py`, `lamb_optimizer.py`) has three details that matter when you
compare numbers with it, and all three are kept here:

* **No bias correction.** Adam's moments start at zero and are used as they are, so early
  updates are small; the linear warm-up hides this.
* **Decoupled weight decay inside the update.** update = m / (sqrt(v) + eps) + wd * w, then
  w <- w - lr * update (AdamW); LAMB additionally rescales the update per variable by the trust
  ratio ||w|| / ||update||.
* **Exclusions by name.** Variables whose path contains "LayerNorm", "layer_norm" or "bias" get
  neither weight decay nor (LAMB) the trust ratio. Our Keras paths keep the original names:
  `encoder/group_0_inner_group_0/attention/LayerNorm/gamma`, `.../LayerNorm_1/beta`,
  `predictions/output_bias`, `.../query/bias`; so one regular-expression search on
  `variable.path` reproduces the original's choice exactly.

The schedule: a linear warm-up from 0 to `init_lr` over `num_warmup_steps` (counted from
`start_warmup_step`), then polynomial decay to 0 at `num_train_steps`, computed on the *raw*
global step (decay does not restart after warm-up, as in the original). Gradients are clipped
to global norm 1.0 (`global_clipnorm`), *after* they are summed over replicas: the norm is the
one-device norm of the global batch's gradient, whatever the replica count. (Keras clips each
replica's gradient before the sum, as the original's TPU run clipped each core's; then two
workers would not train like one.)
"""
from __future__ import annotations

import re

import keras
import tensorflow as tf
from keras import ops

from albert_nb.errors import InputError

DEFAULT_EXCLUDE = ("LayerNorm", "layer_norm", "bias")
OPTIMIZERS = ("lamb", "adamw")


@keras.saving.register_keras_serializable(package="albert_nb")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step): linear warm-up, then `init_lr * (1 - step / num_train_steps) ** poly_power`."""

    def __init__(self, init_lr: float, num_train_steps: int, num_warmup_steps: int = 0,
                 poly_power: float = 1.0, start_warmup_step: int = 0):
        if num_train_steps < 1:
            raise InputError(f"num_train_steps = {num_train_steps}: expected >= 1")
        if num_warmup_steps < 0:
            raise InputError(f"num_warmup_steps = {num_warmup_steps}: expected >= 0")
        self.init_lr = float(init_lr)
        self.num_train_steps = int(num_train_steps)
        self.num_warmup_steps = int(num_warmup_steps)
        self.poly_power = float(poly_power)
        self.start_warmup_step = int(start_warmup_step)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        # tf.train.polynomial_decay with end_learning_rate 0 and cycle False.
        done = ops.minimum(step, float(self.num_train_steps)) / float(self.num_train_steps)
        decayed = self.init_lr * ops.power(1.0 - done, self.poly_power)
        if self.num_warmup_steps == 0:
            return decayed
        warm_step = step - float(self.start_warmup_step)
        warmup = self.init_lr * warm_step / float(self.num_warmup_steps)
        return ops.where(warm_step < float(self.num_warmup_steps), warmup, decayed)

    def get_config(self):
        return {"init_lr": self.init_lr, "num_train_steps": self.num_train_steps,
                "num_warmup_steps": self.num_warmup_steps, "poly_power": self.poly_power,
                "start_warmup_step": self.start_warmup_step}


def _matches(patterns, path: str) -> bool:
    return any(re.search(p, path) for p in patterns)


class _AlbertAdamBase(keras.optimizers.Optimizer):
    """Shared moments and weight decay of the original AdamW and LAMB (no bias correction)."""

    def __init__(self, learning_rate=0.001, weight_decay_rate: float = 0.01, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-6,
                 exclude_from_weight_decay=DEFAULT_EXCLUDE, global_clipnorm: float | None = 1.0,
                 name: str = "albert_adam", **kwargs):
        # Keras's own weight_decay would decay before the update and cannot join LAMB's trust
        # ratio, so it stays off and the decay is computed in update_step.
        super().__init__(learning_rate=learning_rate, global_clipnorm=global_clipnorm,
                         name=name, **kwargs)
        self.weight_decay_rate = float(weight_decay_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.exclude_from_weight_decay_patterns = tuple(exclude_from_weight_decay or ())

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Slot names follow the original checkpoints: <var>/adam_m, <var>/adam_v.
        self._m = [self.add_variable_from_reference(v, "adam_m") for v in var_list]
        self._v = [self.add_variable_from_reference(v, "adam_v") for v in var_list]
        self._decay = [self.weight_decay_rate > 0 and
                       not _matches(self.exclude_from_weight_decay_patterns, v.path)
                       for v in var_list]

    def decays(self, variable) -> bool:
        """Whether `variable` gets weight decay (by its path, as the original by its name)."""
        return self._decay[self._get_variable_index(variable)]

    def _adam_update(self, gradient, variable):
        """Moments -> the direction m / (sqrt(v) + eps) + wd * w, same shape as variable."""
        index = self._get_variable_index(variable)
        m, v = self._m[index], self._v[index]
        gradient = ops.cast(gradient, variable.dtype)
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        update = m / (ops.sqrt(v) + self.epsilon)
        if self._decay[index]:
            update = update + self.weight_decay_rate * variable
        return update

    def _clip_gradients(self, grads):
        # The global-norm clip waits for the replica sum (`_all_reduce_sum_gradients`).
        return grads if self.global_clipnorm else super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        """Keras's replica sum (identity on one device), then the global-norm clip. Sparse
        gradients (embedding rows) are summed dense: replicas of length-bucketed batches hold
        different numbers of rows, which the collective gather of tf.IndexedSlices refuses."""
        pairs = [(tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g, v)
                 for g, v in grads_and_vars]
        pairs = list(super()._all_reduce_sum_gradients(pairs))
        if not self.global_clipnorm:
            return pairs
        present = [i for i, (grad, _) in enumerate(pairs) if grad is not None]
        clipped, _ = tf.clip_by_global_norm([pairs[i][0] for i in present], self.global_clipnorm)
        for i, grad in zip(present, clipped):   # dense, as Keras's clip leaves them
            pairs[i] = (tf.convert_to_tensor(grad), pairs[i][1])
        return pairs

    def get_config(self):
        config = super().get_config()
        config.update({"weight_decay_rate": self.weight_decay_rate, "beta_1": self.beta_1,
                       "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "exclude_from_weight_decay": list(self.exclude_from_weight_decay_patterns)})
        return config


@keras.saving.register_keras_serializable(package="albert_nb")
class AdamWeightDecay(_AlbertAdamBase):
    """The original `AdamWeightDecayOptimizer`: w <- w - lr * (m/(sqrt(v)+eps) + wd*w)."""

    def __init__(self, learning_rate=0.001, name: str = "adamw", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        update = self._adam_update(gradient, variable)
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * update)


@keras.saving.register_keras_serializable(package="albert_nb")
class Lamb(_AlbertAdamBase):
    """The original `LAMBOptimizer`: AdamW's update scaled per variable by ||w|| / ||update||.

    The trust ratio lets one learning rate serve layers of very different scale, which is what
    made batch 4096 trainable; it is 1 when either norm is 0 and for excluded variables.
    """

    def __init__(self, learning_rate=0.001, exclude_from_layer_adaptation=None, name: str = "lamb",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        # The original defaults the layer-adaptation exclusions to the weight-decay ones.
        self.exclude_from_layer_adaptation_patterns = tuple(
            self.exclude_from_weight_decay_patterns if exclude_from_layer_adaptation is None
            else exclude_from_layer_adaptation)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._adapt = [not _matches(self.exclude_from_layer_adaptation_patterns, v.path)
                       for v in var_list]

    def adapts(self, variable) -> bool:
        """Whether `variable` gets the trust ratio."""
        return self._adapt[self._get_variable_index(variable)]

    def update_step(self, gradient, variable, learning_rate):
        update = self._adam_update(gradient, variable)
        if self._adapt[self._get_variable_index(variable)]:
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            u_norm = ops.sqrt(ops.sum(ops.square(update)))
            ratio = ops.where((w_norm > 0) & (u_norm > 0), w_norm / ops.maximum(u_norm, 1e-30), 1.0)
            update = ratio * update
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * update)

    def get_config(self):
        config = super().get_config()
        config["exclude_from_layer_adaptation"] = list(self.exclude_from_layer_adaptation_patterns)
        return config


def create_optimizer(init_lr: float, num_train_steps: int, num_warmup_steps: int,
                     optimizer: str = "adamw", poly_power: float = 1.0, start_warmup_step: int = 0,
                     weight_decay_rate: float = 0.01, clip_norm: float | None = 1.0):
    """The original's `create_optimizer`: schedule + AdamW or LAMB + global-norm clipping.

    The schedule is evaluated on `optimizer.iterations`, the count of applied updates, which
    is the original's global_step (incremented once per training step).
    """
    name = str(optimizer).lower()
    if name not in OPTIMIZERS:
        raise InputError(f"--optimizer={optimizer!r}: expected one of {OPTIMIZERS}")
    schedule = WarmupPolynomialDecay(init_lr, num_train_steps, num_warmup_steps,
                                     poly_power=poly_power, start_warmup_step=start_warmup_step)
    cls = Lamb if name == "lamb" else AdamWeightDecay
    return cls(learning_rate=schedule, weight_decay_rate=weight_decay_rate,
               global_clipnorm=clip_norm)

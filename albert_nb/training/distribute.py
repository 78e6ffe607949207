"""Where training runs: TPU, several GPUs, or the default device; and at what precision.

The original only knew TPUEstimator (falling back to one CPU/GPU). Here the choice is a
`tf.distribute` strategy, picked once by `select_strategy`:

* `--use_tpu` or `--tpu_name` -> `TPUStrategy` (resolved from tpu_name / tpu_zone / gcp_project /
  master, as the original's TPUClusterResolver);
* more than one visible GPU -> `MirroredStrategy` (data parallel, gradients summed);
* otherwise the default strategy (one GPU or the CPU).

`set_precision("mixed_float16" | "mixed_bfloat16" | None)` sets the Keras dtype policy; float16
training then needs a `LossScaleOptimizer`, which `wrap_for_precision` adds.
"""
from __future__ import annotations

from albert_nb.errors import InputError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def select_strategy(use_tpu: bool = False, tpu_name: str | None = None, tpu_zone: str | None = None,
                    gcp_project: str | None = None, master: str | None = None):
    """Return the tf.distribute strategy the flags ask for (see module docstring)."""
    import tensorflow as tf

    if use_tpu or tpu_name:
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
                tpu=tpu_name or master or "", zone=tpu_zone, project=gcp_project)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as err:
            raise InputError(f"--use_tpu/--tpu_name={tpu_name!r}: no TPU could be reached "
                             f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    return tf.distribute.get_strategy()


def describe(strategy) -> str:
    """One line for logs: strategy class and replica count."""
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s)"


def set_precision(policy: str | None) -> str:
    """Set the global Keras dtype policy; None or "" means float32."""
    import keras

    policy = policy or "float32"
    if policy in ("fp16", "float16"):
        policy = "mixed_float16"
    if policy in ("bf16", "bfloat16"):
        policy = "mixed_bfloat16"
    if policy not in PRECISIONS:
        raise InputError(f"--mixed_precision={policy!r}: expected one of {PRECISIONS}")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def wrap_for_precision(optimizer):
    """float16 gradients underflow without loss scaling; bfloat16 and float32 need none."""
    import keras

    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def inner_optimizer(optimizer):
    """The optimizer that owns the slots and the schedule (unwraps LossScaleOptimizer)."""
    return getattr(optimizer, "inner_optimizer", optimizer)

"""Where training runs: TPU, several GPUs, or the default device; and at what precision.

The original only knew TPUEstimator (falling back to one CPU/GPU). Here the choice is a
`tf.distribute` strategy, picked once by `select_strategy`:

* `--use_tpu` or `--tpu_name` -> `TPUStrategy` (resolved from tpu_name / tpu_zone / gcp_project /
  master, as the original's TPUClusterResolver);
* `TF_CONFIG` naming more than one worker -> `MultiWorkerMirroredStrategy` (every worker's
  devices are replicas; gradients are all-reduced over the network; see
  `albert_nb.training.cluster` for who writes what). It must exist before TensorFlow runs
  anything else in the process, so the training CLIs call `start_cluster()` first;
* more than one visible GPU -> `MirroredStrategy` (data parallel, gradients summed);
* otherwise the default strategy (one GPU or the CPU).

`distribute_dataset` gives each replica of a cluster its slice of every global batch, so a
run's result depends on the global batch and not on how many workers share it.

`set_precision("mixed_float16" | "mixed_bfloat16" | "auto" | None)` sets the Keras dtype policy;
float16 training then needs a `LossScaleOptimizer`, which `wrap_for_precision` adds. "auto" picks
what the hardware runs fastest without loss scaling surprises (`auto_precision`): bfloat16 on a
TPU and on CPUs with bf16 matmul instructions (AVX512_BF16 or AMX), float16 on GPUs with tensor
cores (compute capability >= 7.0), float32 elsewhere.
"""
from __future__ import annotations

from albert_nb.errors import InputError
from albert_nb.training import cluster as cluster_spec

# TensorFlow and Keras are imported inside the functions (deliberately lazy): `--mixed_precision`
# and the strategy flags are checked before TensorFlow loads.

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
ALIASES = {"fp32": "float32", "fp16": "mixed_float16", "float16": "mixed_float16",
           "bf16": "mixed_bfloat16", "bfloat16": "mixed_bfloat16"}
# /proc/cpuinfo flags of CPUs whose matmuls run bfloat16 natively (oneDNN uses them).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# Tensor cores (Volta and later) make float16 matmuls several times faster than float32.
FP16_MIN_COMPUTE_CAPABILITY = (7, 0)
# Class names of strategies under the names tf.distribute documents them by.
PUBLIC_NAMES = {"CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy",
                "_DefaultDistributionStrategy": "DefaultStrategy"}
_MULTI_WORKER = []  # the process's one MultiWorkerMirroredStrategy (a second cannot be made)


def start_cluster():
    """Create the MultiWorkerMirroredStrategy when TF_CONFIG names several workers (else None).

    TensorFlow configures collective ops only before its runtime starts, so this must run
    before any other TensorFlow call of the process; the training CLIs call it first. Once
    made, the same strategy is returned on every call.
    """
    if _MULTI_WORKER:
        return _MULTI_WORKER[0]
    if cluster_spec.from_env() is None:
        return None
    import tensorflow as tf

    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as err:
        raise RuntimeError(f"{cluster_spec.TF_CONFIG} names several workers but TensorFlow "
                           "already ran in this process; call albert_nb.training.distribute."
                           "start_cluster() before anything else") from err
    _MULTI_WORKER.append(strategy)
    return strategy


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
    multi_worker = start_cluster()
    if multi_worker is not None:
        return multi_worker
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    return tf.distribute.get_strategy()


def describe(strategy) -> str:
    """One line for logs: strategy class and replica count (and this worker, when several)."""
    name = type(strategy).__name__
    line = f"{PUBLIC_NAMES.get(name, name)} with {strategy.num_replicas_in_sync} replica(s)"
    cluster = cluster_spec.from_env() if is_multi_worker(strategy) else None
    if cluster is not None:
        line += (f" on {cluster.num_workers} workers (this is {cluster.name}"
                 f"{', the chief' if cluster.is_chief else ''})")
    return line


def is_multi_worker(strategy) -> bool:
    return bool(_MULTI_WORKER) and strategy is _MULTI_WORKER[0]


def distribute_dataset(strategy, dataset, global_batch_size: int = 0):
    """A dataset of *global* batches -> the strategy's distributed dataset.

    With several workers each replica gets its slice of every global batch, in replica order
    (worker 0 the first, worker 1 the next, of the same seeded stream), so the same examples
    meet in the same steps for any number of workers. tf.data's AUTO sharding would give each
    worker whole files, or whole batches when the batch size is not static (the length-bucketed
    fine-tuning batches), so several workers would train on other batches than one. Every
    worker reads all the input to do so; input is a small part of an ALBERT step.
    """
    import tensorflow as tf

    if not is_multi_worker(strategy):
        return strategy.experimental_distribute_dataset(dataset)
    replicas = strategy.num_replicas_in_sync
    if global_batch_size < 1:
        raise ValueError("distribute_dataset under several workers needs the global batch size")
    if global_batch_size % replicas:
        raise InputError(f"--train_batch_size={global_batch_size} is the global batch and must "
                         f"split evenly between the {replicas} replicas of the cluster")
    per_replica = global_batch_size // replicas

    def worker_slices(context):
        local = replicas // context.num_input_pipelines        # replicas on this worker
        first = context.input_pipeline_id * local
        pieces = dataset.rebatch(per_replica, drop_remainder=True)  # [per_replica, ...] each
        grouped = pieces.batch(replicas, drop_remainder=True)       # one global batch a row
        mine = grouped.map(lambda row: tf.nest.map_structure(lambda t: t[first:first + local], row))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return mine.unbatch().with_options(options)

    return strategy.distribute_datasets_from_function(worker_slices)


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags Linux reports (empty where there is no /proc/cpuinfo)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def auto_precision(strategy=None, flags: set[str] | None = None) -> str:
    """The policy `--mixed_precision=auto` means on this machine (see module docstring)."""
    import tensorflow as tf

    on_tpu = strategy is not None and "TPU" in type(strategy).__name__
    if on_tpu or tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return ("mixed_float16" if capability and tuple(capability) >= FP16_MIN_COMPUTE_CAPABILITY
                else "float32")
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if any(flag in flags for flag in BF16_CPU_FLAGS) else "float32"


def resolve_precision(policy: str | None, strategy=None) -> str:
    """A --mixed_precision value -> a Keras policy name; None or "" means float32."""
    policy = ALIASES.get(policy or "float32", policy or "float32")
    if policy == "auto":
        return auto_precision(strategy)
    if policy not in PRECISIONS:
        raise InputError(f"--mixed_precision={policy!r}: expected one of {PRECISIONS + ('auto',)}")
    return policy


def set_precision(policy: str | None, strategy=None) -> str:
    """Set the global Keras dtype policy (see `resolve_precision`); returns the policy set."""
    import keras

    policy = resolve_precision(policy, strategy)
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

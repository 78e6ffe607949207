"""The one training loop every trainer shares: set-up, train to a boundary, checkpoint, resume.

A task (pretraining, classification, SQuAD, RACE, tagging) subclasses `Trainer` and supplies
only what is its own:

* `build_model()` -> the keras.Model (built inside the strategy's scope);
* `compute_losses(outputs, batch)` -> {"loss": float32 scalar, ...} (extra terms are free);
* `train_dataset(skip_batches)` -> the batched, repeating, seeded tf.data stream;
* `build_train_metrics()` / `update_train_metrics(outputs, batch, losses)` / `train_metrics()`;
* `initialize()` -> where the weights come from when there is nothing to resume;
* optionally `model_inputs(batch)`, `log_record(record)`, `after_save(step, prefix)` and the
  progress text (`describe_start`, `progress_postfix`).

Everything else is here once: precision, strategy and seeds; the optimizer with its slots
built before any restore; `global_step`; a `tf.train.Checkpoint` of model, optimizer, step,
RNG states and (when tf.data allows) the data iterator; resuming from the newest checkpoint;
and the loop that runs compiled chunks of at most `iterations_per_loop` steps (the original's
TPU loop size), never past a log or save boundary.

Several workers (TF_CONFIG, `albert_nb.training.cluster`): all of them train, save (saving is
collective) and resume from the chief's newest checkpoint, so a cluster restarted after a
worker died continues to the same final step (BackupAndRestore's contract). Only the chief
logs, evaluates and writes into output_dir; the others write their checkpoints to their own
folder, which `train` removes at the end before raising `cluster.WorkerDone`.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
from tqdm.auto import tqdm

from albert_nb.errors import warn
from albert_nb.faults import fault_point
from albert_nb.model.modeling import INPUT_NAMES
from albert_nb.training import cluster, distribute, resume
from albert_nb.training.checkpoints import CHECKPOINT_NAME, variables_by_path
from albert_nb.training.optimization import create_optimizer


@dataclasses.dataclass
class LoopSettings:
    """What the loop needs from a trainer's options, under one set of names (the original's
    scripts call the same things num_train_steps/train_step, num_warmup_steps/warmup_step)."""

    output_dir: str
    total_steps: int
    warmup_steps: int
    learning_rate: float
    optimizer: str = "adamw"
    poly_power: float = 1.0
    start_warmup_step: int = 0
    save_every: int = 1000
    log_every: int = 100
    iterations_per_loop: int = 1000
    keep_checkpoint_max: int = 0          # 0 keeps every checkpoint
    seed: int = 12345
    mixed_precision: str | None = None
    jit_compile: bool = False
    deterministic: bool = False
    use_tpu: bool = False
    tpu_name: str | None = None
    tpu_zone: str | None = None
    gcp_project: str | None = None
    master: str | None = None
    progress_desc: str = "training"
    train_batch_size: int = 0             # the global batch (split between workers' replicas)
    steps_flag: str = ""                  # what set total_steps, e.g. "--train_step=6" (messages)


def _unless_zero(value):
    """`value`, or None when it is all zeros (restored as zeros)."""
    return None if not value.any() else value


class Trainer:
    """Model, optimizer, data and checkpoints of one training run (see the module docstring)."""

    def __init__(self, settings: LoopSettings):
        self.settings = s = settings
        if s.deterministic:
            tf.config.experimental.enable_op_determinism()
        self.strategy = distribute.select_strategy(s.use_tpu, s.tpu_name, s.tpu_zone,
                                                   s.gcp_project, s.master)
        distribute.set_precision(s.mixed_precision, self.strategy)
        os.makedirs(s.output_dir, exist_ok=True)
        self._join_cluster()
        keras.utils.set_random_seed(s.seed)
        with self.strategy.scope():
            self.model = self.build_model()
            optimizer = create_optimizer(s.learning_rate, s.total_steps, s.warmup_steps,
                                         s.optimizer, s.poly_power, s.start_warmup_step)
            self.optimizer = distribute.wrap_for_precision(optimizer)
            # Slots exist before any restore, so a checkpoint fills them instead of deferring.
            self.optimizer.build(self.model.trainable_variables)
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.build_train_metrics()
        # What a fresh run starts from (see `restart`): the optimizer's state as built. Its slots
        # are zeros then, so only the non-zero variables (a scalar or two) are kept: a copy of
        # every slot would double the host memory of an xxlarge run for nothing.
        self._initial_optimizer = [_unless_zero(v.numpy()) for v in self.optimizer.variables]
        self._train_loop = None
        self._train_iterator = None
        self.restore_message = ""
        self.restored = None              # the checkpoint a resumed run started from
        self.show_progress = True

    def restart(self, settings: LoopSettings) -> None:
        """Make this trainer start a new run as `Trainer(settings)` would, keeping its compiled
        loop: a fresh run costs a trace of the whole training step (seconds on a CPU), which
        dominates the short runs of a learning curve.

        Only what the compiled loop does not hold may change (output_dir, seed, data size): the
        step count, warm-up, rate and batch are baked into the trace. The weights are those of
        a model built under the new seed (so are the dropout RNG states), the optimizer's state
        is reset to its state as built, and global_step to 0: the run is the same as a fresh one.
        """
        baked = ("total_steps", "warmup_steps", "learning_rate", "optimizer", "poly_power",
                 "start_warmup_step", "train_batch_size", "jit_compile", "mixed_precision")
        changed = [k for k in baked if getattr(settings, k) != getattr(self.settings, k)]
        if changed or self.cluster is not None:
            raise ValueError(f"restart: {', '.join(changed) or 'a cluster run'} cannot change "
                             "in a compiled loop; build a new trainer")
        self.settings = settings
        os.makedirs(settings.output_dir, exist_ok=True)
        self.write_dir = settings.output_dir
        keras.utils.set_random_seed(settings.seed)
        with self.strategy.scope():
            fresh = self.build_model()                   # initialised exactly as a new run's
        for variable, value in zip(self.model.variables, fresh.variables, strict=True):
            variable.assign(value)
        for variable, value in zip(self.optimizer.variables, self._initial_optimizer, strict=True):
            variable.assign(tf.zeros_like(variable) if value is None else value)
        self.global_step.assign(0)
        self.train_metrics(reset=True)
        self._train_iterator = None
        self.restore_message = ""
        self.restored = None

    def _join_cluster(self) -> None:
        """Who writes: `write_dir` is output_dir, or a non-chief worker's own folder (and its
        task options point there too, so feature caches land in it). Evaluation runs on the
        chief alone, on its own devices (`eval_strategy`): a collective op would wait for
        workers that have finished."""
        self.cluster = (cluster.from_env() if distribute.is_multi_worker(self.strategy) else None)
        self.is_chief = self.cluster is None or self.cluster.is_chief
        self.write_dir = self.settings.output_dir
        self.eval_strategy = tf.distribute.get_strategy() if self.cluster else self.strategy
        if not self.is_chief:
            self.write_dir = cluster.fresh_worker_dir(self.settings.output_dir, self.cluster)
            opts = getattr(self, "opts", None)
            if dataclasses.is_dataclass(opts):
                moved = {k: self.write_dir for k in ("output_dir", "cached_dir") if hasattr(opts, k)}
                self.opts = dataclasses.replace(opts, **moved)

    # -- what a task supplies -----------------------------------------------------------
    def build_model(self):
        raise NotImplementedError

    def compute_losses(self, outputs, batch) -> dict:
        raise NotImplementedError

    def train_dataset(self, skip_batches: int = 0):
        raise NotImplementedError

    def build_train_metrics(self) -> None:
        """Create the Keras metrics `update_train_metrics` feeds (called in the strategy scope)."""

    def update_train_metrics(self, outputs, batch, losses) -> None:
        """Accumulate training metrics inside the compiled step."""

    def train_metrics(self, reset: bool = True) -> dict:
        """The accumulated training metrics as floats (reset afterwards)."""
        return {}

    def initialize(self) -> str:
        """Initial weights when output_dir has no checkpoint; returns what was done."""
        return "initialised randomly"

    def model_inputs(self, batch) -> dict:
        return {k: batch[k] for k in INPUT_NAMES}

    def describe_start(self, message: str) -> str:
        return message

    def progress_postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.3f}"} if "loss" in record else {}

    def log_record(self, record: dict) -> None:
        """Persist one logged training record, already appended to `self.history`."""

    def after_save(self, step: int, prefix: str) -> None:
        """Called after each checkpoint is written (e.g. evaluate it)."""

    def show_line(self, line: str) -> None:
        if self.show_progress:
            tqdm.write(line)

    def speed(self, steps: int, seconds: float) -> dict:
        return {"steps_per_sec": steps / max(seconds, 1e-9)}

    def resumed_history(self, step: int) -> list:
        """The records a resumed run logged before `step` (default: none are kept)."""
        return []

    # -- the compiled step ----------------------------------------------------------------
    def build_train_loop(self):
        model, optimizer, strategy = self.model, self.optimizer, self.strategy
        # Only float16 wraps the optimizer (LossScaleOptimizer); the wrapper scales the loss.
        scales_loss = optimizer is not distribute.inner_optimizer(optimizer)
        replicas = strategy.num_replicas_in_sync

        def step(batch):
            with tf.GradientTape() as tape:
                outputs = model(self.model_inputs(batch), training=True)
                losses = self.compute_losses(outputs, batch)
                # Gradients are summed over replicas, so each replica's loss is divided by the
                # replica count: the result is the mean of the per-replica losses.
                loss = losses["loss"] / replicas
                if scales_loss:
                    loss = optimizer.scale_loss(loss)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            self.update_train_metrics(outputs, batch, losses)

        step_fn = tf.function(step, jit_compile=True) if self.settings.jit_compile else step

        @tf.function
        def train_loop(iterator, num_steps):
            for _ in tf.range(num_steps):
                strategy.run(step_fn, args=(next(iterator),))
                self.global_step.assign_add(1)

        return train_loop

    def learning_rate(self) -> float:
        # Keras evaluates the schedule at optimizer.iterations: the rate of the next step.
        return float(distribute.inner_optimizer(self.optimizer).learning_rate)

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint_manager(self):
        """CheckpointManager over model, optimizer, step, RNG states and (when possible) the
        training data iterator, restored from output_dir's newest checkpoint if there is one.

        A single-device tf.data iterator is checkpointable, so a resumed run continues with the
        exact next batch. Distributed iterators (MirroredStrategy, TPU) are not; those runs
        rebuild the same seeded stream and skip the batches already consumed.
        """
        batch = self.settings.train_batch_size
        iterator = iter(distribute.distribute_dataset(self.strategy, self.train_dataset(), batch))
        trackable = isinstance(iterator, tf.__internal__.tracking.Trackable)
        # The dropout RNG states are Keras non-trainable variables that the object graph of a
        # Keras 3 model does not reach; listing them keeps resumed dropout masks identical.
        state = dict(model=self.model, optimizer=self.optimizer, global_step=self.global_step,
                     variables=variables_by_path(self.model),
                     rng_states=list(self.model.non_trainable_variables))
        if trackable:
            state["train_iterator"] = iterator
        self.checkpoint = tf.train.Checkpoint(**state)
        manager = tf.train.CheckpointManager(self.checkpoint, self.write_dir,
                                             max_to_keep=self.settings.keep_checkpoint_max or None,
                                             checkpoint_name=CHECKPOINT_NAME)
        # The newest checkpoint that reads (a damaged one falls back to the one before it), in
        # output_dir: every worker of a cluster restores the chief's.
        self.restored = resume.restore_newest(self.checkpoint, self.settings.output_dir,
                                              f"the {type(self.model).__name__} this run builds")
        if self.restored:
            self.restore_message = f"resumed from {self.restored}"
        else:
            self.restore_message = self.initialize()
        step = int(self.global_step.numpy())
        if trackable or step == 0:
            self._train_iterator = iterator
        else:
            skipped = self.train_dataset(skip_batches=step)
            self._train_iterator = iter(distribute.distribute_dataset(self.strategy, skipped, batch))
        return manager

    # -- training -------------------------------------------------------------------------
    def train(self, on_log: Callable[[dict], None] | None = None, show_progress: bool = True) -> list:
        """Train until global_step == total_steps, checkpointing every save_every steps.

        Each call of the compiled loop runs up to `iterations_per_loop` steps, never past a
        checkpoint or log boundary. Returns the logged records.
        """
        s = self.settings
        self.show_progress = show_progress
        manager = self.checkpoint_manager()
        if self._train_loop is None:
            self._train_loop = self.build_train_loop()
        step = int(self.global_step.numpy())
        if self.restored:
            nothing = resume.nothing_to_train(step, s.total_steps, s.steps_flag or
                                              f"--num_train_steps={s.total_steps}", s.output_dir)
            if nothing:
                warn(nothing)
        self.history = history = self.resumed_history(step)
        bar = tqdm(total=s.total_steps, initial=step, unit="step", disable=not show_progress,
                   desc=s.progress_desc, dynamic_ncols=True)
        self.show_line(self.describe_start(self.restore_message))
        self.show_line(f"strategy: {distribute.describe(self.strategy)}")
        last_time, last_step = time.perf_counter(), step
        self.train_metrics(reset=True)
        while step < s.total_steps:
            boundary = min(s.total_steps, (step // s.save_every + 1) * s.save_every,
                           (step // s.log_every + 1) * s.log_every, step + s.iterations_per_loop)
            self._train_loop(self._train_iterator, tf.constant(boundary - step, tf.int32))
            step = int(self.global_step.numpy())
            if step % s.log_every == 0 or step == s.total_steps:
                now = time.perf_counter()
                record = {"step": step, **self.train_metrics(reset=True),
                          "learning_rate": self.learning_rate(),
                          **self.speed(step - last_step, now - last_time)}
                last_time, last_step = now, step
                history.append(record)
                if self.is_chief:
                    self.log_record(record)
                    if on_log is not None:
                        on_log(record)
                bar.set_postfix(self.progress_postfix(record))
            if step % s.save_every == 0 or step == s.total_steps:
                fault_point("train.checkpoint")
                prefix = manager.save(checkpoint_number=step)
                if self.is_chief:
                    self.after_save(step, prefix)
                last_time = time.perf_counter()  # evaluation time is not training speed
            bar.update(step - bar.n)
        bar.close()
        if not self.is_chief:
            cluster.remove_worker_dir(self.settings.output_dir, self.cluster)
            raise cluster.WorkerDone(f"{self.cluster.name} of {self.cluster.num_workers} "
                                     f"trained to step {step}; the chief writes the outputs")
        return history


def write_scalars(writer, step: int, values: dict) -> None:
    """TensorBoard scalars without the tensorboard package (tf.summary.scalar needs it):
    a float32 scalar tagged for the "scalars" plugin is exactly what TensorBoard reads."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    with writer.as_default(step=step):
        for key, value in values.items():
            tf.summary.write(key, tf.constant(float(value), tf.float32), metadata=metadata)
    writer.flush()

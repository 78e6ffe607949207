"""ALBERT pretraining as a library: losses, metrics, a resumable train loop and evaluation.

`python -m albert_nb.run_pretraining` is a thin flag layer over `run(PretrainingOptions(...))`;
notebooks call the same function (with a callback that feeds a live chart).

Losses (as the original's run_pretraining.py):
* masked LM: cross entropy at the masked positions only, weighted by `masked_lm_weights`
  (0 for padding slots): sum(w * nll) / (sum(w) + 1e-5). The decoder is the word-embedding
  table itself plus an output bias (`heads.MaskedLMHead`).
* sentence order (SOP): cross entropy of the 2-way classifier on the pooled [CLS] vector.
* total = MLM + SOP.

Resumability: one `tf.train.Checkpoint` holds the model, the optimizer slots, the step counter
and the *training data iterator* (tf.data iterators are checkpointable), so a run that is killed
and started again with the same command continues with exactly the batches it would have seen.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import time
from typing import Callable

import numpy as np

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_path, atomic_write_text

MODEL_INPUTS = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions")
EVAL_KEYS = ("global_step", "loss", "masked_lm_accuracy", "masked_lm_loss",
             "sentence_order_accuracy", "sentence_order_loss")
CHECKPOINT_NAME = "model.ckpt"
BEST_NAME = "model.ckpt-best"


# ----------------------------------------------------------------------------- losses
def masked_lm_loss(mlm_logits, masked_lm_ids, masked_lm_weights):
    """Weighted mean NLL over masked slots -> (scalar loss, per-slot nll [batch, P])."""
    from keras import ops

    log_probs = ops.log_softmax(ops.cast(mlm_logits, "float32"), axis=-1)   # [batch, P, V]
    labels = ops.cast(masked_lm_ids, "int32")[..., None]                   # [batch, P, 1]
    nll = -ops.take_along_axis(log_probs, labels, axis=-1)[..., 0]         # [batch, P]
    weights = ops.cast(masked_lm_weights, "float32")                        # [batch, P]
    loss = ops.sum(weights * nll) / (ops.sum(weights) + 1e-5)
    return loss, nll


def sentence_order_loss(sop_logits, labels):
    """Mean NLL of the 2-way sentence-order classifier -> (scalar, per-example nll [batch])."""
    from keras import ops

    log_probs = ops.log_softmax(ops.cast(sop_logits, "float32"), axis=-1)  # [batch, 2]
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))              # [batch, 1]
    nll = -ops.take_along_axis(log_probs, labels, axis=-1)[:, 0]           # [batch]
    return ops.mean(nll), nll


def pretraining_losses(outputs, batch) -> dict:
    """Model outputs + a batch of TFRecord features -> every loss term (float32 scalars/tensors)."""
    mlm, mlm_nll = masked_lm_loss(outputs["mlm_logits"], batch["masked_lm_ids"],
                                  batch["masked_lm_weights"])
    sop, sop_nll = sentence_order_loss(outputs["sop_logits"], batch["next_sentence_labels"])
    return {"loss": mlm + sop, "masked_lm_loss": mlm, "sentence_order_loss": sop,
            "mlm_nll": mlm_nll, "sop_nll": sop_nll}


class PretrainingMetrics:
    """The original's eval metrics, accumulated over batches with Keras metrics.

    masked_lm_accuracy and masked_lm_loss are weighted by masked_lm_weights (padding slots count
    zero); `loss` is the mean of the per-batch total loss, as Estimator reports it.
    """

    def __init__(self):
        import keras

        self.loss = keras.metrics.Mean(name="loss")
        self.mlm_accuracy = keras.metrics.SparseCategoricalAccuracy(name="masked_lm_accuracy")
        self.mlm_loss = keras.metrics.Mean(name="masked_lm_loss")
        self.sop_accuracy = keras.metrics.SparseCategoricalAccuracy(name="sentence_order_accuracy")
        self.sop_loss = keras.metrics.Mean(name="sentence_order_loss")
        self.all = (self.loss, self.mlm_accuracy, self.mlm_loss, self.sop_accuracy, self.sop_loss)

    def update(self, outputs, batch, losses) -> None:
        from keras import ops

        weights = ops.cast(batch["masked_lm_weights"], "float32")
        self.loss.update_state(losses["loss"])
        self.mlm_accuracy.update_state(batch["masked_lm_ids"], outputs["mlm_logits"],
                                       sample_weight=weights)
        self.mlm_loss.update_state(losses["mlm_nll"], sample_weight=weights)
        sop_labels = ops.reshape(batch["next_sentence_labels"], (-1,))
        self.sop_accuracy.update_state(sop_labels, outputs["sop_logits"])
        self.sop_loss.update_state(losses["sop_nll"])

    def reset(self) -> None:
        for metric in self.all:
            metric.reset_state()

    def result(self) -> dict:
        return {m.name: float(m.result()) for m in self.all}


def model_inputs(batch) -> dict:
    return {k: batch[k] for k in MODEL_INPUTS}


def most_frequent_token_baseline(dataset, max_steps: int | None = None) -> dict:
    """Accuracy of always predicting the most frequent label *of these very masked positions*.

    This is the best any constant guess can do on the set (it peeks at the labels), so a model
    that beats it has learnt to use context, not just token frequencies.
    """
    counts: dict[int, float] = {}
    total = 0.0
    for step, batch in enumerate(dataset):
        if max_steps is not None and step >= max_steps:
            break
        ids = batch["masked_lm_ids"].numpy().ravel()
        weights = batch["masked_lm_weights"].numpy().ravel()
        for token, weight in zip(ids[weights > 0], weights[weights > 0]):
            counts[int(token)] = counts.get(int(token), 0.0) + float(weight)
        total += float(weights.sum())
    if not total:
        raise InputError("most_frequent_token_baseline: the evaluation data has no masked positions")
    token, count = max(counts.items(), key=lambda kv: kv[1])
    return {"token_id": token, "accuracy": count / total, "num_positions": int(total)}


def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """Top-k pieces (with probabilities) for every `[MASK]` in `text`, read by the MLM head.

    Each [MASK] stands for one piece; the rest of the text is tokenised as usual.
    """
    parts = text.split("[MASK]")
    if len(parts) < 2:
        raise InputError(f"fill_mask: {text!r} has no [MASK]")
    ids, positions = [tokenizer.cls_id], []
    for index, part in enumerate(parts):
        ids += tokenizer.encode(part) if part.strip() else []
        if index < len(parts) - 1:
            positions.append(len(ids))
            ids.append(tokenizer.mask_id)
    ids.append(tokenizer.sep_id)
    batch = {"input_ids": np.array([ids], "int32"), "input_mask": np.ones((1, len(ids)), "int32"),
             "segment_ids": np.zeros((1, len(ids)), "int32"),
             "masked_lm_positions": np.array([positions], "int32")}
    logits = np.asarray(model(batch, training=False)["mlm_logits"])[0]     # [masks, V]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = []
    for row in probs:
        best = np.argsort(-row)[:top_k]
        out.append([(tokenizer.inv_vocab[int(i)], float(row[i])) for i in best])
    return out


# ---------------------------------------------------------------------------- options
@dataclasses.dataclass
class PretrainingOptions:
    """The original run_pretraining flags (same names and defaults) plus a few of ours."""

    input_file: str
    output_dir: str
    albert_config_file: str
    init_checkpoint: str | None = None
    max_seq_length: int = 512
    max_predictions_per_seq: int = 20
    do_train: bool = True
    do_eval: bool = False
    train_batch_size: int = 4096
    eval_batch_size: int = 64
    optimizer: str = "lamb"
    learning_rate: float = 0.00176
    poly_power: float = 1.0
    num_train_steps: int = 125000
    num_warmup_steps: int = 3125
    start_warmup_step: int = 0
    save_checkpoints_steps: int = 5000
    keep_checkpoint_max: int = 5
    iterations_per_loop: int = 1000
    max_eval_steps: int = 100
    use_tpu: bool = False
    tpu_name: str | None = None
    tpu_zone: str | None = None
    gcp_project: str | None = None
    master: str | None = None
    num_tpu_cores: int = 8
    init_from_group0: bool = False
    masked_lm_budget: int = 0
    # Ours.
    eval_input_file: str | None = None
    mixed_precision: str | None = None
    jit_compile: bool = False
    seed: int = 12345
    deterministic: bool = False
    log_every_steps: int = 100


def validate(opts: PretrainingOptions):
    """Check flags and files before any model is built -> (config, train_files, eval_files)."""
    from albert_nb.pretraining import records as pretraining_data
    from albert_nb.model.config import AlbertConfig

    if opts.masked_lm_budget > 0:
        raise InputError(f"--masked_lm_budget={opts.masked_lm_budget}: online masking is not "
                         "supported (it never worked in the original either); create masked "
                         "TFRecords with create_pretraining_data and leave it at 0")
    if not opts.do_train and not opts.do_eval:
        raise InputError("at least one of --do_train or --do_eval must be set")
    for name in ("train_batch_size", "eval_batch_size", "num_train_steps", "save_checkpoints_steps",
                 "keep_checkpoint_max", "iterations_per_loop", "max_eval_steps",
                 "max_seq_length", "max_predictions_per_seq", "log_every_steps"):
        if int(getattr(opts, name)) < 1:
            raise InputError(f"--{name}={getattr(opts, name)}: expected a positive integer")
    if opts.num_warmup_steps < 0:
        raise InputError(f"--num_warmup_steps={opts.num_warmup_steps}: expected >= 0")
    if opts.learning_rate <= 0:
        raise InputError(f"--learning_rate={opts.learning_rate}: expected > 0")
    if not opts.albert_config_file:
        raise InputError("--albert_config_file is required (an albert_config.json)")
    try:
        config = AlbertConfig.from_json_file(opts.albert_config_file)
    except InputError as err:
        raise InputError(f"--albert_config_file: {err}") from None
    if opts.max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length={opts.max_seq_length} exceeds max_position_embeddings="
                         f"{config.max_position_embeddings} of --albert_config_file="
                         f"{opts.albert_config_file}")
    train_files = pretraining_data.expand_input_files(opts.input_file)
    eval_files = train_files
    if opts.eval_input_file:
        try:
            eval_files = pretraining_data.expand_input_files(opts.eval_input_file)
        except InputError as err:
            raise InputError(f"--eval_input_file: {err}") from None
    for path in sorted(set(train_files) | set(eval_files)):
        check_record_lengths(path, opts.max_seq_length, opts.max_predictions_per_seq)
    return config, train_files, eval_files


def check_record_lengths(path: str, max_seq_length: int, max_predictions_per_seq: int) -> None:
    """The first record of `path` must have the lengths the flags promise (else parsing fails
    deep inside tf.data with an unreadable message)."""
    from albert_nb.pretraining import records as pretraining_data

    try:
        seq, preds = pretraining_data.infer_lengths(path)
    except InputError:
        raise
    except Exception as err:  # not a TFRecord file at all
        raise InputError(f"--input_file {path!r} is not a pretraining TFRecord file "
                         f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    if seq != max_seq_length:
        raise InputError(f"--max_seq_length={max_seq_length} but {path!r} holds sequences of length "
                         f"{seq}; pass --max_seq_length={seq} or rebuild the data")
    if preds != max_predictions_per_seq:
        raise InputError(f"--max_predictions_per_seq={max_predictions_per_seq} but {path!r} holds "
                         f"{preds} prediction slots; pass --max_predictions_per_seq={preds}")


# ----------------------------------------------------------------------- checkpoints
def load_init_checkpoint(model, path: str, init_from_group0: bool = False) -> str:
    """Initialise `model` from `path`: the one hook every --init_checkpoint goes through.

    `albert_nb.interop.checkpoints` reads both our checkpoints and Google's TF1 ones (and TF-Hub's),
    checking names and shapes; with `init_from_group0` the groups the checkpoint lacks start
    as copies of group 0, as the original's assignment map did. Returns what was loaded.
    """
    from albert_nb.interop import checkpoints

    report = checkpoints.load_init_checkpoint(model, path, init_from_group0=init_from_group0)
    if init_from_group0:
        copy_group0(model)
    return report.summary()


def variables_by_path(model) -> dict:
    """{path: variable} of the trainable weights: the checkpoint section other heads read.

    Paths (`embeddings/word_embeddings`, `encoder/group_0_inner_group_0/attention/query/kernel`,
    `predictions/output_bias`) do not include the model's name, so a classifier finds the
    encoder weights a pretraining run saved. (Keras 3's object graph does not reach the
    encoder's nested block lists, so restoring by object graph alone would miss them.)
    """
    return {v.path: v for v in model.trainable_variables}


def copy_group0(model) -> None:
    """`--init_from_group0`: every group's block i starts as group 0's block i (the original's
    assignment map group_k -> group_0), for growing a 1-group checkpoint into G groups."""
    groups = model.albert.encoder.groups
    for group in groups[1:]:
        for index, block in enumerate(group):
            for target, source in zip(block.weights, groups[0][index].weights):
                target.assign(source)


def checkpoint_steps(output_dir: str) -> dict[int, str]:
    """{step: prefix} of every `model.ckpt-<step>` in output_dir (best excluded)."""
    out = {}
    for index in glob.glob(os.path.join(output_dir, CHECKPOINT_NAME + "-*.index")):
        prefix = index[: -len(".index")]
        match = re.fullmatch(r".*-(\d+)", prefix)
        if match:
            out[int(match.group(1))] = prefix
    return dict(sorted(out.items()))


def copy_checkpoint(prefix: str, new_prefix: str) -> None:
    """Copy a checkpoint's .index and data shards under a new prefix, each file atomically."""
    for old in glob.glob(new_prefix + ".*"):
        os.unlink(old)
    for path in glob.glob(prefix + ".*"):
        suffix = path[len(prefix):]
        with atomic_path(new_prefix + suffix) as tmp:
            shutil.copyfile(path, tmp)


def write_scalars(writer, step: int, values: dict) -> None:
    """TensorBoard scalars without the tensorboard package (tf.summary.scalar needs it):
    a float32 scalar tagged for the "scalars" plugin is exactly what TensorBoard reads."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    with writer.as_default(step=step):
        for key, value in values.items():
            tf.summary.write(key, tf.constant(float(value), tf.float32), metadata=metadata)
    writer.flush()


def format_eval_results(results: dict) -> str:
    lines = ["***** Eval results *****"]
    for key in sorted(results):
        lines.append(f"{key} = {results[key]}")
    return "\n".join(lines) + "\n"


def read_eval_results(path) -> dict:
    """The last block of an eval_results.txt -> {key: number}."""
    text = open(path, encoding="utf-8").read()
    block = text.split("***** Eval results *****")[-1]
    out = {}
    for line in block.strip().splitlines():
        key, _, value = line.partition(" = ")
        out[key.strip()] = int(value) if key.strip() == "global_step" else float(value)
    return out


# ---------------------------------------------------------------------------- trainer
class Pretrainer:
    """Model, optimizer, data and checkpoints of one pretraining run (see `run`)."""

    def __init__(self, opts: PretrainingOptions, config=None, train_files=None, eval_files=None):
        import keras
        import tensorflow as tf

        from albert_nb.training import distribute
        from albert_nb.model.heads import AlbertForPretraining
        from albert_nb.training.optimization import create_optimizer

        if config is None:
            config, train_files, eval_files = validate(opts)
        self.opts, self.config = opts, config
        self.train_files, self.eval_files = train_files, eval_files
        if opts.deterministic:
            tf.config.experimental.enable_op_determinism()
        distribute.set_precision(opts.mixed_precision)
        self.strategy = distribute.select_strategy(opts.use_tpu, opts.tpu_name, opts.tpu_zone,
                                                   opts.gcp_project, opts.master)
        os.makedirs(opts.output_dir, exist_ok=True)
        keras.utils.set_random_seed(opts.seed)
        with self.strategy.scope():
            self.model = AlbertForPretraining(config)
            optimizer = create_optimizer(opts.learning_rate, opts.num_train_steps,
                                         opts.num_warmup_steps, opts.optimizer, opts.poly_power,
                                         opts.start_warmup_step)
            self.optimizer = distribute.wrap_for_precision(optimizer)
            # Slots exist before any restore, so a checkpoint fills them instead of deferring.
            self.optimizer.build(self.model.trainable_variables)
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.train_metrics = PretrainingMetrics()
            self.eval_metrics = PretrainingMetrics()
        self._train_loop = None
        self._eval_step = None
        self._train_iterator = None
        self.restore_message = ""

    # -- data -------------------------------------------------------------------------
    def train_dataset(self, skip_batches: int = 0):
        """The seeded training stream, distributed over the replicas; `skip_batches` replays
        the same order from a later point (for iterators that cannot be checkpointed)."""
        from albert_nb.pretraining import records as pretraining_data

        opts = self.opts
        ds = pretraining_data.make_dataset(self.train_files, opts.max_seq_length,
                                           opts.max_predictions_per_seq, opts.train_batch_size,
                                           is_training=True, seed=opts.seed)
        if skip_batches:
            ds = ds.skip(skip_batches)
        return self.strategy.experimental_distribute_dataset(ds)

    def eval_dataset(self, files=None):
        """One pass over the eval files (at most max_eval_steps batches, the last may be short).

        The original repeats the eval data and counts max_eval_steps batches, which counts
        examples twice when the set is small; one pass gives the honest held-out number.
        """
        from albert_nb.pretraining import records as pretraining_data

        opts = self.opts
        ds = pretraining_data.make_dataset(files or self.eval_files, opts.max_seq_length,
                                           opts.max_predictions_per_seq, opts.eval_batch_size,
                                           is_training=False, repeat=False, drop_remainder=False)
        return ds.take(opts.max_eval_steps)

    # -- steps --------------------------------------------------------------------------
    def _build_train_loop(self):
        import tensorflow as tf

        from albert_nb.training.distribute import inner_optimizer

        model, optimizer, strategy = self.model, self.optimizer, self.strategy
        scales_loss = hasattr(optimizer, "scale_loss") and optimizer is not inner_optimizer(optimizer)
        replicas = strategy.num_replicas_in_sync

        def compute(batch):
            with tf.GradientTape() as tape:
                outputs = model(model_inputs(batch), training=True)
                losses = pretraining_losses(outputs, batch)
                # Gradients are summed over replicas, so each replica's loss is divided by the
                # replica count: the result is the mean of the per-replica losses.
                loss = losses["loss"] / replicas
                if scales_loss:
                    loss = optimizer.scale_loss(loss)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            self.train_metrics.update(outputs, batch, losses)
            return losses["loss"]

        step_fn = tf.function(compute, jit_compile=True) if self.opts.jit_compile else compute

        @tf.function
        def train_loop(iterator, num_steps):
            for _ in tf.range(num_steps):
                strategy.run(step_fn, args=(next(iterator),))
                self.global_step.assign_add(1)

        return train_loop

    def _build_eval_step(self):
        import tensorflow as tf

        model, strategy = self.model, self.strategy

        def step(batch):
            outputs = model(model_inputs(batch), training=False)
            self.eval_metrics.update(outputs, batch, pretraining_losses(outputs, batch))

        @tf.function(reduce_retracing=True)
        def eval_step(batch):
            strategy.run(step, args=(batch,))

        return eval_step

    def learning_rate(self) -> float:
        from albert_nb.training.distribute import inner_optimizer

        # Keras evaluates the schedule at optimizer.iterations: the rate of the next step.
        return float(inner_optimizer(self.optimizer).learning_rate)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, files=None) -> dict:
        """Metrics of the current weights on one pass over the eval data."""
        if self._eval_step is None:
            self._eval_step = self._build_eval_step()
        self.eval_metrics.reset()
        dataset = self.strategy.experimental_distribute_dataset(self.eval_dataset(files))
        for batch in dataset:
            self._eval_step(batch)
        results = self.eval_metrics.result()
        results["global_step"] = int(self.global_step.numpy())
        return results

    # -- training -------------------------------------------------------------------------
    def checkpoint_manager(self):
        """CheckpointManager over model, optimizer, step, RNG states and (when possible) the
        training data iterator, restored from output_dir's newest checkpoint if there is one.

        A single-device tf.data iterator is checkpointable, so a resumed run continues with the
        exact next batch. Distributed iterators (MirroredStrategy, TPU) are not; those runs
        rebuild the same seeded stream and skip the batches already consumed.
        """
        import tensorflow as tf

        iterator = iter(self.train_dataset())
        trackable = isinstance(iterator, tf.__internal__.tracking.Trackable)
        # The dropout RNG states are Keras non-trainable variables that the object graph of
        # a Keras 3 model does not reach; listing them keeps resumed dropout masks identical.
        state = dict(model=self.model, optimizer=self.optimizer, global_step=self.global_step,
                     variables=variables_by_path(self.model),
                     rng_states=list(self.model.non_trainable_variables))
        if trackable:
            state["train_iterator"] = iterator
        self.checkpoint = tf.train.Checkpoint(**state)
        manager = tf.train.CheckpointManager(self.checkpoint, self.opts.output_dir,
                                             max_to_keep=self.opts.keep_checkpoint_max,
                                             checkpoint_name=CHECKPOINT_NAME)
        self.restore_message = self.restore_or_initialize(manager)
        step = int(self.global_step.numpy())
        self._train_iterator = iterator if trackable or step == 0 else iter(self.train_dataset(step))
        return manager

    def restore_or_initialize(self, manager) -> str:
        """Resume from output_dir's latest checkpoint, else start from --init_checkpoint."""
        if manager.latest_checkpoint:
            self.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            return f"resumed from {manager.latest_checkpoint}"
        if self.opts.init_checkpoint:
            return "initialised from " + load_init_checkpoint(
                self.model, self.opts.init_checkpoint, self.opts.init_from_group0)
        return "initialised randomly"

    def train(self, on_log: Callable[[dict], None] | None = None, show_progress: bool = True) -> list:
        """Train until global_step == num_train_steps, checkpointing every save_checkpoints_steps.

        Each call of the compiled loop runs up to `iterations_per_loop` steps (the original's
        TPU loop size), never past a checkpoint or log boundary. Returns the logged records.
        """
        import tensorflow as tf
        from tqdm.auto import tqdm

        opts = self.opts
        manager = self.checkpoint_manager()
        message = self.restore_message
        if self._train_loop is None:
            self._train_loop = self._build_train_loop()
        step = int(self.global_step.numpy())
        writer = tf.summary.create_file_writer(opts.output_dir)
        history = []
        bar = tqdm(total=opts.num_train_steps, initial=step, unit="step", disable=not show_progress,
                   desc="pretraining", dynamic_ncols=True)
        if show_progress:
            bar.write(f"{message}; {type(self.strategy).__name__}, "
                      f"{self.strategy.num_replicas_in_sync} replica(s)")
        last_time, last_step = time.perf_counter(), step
        self.train_metrics.reset()
        while step < opts.num_train_steps:
            boundary = min(opts.num_train_steps,
                           (step // opts.save_checkpoints_steps + 1) * opts.save_checkpoints_steps,
                           (step // opts.log_every_steps + 1) * opts.log_every_steps,
                           step + opts.iterations_per_loop)
            self._train_loop(self._train_iterator, tf.constant(boundary - step, tf.int32))
            step = int(self.global_step.numpy())
            if step % opts.log_every_steps == 0 or step == opts.num_train_steps:
                now = time.perf_counter()
                record = {"step": step, **self.train_metrics.result(),
                          "learning_rate": self.learning_rate(),
                          "steps_per_sec": (step - last_step) / max(now - last_time, 1e-9)}
                self.train_metrics.reset()
                last_time, last_step = now, step
                history.append(record)
                write_scalars(writer, step, {k: v for k, v in record.items() if k != "step"})
                if on_log is not None:
                    on_log(record)
                bar.set_postfix(loss=f"{record['loss']:.3f}",
                                mlm_acc=f"{record['masked_lm_accuracy']:.3f}",
                                sop_acc=f"{record['sentence_order_accuracy']:.3f}")
            if step % opts.save_checkpoints_steps == 0 or step == opts.num_train_steps:
                manager.save(checkpoint_number=step)
            bar.update(step - bar.n)
        bar.close()
        writer.flush()
        return history

    def evaluate_checkpoints(self, show: Callable[[str], None] | None = print) -> dict:
        """Evaluate every checkpoint in output_dir (oldest first), as the original's eval loop:
        append a block per checkpoint to eval_results.txt, copy the best (by masked_lm_accuracy)
        to model.ckpt-best, and return the results of the newest checkpoint."""
        import tensorflow as tf

        opts = self.opts
        steps = checkpoint_steps(opts.output_dir)
        reader = tf.train.Checkpoint(variables=variables_by_path(self.model),
                                     global_step=self.global_step)
        best_prefix = os.path.join(opts.output_dir, BEST_NAME)
        best = -1.0
        if os.path.exists(best_prefix + ".index"):
            reader.read(best_prefix).expect_partial()
            best = self.evaluate()["masked_lm_accuracy"]
        blocks, results = [], None
        if not steps:
            if not opts.init_checkpoint:
                raise InputError(f"--do_eval: no checkpoint in --output_dir={opts.output_dir!r} and "
                                 "no --init_checkpoint; train first (--do_train)")
            load_init_checkpoint(self.model, opts.init_checkpoint, opts.init_from_group0)
            self.global_step.assign(0)
            results = self.evaluate()
            blocks.append(format_eval_results(results))
        for step, prefix in steps.items():
            reader.read(prefix).expect_partial()
            results = self.evaluate()
            blocks.append(format_eval_results(results))
            if results["masked_lm_accuracy"] > best:
                best = results["masked_lm_accuracy"]
                copy_checkpoint(prefix, best_prefix)
        atomic_write_text(os.path.join(opts.output_dir, "eval_results.txt"), "".join(blocks))
        writer = tf.summary.create_file_writer(os.path.join(opts.output_dir, "eval"))
        write_scalars(writer, results["global_step"], {k: results[k] for k in EVAL_KEYS[1:]})
        if show is not None:
            show(format_eval_results({k: results[k] for k in EVAL_KEYS}).rstrip("\n"))
        return results


def run(opts: PretrainingOptions, on_log=None, show_progress: bool = True, show=print) -> dict:
    """Train and/or evaluate as the flags say; returns {"history": [...], "eval": {...}}."""
    trainer = Pretrainer(opts)
    out = {"history": [], "eval": None}
    if opts.do_train:
        out["history"] = trainer.train(on_log=on_log, show_progress=show_progress)
    if opts.do_eval:
        out["eval"] = trainer.evaluate_checkpoints(show=show)
    return out


def build_tiny_pretrained(smoke: bool = False, **kwargs):
    """The workbench's small pretrained model directory (built once, then reused); see
    `albert_nb.pretraining.tiny` for the recipe and the layout."""
    from albert_nb.pretraining.tiny import build_tiny_pretrained as build

    return build(smoke=smoke, **kwargs)

"""GLUE-style classification fine-tuning as a library: train, sweep checkpoints, predict.

`python -m albert_nb.run_classifier` is a thin flag layer over `run(ClassifierOptions(...))`;
notebook 05 calls the same function. What it does, and where it differs from the original:

* **Model.** `AlbertForSequenceClassification`: dropout 0.1 on the pooled [CLS] vector, one dense
  layer; softmax cross entropy, or mean squared error for STS-B (one output). The encoder starts
  from `--init_checkpoint` (ours or Google's TF1), a TF-Hub handle, or random weights.
* **Optimizer.** The original's AdamW/LAMB with linear warm-up and linear decay to 0 at
  `--train_step`, clipped to global norm 1 (`albert_nb.training.optimization`).
* **Speed.** Dynamic padding with length buckets (`albert_nb.finetuning.features`); `--padding=max`
  gives the original's fixed padding, `--jit_compile` XLA-compiles the train and eval steps.
* **Checkpoint selection.** The published GLUE numbers are the best of the saved checkpoints on
  dev (google-research/albert#56). Every `model.ckpt-<step>` is evaluated (right after it is
  saved when --do_eval comes with --do_train; else by a sweep over --output_dir), the best is
  *copied* to `model.ckpt-best`, and `eval_results.txt` / `best_trial.txt` are written in the
  original's format. Unlike the original, nothing is deleted by the sweep: retention is
  `--keep_checkpoint_max` (0 = keep all), and since checkpoints are evaluated as they are saved,
  retention never hides one from the selection.
* **Resumable.** Training restarts from the newest checkpoint in --output_dir (model, optimizer,
  step, data iterator); evaluated steps are remembered in `eval_history.json` and skipped.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Callable

import numpy as np

from albert_nb.finetuning import features as fdata
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_write_json, atomic_write_text

CHECKPOINT_NAME = "model.ckpt"
BEST_NAME = "model.ckpt-best"
MODEL_INPUTS = ("input_ids", "input_mask", "segment_ids")


# ---------------------------------------------------------------------------- options
@dataclasses.dataclass
class ClassifierOptions:
    """The original run_classifier flags (same names and defaults) plus a few of ours."""

    data_dir: str
    task_name: str
    output_dir: str
    spm_model_file: str | None = None
    vocab_file: str | None = None
    albert_config_file: str | None = None
    albert_hub_module_handle: str | None = None
    cached_dir: str | None = None
    init_checkpoint: str | None = None
    do_lower_case: bool = True
    max_seq_length: int = 512
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    train_batch_size: int = 32
    eval_batch_size: int = 8
    predict_batch_size: int = 8
    learning_rate: float = 5e-5
    train_step: int = 1000
    warmup_step: int = 0
    save_checkpoints_steps: int = 1000
    keep_checkpoint_max: int = 5
    iterations_per_loop: int = 1000
    use_tpu: bool = False
    tpu_name: str | None = None
    tpu_zone: str | None = None
    gcp_project: str | None = None
    master: str | None = None
    num_tpu_cores: int = 8
    optimizer: str = "adamw"
    export_dir: str | None = None
    threshold_to_export: float = float("nan")
    # Ours.
    padding: str = "dynamic"
    jit_compile: bool = False
    mixed_precision: str | None = None
    seed: int = 12345
    log_every_steps: int = 100
    max_train_examples: int | None = None   # cut the training set (notebooks, quick checks)


# run_glue.sh's per-task values (albert_zh's table for CLUE) live in the task registry.
TASK_DEFAULT_FIELDS = ("warmup_step", "learning_rate", "train_step", "save_checkpoints_steps",
                       "train_batch_size", "max_seq_length")


def task_defaults(task_name: str, data_dir: str | None = None) -> dict:
    """The task's recorded settings under our option names. CLUE rows give epochs: they are
    turned into steps with the size of the training set in `data_dir`."""
    task = get_task(task_name)
    s = task.settings
    if s is None:
        raise InputError(f"--use_task_defaults: task {task_name!r} has no recorded settings "
                         "(run_glue.sh covers the GLUE tasks, albert_zh's script the CLUE ones)")
    if s.train_step is not None:
        train_step, warmup_step = s.train_step, s.warmup_step or 0
    else:
        if not data_dir:
            raise InputError(f"--use_task_defaults for {task_name!r} needs --data_dir to turn "
                             f"{s.num_train_epochs} epochs into steps")
        train_step, warmup_step = s.steps_for(len(task_examples(task, data_dir, "train")))
    return {"warmup_step": warmup_step, "learning_rate": s.learning_rate, "train_step": train_step,
            "save_checkpoints_steps": s.save_checkpoints_steps,
            "train_batch_size": s.train_batch_size, "max_seq_length": s.max_seq_length}


def apply_task_defaults(opts: ClassifierOptions, explicit=()) -> ClassifierOptions:
    """`--use_task_defaults`: every recorded setting of the task (run_glue.sh for GLUE) that was
    not given explicitly (names in `explicit`) takes the recorded value; explicit flags win."""
    values = task_defaults(opts.task_name, opts.data_dir)
    return dataclasses.replace(opts, **{k: v for k, v in values.items() if k not in set(explicit)})


# ------------------------------------------------------------------------ task access
def get_task(name: str):
    """The task registry entry (albert_nb.tasks.registry); unknown names raise InputError."""
    from albert_nb.tasks import registry as tasks

    return tasks.get_task(name)


def task_examples(task, data_dir: str, split: str) -> list:
    return list(task.processor.get_examples(data_dir, split))


# Benchmark metrics that repeat one of the original's keys under another name.
_DUPLICATES = {"accuracy": "eval_accuracy", "mcc": "matthew_corr", "pearson": "pearson", "mse": "MSE"}


def task_metrics(task, labels: np.ndarray, logits: np.ndarray, loss: float) -> dict:
    """The original's eval_results keys (eval_accuracy, eval_loss; matthew_corr for CoLA;
    pearson, MSE for STS-B) plus the benchmark's other scores (f1 for MRPC/QQP, spearman for
    STS-B), all from albert_nb.tasks.metrics (scikit-learn / scipy)."""
    out = {k: float(v) for k, v in task.original_eval_results(labels, logits, loss).items()}
    for key, value in task.metric(labels, logits).items():
        if key not in _DUPLICATES:
            out[key] = float(value)
    return out


# --------------------------------------------------------------------------- validate
@dataclasses.dataclass
class Resolved:
    """What validation found: the task, tokenizer, model config and where the encoder comes from."""

    task: object
    label_list: list | None
    tokenizer: object
    config: object
    hub: object = None


def validate(opts: ClassifierOptions) -> Resolved:
    """Check flags and files before any model is built; one clear InputError otherwise."""
    from albert_nb.model.config import AlbertConfig
    from albert_nb.tokenizers.tokenization import FullTokenizer

    if not (opts.do_train or opts.do_eval or opts.do_predict):
        raise InputError("at least one of --do_train, --do_eval or --do_predict must be set")
    if not opts.task_name:
        raise InputError("--task_name is required (e.g. MNLI, SST-2, STS-B)")
    task = get_task(opts.task_name)
    if not opts.output_dir:
        raise InputError("--output_dir is required")
    if not opts.data_dir:
        raise InputError("--data_dir is required (the folder holding the task's TSV/JSON files)")
    if not os.path.isdir(opts.data_dir):
        raise InputError(f"--data_dir={opts.data_dir!r} does not exist")
    # The files each requested phase reads must be there before hours of training start.
    wanted = [s for s, on in (("train", opts.do_train), ("dev", opts.do_eval), ("test", opts.do_predict)) if on]
    for split in wanted:
        task.processor.split_path(opts.data_dir, split)
    for name in ("train_batch_size", "eval_batch_size", "predict_batch_size", "train_step",
                 "save_checkpoints_steps", "iterations_per_loop", "max_seq_length", "log_every_steps"):
        if int(getattr(opts, name)) < 1:
            raise InputError(f"--{name}={getattr(opts, name)}: expected a positive integer")
    if opts.keep_checkpoint_max < 0:
        raise InputError(f"--keep_checkpoint_max={opts.keep_checkpoint_max}: expected >= 0 (0 = keep all)")
    if opts.warmup_step < 0:
        raise InputError(f"--warmup_step={opts.warmup_step}: expected >= 0")
    if opts.learning_rate <= 0:
        raise InputError(f"--learning_rate={opts.learning_rate}: expected > 0")
    if opts.padding not in ("dynamic", "max"):
        raise InputError(f"--padding={opts.padding!r}: expected 'dynamic' or 'max'")
    if opts.optimizer not in ("adamw", "lamb"):
        raise InputError(f"--optimizer={opts.optimizer!r}: expected 'adamw' or 'lamb'")

    hub = None
    if opts.albert_hub_module_handle:
        from albert_nb.interop import tfhub

        hub = tfhub.load_module(opts.albert_hub_module_handle, do_lower_case=opts.do_lower_case)
        config = hub.config
    elif opts.albert_config_file:
        try:
            config = AlbertConfig.from_json_file(opts.albert_config_file)
        except InputError as err:
            raise InputError(f"--albert_config_file: {err}") from None
    else:
        raise InputError("one of --albert_config_file or --albert_hub_module_handle is required")
    if opts.max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length={opts.max_seq_length} exceeds max_position_embeddings="
                         f"{config.max_position_embeddings} of the model config")

    # As the original, --vocab_file is ignored when --spm_model_file is given.
    flag = "spm_model_file" if opts.spm_model_file else "vocab_file"
    path = getattr(opts, flag)
    if path and not os.path.isfile(path):
        raise InputError(f"--{flag}={path!r}: file not found")
    if opts.spm_model_file:
        tokenizer = FullTokenizer(do_lower_case=opts.do_lower_case, spm_model_file=opts.spm_model_file)
    elif opts.vocab_file:
        tokenizer = FullTokenizer(vocab_file=opts.vocab_file, do_lower_case=opts.do_lower_case)
    elif hub is not None and getattr(hub, "tokenizer", None) is not None:
        tokenizer = hub.tokenizer
    else:
        raise InputError("--spm_model_file (SentencePiece *.model) or --vocab_file is required")
    if tokenizer.vocab_size > config.vocab_size:
        raise InputError(f"tokenizer has {tokenizer.vocab_size} pieces but the model config's "
                         f"vocab_size is {config.vocab_size}; do --spm_model_file and the config match?")
    if opts.init_checkpoint and not (os.path.exists(opts.init_checkpoint + ".index")
                                     or os.path.isdir(opts.init_checkpoint)):
        raise InputError(f"--init_checkpoint={opts.init_checkpoint!r}: no such checkpoint "
                         f"(expected {opts.init_checkpoint}.index or a directory)")
    return Resolved(task=task, label_list=task.labels, tokenizer=tokenizer, config=config, hub=hub)


# ------------------------------------------------------------------------- losses
def classification_loss(logits, labels, is_regression: bool):
    """Mean softmax cross entropy; mean squared error for regression (as the original)."""
    import tensorflow as tf

    if is_regression:
        return tf.reduce_mean(tf.square(logits[:, 0] - tf.cast(labels, tf.float32)))
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))


def make_train_loop(model, optimizer, is_regression: bool, global_step, strategy=None,
                    jit_compile: bool = False, loss_metric=None, accuracy_metric=None):
    """A tf.function `loop(iterator, num_steps)` running `num_steps` optimizer steps.

    Batches may have any length (dynamic padding): the loop body is traced once with unknown
    sequence length. With `jit_compile` the step itself is XLA-compiled, once per distinct
    batch shape (bucketing keeps those few).
    """
    import tensorflow as tf

    from albert_nb.training.distribute import inner_optimizer

    strategy = strategy or tf.distribute.get_strategy()
    scales_loss = optimizer is not inner_optimizer(optimizer)
    replicas = strategy.num_replicas_in_sync

    def step(batch):
        with tf.GradientTape() as tape:
            logits = model({k: batch[k] for k in MODEL_INPUTS}, training=True)["logits"]  # [B, C]
            loss = classification_loss(logits, batch["label_ids"], is_regression)
            scaled = loss / replicas  # gradients are summed over replicas: mean of losses
            if scales_loss:
                scaled = optimizer.scale_loss(scaled)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        if loss_metric is not None:
            loss_metric.update_state(loss)
        if accuracy_metric is not None:
            hit = tf.equal(tf.argmax(logits, -1, output_type=tf.int32),
                           tf.cast(batch["label_ids"], tf.int32))                # [B]
            accuracy_metric.update_state(tf.reduce_mean(tf.cast(hit, tf.float32)))

    step_fn = tf.function(step, jit_compile=True) if jit_compile else step

    @tf.function
    def train_loop(iterator, num_steps):
        for _ in tf.range(num_steps):
            strategy.run(step_fn, args=(next(iterator),))
            global_step.assign_add(1)

    return train_loop


# ---------------------------------------------------------------------- results files
def format_eval_block(results: dict, best_so_far: float) -> str:
    """One block of the original's eval_results.txt: sorted `key = value`, `best = ...`, a rule."""
    lines = [f"{key} = {results[key]}" for key in sorted(results)]
    lines.append(f"best = {best_so_far}")
    lines.append("=" * 50)
    return "\n".join(lines) + "\n"


def read_best_trial(path) -> tuple[int, int, float]:
    """best_trial.txt "global_step:best_step:best_value" -> (global_step, best_step, best_value)."""
    text = open(path, encoding="utf-8").read().strip()
    step, best_step, best = text.split(":")
    return int(step), int(best_step), float(best)


def checkpoint_steps(output_dir: str) -> dict[int, str]:
    from albert_nb.pretraining.trainer import checkpoint_steps as steps

    return steps(output_dir)


# ---------------------------------------------------------------------------- trainer
class FineTuner:
    """Model, optimizer, data and checkpoints of one fine-tuning run (see `run`)."""

    def __init__(self, opts: ClassifierOptions, resolved: Resolved | None = None, show=print,
                 show_progress: bool = True):
        import keras
        import tensorflow as tf

        from albert_nb.training import distribute
        from albert_nb.model.heads import AlbertForSequenceClassification
        from albert_nb.training.optimization import create_optimizer

        self.opts = opts
        self.r = resolved or validate(opts)
        self.task, self.tokenizer, self.config = self.r.task, self.r.tokenizer, self.r.config
        self.label_list = self.r.label_list
        self.is_regression = self.label_list is None
        self.show = show or (lambda *_: None)
        self.show_progress = show_progress
        os.makedirs(opts.output_dir, exist_ok=True)
        distribute.set_precision(opts.mixed_precision)
        self.strategy = distribute.select_strategy(opts.use_tpu, opts.tpu_name, opts.tpu_zone,
                                                   opts.gcp_project, opts.master)
        keras.utils.set_random_seed(opts.seed)
        num_labels = 1 if self.is_regression else len(self.label_list)
        with self.strategy.scope():
            encoder = self.r.hub.encoder if self.r.hub is not None else None
            self.model = AlbertForSequenceClassification(self.config, num_labels, albert=encoder)
            optimizer = create_optimizer(opts.learning_rate, opts.train_step, opts.warmup_step,
                                         opts.optimizer)
            self.optimizer = distribute.wrap_for_precision(optimizer)
            self.optimizer.build(self.model.trainable_variables)
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.train_loss = keras.metrics.Mean("loss")
            self.train_accuracy = keras.metrics.Mean("accuracy")
        self._train_loop = self._predict_step = None
        self._train_iterator = None
        self.eval_history = self._load_eval_history()

    # -- data ---------------------------------------------------------------------------
    def feature_file(self, split: str) -> str:
        """Where the original puts its TFRecords: cached_dir (if given) else output_dir."""
        name = {"train": f"{self.task.name}_train.tf_record", "dev": f"{self.task.name}_eval.tf_record",
                "test": "predict.tf_record"}[split]
        return os.path.join(self.opts.cached_dir or self.opts.output_dir, name)

    def examples(self, split: str) -> list:
        examples = task_examples(self.task, self.opts.data_dir, split)
        if not examples:
            raise InputError(f"--data_dir={self.opts.data_dir!r} holds no {split} examples for "
                             f"task {self.opts.task_name!r}")
        if split == "train" and self.opts.max_train_examples:
            examples = examples[: self.opts.max_train_examples]
        return examples

    def split_dataset(self, split: str, batch_size: int, is_training: bool, examples=None):
        """Build (or reuse) the split's feature cache and batch it."""
        examples = self.examples(split) if examples is None else examples
        path, count, reused = fdata.cached_features(
            self.feature_file(split), examples, self.label_list, self.opts.max_seq_length,
            self.tokenizer, self.task.name, split, show=self.show, show_progress=self.show_progress)
        ds = fdata.read_features(path, self.is_regression)
        return fdata.batch_dataset(ds, batch_size, self.opts.max_seq_length, is_training,
                                   padding=self.opts.padding, seed=self.opts.seed), count

    # -- steps --------------------------------------------------------------------------
    def _build_train_loop(self):
        return make_train_loop(self.model, self.optimizer, self.is_regression, self.global_step,
                               self.strategy, jit_compile=self.opts.jit_compile,
                               loss_metric=self.train_loss,
                               accuracy_metric=None if self.is_regression else self.train_accuracy)

    def _build_predict_step(self):
        import tensorflow as tf

        model = self.model
        spec = {k: tf.TensorSpec([None, None], tf.int32) for k in MODEL_INPUTS}

        # One relaxed signature: every batch length reuses the trace (XLA compiles per shape,
        # and bucketed padding keeps the shapes few).
        @tf.function(input_signature=[spec], jit_compile=self.opts.jit_compile)
        def predict_step(inputs):
            return model(inputs, training=False)["logits"]                  # [batch, num_labels]

        return predict_step

    def logits_and_labels(self, dataset) -> tuple[np.ndarray, np.ndarray]:
        """Run the model over a finite dataset -> (logits [N, C], labels [N]) in input order."""
        if self._predict_step is None:
            self._predict_step = self._build_predict_step()
        logits, labels = [], []
        for batch in dataset:
            logits.append(self._predict_step({k: batch[k] for k in MODEL_INPUTS}).numpy())
            labels.append(batch["label_ids"].numpy())
        width = 1 if self.is_regression else len(self.label_list)
        if not logits:
            return np.zeros((0, width), np.float32), np.zeros((0,), np.float32)
        return np.concatenate(logits).astype(np.float32), np.concatenate(labels)

    def evaluate(self, dataset=None) -> tuple[dict, np.ndarray, np.ndarray]:
        """Metrics of the current weights on the dev set -> (metrics, logits, labels)."""
        import tensorflow as tf

        if dataset is None:
            dataset = self._dev_dataset()
        logits, labels = self.logits_and_labels(dataset)
        loss = float(classification_loss(tf.constant(logits), tf.constant(labels),
                                         self.is_regression).numpy()) if len(labels) else float("nan")
        return task_metrics(self.task, labels, logits, loss), logits, labels

    def _dev_dataset(self):
        if not hasattr(self, "_dev"):
            self._dev, _ = self.split_dataset("dev", self.opts.eval_batch_size, is_training=False)
        return self._dev

    # -- checkpoints --------------------------------------------------------------------
    def checkpoint_manager(self):
        import tensorflow as tf

        from albert_nb.pretraining.trainer import variables_by_path

        if self._train_iterator is None:
            train_ds, self.num_train_examples = self.split_dataset(
                "train", self.opts.train_batch_size, is_training=True)
            self._train_iterator = iter(self.strategy.experimental_distribute_dataset(train_ds))
        # The classifier's encoder weights are listed by path too (Keras 3's object graph does
        # not reach the block lists), and so are the dropout RNG states (exact resumption).
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                                              global_step=self.global_step,
                                              train_iterator=self._train_iterator,
                                              variables=variables_by_path(self.model),
                                              rng_states=list(self.model.non_trainable_variables))
        keep = self.opts.keep_checkpoint_max or None  # 0 keeps every checkpoint
        return tf.train.CheckpointManager(self.checkpoint, self.opts.output_dir, max_to_keep=keep,
                                          checkpoint_name=CHECKPOINT_NAME)

    def initialize_encoder(self) -> str:
        """--init_checkpoint (ours or Google's) into the encoder; hub weights are already in."""
        if self.r.hub is not None:
            return f"encoder from hub module {self.opts.albert_hub_module_handle}"
        if self.opts.init_checkpoint:
            from albert_nb.pretraining.trainer import load_init_checkpoint

            loaded = str(load_init_checkpoint(self.model, self.opts.init_checkpoint))
            return "encoder from " + loaded.splitlines()[0]  # the first line names what was read
        return "encoder initialised randomly (no --init_checkpoint): training from scratch"

    def read_weights(self, prefix: str) -> None:
        """Load the model weights (only) of one of our checkpoints."""
        import tensorflow as tf

        from albert_nb.pretraining.trainer import variables_by_path

        tf.train.Checkpoint(variables=variables_by_path(self.model),
                            global_step=self.global_step).read(prefix).expect_partial()

    # -- training -----------------------------------------------------------------------
    def train(self, on_log: Callable[[dict], None] | None = None,
              on_eval: Callable[[dict], None] | None = None, evaluate: bool = False) -> list:
        """Train to --train_step, saving every --save_checkpoints_steps; with `evaluate`, each
        saved checkpoint is evaluated on dev at once (see module doc). Returns logged records."""
        import tensorflow as tf
        from tqdm.auto import tqdm

        opts = self.opts
        manager = self.checkpoint_manager()
        if manager.latest_checkpoint:
            self.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            message = f"resumed from {manager.latest_checkpoint}"
        else:
            message = self.initialize_encoder()
        if self._train_loop is None:
            self._train_loop = self._build_train_loop()
        step = int(self.global_step.numpy())
        history = [r for r in self._load_json("train_history.json") if r["step"] <= step]
        self.show(f"{message}; {self.num_train_examples} training examples, "
                  f"{opts.train_step} steps of {opts.train_batch_size}")
        bar = tqdm(total=opts.train_step, initial=step, unit="step", desc=f"fine-tuning {self.task.name}",
                   disable=not self.show_progress, dynamic_ncols=True)
        last_time, last_step = time.perf_counter(), step
        self.train_loss.reset_state()
        self.train_accuracy.reset_state()
        while step < opts.train_step:
            boundary = min(opts.train_step,
                           (step // opts.save_checkpoints_steps + 1) * opts.save_checkpoints_steps,
                           (step // opts.log_every_steps + 1) * opts.log_every_steps,
                           step + opts.iterations_per_loop)
            self._train_loop(self._train_iterator, tf.constant(boundary - step, tf.int32))
            step = int(self.global_step.numpy())
            if step % opts.log_every_steps == 0 or step == opts.train_step:
                now = time.perf_counter()
                record = {"step": step, "loss": float(self.train_loss.result()),
                          "learning_rate": self._learning_rate(),
                          "examples_per_sec": (step - last_step) * opts.train_batch_size
                          / max(now - last_time, 1e-9)}
                if not self.is_regression:
                    record["accuracy"] = float(self.train_accuracy.result())
                self.train_loss.reset_state()
                self.train_accuracy.reset_state()
                last_time, last_step = now, step
                history.append(record)
                atomic_write_json(os.path.join(opts.output_dir, "train_history.json"), history,
                                  sort_keys=False)
                if on_log is not None:
                    on_log(record)
                bar.set_postfix(loss=f"{record['loss']:.4f}")
            if step % opts.save_checkpoints_steps == 0 or step == opts.train_step:
                prefix = manager.save(checkpoint_number=step)
                if evaluate:
                    self.evaluate_and_record(step, prefix, on_eval=on_eval)
                last_time = time.perf_counter()  # evaluation time is not training speed
            bar.update(step - bar.n)
        bar.close()
        return history

    def _learning_rate(self) -> float:
        from albert_nb.training.distribute import inner_optimizer

        return float(inner_optimizer(self.optimizer).learning_rate)

    # -- checkpoint selection ---------------------------------------------------------------
    @property
    def selection_key(self) -> str:
        return self.task.selection_key

    def _load_json(self, name: str) -> list:
        path = os.path.join(self.opts.output_dir, name)
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def _load_eval_history(self) -> list:
        return self._load_json("eval_history.json")

    def score(self, record: dict) -> float:
        """The selection metric of an eval record; NaN (e.g. Pearson of constant predictions)
        ranks below everything."""
        value = float(record[self.selection_key])
        return -math.inf if math.isnan(value) else value

    def best_record(self) -> dict | None:
        """The evaluated checkpoint with the highest selection metric (earliest on ties)."""
        best = None
        for record in self.eval_history:
            if best is None or self.score(record) > self.score(best):
                best = record
        return best

    def evaluate_and_record(self, step: int, prefix: str | None, on_eval=None) -> dict:
        """Evaluate the weights now in the model (those of checkpoint `prefix`), append them to
        eval_history.json, rewrite eval_results.txt / best_trial.txt, and copy a new best to
        model.ckpt-best (with its dev predictions in eval_predictions.json)."""
        from albert_nb.pretraining.trainer import copy_checkpoint

        results, logits, labels = self.evaluate()
        results = {"global_step": int(step), **results}
        previous = self.best_record()
        self.eval_history = [r for r in self.eval_history if r["global_step"] != step] + [results]
        self.eval_history.sort(key=lambda r: r["global_step"])
        out = self.opts.output_dir
        atomic_write_json(os.path.join(out, "eval_history.json"), self.eval_history, sort_keys=False)
        if previous is None or self.score(results) > self.score(previous):
            if prefix is not None:
                copy_checkpoint(prefix, os.path.join(out, BEST_NAME))
            atomic_write_json(os.path.join(out, "eval_predictions.json"),
                              {"global_step": int(step), "labels": labels.tolist(),
                               "logits": logits.tolist(), "label_list": self.label_list})
        self._write_eval_files()
        if on_eval is not None:
            on_eval(results)
        return results

    def _write_eval_files(self) -> None:
        """eval_results.txt (one block per checkpoint, oldest first, each with the best value
        so far) and best_trial.txt ("global_step:best_step:best_value"), as the original."""
        # The original starts from best = 0.0 and keeps the first checkpoint on ties.
        best, best_step, blocks = 0.0, None, []
        for record in self.eval_history:
            blocks.append(format_eval_block(record, best))
            if best_step is None or self.score(record) > best:
                best, best_step = self.score(record), record["global_step"]
        out = self.opts.output_dir
        atomic_write_text(os.path.join(out, "eval_results.txt"), "".join(blocks))
        last = self.eval_history[-1]["global_step"]
        atomic_write_text(os.path.join(out, "best_trial.txt"), f"{last}:{best_step}:{best}")

    def evaluate_checkpoints(self, on_eval=None) -> dict:
        """The sweep: evaluate every model.ckpt-<step> not evaluated yet (oldest first)."""
        steps = checkpoint_steps(self.opts.output_dir)
        done = {r["global_step"] for r in self.eval_history}
        if not steps and not self.eval_history:
            if not (self.opts.init_checkpoint or self.r.hub is not None):
                raise InputError(f"--do_eval: no checkpoint in --output_dir={self.opts.output_dir!r} "
                                 "and no --init_checkpoint; train first (--do_train)")
            self.show(self.initialize_encoder() + "; evaluating it as step 0")
            self.global_step.assign(0)
            self.evaluate_and_record(0, None, on_eval=on_eval)
        for step, prefix in steps.items():
            if step in done:
                continue
            self.read_weights(prefix)
            self.evaluate_and_record(step, prefix, on_eval=on_eval)
        return self.best_record()

    # -- prediction -------------------------------------------------------------------------
    def load_best(self) -> str:
        """model.ckpt-best, else the newest checkpoint, else the initial encoder (untrained head)."""
        best = os.path.join(self.opts.output_dir, BEST_NAME)
        if os.path.exists(best + ".index"):
            self.read_weights(best)
            return best
        steps = checkpoint_steps(self.opts.output_dir)
        if steps:
            prefix = steps[max(steps)]
            self.read_weights(prefix)
            self.show(f"no {BEST_NAME} (run --do_eval to select one); predicting with {prefix}")
            return prefix
        raise InputError(f"--do_predict: no checkpoint in --output_dir={self.opts.output_dir!r}; "
                         "train first (--do_train)")

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        if self.is_regression:
            return logits[:, 0]
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)

    def predict(self) -> dict:
        """Test set -> test_results.tsv (class probabilities per line; the score for STS-B) and
        submit_results.tsv ("index<TAB>prediction", the GLUE server's layout)."""
        source = self.load_best()
        examples = self.examples("test")
        dataset, _ = self.split_dataset("test", self.opts.predict_batch_size, is_training=False,
                                        examples=examples)
        logits, _ = self.logits_and_labels(dataset)
        probs = self.probabilities(logits)                                  # [N, C] or [N]
        from albert_nb.tasks.registry import write_submission

        files = write_submission(self.opts.output_dir, self.task, [ex.guid for ex in examples], probs)
        if self.is_regression:
            predictions = [float(v) for v in probs]
        else:
            predictions = [self.label_list[int(i)] for i in probs.argmax(axis=-1)]
        return {"checkpoint": source, "num_examples": len(examples), **files,
                "predictions": predictions, "probabilities": probs}

    # -- export -------------------------------------------------------------------------------
    def export(self, export_dir: str) -> str:
        """A SavedModel of the best weights: serving signature input_ids/input_mask/segment_ids
        [batch, seq] int32 -> probabilities and predictions (the original's export)."""
        import tensorflow as tf

        self.load_best()
        model, regression = self.model, self.is_regression
        spec = {k: tf.TensorSpec([None, None], tf.int32, name=k) for k in MODEL_INPUTS}

        @tf.function(input_signature=[spec])
        def serve(inputs):
            logits = model(inputs, training=False)["logits"]                # [batch, C]
            if regression:
                return {"predictions": logits[:, 0], "probabilities": logits[:, 0]}
            return {"probabilities": tf.nn.softmax(logits, -1),
                    "predictions": tf.argmax(logits, -1, output_type=tf.int32)}

        module = tf.Module()
        module.model_variables = list(model.variables)
        module.serve = serve
        path = os.path.join(export_dir, str(int(time.time())))
        tf.saved_model.save(module, path, signatures={"serving_default": serve})
        return path


# ------------------------------------------------------------------------------- run
def run(opts: ClassifierOptions, on_log=None, on_eval=None, show=print,
        show_progress: bool = True) -> dict:
    """Train / evaluate / predict / export as the flags say.

    Returns {"history": train records, "eval_history": [...], "best": best record or None,
    "predict": {...} or None, "export": path or None}.
    """
    tuner = FineTuner(opts, show=show, show_progress=show_progress)
    out = {"history": [], "eval_history": [], "best": None, "predict": None, "export": None}
    if opts.do_train:
        out["history"] = tuner.train(on_log=on_log, on_eval=on_eval, evaluate=opts.do_eval)
    if opts.do_eval:
        best = tuner.evaluate_checkpoints(on_eval=on_eval)
        out["best"] = best
        if show is not None and best is not None:
            show(f"best checkpoint: step {best['global_step']} with {tuner.selection_key} = "
                 f"{best[tuner.selection_key]:.4f}")
    out["eval_history"] = list(tuner.eval_history)
    if opts.do_predict:
        out["predict"] = tuner.predict()
    if opts.export_dir:
        best = out["best"] or tuner.best_record()
        threshold = opts.threshold_to_export
        if best is not None and (math.isnan(threshold) or best[tuner.selection_key] >= threshold):
            out["export"] = tuner.export(opts.export_dir)
        elif show is not None:
            show(f"not exported: best {tuner.selection_key} is below --threshold_to_export={threshold}"
                 if best is not None else "not exported: no evaluated checkpoint (run --do_eval)")
    out["tuner"] = tuner
    return out

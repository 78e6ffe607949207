"""GLUE-style classification fine-tuning: train, sweep checkpoints, predict, export.

`python -m albert_nb.run_classifier` is a thin flag layer over `run(ClassifierOptions(...))`;
notebook 05 calls the same function. What is classification's own (the rest is the shared
`finetuning.trainer.TaskTrainer` on `training.loop.Trainer`):

* **Model.** `AlbertForSequenceClassification`: dropout 0.1 on the pooled [CLS] vector, one dense
  layer; softmax cross entropy, or mean squared error for STS-B (one output).
* **Optimizer.** The original's AdamW/LAMB with linear warm-up and linear decay to 0 at
  `--train_step`, clipped to global norm 1 (`albert_nb.training.optimization`).
* **Speed.** Dynamic padding with length buckets (`albert_nb.finetuning.features`);
  `--padding=max` gives the original's fixed padding, `--jit_compile` XLA-compiles the steps.
* **Results.** `eval_results.txt` / `best_trial.txt` in the original's format, the best
  checkpoint's dev predictions in `eval_predictions.json`, test predictions in
  `test_results.tsv` / `submit_results.tsv`. Unlike the original, nothing is deleted by the
  sweep: retention is `--keep_checkpoint_max` (0 = keep all), and since checkpoints are
  evaluated as they are saved, retention never hides one from the selection.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf
from scipy.special import softmax

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.finetuning import features as fdata
from albert_nb.finetuning.export import export_classifier
from albert_nb.finetuning.options import ClassifierOptions
from albert_nb.finetuning.trainer import ModelSource, TaskTrainer, loop_settings, resolve_model_source
from albert_nb.io_utils import atomic_write_json
from albert_nb.model.heads import AlbertForSequenceClassification
from albert_nb.model.inputs import INPUT_NAMES, input_signature
from albert_nb.tasks import registry
from albert_nb.training.options import check_positive
from albert_nb.training.selection import format_results

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


@dataclasses.dataclass
class Resolved(ModelSource):
    """The model source plus the task and its labels."""

    task: object = None
    label_list: list | None = None


def validate(opts: ClassifierOptions) -> Resolved:
    """Check flags and files before any model is built; one clear InputError otherwise."""
    if not (opts.do_train or opts.do_eval or opts.do_predict or opts.export_dir):
        raise InputError("at least one of --do_train, --do_eval, --do_predict or --export_dir "
                         "must be set")
    if not opts.task_name:
        raise InputError("--task_name is required (e.g. MNLI, SST-2, STS-B)")
    task = registry.get_task(opts.task_name)
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
    check_positive(opts, ("train_batch_size", "eval_batch_size", "predict_batch_size", "train_step",
                          "save_checkpoints_steps", "iterations_per_loop", "max_seq_length",
                          "log_every_steps"))
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
    source = resolve_model_source(opts, opts.max_seq_length)
    return Resolved(config=source.config, tokenizer=source.tokenizer, hub=source.hub, task=task,
                    label_list=task.labels)


def classification_loss(logits, labels, is_regression: bool):
    """Mean softmax cross entropy; mean squared error for regression (as the original)."""
    if is_regression:
        return tf.reduce_mean(tf.square(logits[:, 0] - tf.cast(labels, tf.float32)))
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))


class FineTuner(TaskTrainer):
    """Model, optimizer, data and checkpoints of one classification run (see `run`)."""

    def __init__(self, opts: ClassifierOptions, resolved: Resolved | None = None, show=print,
                 show_progress: bool = True):
        self.r = resolved or validate(opts)
        self.task, self.label_list = self.r.task, self.r.label_list
        self.is_regression = self.label_list is None
        self.selection_key = self.task.selection_key
        self.batch_size = opts.train_batch_size
        self.num_train_examples = None
        super().__init__(opts, self.r, loop_settings(opts, opts.train_step, opts.warmup_step,
                                                     opts.save_checkpoints_steps,
                                                     f"fine-tuning {self.task.name}"),
                         show=show, show_progress=show_progress)
        self._predict_step = None

    def restart_run(self, opts: ClassifierOptions) -> None:
        """Start the run `opts` describes as `FineTuner(opts)` would, reusing this tuner's
        compiled train and predict steps (same task, data, steps and batch sizes; see
        `Trainer.restart`). A learning curve's runs differ only in seed, size and init."""
        if (opts.task_name, opts.data_dir, opts.cached_dir, opts.max_seq_length,
                opts.eval_batch_size, opts.padding) != (
                self.opts.task_name, self.opts.data_dir, self.opts.cached_dir,
                self.opts.max_seq_length, self.opts.eval_batch_size, self.opts.padding):
            raise ValueError("restart_run: task, data, cache, lengths and padding must stay")
        self.r = validate(opts)
        self.num_train_examples = None
        self.restart_task(opts, self.r, loop_settings(opts, opts.train_step, opts.warmup_step,
                                                      opts.save_checkpoints_steps,
                                                      f"fine-tuning {self.task.name}"))

    # -- the task -----------------------------------------------------------------------
    def build_model(self):
        num_labels = 1 if self.is_regression else len(self.label_list)
        encoder = self.r.hub.encoder if self.r.hub is not None else None
        return AlbertForSequenceClassification(self.config, num_labels, albert=encoder)

    def compute_losses(self, outputs, batch) -> dict:
        return {"loss": classification_loss(outputs["logits"], batch["label_ids"], self.is_regression)}

    @property
    def train_metric_names(self) -> tuple[str, ...]:
        return ("loss",) if self.is_regression else ("loss", "accuracy")

    def step_metrics(self, outputs, batch, losses) -> dict:
        if self.is_regression:
            return {"loss": losses["loss"]}
        return super().step_metrics(outputs, batch, losses)

    def describe_start(self, message: str) -> str:
        return (f"{message}; {self.num_train_examples} training examples, "
                f"{self.opts.train_step} steps of {self.opts.train_batch_size}")

    # -- data ---------------------------------------------------------------------------
    def feature_file(self, split: str) -> str:
        """Where the original puts its TFRecords (cached_dir if given, else output_dir), under
        names of our own (`features.cache_file_name`): the original's files have another layout."""
        return os.path.join(self.opts.cached_dir or self.opts.output_dir,
                            fdata.cache_file_name(self.task.name, split))

    def read_examples(self, split: str) -> list:
        return self.task.processor.get_examples(self.opts.data_dir, split)

    def empty_split_message(self, split: str) -> str:
        return f"{super().empty_split_message(split)} for task {self.opts.task_name!r}"

    def split_dataset(self, split: str, batch_size: int, is_training: bool, examples=None):
        """Build (or reuse) the split's feature cache and batch it."""
        examples = self.examples(split) if examples is None else examples
        path, count, reused = fdata.cached_features(
            self.feature_file(split), examples, self.label_list, self.opts.max_seq_length,
            self.tokenizer, self.task.name, split, show=self.show, show_progress=self.show_progress)
        ds = fdata.read_features(path, self.is_regression)
        return fdata.batch_dataset(ds, batch_size, self.opts.max_seq_length, is_training,
                                   padding=self.opts.padding, seed=self.opts.seed), count

    def train_dataset(self, skip_batches: int = 0):
        ds, self.num_train_examples = self.split_dataset("train", self.opts.train_batch_size,
                                                         is_training=True)
        return ds.skip(skip_batches) if skip_batches else ds

    def _dev_dataset(self):
        if not hasattr(self, "_dev"):
            self._dev, _ = self.split_dataset("dev", self.opts.eval_batch_size, is_training=False)
        return self._dev

    # -- evaluation -------------------------------------------------------------------------
    def _build_predict_step(self):
        model = self.model

        # One relaxed signature: every batch length reuses the trace (XLA compiles per shape,
        # and bucketed padding keeps the shapes few).
        @tf.function(input_signature=[input_signature()], jit_compile=self.opts.jit_compile)
        def predict_step(inputs):
            return model(inputs, training=False)["logits"]                  # [batch, num_labels]

        return predict_step

    def logits_and_labels(self, dataset) -> tuple[np.ndarray, np.ndarray]:
        """Run the model over a finite dataset -> (logits [N, C], labels [N]) in input order."""
        if self._predict_step is None:
            self._predict_step = self._build_predict_step()
        logits, labels = [], []
        for batch in dataset:
            logits.append(self._predict_step({k: batch[k] for k in INPUT_NAMES}).numpy())
            labels.append(batch["label_ids"].numpy())
        width = 1 if self.is_regression else len(self.label_list)
        if not logits:
            return np.zeros((0, width), np.float32), np.zeros((0,), np.float32)
        return np.concatenate(logits).astype(np.float32), np.concatenate(labels)

    def evaluate(self, dataset=None) -> tuple[dict, np.ndarray, np.ndarray]:
        """Metrics of the current weights on the dev set -> (metrics, logits, labels)."""
        if dataset is None:
            dataset = self._dev_dataset()
        logits, labels = self.logits_and_labels(dataset)
        loss = float(classification_loss(tf.constant(logits), tf.constant(labels),
                                         self.is_regression).numpy()) if len(labels) else float("nan")
        return task_metrics(self.task, labels, logits, loss), logits, labels

    def evaluate_dev(self) -> tuple[dict, dict]:
        results, logits, labels = self.evaluate()
        return results, {"logits": logits, "labels": labels}

    def on_new_best(self, step: int, extras: dict) -> None:
        atomic_write_json(os.path.join(self.opts.output_dir, "eval_predictions.json"),
                          {"global_step": int(step), "labels": extras["labels"].tolist(),
                           "logits": extras["logits"].tolist(), "label_list": self.label_list})

    # -- prediction -------------------------------------------------------------------------
    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return logits[:, 0] if self.is_regression else softmax(logits, axis=-1)

    def predict(self) -> dict:
        """Test set -> test_results.tsv (class probabilities per line; the score for STS-B) and
        submit_results.tsv ("index<TAB>prediction", the GLUE server's layout)."""
        source = self.load_best()
        examples = self.examples("test")
        dataset, _ = self.split_dataset("test", self.opts.predict_batch_size, is_training=False,
                                        examples=examples)
        logits, _ = self.logits_and_labels(dataset)
        probs = self.probabilities(logits)                                  # [N, C] or [N]
        fault_point("predict.outputs")
        files = registry.write_submission(self.opts.output_dir, self.task,
                                          [ex.guid for ex in examples], probs)
        if self.is_regression:
            predictions = [float(v) for v in probs]
        else:
            predictions = [self.label_list[int(i)] for i in probs.argmax(axis=-1)]
        return {"checkpoint": source, "num_examples": len(examples), **files,
                "predictions": predictions, "probabilities": probs}

    def export(self, export_dir: str) -> str:
        """A SavedModel of the best weights with the original's serving signature (serialized
        tf.Example) and ours (int32 ids); see `albert_nb.finetuning.export`."""
        self.load_best()
        return export_classifier(self.model, export_dir, self.opts.max_seq_length,
                                 self.is_regression, self.opts.threshold_to_export)


def run(opts: ClassifierOptions, on_log=None, on_eval=None, show=print,
        show_progress: bool = True, tuner: FineTuner | None = None) -> dict:
    """Train / evaluate / predict / export as the flags say.

    `tuner`: a FineTuner of an earlier run of the same shapes, restarted for this one
    (`FineTuner.restart_run`: same results, without tracing its steps again).

    Returns {"history": train records, "eval_history": [...], "best": best record or None,
    "predict": {...} or None, "export": path or None, "tuner": the FineTuner}.
    """
    if tuner is None:
        tuner = FineTuner(opts, show=show, show_progress=show_progress)
    else:
        tuner.show, tuner.show_progress = show or (lambda *_: None), show_progress
        tuner.restart_run(opts)
    out = tuner.run_phases(on_log=on_log, on_eval=on_eval, show=show)
    out["export"] = None
    if opts.export_dir:  # as the original: model.ckpt-best (else the newest checkpoint)
        out["export"] = tuner.export(opts.export_dir)
    out["tuner"] = tuner
    return out


def report(result: dict) -> str:
    """What run_classifier prints: the original's eval block for the selected checkpoint."""
    return format_results("Eval results", result["best"])

"""RACE (4-way multiple choice) fine-tuning on the shared loop, as the original's run_race.

* Data: `--data_dir/RACE/{train,dev,test}/{middle,high}/` (`albert_nb.tasks.race`), features from
  `albert_nb.finetuning.multiple_choice` cached at --train_file / --eval_file / --predict_file.
* Model: each option's `[CLS] article [SEP] question+option [SEP]` through ALBERT, pooled output,
  dropout(`--dropout_prob`), one score; softmax cross entropy over the 4 scores.
* Selection: every saved checkpoint is evaluated on dev (eval_accuracy, eval_loss, and accuracy
  on the middle and high parts separately); the best accuracy is copied to `model.ckpt-best`.
* `--do_predict` evaluates the selected checkpoint on test and writes `predict_results.txt`
  (accuracy overall, middle, high) and `predictions.json` (the chosen letter per question).

`MultipleChoiceTrainer` is not RACE-specific: give it other `MultipleChoiceExample`s through
`examples_fn` (a ChID-style cloze, for instance) and the rest is unchanged.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.finetuning import multiple_choice as mc
from albert_nb.finetuning.trainer import TaskTrainer, loop_settings, resolve_model_source
from albert_nb.io_utils import atomic_write_json, atomic_write_text
from albert_nb.model.heads import AlbertForMultipleChoice
from albert_nb.model.inputs import INPUT_NAMES, encoder_inputs
from albert_nb.tasks import race
from albert_nb.training.options import check_positive
from albert_nb.training.selection import format_results

SPLIT_FILES = {"train": ("train_file", "train.tf_record"), "dev": ("eval_file", "eval.tf_record"),
               "test": ("predict_file", "predict.tf_record")}


def validate(opts):
    if not (opts.do_train or opts.do_eval or opts.do_predict):
        raise InputError("at least one of --do_train, --do_eval or --do_predict must be set")
    check_positive(opts, ("train_batch_size", "eval_batch_size", "predict_batch_size", "train_step",
                          "save_checkpoints_steps", "iterations_per_loop", "max_seq_length",
                          "max_qa_length", "log_every_steps"))
    if opts.max_qa_length > opts.max_seq_length - 3:
        raise InputError(f"--max_qa_length={opts.max_qa_length} leaves no room for the article in "
                         f"--max_seq_length={opts.max_seq_length}")
    race.levels(opts.high_only, opts.middle_only)
    if opts.task_name.lower() != "race":
        raise InputError(f"--task_name={opts.task_name!r}: run_race knows only 'race'")
    if not os.path.isdir(opts.data_dir):
        raise InputError(f"--data_dir={opts.data_dir!r} does not exist")
    return resolve_model_source(opts, opts.max_seq_length)


def accuracy_report(examples, logits: np.ndarray) -> dict:
    """Accuracy overall and per level (RACE's middle/high), from [N, choices] scores."""
    labels = np.asarray([e.label for e in examples])
    hits = logits.argmax(-1) == labels if len(labels) else np.zeros(0, bool)
    out = {"eval_accuracy": float(hits.mean()) if len(hits) else float("nan"), "total": len(hits)}
    for level in race.LEVELS:
        mask = np.asarray([e.level == level for e in examples], bool)
        if mask.any():
            out[f"accuracy_{level}"] = float(hits[mask].mean())
            out[f"total_{level}"] = int(mask.sum())
    return out


class MultipleChoiceTrainer(TaskTrainer):
    """One RACE-style run; see the module docstring."""

    selection_key = "eval_accuracy"

    def __init__(self, opts, source=None, show=print, show_progress: bool = True, examples_fn=None):
        source = source or validate(opts)
        self.examples_fn = examples_fn or (lambda split: race.read_race(
            opts.data_dir, split, opts.high_only, opts.middle_only))
        self.batch_size = opts.train_batch_size
        self._predict_step = None
        super().__init__(opts, source, loop_settings(opts, opts.train_step, opts.warmup_step,
                                                     opts.save_checkpoints_steps, "fine-tuning RACE"),
                         show=show, show_progress=show_progress)

    def build_model(self):
        encoder = self.source.hub.encoder if self.source.hub is not None else None
        return AlbertForMultipleChoice(self.config, albert=encoder, dropout_prob=self.opts.dropout_prob)

    def compute_losses(self, outputs, batch) -> dict:
        return {"loss": tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=batch["label_ids"], logits=outputs["logits"]))}

    def describe_start(self, message: str) -> str:
        return (f"{message}; {len(self.examples('train'))} training questions, "
                f"{self.opts.train_step} steps of {self.opts.train_batch_size}")

    # -- data ---------------------------------------------------------------------------
    def read_examples(self, split: str) -> list:
        return self.examples_fn(split)

    def empty_split_message(self, split: str) -> str:
        return f"--data_dir={self.opts.data_dir!r} holds no {split} questions"

    def records(self, split: str) -> str:
        flag, name = SPLIT_FILES[split]
        path = getattr(self.opts, flag) or os.path.join(self.opts.output_dir, name)
        mc.cached_records(self.examples(split), self.tokenizer, self.opts.max_seq_length,
                          self.opts.max_qa_length, path, flag=flag)
        return path

    def dataset(self, split: str, batch_size: int, is_training: bool):
        choices = len(self.examples(split)[0].endings)
        ds = mc.read_dataset(self.records(split), self.opts.max_seq_length, choices)
        if is_training:
            ds = ds.shuffle(10000, seed=self.opts.seed, reshuffle_each_iteration=True).repeat()
        return ds.batch(batch_size, drop_remainder=is_training).prefetch(tf.data.AUTOTUNE)

    def train_dataset(self, skip_batches: int = 0):
        ds = self.dataset("train", self.opts.train_batch_size, is_training=True)
        return ds.skip(skip_batches) if skip_batches else ds

    # -- evaluation ---------------------------------------------------------------------
    def logits(self, split: str, batch_size: int) -> np.ndarray:
        if self._predict_step is None:
            model = self.model
            spec = {k: tf.TensorSpec([None, None, None], tf.int32, name=k) for k in INPUT_NAMES}

            @tf.function(input_signature=[spec])
            def predict_step(inputs):
                return model(inputs, training=False)["logits"]            # [batch, choices]

            self._predict_step = predict_step
        out = [self._predict_step(encoder_inputs(b)).numpy()
               for b in self.dataset(split, batch_size, is_training=False)]
        return np.concatenate(out) if out else np.zeros((0, 4), np.float32)

    def evaluate_split(self, split: str, batch_size: int) -> tuple[dict, np.ndarray]:
        examples, logits = self.examples(split), self.logits(split, batch_size)
        labels = np.asarray([e.label for e in examples])
        shifted = logits - logits.max(-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        metrics = accuracy_report(examples, logits)
        metrics["eval_loss"] = float(-log_probs[np.arange(len(labels)), labels].mean())
        return metrics, logits

    def evaluate_dev(self) -> tuple[dict, dict]:
        metrics, logits = self.evaluate_split("dev", self.opts.eval_batch_size)
        return metrics, {"logits": logits}

    def on_new_best(self, step: int, extras: dict) -> None:
        self._write_predictions("dev", extras["logits"], "eval_predictions.json", step)

    def _write_predictions(self, split: str, logits: np.ndarray, name: str, step=None) -> str:
        path = os.path.join(self.opts.output_dir, name)
        atomic_write_json(path, {"global_step": step, "predictions": {
            e.example_id: race.LABELS[int(i)] for e, i in zip(self.examples(split), logits.argmax(-1))}},
            sort_keys=False)
        return path

    def predict(self) -> dict:
        """The selected checkpoint on test -> predict_results.txt and predictions.json."""
        source = self.load_best()
        metrics, logits = self.evaluate_split("test", self.opts.predict_batch_size)
        text = "".join(f"{k} = {metrics[k]}\n" for k in sorted(metrics))
        fault_point("predict.outputs")
        atomic_write_text(os.path.join(self.opts.output_dir, "predict_results.txt"), text)
        self._write_predictions("test", logits, "predictions.json")
        return {"checkpoint": source, "metrics": metrics, "logits": logits}


def run(opts, on_log=None, on_eval=None, show=print, show_progress: bool = True, examples_fn=None) -> dict:
    """Train / evaluate / predict as the flags say. Returns {"history", "eval_history", "best",
    "predict", "trainer"}."""
    trainer = MultipleChoiceTrainer(opts, show=show, show_progress=show_progress, examples_fn=examples_fn)
    out = trainer.run_phases(on_log=on_log, on_eval=on_eval, show=show)
    out["trainer"] = trainer
    return out


def report(result: dict) -> str:
    """What run_race prints: the original's eval block for the best dev checkpoint, then test's."""
    blocks = (format_results("Eval results", result["best"]),
              format_results("Test results", (result["predict"] or {}).get("metrics")))
    return "\n".join(b for b in blocks if b)

"""Token tagging (named entities) fine-tuning: train, sweep checkpoints, predict.

`python -m albert_nb.run_tagging` is a thin flag layer over `run(TaggingOptions(...))`; notebook
08 calls the same function. What is tagging's own (the loop, encoder initialisation and
best-checkpoint selection are `finetuning.trainer.TaskTrainer`'s):

* **Data.** CoNLL-style files (`albert_nb.tasks.tagging`); each token (a character for Chinese)
  is tokenised on its own and its tag sits on its first piece (`albert_nb.finetuning.tagging`),
  so predictions map back to exactly one tag per token.
* **Model.** `AlbertForTokenClassification`: dropout and one dense layer on every position;
  cross entropy over the first pieces only.
* **Scores.** Entity-level precision / recall / F1 (seqeval, CoNLL's definition) with a
  per-type breakdown and the token accuracy, in `eval_results.txt`; the best checkpoint by F1 is
  copied to `model.ckpt-best`, its dev tags saved in `eval_predictions.json`.
* **Prediction.** `test_predictions.txt`: `token gold predicted` per line (conlleval's input),
  and `test_results.txt` with the scores when the test file is tagged.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.finetuning import features as fdata
from albert_nb.finetuning import tagging as tfeatures
from albert_nb.finetuning.tagging_options import TaggingOptions
from albert_nb.finetuning.trainer import (
    ModelSource,
    TaskTrainer,
    loop_settings,
    resolve_model_source,
)
from albert_nb.io_utils import atomic_open, atomic_write_json
from albert_nb.model.heads import AlbertForTokenClassification
from albert_nb.model.inputs import INPUT_NAMES, input_signature
from albert_nb.tasks import tagging
from albert_nb.training.options import check_positive
from albert_nb.training.selection import format_results


@dataclasses.dataclass
class Resolved(ModelSource):
    """The model source plus the CoNLL folder's reader and its tags."""

    processor: object = None
    label_list: list | None = None


def validate(opts: TaggingOptions) -> Resolved:
    """Check flags and files before any model is built; one clear InputError otherwise."""
    if not (opts.do_train or opts.do_eval or opts.do_predict):
        raise InputError("at least one of --do_train, --do_eval or --do_predict must be set")
    if not opts.output_dir:
        raise InputError("--output_dir is required")
    processor = tagging.ConllProcessor(opts.data_dir)
    wanted = [s for s, on in (("train", opts.do_train), ("dev", opts.do_eval), ("test", opts.do_predict)) if on]
    for split in wanted:       # read now: a bad tag must stop the run before training starts
        processor.get_examples(split)
    check_positive(opts, ("train_batch_size", "eval_batch_size", "predict_batch_size", "train_step",
                          "save_checkpoints_steps", "iterations_per_loop", "max_seq_length",
                          "log_every_steps"))
    if opts.max_seq_length < 3:
        raise InputError(f"--max_seq_length={opts.max_seq_length}: expected at least 3 ([CLS] x [SEP])")
    if opts.warmup_step < 0 or opts.keep_checkpoint_max < 0 or opts.learning_rate <= 0:
        raise InputError(f"--warmup_step={opts.warmup_step}, --keep_checkpoint_max="
                         f"{opts.keep_checkpoint_max}, --learning_rate={opts.learning_rate}: "
                         "expected >= 0, >= 0 and > 0")
    labels = processor.get_labels()
    if len(labels) < 2:
        raise InputError(f"{processor.split_path('train')}: only the tag {labels} occurs; "
                         "expected entity tags (B-<TYPE>, I-<TYPE>) besides O")
    source = resolve_model_source(opts, opts.max_seq_length)
    return Resolved(config=source.config, tokenizer=source.tokenizer, hub=source.hub,
                    processor=processor, label_list=labels)


class Tagger(TaskTrainer):
    """Model, optimizer, data and checkpoints of one tagging run (see `run`)."""

    selection_key = "f1"

    def __init__(self, opts: TaggingOptions, resolved: Resolved | None = None, show=print,
                 show_progress: bool = True):
        self.r = resolved or validate(opts)
        self.processor, self.label_list = self.r.processor, self.r.label_list
        self.batch_size = opts.train_batch_size
        self.num_train_examples = None
        self._predict_step = None
        super().__init__(opts, self.r, loop_settings(opts, opts.train_step, opts.warmup_step,
                                                     opts.save_checkpoints_steps, "tagging"),
                         show=show, show_progress=show_progress)

    # -- the task -----------------------------------------------------------------------
    def build_model(self):
        encoder = self.r.hub.encoder if self.r.hub is not None else None
        model = AlbertForTokenClassification(self.config, len(self.label_list), albert=encoder)
        model.albert.pooler.trainable = False    # tags read every position, never the pooled [CLS]
        return model

    def initialize(self) -> str:
        """The encoder as every task starts it; the tag layer's bias at the log frequency of
        each tag in training (first pieces), so step 0 already predicts the tag prior.

        Nine of ten characters are "O": from a zero bias, the early gradient is mostly "learn
        the prior", and Adam's sign-like steps move every embedding row the same way until the
        characters are indistinguishable; the tagger then settles on all-"O" for good (seen with
        from-scratch and pretrained encoders alike). With the prior already in the bias, the
        gradient carries only what tells tags apart."""
        message = super().initialize()
        counts = np.ones(len(self.label_list), np.float64)                  # add-one smoothing
        index = {label: i for i, label in enumerate(self.label_list)}
        for example in self.examples("train"):
            for label in example.labels:
                counts[index[label]] += 1
        self.model.classifier.bias.assign(np.log(counts / counts.sum()).astype(np.float32))
        return message + "; tag bias at the training tags' log prior"

    def compute_losses(self, outputs, batch) -> dict:
        return {"loss": tfeatures.tagging_loss(outputs["logits"], batch["label_ids"],
                                               batch["label_weights"])}

    train_metric_names = ("loss", "token_accuracy")

    def step_metrics(self, outputs, batch, losses) -> dict:
        weights = tf.cast(batch["label_weights"], tf.float32)                    # [B, S]
        hit = tf.cast(tf.equal(tf.argmax(outputs["logits"], -1, output_type=tf.int32),
                               batch["label_ids"]), tf.float32)                  # [B, S]
        return {"loss": losses["loss"],
                "token_accuracy": tf.reduce_sum(hit * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)}

    def describe_start(self, message: str) -> str:
        return (f"{message}; {self.num_train_examples} training sentences, "
                f"{self.opts.train_step} steps of {self.opts.train_batch_size}")

    # -- data ---------------------------------------------------------------------------
    def read_examples(self, split: str) -> list:
        return self.processor.get_examples(split)

    def empty_split_message(self, split: str) -> str:
        return f"{self.processor.split_path(split)} holds no sentences"

    def split_features(self, split: str) -> list:
        return tfeatures.convert_tagged_examples(self.examples(split), self.label_list,
                                                 self.opts.max_seq_length, self.tokenizer)

    def batches(self, features, batch_size: int, is_training: bool):
        return fdata.batch_dataset(tfeatures.features_dataset(features), batch_size,
                                   self.opts.max_seq_length, is_training,
                                   padding=self.opts.padding, seed=self.opts.seed)

    def train_dataset(self, skip_batches: int = 0):
        features = self.split_features("train")
        self.num_train_examples = len(self.examples("train"))
        ds = self.batches(features, self.opts.train_batch_size, is_training=True)
        return ds.skip(skip_batches) if skip_batches else ds

    # -- evaluation -------------------------------------------------------------------------
    def window_logits(self, features, batch_size: int) -> list:
        """Per-window logits [len, num_labels] in feature order."""
        if self._predict_step is None:
            model = self.model

            @tf.function(input_signature=[input_signature()], jit_compile=self.opts.jit_compile)
            def predict_step(inputs):
                return model(inputs, training=False)["logits"]           # [batch, seq, labels]

            self._predict_step = predict_step
        out = []
        for batch in self.batches(features, batch_size, is_training=False):
            logits = self._predict_step({k: batch[k] for k in INPUT_NAMES}).numpy()
            out.extend(logits)
        return [window[: len(f)] for window, f in zip(out, features)]

    def tag(self, split: str, batch_size: int) -> tuple[list, list, float]:
        """(examples, predicted tags per example, mean loss over scored pieces) of a split."""
        examples, features = self.examples(split), self.split_features(split)
        logits = self.window_logits(features, batch_size)
        losses, weights = [], []
        for f, window in zip(features, logits):
            w = np.asarray(f.label_weights, np.float32)
            shifted = window - window.max(axis=-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
            losses.append(-(log_probs[np.arange(len(f)), f.label_ids] * w).sum())
            weights.append(w.sum())
        loss = float(sum(losses) / max(sum(weights), 1.0))
        return examples, tfeatures.tags_from_logits(features, logits, examples, self.label_list), loss

    def evaluate_dev(self) -> tuple[dict, dict]:
        examples, predicted, loss = self.tag("dev", self.opts.eval_batch_size)
        gold = [ex.labels for ex in examples]
        results = {"eval_loss": loss, **tagging.entity_scores(gold, predicted)}
        return results, {"tokens": [ex.tokens for ex in examples], "gold": gold, "predicted": predicted}

    def on_new_best(self, step: int, extras: dict) -> None:
        atomic_write_json(os.path.join(self.opts.output_dir, "eval_predictions.json"),
                          {"global_step": int(step), "label_list": self.label_list, **extras},
                          indent=None, sort_keys=False)

    # -- prediction -------------------------------------------------------------------------
    def predict(self) -> dict:
        """Tag the test set: test_predictions.txt (token gold predicted), test_results.txt."""
        source = self.load_best()
        examples, predicted, _ = self.tag("test", self.opts.predict_batch_size)
        out = self.opts.output_dir
        with atomic_open(os.path.join(out, "test_predictions.txt")) as handle:
            for ex, tags in zip(examples, predicted):
                handle.writelines(f"{t} {g} {p}\n" for t, g, p in zip(ex.tokens, ex.labels, tags))
                handle.write("\n")
        scores = tagging.entity_scores([ex.labels for ex in examples], predicted)
        with atomic_open(os.path.join(out, "test_results.txt")) as handle:
            handle.writelines(f"{k} = {scores[k]}\n" for k in sorted(scores))
        return {"checkpoint": source, "num_examples": len(examples), "scores": scores,
                "predictions": predicted}


def run(opts: TaggingOptions, on_log=None, on_eval=None, show=print, show_progress: bool = True) -> dict:
    """Train / evaluate / predict as the flags say.

    Returns {"history", "eval_history", "best" (record or None), "predict" ({...} or None),
    "tagger"}.
    """
    tagger = Tagger(opts, show=show, show_progress=show_progress)
    out = tagger.run_phases(on_log=on_log, on_eval=on_eval, show=show)
    out["tagger"] = tagger
    return out


def report(result: dict) -> str:
    """What run_tagging prints: the original's eval block for the selected checkpoint, then the
    test set's entity F1."""
    lines = [format_results("Eval results", result["best"])]
    if result["predict"] is not None:
        lines.append(f"test entity f1 = {result['predict']['scores']['f1']:.4f}")
    return "\n".join(line for line in lines if line)

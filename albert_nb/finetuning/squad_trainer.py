"""SQuAD v1.1 / v2.0 fine-tuning on the shared loop: train, evaluate each checkpoint, predict.

`python -m albert_nb.run_squad_v1` / `run_squad_v2` are flag layers over `run(opts)`; notebook 07
calls the same function. As the original's run_squad_v1/v2:

* **Data.** `--train_file` / `--predict_file` in SQuAD's JSON layout (`albert_nb.tasks.squad`),
  features from `albert_nb.finetuning.squad_features` cached at the three feature-file flags.
  Training questions are shuffled once with `random.Random(12345)`, as the original; steps =
  int(#questions / train_batch_size * num_train_epochs), warm-up = int(steps * warmup_proportion).
* **Losses.** v1: mean of the start and end softmax cross entropies (`AlbertForQuestionAnswering`).
  v2 (`AlbertForQuestionAnsweringV2`, end conditioned on the gold start when training):
  (start CE + end CE) / 2 + 0.5 * sigmoid CE of the answerability logit against `is_impossible`.
* **Selection.** Each saved checkpoint is decoded on --predict_file and scored with the official
  script; the best F1 is copied to `model.ckpt-best`. The files of the best checkpoint:
  predictions.json, nbest_predictions.json, (v2) null_odds.json, eval_results.txt (one block per
  checkpoint with exact, f1 and, for v2, best_exact, best_f1, their thresholds, HasAns_/NoAns_).
  Without gold answers in --predict_file, predictions come from the newest checkpoint.
* **Resume.** Kill it and run the same command: training continues from the newest checkpoint,
  evaluated checkpoints are not evaluated again (`albert_nb.training.loop`, `.selection`).
* **Export** (v1, `--export_dir`): a SavedModel whose `serving_default` takes input_ids /
  input_mask / segment_ids [batch, seq] int32 and returns start_logits / end_logits, and
  `albert_model.tflite` converted from it on the CPU (the original's two exports).
"""
from __future__ import annotations

import math
import os
import random
import warnings

import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.finetuning import squad_decode, squad_features as sf
from albert_nb.finetuning.trainer import TaskTrainer, loop_settings, resolve_model_source
from albert_nb.io_utils import atomic_write_bytes, atomic_write_json
from albert_nb.model.heads import AlbertForQuestionAnswering, AlbertForQuestionAnsweringV2
from albert_nb.model.inputs import INPUT_NAMES, encoder_inputs, input_signature
from albert_nb.tasks import squad, squad_metrics
from albert_nb.training.options import check_positive
from albert_nb.training.selection import format_results

SHUFFLE_SEED = 12345  # the original pre-shuffles the training questions with Random(12345)
# The span heads read the sequence output only, so the pooler gets no gradient, by design.
warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler/")


def feature_paths(opts) -> dict:
    out = opts.output_dir
    return {"train": opts.train_feature_file or os.path.join(out, "train.tf_record"),
            "predict": opts.predict_feature_file or os.path.join(out, "predict.tf_record"),
            "left": opts.predict_feature_left_file or os.path.join(out, "predict_left.json")}


def validate(opts):
    """Flags and files checked before any model is built; returns the model source."""
    if not (opts.do_train or opts.do_predict):
        raise InputError("at least one of --do_train or --do_predict must be set")
    if opts.do_train and not opts.train_file:
        raise InputError("--do_train needs --train_file (a SQuAD JSON such as train-v1.1.json)")
    if opts.do_predict and not opts.predict_file:
        raise InputError("--do_predict needs --predict_file (a SQuAD JSON such as dev-v1.1.json)")
    check_positive(opts, ("train_batch_size", "predict_batch_size", "save_checkpoints_steps",
                          "iterations_per_loop", "max_seq_length", "doc_stride", "max_query_length",
                          "n_best_size", "max_answer_length", "log_every_steps"))
    if opts.max_seq_length <= opts.max_query_length + 3:
        raise InputError(f"--max_seq_length={opts.max_seq_length} must be greater than "
                         f"--max_query_length={opts.max_query_length} + 3")
    if not opts.num_train_epochs > 0:
        raise InputError(f"--num_train_epochs={opts.num_train_epochs}: expected > 0")
    if not 0 <= opts.warmup_proportion <= 1:
        raise InputError(f"--warmup_proportion={opts.warmup_proportion}: expected 0..1")
    return resolve_model_source(opts, opts.max_seq_length)


def squad_losses(outputs, batch, is_v2: bool) -> dict:
    """v1: (CE(start) + CE(end)) / 2; v2 adds 0.5 * sigmoid CE(cls_logits, is_impossible)."""
    starts, ends = batch["start_positions"], batch["end_positions"]                  # [B]
    if is_v2:
        start = -tf.reduce_mean(tf.gather(outputs["start_log_probs"], starts, batch_dims=1))
        end = -tf.reduce_mean(tf.gather(outputs["end_log_probs"], ends, batch_dims=1))
    else:
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits
        start = tf.reduce_mean(ce(labels=starts, logits=outputs["start_logits"]))
        end = tf.reduce_mean(ce(labels=ends, logits=outputs["end_logits"]))
    losses = {"start_loss": start, "end_loss": end, "loss": (start + end) / 2}
    if is_v2:
        cls = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.cast(batch["is_impossible"], tf.float32), logits=outputs["cls_logits"]))
        losses["cls_loss"] = cls
        losses["loss"] = losses["loss"] + 0.5 * cls
    return losses


class SquadTrainer(TaskTrainer):
    """One SQuAD run (v1.1 or v2.0 by `opts.version`); see the module docstring."""

    selection_key = "f1"

    def __init__(self, opts, source=None, show=print, show_progress: bool = True):
        self.is_v2 = opts.version == "v2.0"
        source = source or validate(opts)
        self.paths = feature_paths(opts)
        self.train_examples = []
        if opts.do_train:
            self.train_examples = squad.read_squad_examples(opts.train_file, is_training=True)
            random.Random(SHUFFLE_SEED).shuffle(self.train_examples)
            if opts.max_train_examples:
                self.train_examples = self.train_examples[: opts.max_train_examples]
        self.num_train_steps = int(len(self.train_examples) / opts.train_batch_size * opts.num_train_epochs)
        if opts.do_train and self.num_train_steps < 1:
            raise InputError(f"{len(self.train_examples)} training questions / --train_batch_size="
                             f"{opts.train_batch_size} * --num_train_epochs={opts.num_train_epochs} "
                             "is less than one step")
        total = max(self.num_train_steps, 1)  # predict-only still needs an optimizer schedule
        self.batch_size = opts.train_batch_size
        super().__init__(opts, source, loop_settings(opts, total, int(total * opts.warmup_proportion),
                                                     opts.save_checkpoints_steps,
                                                     f"fine-tuning SQuAD {opts.version}",
                                                     f"--num_train_epochs={opts.num_train_epochs}"),
                         show=show, show_progress=show_progress)
        self._predict_step, self._eval = None, {}

    # -- the task ------------------------------------------------------------------------
    def build_model(self):
        encoder = self.source.hub.encoder if self.source.hub is not None else None
        if self.is_v2:
            return AlbertForQuestionAnsweringV2(self.config, albert=encoder, start_n_top=self.opts.start_n_top,
                                                end_n_top=self.opts.end_n_top,
                                                dropout_prob=self.opts.dropout_prob)
        return AlbertForQuestionAnswering(self.config, albert=encoder)

    def model_inputs(self, batch) -> dict:
        inputs = encoder_inputs(batch)
        if self.is_v2:
            inputs["p_mask"] = batch["p_mask"]
            if "start_positions" in batch:
                inputs["start_positions"] = batch["start_positions"]  # teacher-forced end logits
        return inputs

    def compute_losses(self, outputs, batch) -> dict:
        return squad_losses(outputs, batch, self.is_v2)

    train_metric_names = ("loss",)

    def step_metrics(self, outputs, batch, losses) -> dict:
        return {"loss": losses["loss"]}

    def describe_start(self, message: str) -> str:
        return (f"{message}; {len(self.train_examples)} training questions, {self.num_train_steps} "
                f"steps of {self.opts.train_batch_size}")

    # -- data ----------------------------------------------------------------------------
    def train_dataset(self, skip_batches: int = 0):
        o = self.opts
        sf.cached_features(self.train_examples, self.tokenizer, o.max_seq_length, o.doc_stride,
                           o.max_query_length, True, self.paths["train"],
                           flags=("train_feature_file", ""), show=self.show)
        ds = sf.batch(sf.read_dataset(self.paths["train"], True), o.train_batch_size,
                      o.max_seq_length, is_training=True, seed=o.seed)
        return ds.skip(skip_batches) if skip_batches else ds

    def eval_data(self, predict_file: str | None = None):
        """(dataset JSON, examples, window metadata, record file) of --predict_file (or of another
        SQuAD file, e.g. a held-out test set, cached next to it in output_dir), built once."""
        o = self.opts
        predict_file = predict_file or o.predict_file
        if predict_file not in self._eval:
            data = squad.load_json(predict_file)
            examples = squad.examples_from_data(data, is_training=False, source=predict_file)
            if predict_file == o.predict_file:
                record, left = self.paths["predict"], self.paths["left"]
            else:
                stem = os.path.splitext(os.path.basename(predict_file))[0]
                record = os.path.join(o.output_dir, f"{stem}.tf_record")
                left = os.path.join(o.output_dir, f"{stem}_left.json")
            _, metas = sf.cached_features(examples, self.tokenizer, o.max_seq_length, o.doc_stride,
                                          o.max_query_length, False, record, left,
                                          flags=("predict_feature_file", "predict_feature_left_file"),
                                          show=self.show)
            self._eval[predict_file] = (data, examples, metas, record)
        return self._eval[predict_file]

    def has_gold(self, predict_file: str | None = None) -> bool:
        data = self.eval_data(predict_file)[0]
        return any(qa.get("answers") or qa.get("is_impossible") for a in data["data"]
                   for p in a["paragraphs"] for qa in p["qas"])

    # -- prediction -----------------------------------------------------------------------
    def _build_predict_step(self):
        model, is_v2 = self.model, self.is_v2
        spec = dict(input_signature())
        if is_v2:
            spec["p_mask"] = tf.TensorSpec([None, None], tf.int32, name="p_mask")
        keys = (("start_top_log_probs", "start_top_index", "end_top_log_probs", "end_top_index",
                 "cls_logits") if is_v2 else ("start_logits", "end_logits"))

        @tf.function(input_signature=[spec], jit_compile=self.opts.jit_compile)
        def predict_step(inputs):
            outputs = model(inputs, training=False)
            return {k: outputs[k] for k in keys}

        return predict_step

    def raw_results(self, predict_file: str | None = None) -> dict:
        """unique_id -> the model's outputs for that window (numpy), over --predict_file."""
        if self._predict_step is None:
            self._predict_step = self._build_predict_step()
        record = self.eval_data(predict_file)[3]
        ds = sf.batch(sf.read_dataset(record, False),
                      self.opts.predict_batch_size, self.opts.max_seq_length, is_training=False)
        results = {}
        for batch in ds:
            inputs = {k: batch[k] for k in INPUT_NAMES}
            if self.is_v2:
                inputs["p_mask"] = batch["p_mask"]
            out = {k: v.numpy() for k, v in self._predict_step(inputs).items()}
            for row, uid in enumerate(batch["unique_ids"].numpy()):
                results[int(uid)] = {k: v[row] for k, v in out.items()}
        return results

    def decode(self, results: dict | None = None, threshold: float | None = None,
               predict_file: str | None = None) -> dict:
        """Answers (and, with gold answers, the official metrics) of the current weights on
        --predict_file (or `predict_file`). v2: `threshold` (else --null_score_diff_threshold;
        NaN tunes it on the file itself, as the original)."""
        data, examples, metas, _ = self.eval_data(predict_file)
        results = self.raw_results(predict_file) if results is None else results
        gold = self.has_gold(predict_file)
        o = self.opts
        if not self.is_v2:
            preds, nbest = squad_decode.decode_v1(examples, metas, results, o.n_best_size, o.max_answer_length)
            metrics = None
            if gold:
                v1 = squad_metrics.evaluate_v1(data["data"], preds)
                metrics = {"exact": v1["exact_match"], **v1}
            return {"predictions": preds, "nbest": nbest, "null_odds": None, "metrics": metrics}
        fixed = threshold if threshold is not None else o.null_score_diff_threshold
        if gold and (fixed is None or math.isnan(fixed)):
            return squad_decode.evaluate_v2_tuned(data["data"], examples, metas, results,
                                                  o.n_best_size, o.max_answer_length)
        fixed = None if fixed is None or math.isnan(fixed) else fixed
        preds, nbest, odds = squad_decode.decode_v2(examples, metas, results, o.n_best_size,
                                                    o.max_answer_length, fixed)
        metrics = None
        if gold:
            metrics = squad_metrics.evaluate_v2(data["data"], preds, odds)
            metrics["null_score_diff_threshold"] = fixed
        return {"predictions": preds, "nbest": nbest, "null_odds": odds, "metrics": metrics}

    def evaluate_dev(self) -> tuple[dict, dict]:
        out = self.decode()
        metrics = {k: v for k, v in out["metrics"].items() if v is not None}
        return metrics, out

    def on_new_best(self, step: int, extras: dict) -> None:
        squad_decode.write_prediction_files(self.opts.output_dir, extras["predictions"],
                                            extras["nbest"], extras["null_odds"])

    def predict(self) -> dict:
        """Predictions of the selected checkpoint (best F1; else the newest) on --predict_file."""
        source = self.load_best()
        out = self.decode()
        fault_point("predict.outputs")
        files = squad_decode.write_prediction_files(self.opts.output_dir, out["predictions"],
                                                    out["nbest"], out["null_odds"])
        if out["metrics"] is not None and not self.selection.history:
            files["eval_results"] = squad_decode.write_eval_results(self.opts.output_dir, out["metrics"])
        return {"checkpoint": source, **out, "files": files}

    # -- export ----------------------------------------------------------------------------
    def export(self, export_dir: str) -> dict:
        """SavedModel (serving_default: ids/mask/segments -> start_logits, end_logits) + TFLite."""
        self.load_best()
        model = self.model

        @tf.function(input_signature=[input_signature()])
        def serve(inputs):
            outputs = model(inputs, training=False)
            return {"start_logits": outputs["start_logits"], "end_logits": outputs["end_logits"]}

        module = tf.Module()
        module.model_variables = list(model.variables)
        module.serve = serve
        saved = os.path.join(export_dir, "saved_model")
        tf.saved_model.save(module, saved, signatures={"serving_default": serve})
        tflite = os.path.join(export_dir, "albert_model.tflite")
        atomic_write_bytes(tflite, tflite_bytes(saved))
        return {"saved_model": saved, "tflite": tflite}


def tflite_bytes(saved_model: str) -> bytes:
    """TFLite flatbuffer of a SavedModel's serving signature, builtin ops only.

    Converted from the loaded signature (a concrete function), which freezes the weights into
    constants; converting the SavedModel directly keeps them as resource variables that the
    interpreter reads uninitialised (NaN outputs). The original exported with --use_einsum=False
    for TFLite; the Keras layers here convert as they are.
    """
    loaded = tf.saved_model.load(saved_model)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [loaded.signatures["serving_default"]], loaded)
    return converter.convert()


def run(opts, on_log=None, on_eval=None, show=print, show_progress: bool = True) -> dict:
    """Train and/or predict as the flags say (v1 or v2 by the options class).

    Returns {"history", "eval_history", "best", "predict", "export", "trainer"}.
    """
    trainer = SquadTrainer(opts, show=show, show_progress=show_progress)
    out = {"history": [], "eval_history": [], "best": None, "predict": None, "export": None}
    evaluate = bool(opts.do_predict) and trainer.has_gold()
    if opts.do_train:
        out["history"] = trainer.train(on_log=on_log, on_eval=on_eval, evaluate=evaluate)
    if evaluate:
        out["best"] = trainer.evaluate_checkpoints(on_eval=on_eval)
        if show is not None and out["best"] is not None:
            b = out["best"]
            show(f"best checkpoint: step {b['global_step']} with f1 = {b['f1']:.2f}, "
                 f"exact = {b['exact']:.2f}")
    out["eval_history"] = list(trainer.eval_history)
    if opts.do_predict:
        out["predict"] = trainer.predict()
    if getattr(opts, "export_dir", None):
        out["export"] = trainer.export(opts.export_dir)
    atomic_write_json(os.path.join(opts.output_dir, "run_summary.json"),
                      {"version": opts.version, "best": out["best"],
                       "num_train_steps": trainer.num_train_steps}, sort_keys=False)
    out["trainer"] = trainer
    return out


def report(result: dict) -> str:
    """What the CLIs print: the original's "***** Eval results *****" block (and the exports)."""
    block = format_results("Eval results", (result["predict"] or {}).get("metrics") or result["best"])
    lines = [block] if block else []
    if result["export"]:
        lines.append(f"exported: {result['export']['saved_model']} and {result['export']['tflite']}")
    return "\n".join(lines)

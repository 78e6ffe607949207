"""ALBERT pretraining as a library: the `Pretrainer` on the shared loop, and evaluation.

`python -m albert_nb.run_pretraining` is a thin flag layer over `run(PretrainingOptions(...))`;
notebooks call the same function (with a callback that feeds a live chart). The losses are in
`objectives`; everything a run shares with fine-tuning (set-up, the train-to-boundary loop,
checkpoints, resume) is `albert_nb.training.loop.Trainer`.

Resumability: one `tf.train.Checkpoint` holds the model, the optimizer slots, the step counter
and the *training data iterator* (tf.data iterators are checkpointable), so a run that is killed
and started again with the same command continues with exactly the batches it would have seen.
"""
from __future__ import annotations

import os
from typing import Callable

import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.io_utils import atomic_write_text
from albert_nb.model.config import AlbertConfig
from albert_nb.model.heads import AlbertForPretraining
from albert_nb.pretraining import records
from albert_nb.pretraining.objectives import EVAL_KEYS, PretrainingMetrics, model_inputs, pretraining_losses
from albert_nb.pretraining.options import PretrainingOptions
from albert_nb.paths import BEST_NAME
from albert_nb.training.checkpoints import (checkpoint_steps, copy_checkpoint,
                                            load_init_checkpoint, read_weights,
                                            resolve_init_checkpoint)
from albert_nb.training.loop import LoopSettings, Trainer, write_scalars
from albert_nb.training.options import check_positive


def validate(opts: PretrainingOptions):
    """Check flags and files before any model is built -> (config, train_files, eval_files)."""
    if opts.masked_lm_budget > 0:
        raise InputError(f"--masked_lm_budget={opts.masked_lm_budget}: online masking is not "
                         "supported (it never worked in the original either); create masked "
                         "TFRecords with create_pretraining_data and leave it at 0")
    if not opts.do_train and not opts.do_eval:
        raise InputError("at least one of --do_train or --do_eval must be set")
    check_positive(opts, ("train_batch_size", "eval_batch_size", "num_train_steps",
                          "save_checkpoints_steps", "keep_checkpoint_max", "iterations_per_loop",
                          "max_eval_steps", "max_seq_length", "max_predictions_per_seq",
                          "log_every_steps"))
    if opts.num_warmup_steps < 0:
        raise InputError(f"--num_warmup_steps={opts.num_warmup_steps}: expected >= 0")
    if opts.learning_rate <= 0:
        raise InputError(f"--learning_rate={opts.learning_rate}: expected > 0")
    if not opts.albert_config_file:
        raise InputError("--albert_config_file is required (an albert_config.json)")
    resolve_init_checkpoint(opts.init_checkpoint)   # a release name is fetched into the cache now
    try:
        config = AlbertConfig.from_json_file(opts.albert_config_file)
    except InputError as err:
        raise InputError(f"--albert_config_file: {err}") from None
    if opts.max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length={opts.max_seq_length} exceeds max_position_embeddings="
                         f"{config.max_position_embeddings} of --albert_config_file="
                         f"{opts.albert_config_file}")
    train_files = records.expand_input_files(opts.input_file)
    eval_files = train_files
    if opts.eval_input_file:
        try:
            eval_files = records.expand_input_files(opts.eval_input_file)
        except InputError as err:
            raise InputError(f"--eval_input_file: {err}") from None
    for path in sorted(set(train_files) | set(eval_files)):
        check_record_lengths(path, opts.max_seq_length, opts.max_predictions_per_seq)
    return config, train_files, eval_files


def check_record_lengths(path: str, max_seq_length: int, max_predictions_per_seq: int) -> None:
    """The first record of `path` must have the lengths the flags promise (else parsing fails
    deep inside tf.data with an unreadable message)."""
    try:
        seq, preds = records.infer_lengths(path)
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


class Pretrainer(Trainer):
    """Model, optimizer, data and checkpoints of one pretraining run (see `run`)."""

    def __init__(self, opts: PretrainingOptions, config=None, train_files=None, eval_files=None):
        if config is None:
            config, train_files, eval_files = validate(opts)
        self.opts, self.config = opts, config
        self.train_files, self.eval_files = train_files, eval_files
        super().__init__(LoopSettings(
            output_dir=opts.output_dir, total_steps=opts.num_train_steps,
            warmup_steps=opts.num_warmup_steps, learning_rate=opts.learning_rate,
            optimizer=opts.optimizer, poly_power=opts.poly_power,
            start_warmup_step=opts.start_warmup_step, save_every=opts.save_checkpoints_steps,
            log_every=opts.log_every_steps, iterations_per_loop=opts.iterations_per_loop,
            keep_checkpoint_max=opts.keep_checkpoint_max, seed=opts.seed,
            mixed_precision=opts.mixed_precision, jit_compile=opts.jit_compile,
            deterministic=opts.deterministic, progress_desc="pretraining",
            steps_flag=f"--num_train_steps={opts.num_train_steps}",
            train_batch_size=opts.train_batch_size, **opts.tpu_settings()))
        self._eval_step = None
        self._writer = None

    # -- the task -----------------------------------------------------------------------
    def build_model(self):
        return AlbertForPretraining(self.config)

    def model_inputs(self, batch) -> dict:
        return model_inputs(batch)

    def compute_losses(self, outputs, batch) -> dict:
        return pretraining_losses(outputs, batch)

    def build_train_metrics(self) -> None:
        self._train_metrics = PretrainingMetrics()
        self.eval_metrics = PretrainingMetrics()

    def update_train_metrics(self, outputs, batch, losses) -> None:
        self._train_metrics.update(outputs, batch, losses)

    def train_metrics(self, reset: bool = True) -> dict:
        out = self._train_metrics.result()
        if reset:
            self._train_metrics.reset()
        return out

    def initialize(self) -> str:
        if self.opts.init_checkpoint:
            return "initialised from " + load_init_checkpoint(
                self.model, self.opts.init_checkpoint, self.opts.init_from_group0)
        return "initialised randomly"

    def progress_postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.3f}", "mlm_acc": f"{record['masked_lm_accuracy']:.3f}",
                "sop_acc": f"{record['sentence_order_accuracy']:.3f}"}

    def log_record(self, record: dict) -> None:
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.opts.output_dir)
        write_scalars(self._writer, record["step"], {k: v for k, v in record.items() if k != "step"})

    # -- data -------------------------------------------------------------------------
    def train_dataset(self, skip_batches: int = 0):
        """The seeded training stream; `skip_batches` replays the same order from a later point
        (for iterators that cannot be checkpointed)."""
        opts = self.opts
        # Every record is checked as it is read (lengths, ids < vocab_size): a bad one stops the
        # run, naming file and record, before a step trains on its batch or a checkpoint follows.
        ds = records.make_dataset(self.train_files, opts.max_seq_length, opts.max_predictions_per_seq,
                                  opts.train_batch_size, is_training=True, seed=opts.seed,
                                  vocab_size=self.config.vocab_size)
        return ds.skip(skip_batches) if skip_batches else ds

    def eval_dataset(self, files=None):
        """One pass over the eval files (at most max_eval_steps batches, the last may be short).

        The original repeats the eval data and counts max_eval_steps batches, which counts
        examples twice when the set is small; one pass gives the honest held-out number.
        """
        opts = self.opts
        ds = records.make_dataset(files or self.eval_files, opts.max_seq_length,
                                  opts.max_predictions_per_seq, opts.eval_batch_size,
                                  is_training=False, repeat=False, drop_remainder=False,
                                  vocab_size=self.config.vocab_size)
        return ds.take(opts.max_eval_steps)

    # -- evaluation -----------------------------------------------------------------------
    def _build_eval_step(self):
        model, strategy = self.model, self.eval_strategy

        def step(batch):
            outputs = model(model_inputs(batch), training=False)
            self.eval_metrics.update(outputs, batch, pretraining_losses(outputs, batch))

        @tf.function(reduce_retracing=True)
        def eval_step(batch):
            strategy.run(step, args=(batch,))

        return eval_step

    def evaluate(self, files=None) -> dict:
        """Metrics of the current weights on one pass over the eval data."""
        if self._eval_step is None:
            if self.cluster is not None:
                # The chief evaluates alone: metrics of its own, not synchronised with workers
                # that have finished (reading a cluster metric is a collective op).
                self.eval_metrics = PretrainingMetrics()
            self._eval_step = self._build_eval_step()
        self.eval_metrics.reset()
        dataset = self.eval_strategy.experimental_distribute_dataset(self.eval_dataset(files))
        for batch in dataset:
            self._eval_step(batch)
        results = self.eval_metrics.result()
        results["global_step"] = int(self.global_step.numpy())
        return results

    def evaluate_checkpoints(self, show: Callable[[str], None] | None = print) -> dict:
        """Evaluate every checkpoint in output_dir (oldest first), as the original's eval loop:
        append a block per checkpoint to eval_results.txt, copy the best (by masked_lm_accuracy)
        to model.ckpt-best, and return the results of the newest checkpoint."""
        opts = self.opts
        steps = checkpoint_steps(opts.output_dir)
        best_prefix = os.path.join(opts.output_dir, BEST_NAME)
        best = -1.0
        if os.path.exists(best_prefix + ".index"):
            read_weights(self.model, best_prefix, self.global_step)
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
            read_weights(self.model, prefix, self.global_step)
            results = self.evaluate()
            blocks.append(format_eval_results(results))
            if results["masked_lm_accuracy"] > best:
                best = results["masked_lm_accuracy"]
                copy_checkpoint(prefix, best_prefix)
        fault_point("pretraining.eval_results")
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

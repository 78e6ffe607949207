"""What every fine-tuning task shares on top of the training loop: the pretrained encoder's
source, evaluation of each checkpoint as it is saved, best-checkpoint selection and prediction
from the selected checkpoint.

A task (classification, SQuAD, RACE, tagging) subclasses `TaskTrainer` and supplies its model,
loss, datasets and `evaluate_dev()`; `albert_nb.finetuning.classifier` is the first of them.

* **Encoder.** `--init_checkpoint` (ours or Google's TF1; a release name such as
  `albert_base_v2` is downloaded into the cache once), a TF-Hub handle (a hub module is
  code: it is loaded only when the user names one), or random weights.
* **Checkpoint selection.** The published GLUE numbers are the best of the saved checkpoints on
  dev (google-research/albert#56). Every `model.ckpt-<step>` is evaluated (right after it is
  saved when --do_eval comes with --do_train; else by a sweep over --output_dir), the best is
  *copied* to `model.ckpt-best` (`albert_nb.training.selection`).
* **Resumable.** Training restarts from the newest checkpoint in --output_dir; evaluated steps
  are remembered in `eval_history.json` and skipped.
"""
from __future__ import annotations

import dataclasses
import json
import os

import keras
import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.interop import tfhub
from albert_nb.io_utils import atomic_write_json
from albert_nb.model.config import AlbertConfig
from albert_nb.tokenizers.tokenization import FullTokenizer, check_release_tokenizer
from albert_nb.paths import BEST_NAME
from albert_nb.training.checkpoints import (checkpoint_steps, load_init_checkpoint, read_weights,
                                            resolve_init_checkpoint)
from albert_nb.training.loop import LoopSettings, Trainer
from albert_nb.training.selection import Selection

TRAIN_HISTORY = "train_history.json"


def argmax_accuracy(logits, labels):
    """Share of rows whose arg-max over the last axis is the label."""
    hit = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32))  # [B]
    return tf.reduce_mean(tf.cast(hit, tf.float32))


@dataclasses.dataclass
class ModelSource:
    """What validation found: model config, tokenizer and (optionally) the loaded hub module."""

    config: object
    tokenizer: object
    hub: object = None
    init_checkpoint: str | None = None   # --init_checkpoint as a local prefix or folder


FROM_TF_HUB = "from_tf_hub"   # the original's --spm_model_file / --vocab_file value with a hub handle


def resolve_model_source(opts, max_seq_length: int) -> ModelSource:
    """Config, tokenizer and hub module from `ModelSourceOptions` flags; one InputError otherwise.

    `--init_checkpoint` may name a release (`albert_base_v2`, fetched into the cache once) or a
    release folder; its `albert_config.json` and tokenizer then stand in for
    --albert_config_file and --spm_model_file/--vocab_file when those are not given.
    """
    hub = None
    # a release name (or tarball) is fetched into the cache here, before any model is built
    init_checkpoint = resolve_init_checkpoint(opts.init_checkpoint)
    release = init_checkpoint if init_checkpoint and os.path.isdir(init_checkpoint) else None
    config_file = opts.albert_config_file
    if not config_file and release and os.path.isfile(os.path.join(release, "albert_config.json")):
        config_file = os.path.join(release, "albert_config.json")
    if opts.albert_hub_module_handle:
        # As the original's create_vocab: the module's tokenization_info gives the tokenizer and
        # its casing; --spm_model_file / --vocab_file are only switches then ("from_tf_hub").
        hub = tfhub.load_module(opts.albert_hub_module_handle, do_lower_case=None)
        config = hub.config
    elif config_file:
        try:
            config = AlbertConfig.from_json_file(config_file)
        except InputError as err:
            raise InputError(f"--albert_config_file: {err}") from None
    else:
        raise InputError("one of --albert_config_file or --albert_hub_module_handle is required")
    if max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length={max_seq_length} exceeds max_position_embeddings="
                         f"{config.max_position_embeddings} of the model config")
    if hub is None:
        # A Chinese release (vocab_chinese.txt, WordPiece) never takes an English SentencePiece model.
        release_dir = os.path.dirname(os.path.abspath(config_file)) if config_file else None
        check_release_tokenizer(release_dir, config, opts.spm_model_file)
    tokenizer = _tokenizer(opts, hub, release)
    if tokenizer.vocab_size > config.vocab_size:
        raise InputError(f"tokenizer has {tokenizer.vocab_size} pieces but the model config's "
                         f"vocab_size is {config.vocab_size}; do --spm_model_file and the config match?")
    return ModelSource(config=config, tokenizer=tokenizer, hub=hub, init_checkpoint=init_checkpoint)


def _tokenizer(opts, hub, release: str | None) -> FullTokenizer:
    """The hub module's tokenizer, else --spm_model_file, else --vocab_file, else the release
    folder's. As the original, --vocab_file is ignored when --spm_model_file is given."""
    flag = "spm_model_file" if opts.spm_model_file else "vocab_file"
    path = getattr(opts, flag)
    if hub is not None and getattr(hub, "tokenizer", None) is not None:
        return hub.tokenizer
    if path == FROM_TF_HUB:
        raise InputError(f"--{flag}={FROM_TF_HUB} takes the tokenizer from the hub module, but "
                         + ("--albert_hub_module_handle is not set" if hub is None else
                            f"{opts.albert_hub_module_handle!r} has no tokenization_info asset")
                         + "; pass the tokenizer file instead")
    if path and not os.path.isfile(path):
        raise InputError(f"--{flag}={path!r}: file not found")
    if opts.spm_model_file:
        return FullTokenizer(do_lower_case=opts.do_lower_case, spm_model_file=opts.spm_model_file)
    if opts.vocab_file:
        return FullTokenizer(vocab_file=opts.vocab_file, do_lower_case=opts.do_lower_case)
    if release:
        try:
            return FullTokenizer.from_directory(release, do_lower_case=opts.do_lower_case)
        except InputError:
            pass   # no tokenizer file in --init_checkpoint's folder: ask for the flags
    raise InputError("--spm_model_file (SentencePiece *.model) or --vocab_file is required")


def loop_settings(opts, total_steps: int, warmup_steps: int, save_every: int, desc: str,
                  steps_flag: str | None = None) -> LoopSettings:
    """LoopSettings of a fine-tuning run from its options (the shared TrainingOptions fields);
    `steps_flag` names what set total_steps (default --train_step)."""
    return LoopSettings(steps_flag=steps_flag or f"--train_step={total_steps}",
        output_dir=opts.output_dir, total_steps=total_steps, warmup_steps=warmup_steps,
        learning_rate=opts.learning_rate, optimizer=opts.optimizer, save_every=save_every,
        log_every=opts.log_every_steps, iterations_per_loop=opts.iterations_per_loop,
        keep_checkpoint_max=opts.keep_checkpoint_max, seed=opts.seed,
        mixed_precision=opts.mixed_precision, jit_compile=opts.jit_compile, progress_desc=desc,
        train_batch_size=opts.train_batch_size, **opts.tpu_settings())


class TaskTrainer(Trainer):
    """The shared loop plus encoder initialisation, eval-at-save and best-checkpoint selection.

    Subclasses set `selection_key` (higher is better) and implement `evaluate_dev()`, which
    returns (metrics, extras): metrics go to the selection history, extras to `on_new_best`.
    """

    selection_key = "eval_accuracy"
    batch_size = 1
    # The training scalars averaged over each logging interval; `step_metrics` computes them.
    train_metric_names: tuple[str, ...] = ("loss", "accuracy")

    def __init__(self, opts, source: ModelSource, settings: LoopSettings, show=print,
                 show_progress: bool = True):
        self.opts, self.source = opts, source
        self.config, self.tokenizer = source.config, source.tokenizer
        self.show = show or (lambda *_: None)
        self.evaluate_at_save, self._on_eval = False, None
        self._examples = {}
        super().__init__(settings)
        self.show_progress = show_progress
        self._new_selection()

    def _new_selection(self) -> None:
        # self.opts: a non-chief worker's own folder (see Trainer._join_cluster)
        self.selection = Selection(self.opts.output_dir, self.selection_key)
        self.selection.reconcile()          # after a kill mid-selection: one state again

    # -- what a task supplies besides the loop's hooks ---------------------------------------
    def read_examples(self, split: str) -> list:
        """The split's examples as the task's files hold them."""
        raise NotImplementedError

    def empty_split_message(self, split: str) -> str:
        return f"--data_dir={self.opts.data_dir!r} holds no {split} examples"

    def examples(self, split: str) -> list:
        """`read_examples(split)`, read once; an empty split is an InputError, and
        --max_train_examples keeps the first N training examples."""
        if split not in self._examples:
            examples = list(self.read_examples(split))
            if not examples:
                raise InputError(self.empty_split_message(split))
            if split == "train" and self.opts.max_train_examples:
                examples = examples[: self.opts.max_train_examples]
            self._examples[split] = examples
        return self._examples[split]

    def run_phases(self, on_log=None, on_eval=None, show=print) -> dict:
        """What a fine-tuning CLI does: --do_train (evaluating at each save with --do_eval), then
        --do_eval's sweep over every checkpoint (the best is selected), then --do_predict from
        the selected checkpoint. Returns {"history", "eval_history", "best", "predict"}."""
        opts = self.opts
        out = {"history": [], "eval_history": [], "best": None, "predict": None}
        if opts.do_train:
            out["history"] = self.train(on_log=on_log, on_eval=on_eval, evaluate=opts.do_eval)
        if opts.do_eval:
            out["best"] = best = self.evaluate_checkpoints(on_eval=on_eval)
            if show is not None and best is not None:
                show(f"best checkpoint: step {best['global_step']} with {self.selection_key} = "
                     f"{best[self.selection_key]:.4f}")
        out["eval_history"] = list(self.eval_history)
        if opts.do_predict:
            out["predict"] = self.predict()
        return out

    def restart_task(self, opts, source: ModelSource, settings: LoopSettings) -> None:
        """A new run of the same shapes with this trainer's compiled steps (`Trainer.restart`)."""
        self.opts, self.source = opts, source
        self.config, self.tokenizer = source.config, source.tokenizer
        self.evaluate_at_save, self._on_eval = False, None
        self._examples = {}                 # --max_train_examples may differ
        self.restart(settings)
        self._new_selection()

    # -- the loop's hooks ------------------------------------------------------------------
    def step_metrics(self, outputs, batch, losses) -> dict:
        """This step's training scalars, one per `train_metric_names` (inside the compiled
        step): the loss, and the accuracy of the arg-max over `logits` against `label_ids`."""
        return {"loss": losses["loss"], "accuracy": argmax_accuracy(outputs["logits"], batch["label_ids"])}

    def build_train_metrics(self) -> None:
        self.train_means = {name: keras.metrics.Mean(name) for name in self.train_metric_names}

    def update_train_metrics(self, outputs, batch, losses) -> None:
        for name, value in self.step_metrics(outputs, batch, losses).items():
            self.train_means[name].update_state(value)

    def train_metrics(self, reset: bool = True) -> dict:
        out = {name: float(mean.result()) for name, mean in self.train_means.items()}
        if reset:
            for mean in self.train_means.values():
                mean.reset_state()
        return out

    def initialize(self) -> str:
        """--init_checkpoint (ours or Google's) into the encoder; hub weights are already in."""
        if self.source.hub is not None:
            return f"encoder from hub module {self.opts.albert_hub_module_handle}"
        if self.opts.init_checkpoint:
            loaded = str(load_init_checkpoint(self.model, self.source.init_checkpoint
                                              or self.opts.init_checkpoint))
            return "encoder from " + loaded.splitlines()[0]  # the first line names what was read
        return "encoder initialised randomly (no --init_checkpoint): training from scratch"

    def show_line(self, line: str) -> None:
        self.show(line)

    def speed(self, steps: int, seconds: float) -> dict:
        return {"examples_per_sec": steps * self.batch_size / max(seconds, 1e-9)}

    def progress_postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.4f}"}

    def resumed_history(self, step: int) -> list:
        path = os.path.join(self.opts.output_dir, TRAIN_HISTORY)
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [r for r in json.load(handle) if r["step"] <= step]

    def log_record(self, record: dict) -> None:
        fault_point("train.history")
        atomic_write_json(os.path.join(self.opts.output_dir, TRAIN_HISTORY), self.history,
                          sort_keys=False)

    def after_save(self, step: int, prefix: str) -> None:
        if self.evaluate_at_save:
            self.evaluate_and_record(step, prefix, on_eval=self._on_eval)

    def train(self, on_log=None, on_eval=None, evaluate: bool = False, show_progress=None) -> list:
        """Train to the last step; with `evaluate`, each saved checkpoint is evaluated on dev at
        once and the selection updated. Returns the logged records."""
        self.evaluate_at_save, self._on_eval = evaluate, on_eval
        if evaluate and self.is_chief:  # checkpoints saved before a kill but not evaluated
            # (retention may delete them before the final sweep); a damaged one is the resume's
            self.evaluate_missing(on_eval, skip_damaged=True)
        return super().train(on_log=on_log, show_progress=self.show_progress
                             if show_progress is None else show_progress)

    # -- evaluation and selection ------------------------------------------------------------
    def evaluate_dev(self) -> tuple[dict, dict]:
        raise NotImplementedError

    def on_new_best(self, step: int, extras: dict) -> None:
        """Write what belongs to the best checkpoint (e.g. its dev predictions)."""

    def read_weights(self, prefix: str) -> None:
        read_weights(self.model, prefix, self.global_step)

    def best_record(self) -> dict | None:
        return self.selection.best()

    @property
    def eval_history(self) -> list:
        return self.selection.history

    def evaluate_and_record(self, step: int, prefix: str | None, on_eval=None) -> dict:
        """Evaluate the weights now in the model (those of checkpoint `prefix`) and record them."""
        results, extras = self.evaluate_dev()
        self.selection.record(step, results, prefix, on_best=lambda: self.on_new_best(step, extras))
        record = self.selection.history[[r["global_step"] for r in self.selection.history].index(step)]
        if on_eval is not None:
            on_eval(record)
        return record

    def evaluate_checkpoints(self, on_eval=None) -> dict | None:
        """The sweep: evaluate every model.ckpt-<step> not evaluated yet (oldest first)."""
        if not checkpoint_steps(self.opts.output_dir) and not self.selection.history:
            if not (self.opts.init_checkpoint or self.source.hub is not None):
                raise InputError(f"--do_eval: no checkpoint in --output_dir={self.opts.output_dir!r} "
                                 "and no --init_checkpoint; train first (--do_train)")
            self.show(self.initialize() + "; evaluating it as step 0")
            self.global_step.assign(0)
            self.evaluate_and_record(0, None, on_eval=on_eval)
        self.evaluate_missing(on_eval)
        return self.best_record()

    def evaluate_missing(self, on_eval=None, skip_damaged: bool = False) -> None:
        """Evaluate each model.ckpt-<step> without a record, oldest first; a damaged one is
        refused in one line (or skipped, with `skip_damaged`)."""
        done = self.selection.evaluated_steps()
        for step, prefix in checkpoint_steps(self.opts.output_dir).items():
            if step in done:
                continue
            try:
                self.read_weights(prefix)
            except InputError:
                if skip_damaged:
                    continue
                raise
            self.evaluate_and_record(step, prefix, on_eval=on_eval)

    def load_best(self) -> str:
        """model.ckpt-best, else the newest checkpoint (saying so)."""
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

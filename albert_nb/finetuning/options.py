"""Options of the fine-tuning CLIs: the original's flags (same names and defaults) plus ours.

`ModelSourceOptions` is what every fine-tuning script shares: where the encoder, its config and
its tokenizer come from. `ClassifierOptions` is `run_classifier`'s whole set. The absl flags are
generated from these fields (`albert_nb.cli.define_flags`).
"""
from __future__ import annotations

import dataclasses

from albert_nb.errors import InputError
from albert_nb.tasks import registry
from albert_nb.training.options import TrainingOptions, option

OPTIMIZERS = ("adamw", "lamb")
PADDINGS = ("dynamic", "max")


@dataclasses.dataclass(kw_only=True)
class ModelSourceOptions:
    """Where the pretrained encoder, its config and its tokenizer come from."""

    albert_config_file: str | None = option(None, "albert_config.json of the pretrained model.")
    init_checkpoint: str | None = option(
        None, "Pretrained checkpoint (ours or Google's TF1): a prefix, a folder or a release name "
              "(albert_base_v2, downloaded into the cache once); a release folder's "
              "albert_config.json and tokenizer are used when their flags are not given.")
    albert_hub_module_handle: str | None = option(
        None, "TF-Hub module (URL or folder) giving the encoder instead of --albert_config_file/"
              "--init_checkpoint. Note: a hub module is code (its graph can read and write files); "
              "load only modules you trust.")
    spm_model_file: str | None = option(None, "SentencePiece model of the pretrained model "
                                              "(from_tf_hub, or anything, with a hub handle: the "
                                              "module's own is used).")
    vocab_file: str | None = option(None, "WordPiece vocab (ignored when --spm_model_file is set; "
                                          "from_tf_hub as for --spm_model_file).")
    do_lower_case: bool = option(True, "Lower-case the input text.")


@dataclasses.dataclass(kw_only=True)
class FineTuningOptions(ModelSourceOptions, TrainingOptions):
    """Flags every fine-tuning script has with the same default (the original's scripts agree
    on them); a script that differs redeclares the field."""

    output_dir: str = option(help="Where checkpoints and results are written.")
    do_train: bool = option(False, "Whether to train.")
    train_batch_size: int = option(32, "Training batch size.")
    predict_batch_size: int = option(8, "Prediction batch size.")
    # Ours.
    optimizer: str = option("adamw", "Optimizer (run_classifier's flag; the original's SQuAD and "
                                     "RACE scripts always use AdamW).", enum=OPTIMIZERS)
    max_train_examples: int | None = option(None, "Use only the first N training examples.")


@dataclasses.dataclass(kw_only=True)
class StepOptions(FineTuningOptions):
    """run_classifier's schedule in steps, its dev evaluation and our padding: run_tagging takes
    them with the same names and defaults."""

    do_eval: bool = option(False, "Whether to evaluate every checkpoint on dev.")
    eval_batch_size: int = option(8, "Evaluation batch size.")
    learning_rate: float = option(5e-5, "Peak learning rate.")
    train_step: int = option(1000, "Total training steps.")
    warmup_step: int = option(0, "Linear warm-up steps.")
    save_checkpoints_steps: int = option(1000, "Checkpoint (and, with --do_eval, evaluate) every "
                                               "this many steps.")
    # Ours.
    padding: str = option("dynamic", "dynamic: length buckets; max: pad to --max_seq_length as "
                                     "the original.", enum=PADDINGS)


@dataclasses.dataclass(kw_only=True)
class ClassifierOptions(StepOptions):
    """The original run_classifier flags (same names and defaults) plus a few of ours."""

    data_dir: str = option(help="Folder with the task's data (GLUE TSV / CLUE JSON).")
    task_name: str = option(help="Task to fine-tune on (e.g. MNLI, SST-2, STS-B).")
    cached_dir: str | None = option(None, "Where the feature TFRecords are cached (default: --output_dir).")
    max_seq_length: int = option(512, "Longest sequence after tokenization; longer pairs are truncated.")
    do_predict: bool = option(False, "Whether to predict the test set.")
    export_dir: str | None = option(None, "Export the best model as a SavedModel here.")
    threshold_to_export: float = option(float("nan"), "A decision threshold baked into the "
                                        "export as a constant `threshold` output (NaN: none).")
    keep_checkpoint_max: int = option(0, "Checkpoints to keep; 0 keeps all, as the original's "
                                         "RunConfig (keep_checkpoint_max=0), so a later --do_eval "
                                         "sweep sees every one.")


# run_glue.sh's per-task values (albert_zh's table for CLUE) live in the task registry.
TASK_DEFAULT_FIELDS = ("warmup_step", "learning_rate", "train_step", "save_checkpoints_steps",
                       "train_batch_size", "max_seq_length")


def task_defaults(task_name: str, data_dir: str | None = None) -> dict:
    """The task's recorded settings under our option names. CLUE rows give epochs: they are
    turned into steps with the size of the training set in `data_dir`."""
    task = registry.get_task(task_name)
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
        train_step, warmup_step = s.steps_for(len(list(task.processor.get_examples(data_dir, "train"))))
    return {"warmup_step": warmup_step, "learning_rate": s.learning_rate, "train_step": train_step,
            "save_checkpoints_steps": s.save_checkpoints_steps,
            "train_batch_size": s.train_batch_size, "max_seq_length": s.max_seq_length}


def apply_task_defaults(opts: ClassifierOptions, explicit=()) -> ClassifierOptions:
    """`--use_task_defaults`: every recorded setting of the task (run_glue.sh for GLUE) that was
    not given explicitly (names in `explicit`) takes the recorded value; explicit flags win."""
    values = task_defaults(opts.task_name, opts.data_dir)
    return dataclasses.replace(opts, **{k: v for k, v in values.items() if k not in set(explicit)})

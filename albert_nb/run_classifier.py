"""Fine-tune ALBERT on a GLUE (or CLUE) classification task, evaluate, predict.

The original README's MNLI command works as is (with `albert_nb` for `albert`):

    python -m albert_nb.run_classifier --vocab_file=... --data_dir=... --output_dir=... \
        --init_checkpoint=... --albert_config_file=... --spm_model_file=... --do_train \
        --do_eval --do_predict --do_lower_case --max_seq_length=128 --optimizer=adamw \
        --task_name=MNLI --warmup_step=1000 --learning_rate=3e-5 --train_step=10000 \
        --save_checkpoints_steps=100 --train_batch_size=128

Every flag of the original is accepted with its default (TPU flags select a TPUStrategy;
several GPUs give a MirroredStrategy). `--albert_hub_module_handle` replaces
--albert_config_file/--init_checkpoint (and the tokenizer when no --spm_model_file is given).

run_glue.sh's per-task settings: `--use_task_defaults` fills warmup_step, learning_rate,
train_step, save_checkpoints_steps and train_batch_size from run_glue.sh for --task_name,
except the ones given explicitly on the command line (explicit always wins). It is opt-in so a
command means the same thing with or without knowing the table.

Outputs in --output_dir: model.ckpt-<step>.* (kept per --keep_checkpoint_max, 0 = all; the
original ignored the flag and its eval sweep deleted every non-best checkpoint, we delete
nothing), model.ckpt-best.* (a copy of the best on dev), eval_results.txt, best_trial.txt,
eval_history.json, eval_predictions.json, train_history.json, test_results.tsv,
submit_results.tsv; features are cached as <task>_train.tf_record / <task>_eval.tf_record /
predict.tf_record in --cached_dir (default --output_dir) with a fingerprint, rebuilt when the
data or settings change. Run the same command again after an interruption: training resumes
from the newest checkpoint and already evaluated checkpoints are not evaluated again.

Ours: --use_task_defaults, --padding=dynamic|max, --jit_compile, --mixed_precision, --seed,
--log_every_steps, --max_train_examples, --progress.
"""
from __future__ import annotations


from absl import app, flags

from albert_nb.training import distribute
from albert_nb.cli import command
from albert_nb.finetuning.trainer import ClassifierOptions

FLAGS = flags.FLAGS


def define_flags() -> None:
    d = {name: field.default for name, field in ClassifierOptions.__dataclass_fields__.items()}
    flags.DEFINE_string("data_dir", None, "Folder with the task's data (GLUE TSV / CLUE JSON).")
    flags.DEFINE_string("albert_config_file", None, "albert_config.json of the pretrained model.")
    flags.DEFINE_string("task_name", None, "Task to fine-tune on (e.g. MNLI, SST-2, STS-B).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocab (ignored when --spm_model_file is set).")
    flags.DEFINE_string("spm_model_file", None, "SentencePiece model of the pretrained model.")
    flags.DEFINE_string("output_dir", None, "Where checkpoints and results are written.")
    flags.DEFINE_string("cached_dir", None, "Where the feature TFRecords are cached "
                        "(default: --output_dir).")
    flags.DEFINE_string("init_checkpoint", None, "Pretrained checkpoint (ours or Google's TF1).")
    flags.DEFINE_string("albert_hub_module_handle", None, "TF-Hub module (URL or folder) giving "
                        "the encoder instead of --albert_config_file/--init_checkpoint.")
    flags.DEFINE_bool("do_lower_case", d["do_lower_case"], "Lower-case the input text.")
    flags.DEFINE_integer("max_seq_length", d["max_seq_length"],
                         "Longest sequence after tokenization; longer pairs are truncated.")
    flags.DEFINE_bool("do_train", d["do_train"], "Whether to train.")
    flags.DEFINE_bool("do_eval", d["do_eval"], "Whether to evaluate every checkpoint on dev.")
    flags.DEFINE_bool("do_predict", d["do_predict"], "Whether to predict the test set.")
    flags.DEFINE_integer("train_batch_size", d["train_batch_size"], "Training batch size.")
    flags.DEFINE_integer("eval_batch_size", d["eval_batch_size"], "Evaluation batch size.")
    flags.DEFINE_integer("predict_batch_size", d["predict_batch_size"], "Prediction batch size.")
    flags.DEFINE_float("learning_rate", d["learning_rate"], "Peak learning rate.")
    flags.DEFINE_integer("train_step", d["train_step"], "Total training steps.")
    flags.DEFINE_integer("warmup_step", d["warmup_step"], "Linear warm-up steps.")
    flags.DEFINE_integer("save_checkpoints_steps", d["save_checkpoints_steps"],
                         "Checkpoint (and, with --do_eval, evaluate) every this many steps.")
    flags.DEFINE_integer("keep_checkpoint_max", d["keep_checkpoint_max"],
                         "Checkpoints to keep; 0 keeps all (model.ckpt-best is always kept).")
    flags.DEFINE_integer("iterations_per_loop", d["iterations_per_loop"],
                         "Steps per compiled loop call (the TPU loop size).")
    distribute.define_tpu_flags(d["num_tpu_cores"])
    flags.DEFINE_enum("optimizer", d["optimizer"], ["adamw", "lamb"], "Optimizer.")
    flags.DEFINE_string("export_dir", None, "Export the best model as a SavedModel here.")
    flags.DEFINE_float("threshold_to_export", d["threshold_to_export"],
                       "Export only if the best dev metric is at least this (NaN: always).")
    # Ours.
    flags.DEFINE_bool("use_task_defaults", False, "Take run_glue.sh's warmup_step, learning_rate, "
                      "train_step, save_checkpoints_steps, train_batch_size for --task_name "
                      "unless given explicitly.")
    flags.DEFINE_enum("padding", d["padding"], ["dynamic", "max"],
                      "dynamic: length buckets; max: pad to --max_seq_length as the original.")
    flags.DEFINE_bool("jit_compile", d["jit_compile"], "XLA-compile the train and eval steps.")
    flags.DEFINE_string("mixed_precision", None, "mixed_float16 or mixed_bfloat16.")
    flags.DEFINE_integer("seed", d["seed"], "Seed of the head's init, dropout and shuffling.")
    flags.DEFINE_integer("log_every_steps", d["log_every_steps"],
                         "Log the training loss every this many steps.")
    flags.DEFINE_integer("max_train_examples", None, "Use only the first N training examples.")
    flags.DEFINE_bool("progress", True, "Show progress bars.")


def options_from_flags() -> ClassifierOptions:
    from albert_nb.finetuning import trainer as finetuning

    names = list(ClassifierOptions.__dataclass_fields__)
    opts = ClassifierOptions(**{n: getattr(FLAGS, n) for n in names})
    if FLAGS.use_task_defaults:
        explicit = {n for n in finetuning.TASK_DEFAULT_FIELDS if FLAGS[n].present}
        opts = finetuning.apply_task_defaults(opts, explicit)
    return opts


@command("run_classifier", required=("task_name", "data_dir", "output_dir"))
def main(argv) -> None:
    from absl import logging

    logging.set_verbosity(logging.WARNING)
    from albert_nb.finetuning import trainer as finetuning

    opts = options_from_flags()
    result = finetuning.run(opts, show_progress=FLAGS.progress)
    best = result["best"]
    if best is not None:
        print("***** Eval results *****")
        for key in sorted(best):
            print(f"  {key} = {best[key]}")


def cli() -> None:
    define_flags()
    app.run(main)


if __name__ == "__main__":
    cli()

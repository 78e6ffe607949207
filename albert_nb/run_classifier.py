"""Fine-tune ALBERT on a GLUE (or CLUE) classification task, evaluate, predict.

The original README's MNLI command works as is (with `albert_nb` for `albert`):

    python -m albert_nb.run_classifier --vocab_file=... --data_dir=... --output_dir=... \
        --init_checkpoint=... --albert_config_file=... --spm_model_file=... --do_train \
        --do_eval --do_predict --do_lower_case --max_seq_length=128 --optimizer=adamw \
        --task_name=MNLI --warmup_step=1000 --learning_rate=3e-5 --train_step=10000 \
        --save_checkpoints_steps=100 --train_batch_size=128

Every flag of the original is accepted with its default (TPU flags select a TPUStrategy;
several GPUs give a MirroredStrategy, a TF_CONFIG naming several workers a
MultiWorkerMirroredStrategy). `--albert_hub_module_handle` replaces
--albert_config_file/--init_checkpoint (and the tokenizer when no --spm_model_file is given).

run_glue.sh's per-task settings: `--use_task_defaults` fills warmup_step, learning_rate,
train_step, save_checkpoints_steps and train_batch_size from run_glue.sh for --task_name,
except the ones given explicitly on the command line (explicit always wins). It is opt-in so a
command means the same thing with or without knowing the table.

Outputs in --output_dir: model.ckpt-<step>.* (kept per --keep_checkpoint_max, 0 = all; the
original ignored the flag and its eval sweep deleted every non-best checkpoint, we delete
nothing), model.ckpt-best.* (a copy of the best on dev), eval_results.txt, best_trial.txt,
eval_history.json, eval_predictions.json, train_history.json, test_results.tsv,
submit_results.tsv; features are cached as albert_nb_<task>_{train,eval,predict}.tf_record
in --cached_dir (default --output_dir) with a fingerprint, rebuilt when the
data or settings change. Run the same command again after an interruption: training resumes
from the newest checkpoint and already evaluated checkpoints are not evaluated again.

Flags are generated from `albert_nb.finetuning.options.ClassifierOptions`.
Ours: --use_task_defaults, --padding=dynamic|max, --jit_compile, --mixed_precision, --seed,
--log_every_steps, --max_train_examples, --progress.
"""
from __future__ import annotations

from absl import flags

from albert_nb import cli
from albert_nb.finetuning import options
from albert_nb.finetuning.options import ClassifierOptions

FLAGS = flags.FLAGS


def _define_task_defaults_flag() -> None:
    flags.DEFINE_bool("use_task_defaults", False, "Take run_glue.sh's warmup_step, learning_rate, "
                      "train_step, save_checkpoints_steps, train_batch_size for --task_name "
                      "unless given explicitly.")


def options_from_flags() -> ClassifierOptions:
    opts = cli.options_from_flags(ClassifierOptions)
    if FLAGS.use_task_defaults:
        explicit = {n for n in options.TASK_DEFAULT_FIELDS if FLAGS[n].present}
        opts = options.apply_task_defaults(opts, explicit)
    return opts


main, define_flags = cli.training_command("run_classifier", ClassifierOptions,
                                          "albert_nb.finetuning.classifier",
                                          options=options_from_flags,
                                          extra_flags=_define_task_defaults_flag)

if __name__ == "__main__":
    cli.run_command(main, define_flags)

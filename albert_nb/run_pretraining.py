"""Pretrain ALBERT (masked LM + sentence order) on TFRecords from create_pretraining_data.

The original README's command works as is (with `albert_nb` for `albert`):

    python -m albert_nb.run_pretraining --input_file=... --output_dir=... \
        --init_checkpoint=... --albert_config_file=... --do_train --do_eval \
        --train_batch_size=4096 --eval_batch_size=64 --max_seq_length=512 \
        --max_predictions_per_seq=20 --optimizer='lamb' --learning_rate=.00176 \
        --num_train_steps=125000 --num_warmup_steps=3125 --save_checkpoints_steps=5000

Every flag of the original is accepted with its default. TPU flags select a TPUStrategy;
several GPUs give a MirroredStrategy. Additions: --eval_input_file (held-out data; the
original evaluates on --input_file), --mixed_precision, --jit_compile, --seed,
--deterministic, --log_every_steps.

Run it again with the same command after an interruption (even kill -9): it resumes from the
newest `model.ckpt-<step>` in --output_dir, data iterator included, and ends where an
uninterrupted run would. Outputs: model.ckpt-<step>.*, checkpoint, eval_results.txt,
model.ckpt-best.*, TensorBoard events (output_dir and output_dir/eval).
"""
from __future__ import annotations


from absl import app, flags

from albert_nb.training import distribute
from albert_nb.cli import command
from albert_nb.pretraining.trainer import PretrainingOptions

FLAGS = flags.FLAGS


def define_flags() -> None:
    d = PretrainingOptions.__dataclass_fields__
    default = {name: field.default for name, field in d.items()}
    flags.DEFINE_string("albert_config_file", None, "albert_config.json of the model to train.")
    flags.DEFINE_string("input_file", None, "Input TFRecord file(s): comma list and/or globs.")
    flags.DEFINE_string("output_dir", None, "Where checkpoints and eval results are written.")
    flags.DEFINE_string("init_checkpoint", None, "Initial checkpoint (ours or Google's TF1).")
    flags.DEFINE_integer("max_seq_length", default["max_seq_length"],
                         "Sequence length of the TFRecords.")
    flags.DEFINE_integer("max_predictions_per_seq", default["max_predictions_per_seq"],
                         "Masked LM slots per sequence in the TFRecords.")
    flags.DEFINE_bool("do_train", default["do_train"], "Whether to train.")
    flags.DEFINE_bool("do_eval", default["do_eval"], "Whether to evaluate.")
    flags.DEFINE_integer("train_batch_size", default["train_batch_size"], "Training batch size.")
    flags.DEFINE_integer("eval_batch_size", default["eval_batch_size"], "Evaluation batch size.")
    flags.DEFINE_enum("optimizer", default["optimizer"], ["adamw", "lamb"], "Optimizer.")
    flags.DEFINE_float("learning_rate", default["learning_rate"], "Peak learning rate.")
    flags.DEFINE_float("poly_power", default["poly_power"], "Power of the polynomial decay.")
    flags.DEFINE_integer("num_train_steps", default["num_train_steps"], "Training steps.")
    flags.DEFINE_integer("num_warmup_steps", default["num_warmup_steps"], "Warm-up steps.")
    flags.DEFINE_integer("start_warmup_step", default["start_warmup_step"],
                         "Step at which the warm-up starts.")
    flags.DEFINE_integer("save_checkpoints_steps", default["save_checkpoints_steps"],
                         "Checkpoint every this many steps.")
    flags.DEFINE_integer("keep_checkpoint_max", default["keep_checkpoint_max"],
                         "How many checkpoints to keep.")
    flags.DEFINE_integer("iterations_per_loop", default["iterations_per_loop"],
                         "Steps per compiled loop call (the TPU loop size).")
    flags.DEFINE_integer("max_eval_steps", default["max_eval_steps"], "Maximum eval batches.")
    flags.DEFINE_bool("init_from_group0", default["init_from_group0"],
                      "Initialise every group's blocks from group 0 of the init checkpoint.")
    distribute.define_tpu_flags(default["num_tpu_cores"])
    flags.DEFINE_integer("masked_lm_budget", default["masked_lm_budget"],
                         "Online masking budget; not supported (broken in the original).")
    # Ours.
    flags.DEFINE_string("eval_input_file", None, "Held-out TFRecords for --do_eval "
                        "(default: --input_file, as the original).")
    flags.DEFINE_string("mixed_precision", None, "mixed_float16 or mixed_bfloat16.")
    flags.DEFINE_bool("jit_compile", default["jit_compile"], "XLA-compile the training step.")
    flags.DEFINE_integer("seed", default["seed"], "Seed of weight init and data shuffling.")
    flags.DEFINE_bool("deterministic", default["deterministic"],
                      "Deterministic ops (bit-identical reruns; slower on GPU).")
    flags.DEFINE_integer("log_every_steps", default["log_every_steps"],
                         "Log training metrics to TensorBoard every this many steps.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")


def options_from_flags() -> PretrainingOptions:
    names = [n for n in PretrainingOptions.__dataclass_fields__]
    return PretrainingOptions(**{n: getattr(FLAGS, n) for n in names})


@command("run_pretraining", required=("input_file", "output_dir", "albert_config_file"))
def main(argv) -> None:
    from absl import logging

    logging.set_verbosity(logging.WARNING)  # TF's per-save INFO lines would drown the progress bar
    from albert_nb.pretraining import trainer as pretraining

    pretraining.run(options_from_flags(), show_progress=FLAGS.progress)


def cli() -> None:
    define_flags()
    app.run(main)


if __name__ == "__main__":
    cli()

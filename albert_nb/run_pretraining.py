"""Pretrain ALBERT (masked LM + sentence order) on TFRecords from create_pretraining_data.

The original README's command works as is (with `albert_nb` for `albert`):

    python -m albert_nb.run_pretraining --input_file=... --output_dir=... \
        --init_checkpoint=... --albert_config_file=... --do_train --do_eval \
        --train_batch_size=4096 --eval_batch_size=64 --max_seq_length=512 \
        --max_predictions_per_seq=20 --optimizer='lamb' --learning_rate=.00176 \
        --num_train_steps=125000 --num_warmup_steps=3125 --save_checkpoints_steps=5000

Every flag of the original is accepted with its default (the flags are generated from
`albert_nb.pretraining.options.PretrainingOptions`). TPU flags select a TPUStrategy; several
GPUs give a MirroredStrategy; a TF_CONFIG naming several workers a MultiWorkerMirroredStrategy
(README: "One command on a TPU, a TPU pod, several GPUs or several hosts"). Additions: --eval_input_file (held-out data; the original
evaluates on --input_file), --mixed_precision, --jit_compile, --seed, --deterministic,
--log_every_steps, --progress.

Run it again with the same command after an interruption (even kill -9): it resumes from the
newest `model.ckpt-<step>` in --output_dir, data iterator included, and ends where an
uninterrupted run would. Outputs: model.ckpt-<step>.*, checkpoint, eval_results.txt,
model.ckpt-best.*, TensorBoard events (output_dir and output_dir/eval).
"""
from __future__ import annotations

from albert_nb import cli
from albert_nb.pretraining.options import PretrainingOptions

main, define_flags = cli.training_command(
    "run_pretraining", PretrainingOptions, "albert_nb.pretraining.trainer")

if __name__ == "__main__":
    cli.run_command(main, define_flags)

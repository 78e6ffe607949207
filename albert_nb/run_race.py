"""Fine-tune ALBERT on RACE (4-way multiple-choice reading comprehension), evaluate, predict.

    python -m albert_nb.run_race --data_dir=... --output_dir=... --init_checkpoint=... \
        --albert_config_file=... --spm_model_file=... --do_train --do_eval --max_seq_length=512 \
        --max_qa_length=128 --train_batch_size=32 --eval_batch_size=8 --learning_rate=1e-5 \
        --train_step=12000 --warmup_step=1000 --save_checkpoints_steps=100

--data_dir holds RACE/{train,dev,test}/{middle,high}/ with the per-article N.txt files as RACE is
distributed or the original's all.txt; --high_only / --middle_only keep one part. Every flag of
the original is accepted with its default. Outputs in --output_dir: model.ckpt-<step>.*,
model.ckpt-best.* (best dev accuracy), eval_results.txt (eval_accuracy, eval_loss and accuracy on
middle and high), eval_history.json, eval_predictions.json; with --do_predict,
predict_results.txt and predictions.json for test. See `albert_nb.finetuning.race_trainer`.
"""
from __future__ import annotations

from albert_nb import cli
from albert_nb.finetuning.qa_options import RaceOptions

main, define_flags = cli.training_command(
    "run_race", RaceOptions, "albert_nb.finetuning.race_trainer")

if __name__ == "__main__":
    cli.run_command(main, define_flags)

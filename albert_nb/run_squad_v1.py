"""Fine-tune ALBERT on SQuAD v1.1, predict, evaluate with the official script, export.

The original README's command works as is (with `albert_nb` for `albert`):

    python -m albert_nb.run_squad_v1 --albert_config_file=... --vocab_file=... --output_dir=... \
        --train_file=... --predict_file=... --train_feature_file=... --predict_feature_file=... \
        --predict_feature_left_file=... --init_checkpoint=... --spm_model_file=... \
        --do_lower_case --max_seq_length=384 --doc_stride=128 --max_query_length=64 \
        --do_train=true --do_predict=true --train_batch_size=48 --predict_batch_size=8 \
        --learning_rate=5e-5 --num_train_epochs=2.0 --warmup_proportion=.1 \
        --save_checkpoints_steps=5000 --n_best_size=20 --max_answer_length=30

Every flag of the original is accepted with its default (`--albert_hub_module_handle` instead of
--albert_config_file/--init_checkpoint; TPU flags select a TPUStrategy). Outputs in --output_dir:
model.ckpt-<step>.*, model.ckpt-best.* (best F1 on --predict_file), predictions.json,
nbest_predictions.json, eval_results.txt, eval_history.json, train_history.json; with
--export_dir a SavedModel (`saved_model/`, serving_default) and `albert_model.tflite`.
Run the same command again after an interruption: training resumes where it stopped.
See `albert_nb.finetuning.squad_trainer` for what each step does.
"""
from __future__ import annotations

from albert_nb import cli
from albert_nb.finetuning.qa_options import SquadV1Options

main, define_flags = cli.training_command(
    "run_squad_v1", SquadV1Options, "albert_nb.finetuning.squad_trainer")

if __name__ == "__main__":
    cli.run_command(main, define_flags)

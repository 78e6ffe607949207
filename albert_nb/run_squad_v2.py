"""Fine-tune ALBERT on SQuAD v2.0 (unanswerable questions), predict, evaluate.

The original README's v2 command is the v1 command with `run_squad_v2` and bare switches:

    python -m albert_nb.run_squad_v2 --albert_config_file=... --output_dir=... --train_file=... \
        --predict_file=... --train_feature_file=... --predict_feature_file=... \
        --predict_feature_left_file=... --init_checkpoint=... --spm_model_file=... \
        --do_lower_case --max_seq_length=384 --doc_stride=128 --max_query_length=64 --do_train \
        --do_predict --train_batch_size=48 --predict_batch_size=8 --learning_rate=5e-5 \
        --num_train_epochs=2.0 --warmup_proportion=.1 --save_checkpoints_steps=5000 \
        --n_best_size=20 --max_answer_length=30

plus v2's own flags: --start_n_top / --end_n_top (the beam over answer starts and ends) and
--dropout_prob. Outputs as run_squad_v1, and null_odds.json (the no-answer score per question);
eval_results.txt has exact, f1, best_exact, best_f1, their thresholds, null_score_diff_threshold
and the HasAns_/NoAns_ breakdown. Ours: --null_score_diff_threshold (score a held-out file with a
dev-tuned threshold instead of tuning on it).
"""
from __future__ import annotations

from albert_nb import cli
from albert_nb.finetuning.qa_options import SquadV2Options

main, define_flags = cli.training_command(
    "run_squad_v2", SquadV2Options, "albert_nb.finetuning.squad_trainer")

if __name__ == "__main__":
    cli.run_command(main, define_flags)

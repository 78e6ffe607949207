"""Fine-tune ALBERT to tag tokens (named entities), evaluate entity-level F1, predict.

    python -m albert_nb.run_tagging --data_dir=ner --output_dir=ner_out \
        --vocab_file=albert_base_zh/vocab_chinese.txt \
        --albert_config_file=albert_base_zh/albert_config.json \
        --init_checkpoint=albert_base_zh/model.ckpt-best --do_train --do_eval --do_predict \
        --max_seq_length=128 --train_batch_size=32 --learning_rate=3e-5 --train_step=3000 \
        --warmup_step=300 --save_checkpoints_steps=500

--data_dir holds CoNLL-style `train.txt`, `dev.txt`, `test.txt` (`token tag` per line, a blank
line between sentences, BIO tags) and optionally `labels.txt`. Outputs in --output_dir:
model.ckpt-<step>.*, model.ckpt-best.* (best dev entity F1), eval_results.txt (precision,
recall, f1, per-type f1, token_accuracy, eval_loss per checkpoint), best_trial.txt,
eval_history.json, eval_predictions.json, train_history.json, test_predictions.txt and
test_results.txt. An interrupted run resumes from the newest checkpoint. The flags are
run_classifier's (generated from `TaggingOptions`), with --data_dir replacing --task_name.
"""
from __future__ import annotations

from albert_nb import cli
from albert_nb.finetuning.tagging_options import TaggingOptions

main, define_flags = cli.training_command("run_tagging", TaggingOptions, "albert_nb.finetuning.tagger")

if __name__ == "__main__":
    cli.run_command(main, define_flags)

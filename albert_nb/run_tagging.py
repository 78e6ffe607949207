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

from absl import flags, logging

from albert_nb import cli
from albert_nb.finetuning.tagging_options import TaggingOptions

FLAGS = flags.FLAGS


def define_flags() -> None:
    cli.define_flags(TaggingOptions)
    flags.DEFINE_bool("progress", True, "Show progress bars.")


@cli.command("run_tagging", required=cli.required_flags(TaggingOptions))
def main(argv) -> None:
    logging.set_verbosity(logging.WARNING)
    # Deliberately lazy: TensorFlow loads only once the flags are known to be good.
    from albert_nb.finetuning import tagger

    result = tagger.run(cli.options_from_flags(TaggingOptions), show_progress=FLAGS.progress)
    best = result["best"]
    if best is not None:
        print("***** Eval results *****")
        for key in sorted(best):
            print(f"  {key} = {best[key]}")
    if result["predict"] is not None:
        print(f"test entity f1 = {result['predict']['scores']['f1']:.4f}")


if __name__ == "__main__":
    cli.run_command(main, define_flags)

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

from absl import flags, logging

from albert_nb import cli
from albert_nb.finetuning.qa_options import RaceOptions

FLAGS = flags.FLAGS


@cli.command("run_race", required=cli.required_flags(RaceOptions))
def main(argv) -> None:
    logging.set_verbosity(logging.WARNING)
    # Deliberately lazy: TensorFlow loads only once the flags are known to be good.
    from albert_nb.finetuning import race_trainer

    result = race_trainer.run(cli.options_from_flags(RaceOptions), show_progress=FLAGS.progress)
    for title, metrics in (("Eval results", result["best"]),
                           ("Test results", (result["predict"] or {}).get("metrics"))):
        if metrics:
            print(f"***** {title} *****")
            for key in sorted(metrics):
                print(f"  {key} = {metrics[key]}")


def cli_main() -> None:
    cli.define_flags(RaceOptions)
    flags.DEFINE_bool("progress", True, "Show progress bars.")
    cli.run(main)   # flag errors: one line, exit 2


if __name__ == "__main__":
    cli_main()

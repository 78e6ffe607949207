"""Text -> pretraining TFRecords for ALBERT (masked LM with n-grams + sentence-order prediction).

    python -m albert_nb.create_pretraining_data --input_file=corpus.txt \
        --output_file=out.tfrecord --vocab_file=vocab.txt --spm_model_file=30k-clean.model \
        [--max_seq_length=512 --max_predictions_per_seq=20 --dupe_factor=40 ...]

Same flags and defaults as the original (generated from `pretraining.options.CreateDataOptions`);
the work, and where it deliberately differs from the original, is `albert_nb.pretraining.create`.
"""
from __future__ import annotations

from absl import flags, logging

from albert_nb import cli
from albert_nb.errors import InputError
from albert_nb.pretraining.options import CreateDataOptions

FLAGS = flags.FLAGS


def define_flags() -> None:
    cli.define_flags(CreateDataOptions)
    flags.DEFINE_bool("progress", True, "Show a progress bar (not in the original).")


@cli.command("create_pretraining_data", required=cli.required_flags(CreateDataOptions))
def main(argv):
    opts = cli.options_from_flags(CreateDataOptions)
    if not opts.spm_model_file and not opts.vocab_file:
        raise InputError("--vocab_file (WordPiece) or --spm_model_file (SentencePiece) is required")
    # Deliberately lazy: the tokenizer and TensorFlow load only once the flags are good.
    from albert_nb.pretraining import create
    from albert_nb.tokenizers.segmenters import get_segmenter
    from albert_nb.tokenizers.tokenization import FullTokenizer

    tokenizer = FullTokenizer(vocab_file=opts.vocab_file, do_lower_case=opts.do_lower_case,
                              spm_model_file=opts.spm_model_file)
    segmenter = get_segmenter(opts.word_segmenter)
    stats = create.run(opts.input_file, opts.output_file, tokenizer, show_progress=FLAGS.progress,
                       segmenter=segmenter,
                       input_file_mode=opts.input_file_mode, **opts.instance_kwargs())
    logging.info("Wrote %d instances (%d documents, %d tokens) to %s in %.1fs",
                 stats["num_instances"], stats["num_documents"], stats["num_tokens"],
                 ",".join(stats["output_files"]), stats["seconds"])
    print(f"wrote {stats['num_instances']} instances to {','.join(stats['output_files'])}")


if __name__ == "__main__":
    cli.run_command(main, define_flags)

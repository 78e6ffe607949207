"""Fine-tuning throughput: dynamic padding with length buckets vs the original's fixed padding.

The original pads every GLUE example to max_seq_length (512 in run_glue.sh, 128 before March
2020). Real sentences are much shorter, so most of that compute is spent on padding. This script
fine-tunes the same model with the same train step (`albert_nb.training.loop.Trainer.build_train_loop`) on
the same real English sentences, batched four ways, in one process:

    fixed-512     padded to 512 (run_glue.sh)
    fixed-128     padded to 128 (run_glue.sh before 557c37b)
    dynamic       length buckets, padded to the bucket boundary (albert_nb's default)
    dynamic+xla   the same with the train step XLA-compiled (--jit_compile)

and prints training examples/s and the ratios. Text: the VADER movie-review sentences from
`albert_nb.tasks.sentiment` when installed, else sentences of CPython's documentation
(`albert_nb.corpora.loaders.python_docs`); one sentence per example (single-sentence task, like SST-2).
Model: albert_tiny-shaped (E=128, H=312, 4 layers, 12 heads, I=1248; vocabulary of a
SentencePiece model trained here on the same text), batch 32. Default run < ~3 minutes on 2 cores.

    python benchmarks/bench_finetuning.py [--steps 8] [--batch_size 32] [--corpus auto]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Sentence:
    def __init__(self, text: str, label: int):
        self.guid, self.text_a, self.text_b, self.label = "bench", text, None, str(label)


def load_sentences(corpus: str, limit: int) -> tuple[str, list]:
    """(name, sentences) of real English text, as single-sentence examples with labels 0/1."""
    if corpus in ("auto", "sentiment"):
        try:
            from albert_nb.tasks import sentiment as sentiment_data
            from albert_nb.tasks.registry import get_task

            data_dir = sentiment_data.build_vader_sst2()
            examples = get_task("sst-2").processor.get_train_examples(data_dir)
            return "VADER movie-review sentences", [Sentence(e.text_a, int(e.label))
                                                   for e in examples[:limit]]
        except Exception as err:  # no PyPI access for the sdist: fall back to CPython's docs
            if corpus == "sentiment":
                raise SystemExit(f"--corpus=sentiment: {err}")
    from albert_nb.corpora import loaders as corpora

    sentences = [s for doc in corpora.python_docs() for s in doc if len(s.split()) >= 3]
    return "CPython documentation sentences", [Sentence(s, i % 2) for i, s in enumerate(sentences[:limit])]


def measure(features, max_seq_length: int, padding: str, jit: bool, config, batch_size: int,
            warmup: int, steps: int) -> dict:
    """Build a fresh model + optimizer, run `warmup` steps (tracing, XLA compiles), then time
    `steps` more with the shared training loop's compiled step (the one run_classifier runs).
    Returns examples/s and the mean padded length seen."""
    import tensorflow as tf

    from albert_nb.finetuning import features as fdata
    from albert_nb.finetuning.classifier import classification_loss
    from albert_nb.model.heads import AlbertForSequenceClassification
    from albert_nb.training.loop import LoopSettings, Trainer

    data = fdata.batch_dataset(fdata.features_dataset(features, False), batch_size, max_seq_length,
                               is_training=True, padding=padding, seed=0)

    class Classifier(Trainer):
        def build_model(self):
            return AlbertForSequenceClassification(config, 2)

        def compute_losses(self, outputs, batch):
            return {"loss": classification_loss(outputs["logits"], batch["label_ids"], False)}

    trainer = Classifier(LoopSettings(output_dir=tempfile.mkdtemp(prefix="bench_step_"),
                                      total_steps=1000, warmup_steps=10, learning_rate=2e-5,
                                      jit_compile=jit, seed=0))
    widths = data.map(lambda b: tf.shape(b["input_ids"])[1])
    loop = trainer.build_train_loop()
    iterator = iter(data)
    loop(iterator, tf.constant(warmup))
    start = time.perf_counter()
    loop(iterator, tf.constant(steps))
    float(trainer.global_step.numpy())  # wait for the device
    seconds = time.perf_counter() - start
    mean_width = float(sum(int(w) for w in widths.take(steps + warmup)) / (steps + warmup))
    return {"examples_per_sec": steps * batch_size / seconds, "seconds": seconds,
            "mean_padded_length": mean_width}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per setting (dynamic: x4)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_seq_length", type=int, default=512)
    parser.add_argument("--corpus", default="auto", choices=["auto", "sentiment", "python_docs"])
    parser.add_argument("--examples", type=int, default=4000)
    parser.add_argument("--skip_xla", action="store_true")
    args = parser.parse_args(argv)

    import albert_nb as an
    from albert_nb.finetuning import features as fdata
    from albert_nb.tokenizers import vocab_training
    from albert_nb.tokenizers.tokenization import FullTokenizer

    name, examples = load_sentences(args.corpus, args.examples)
    work = tempfile.mkdtemp(prefix="bench_finetuning_")
    text = os.path.join(work, "text.txt")
    with open(text, "w", encoding="utf-8") as handle:
        handle.write("\n".join(e.text_a for e in examples) + "\n")
    spm = vocab_training.train_sentencepiece([text], os.path.join(work, "spm"), vocab_size=2000,
                                             hard_vocab_limit=False)
    tokenizer = FullTokenizer(spm_model_file=spm)
    config = an.AlbertConfig.from_preset("albert_tiny").replace(vocab_size=tokenizer.vocab_size)
    features = {length: fdata.convert_examples(examples, ["0", "1"], length, tokenizer)
                for length in sorted({args.max_seq_length, 128})}
    stats = fdata.padding_stats(features[args.max_seq_length], args.max_seq_length)
    print(f"text: {len(examples)} {name}; tokens per example: mean {stats['mean_length']:.1f}, "
          f"median {stats['median_length']:.0f}, max {stats['max_length']}")
    print(f"model: albert_tiny shape (H=312, 4 layers), vocab {tokenizer.vocab_size}, "
          f"batch {args.batch_size}, AdamW; {os.cpu_count()} CPU core(s)")
    # (label, max_seq_length, padding, XLA, warm-up steps, timed steps). The dynamic runs warm up
    # longer so that every bucket shape has been traced / XLA-compiled before the clock starts.
    settings = [("fixed-512", args.max_seq_length, "max", False, 1, args.steps),
                ("fixed-128", 128, "max", False, 1, args.steps),
                ("dynamic", args.max_seq_length, "dynamic", False, 10, args.steps * 4)]
    if not args.skip_xla:
        settings.append(("dynamic+xla", args.max_seq_length, "dynamic", True, 30, args.steps * 4))
    results = {}
    for label, length, padding, jit, warmup, steps in settings:
        r = measure(features[length], length, padding, jit, config, args.batch_size, warmup, steps)
        results[label] = r
        print(f"  {label:12s} {r['examples_per_sec']:8.1f} examples/s   "
              f"(mean padded length {r['mean_padded_length']:.0f}, {steps} steps in {r['seconds']:.1f} s)")
    base = results["dynamic"]["examples_per_sec"]
    print("ratios (dynamic / fixed):")
    for label in ("fixed-512", "fixed-128"):
        print(f"  dynamic vs {label}: {base / results[label]['examples_per_sec']:.1f}x")
    if "dynamic+xla" in results:
        print(f"  dynamic+xla vs dynamic: {results['dynamic+xla']['examples_per_sec'] / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

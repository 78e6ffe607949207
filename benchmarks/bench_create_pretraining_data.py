"""Throughput and memory of create_pretraining_data on a few MB of real text.

    python benchmarks/bench_create_pretraining_data.py [--megabytes 3] [--max_seq_length 128]

The original needs TF 1.15 and keeps corpus x dupe_factor instances in RAM (its issue #204),
so it cannot run here as an in-process peer. Instead we show the property that matters:
our peak memory is bounded by the corpus, not corpus x dupe_factor. Each configuration runs in
a fresh subprocess: once untraced for instances/s, once under tracemalloc for the peak
Python-heap use of `run()` (the corpus is tokenised beforehand; process RSS is dominated by
TensorFlow's ~0.7 GB import and says nothing about the tool), for dupe_factor 1 and 10.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

CHILD = r"""
import json, resource, sys, time, tracemalloc
from albert_nb.pretraining import create as cpd
from albert_nb.tokenizers.tokenization import FullTokenizer
args = json.loads(sys.argv[1])
tok = FullTokenizer(spm_model_file=args["model"])
docs = cpd.read_documents(args["text"], tok)
import tensorflow as tf  # imported before measuring, so only instance work counts
kw = dict(documents=docs, dupe_factor=args["dupe"], max_seq_length=args["L"],
          show_progress=False, random_seed=1)
start = time.perf_counter()
stats = cpd.run(None, args["out"], tok, **kw)           # untraced: throughput
seconds = time.perf_counter() - start
tracemalloc.start()                                     # traced: Python-heap peak of run()
cpd.run(None, args["out"], tok, **kw)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"instances": stats["num_instances"], "seconds": seconds,
                  "heap_peak_mb": peak / 1e6, "tokens": stats["num_tokens"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def prepare(workdir: str, megabytes: float) -> tuple[str, str]:
    from albert_nb.corpora import loaders as corpora
    from albert_nb.tokenizers.vocab_training import train_sentencepiece

    docs = corpora.english()
    out, size = [], 0
    for doc in docs:
        out.append(doc)
        size += sum(len(s) + 1 for s in doc)
        if size >= megabytes * 1e6:
            break
    text = corpora.write_pretraining_text(out, os.path.join(workdir, "corpus.txt"))
    model = train_sentencepiece([s for d in out for s in d], os.path.join(workdir, "30k-clean"),
                                vocab_size=8000)
    return text, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=2.0)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--dupes", default="1,10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        text, model = prepare(workdir, args.megabytes)
        print(f"corpus: {os.path.getsize(text) / 1e6:.2f} MB of real English text")
        rows = {}
        for dupe in [int(d) for d in args.dupes.split(",")]:
            payload = json.dumps({"model": model, "text": text, "dupe": dupe,
                                  "L": args.max_seq_length,
                                  "out": os.path.join(workdir, f"out{dupe}.tfrecord")})
            env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
            done = subprocess.run([sys.executable, "-c", CHILD, payload], capture_output=True,
                                  text=True, env=env, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows[dupe] = row
            size = os.path.getsize(os.path.join(workdir, f"out{dupe}.tfrecord")) / 1e6
            print(f"dupe_factor={dupe:3d}: {row['instances']:7d} instances in {row['seconds']:6.1f}s "
                  f"= {row['instances'] / row['seconds']:7.0f} instances/s; run() heap peak "
                  f"{row['heap_peak_mb']:6.1f} MB; output {size:.1f} MB "
                  f"(process RSS {row['rss_mb']:.0f} MB)")
        lo, hi = min(rows), max(rows)
        ratio = rows[hi]["heap_peak_mb"] / max(rows[lo]["heap_peak_mb"], 1e-6)
        print(f"heap peak ratio dupe {hi} / dupe {lo}: {ratio:.2f} (keeping every instance in RAM, "
              f"as the original does, needs at least the output size, which grows {hi / lo:.0f}x)")


if __name__ == "__main__":
    main()

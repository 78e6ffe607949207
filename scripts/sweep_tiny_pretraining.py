"""Choose the tiny model's pretraining recipe by measurement: a short, sequential sweep.

    python scripts/sweep_tiny_pretraining.py                 # every configuration below
    python scripts/sweep_tiny_pretraining.py --only seq128_drop,seq128_drop_bf16
    python scripts/sweep_tiny_pretraining.py --list

Each configuration is the recipe the workbench had before this sweep (ORIGINAL) with a few keys
changed; it is built by the same `tiny.build` notebook 03 runs (records shared between
configurations with the same data keys), evaluated on held-out documents by `albert_nb.pretraining.evaluation`, and
printed as one Markdown table row: swapped-pair SOP AUC (balanced in-order vs swapped pairs,
single-sentence chunks excluded) with its standard error, in-order vs random-document AUC, MLM
accuracy on non-trivial pieces beside the unigram and bigram baselines, overall MLM accuracy,
and the time. Time is reported as wall seconds *and* CPU seconds of this process: the machine
is shared, so CPU seconds / 2 is the better estimate of the wall time on 2 idle cores (a lower
bound: TF's two threads are not perfectly parallel on a model this small).

Runs go to $ALBERT_NB_HOME/sweep/ and are reused when complete (delete a run's folder to
redo it). One configuration at a time, by design: the sweep must not crowd a shared machine.
The table of the last sweep is in DEVELOPING.md ("Choosing the tiny model's recipe").
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Run from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from albert_nb.io_utils import atomic_write_json  # noqa: E402
from albert_nb.paths import artifact_dir  # noqa: E402
from albert_nb.pretraining import tiny  # noqa: E402

DATA_KEYS = ("corpora", "held_out_fraction", "vocab_size", "max_seq_length",
             "max_predictions_per_seq", "dupe_factor", "seed", "drop_single_sentence_chunks",
             "objective")
# The recipe the workbench had before this sweep (seq 64, single-sentence chunks paired with a
# random document as the original does, float32, 2 heads, 2,000 steps).
ORIGINAL = {**tiny.DEFAULT, "dupe_factor": 3, "drop_single_sentence_chunks": False,
            "mixed_precision": None, "num_train_steps": 2000, "num_warmup_steps": 200,
            "save_checkpoints_steps": 500,
            "model": {**tiny.DEFAULT["model"], "num_attention_heads": 2}}
BASE = {**ORIGINAL}
SEQ128 = {"max_seq_length": 128, "max_predictions_per_seq": 20, "train_batch_size": 32,
          "dupe_factor": 2}
SHORT = {"num_train_steps": 1000, "num_warmup_steps": 100, "save_checkpoints_steps": 500}
MODEL_4H = {"num_attention_heads": 4}
DROP_BF16_4H = {**SHORT, "drop_single_sentence_chunks": True, "mixed_precision": "mixed_bfloat16",
                "model": MODEL_4H}
L2_1200_DUPE6 = {**DROP_BF16_4H, "dupe_factor": 6, "num_train_steps": 1200, "num_warmup_steps": 120,
                 "save_checkpoints_steps": 600, "model": {**MODEL_4H, "num_hidden_layers": 2}}

# name -> changes to ORIGINAL (the order is the order of the table)
CONFIGS = {
    "original_default": {},
    "seq128_drop_bf16": {**SEQ128, **SHORT, "drop_single_sentence_chunks": True,
                         "mixed_precision": "mixed_bfloat16", "model": MODEL_4H},
    "seq64_drop_bf16": {**SHORT, "drop_single_sentence_chunks": True,   # = tiny.DEFAULT
                        "mixed_precision": "mixed_bfloat16", "model": MODEL_4H},
    "seq128_drop_fp32": {**SEQ128, **SHORT, "drop_single_sentence_chunks": True,
                         "model": MODEL_4H},
    "seq128_bf16": {**SEQ128, **SHORT, "mixed_precision": "mixed_bfloat16", "model": MODEL_4H},
    "seq64_drop_bf16_lr3e-3": {**SHORT, "drop_single_sentence_chunks": True,
                               "mixed_precision": "mixed_bfloat16", "model": MODEL_4H,
                               "learning_rate": 0.003},
    # Round 2 (issue 15, second pass): the default above is 0.64; a 2-layer shared block costs
    # 0.57x the CPU time of 4 layers per step, so it gets 1.75x the steps in the same time.
    "L2_1600": {**DROP_BF16_4H, "num_train_steps": 1600, "num_warmup_steps": 160,
                "save_checkpoints_steps": 800, "model": {**MODEL_4H, "num_hidden_layers": 2}},
    # L2_1600's held-out AUC was 0.637 at step 800 and 0.627 at 1,600 (training SOP accuracy
    # 0.67): it memorises the training pairs in the second epoch. More cuts of the same text
    # (dupe_factor 6: other A/B junctions, ~2x the distinct pairs) and under one epoch.
    "L2_1200_dupe6": L2_1200_DUPE6,
    # = tiny.DEFAULT since 2026-12-04: the same in float32, so every CPU builds the same model.
    "L2_1200_dupe6_fp32": {**L2_1200_DUPE6, "mixed_precision": None},
    "seq64_drop_bf16_no_docs": {**SHORT, "drop_single_sentence_chunks": True,
                                "mixed_precision": "mixed_bfloat16", "model": MODEL_4H,
                                "corpora": ("english_wikipedia", "jane_austen")},
}


def recipe(name: str) -> dict:
    changes = CONFIGS[name]
    return {**BASE, **changes, "model": {**BASE["model"], **changes.get("model", {})}}


def data_directory(r: dict):
    key = json.dumps({k: r[k] for k in DATA_KEYS}, sort_keys=True, default=list)
    return artifact_dir("sweep") / f"data-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(name: str) -> dict:
    r = recipe(name)
    directory = artifact_dir("sweep") / name
    wall, cpu = time.perf_counter(), cpu_seconds()
    data = tiny.prepare_data(data_directory(r), recipe=r)
    data_wall, data_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    if tiny.is_complete(directory):
        return {"name": name, **tiny.summary(directory)}
    summary = tiny.build(directory, r, data=data)
    summary["timing"] = {"data_wall": data_wall, "data_cpu": data_cpu,
                         "train_eval_wall": time.perf_counter() - wall - data_wall,
                         "train_eval_cpu": cpu_seconds() - cpu - data_cpu,
                         "load_average": os.getloadavg()[0]}
    atomic_write_json(directory / tiny.MARKER, summary, sort_keys=False)
    return {"name": name, **summary}


HEADER = ("| configuration | swapped-pair SOP AUC | random-doc AUC | mixed SOP acc (majority) "
          "| MLM non-trivial (unigram / bigram) | MLM all (bigram) | train+eval s: wall / CPU "
          "| data s: CPU |\n|---|---|---|---|---|---|---|---|")


def row(result: dict) -> str:
    e, t = result["evaluation"], result.get("timing", {})
    m, s, n, x = e["mlm"], e["sop_swapped"], e["nsp_random"], e["sop_mixed"]
    return (f"| {result['name']} | {s['roc_auc']:.3f} ± {s['roc_auc_se']:.3f} | "
            f"{n['roc_auc']:.3f} | {x['accuracy']:.3f} ({x['majority_accuracy']:.3f}) | "
            f"{m['nontrivial_accuracy']:.3f} ({m['nontrivial_unigram_accuracy']:.3f} / "
            f"{m['nontrivial_bigram_accuracy']:.3f}) | {m['accuracy']:.3f} "
            f"({m['bigram_accuracy']:.3f}) | {t.get('train_eval_wall', float('nan')):.0f} / "
            f"{t.get('train_eval_cpu', float('nan')):.0f} | {t.get('data_cpu', float('nan')):.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated configuration names")
    parser.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, changes in CONFIGS.items():
            print(f"{name:24s} {changes}")
        return 0
    names = [n for n in args.only.split(",") if n] or list(CONFIGS)
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        print(f"--only: unknown configurations {unknown}; expected some of {list(CONFIGS)}",
              file=sys.stderr)
        return 2
    print(HEADER, flush=True)
    for name in names:
        print(row(run_one(name)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

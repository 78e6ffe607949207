"""Does pretraining help, and when? Learning curves with seeds, scored on a held-out test set.

For each training-set size and seed, `finetuning.run` (the code behind run_classifier) trains
twice under identical settings: from the pretrained checkpoint and from random weights. Each
run selects its best checkpoint on **dev**, as the original's GLUE numbers do; the reported
score is that checkpoint's accuracy on **test**, labelled but never looked at during training
or selection (`test_labels.tsv`). So the comparison is not flattered by picking the luckiest
checkpoint on the very set that is reported.

The gain at a size is the mean over seeds of (pretrained - scratch) test accuracy, with the
standard error of that mean: the paired difference removes the noise both runs share (same
examples, same order, same seed).
"""
from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np

from albert_nb.finetuning import classifier as finetuning
from albert_nb.tasks.registry import get_task
from albert_nb.tasks.sentiment import read_test_labels

KINDS = ("pretrained", "scratch")


def steps_for(size: int, batch_size: int, epochs: float, min_steps: int, max_steps: int) -> int:
    """Training steps for `size` examples: `epochs` passes, clipped to [min_steps, max_steps]."""
    return int(min(max_steps, max(min_steps, math.ceil(epochs * size / batch_size))))


@dataclasses.dataclass
class CurveSettings:
    sizes: tuple = (250, 1000, None)   # None: the whole training set
    seeds: tuple = (0, 1, 2)
    epochs: float = 3.0
    min_steps: int = 100
    max_steps: int = 400
    evaluations: int = 3               # dev evaluations (checkpoints) per run, the last at the end
    batch_size: int = 32
    learning_rate: float = 3e-4
    max_seq_length: int = 64


def run_curves(task_name: str, data_dir, tiny_directory, work, settings: CurveSettings,
               show=print, keep: tuple = ()) -> list[dict]:
    """Every (size, seed, kind) run; returns one record each (see module doc).

    A run's folder (checkpoints, predictions) is removed once it is scored, except for the runs
    named in `keep` (`<task>_<size>_<seed>_<kind>`, e.g. to show the files a run writes)."""
    tiny_directory, work = Path(tiny_directory), Path(work)
    task_folder = {"SST-2": "SST-2", "MRPC": "MRPC"}.get(task_name, task_name)
    labels_file = Path(data_dir) / task_folder / "test_labels.tsv"
    answers = read_test_labels(labels_file) if labels_file.is_file() else None
    train_size = _train_size(task_name, data_dir)
    records = []
    tuners = {}   # steps -> the FineTuner whose compiled steps the runs of that length share
    for size in settings.sizes:
        n = train_size if size is None else min(size, train_size)
        steps = steps_for(n, settings.batch_size, settings.epochs, settings.min_steps,
                          settings.max_steps)
        save_every = max(1, math.ceil(steps / settings.evaluations))   # exactly `evaluations`
        for seed in settings.seeds:
            for kind in KINDS:
                name = f"{task_name}_{n}_{seed}_{kind}"
                output_dir = work / name
                shutil.rmtree(output_dir, ignore_errors=True)   # a fresh run; the cache is kept
                opts = finetuning.ClassifierOptions(
                    data_dir=str(data_dir), task_name=task_name, output_dir=str(output_dir),
                    cached_dir=str(work / f"cache_{task_name}"),
                    spm_model_file=str(tiny_directory / "30k-clean.model"),
                    albert_config_file=str(tiny_directory / "albert_config.json"),
                    init_checkpoint=(str(tiny_directory / "model.ckpt-best")
                                     if kind == "pretrained" else None),
                    max_seq_length=settings.max_seq_length, do_train=True, do_eval=True,
                    do_predict=answers is not None, train_batch_size=settings.batch_size,
                    eval_batch_size=256, predict_batch_size=256,
                    learning_rate=settings.learning_rate, train_step=steps,
                    warmup_step=max(1, steps // 10), save_checkpoints_steps=save_every,
                    keep_checkpoint_max=settings.evaluations + 1, log_every_steps=save_every,
                    seed=1000 * seed + 1, max_train_examples=n)
                result = finetuning.run(opts, show=None, show_progress=False,
                                        tuner=tuners.get(steps))
                tuners[steps] = result["tuner"]
                record = {"task": task_name, "size": n, "seed": seed, "kind": kind,
                          "steps": steps, "best_step": result["best"]["global_step"],
                          "dev_accuracy": result["best"]["eval_accuracy"],
                          "history": [{"step": r["step"], "loss": r["loss"]}
                                      for r in result["history"]],
                          "eval_history": [{k: r[k] for k in ("global_step", "eval_accuracy")}
                                           for r in result["eval_history"]],
                          "test_accuracy": (_accuracy(result["predict"], answers, result["tuner"])
                                            if answers is not None else float("nan"))}
                records.append(record)
                if show is not None:
                    show(f"{name:28s} best dev {record['dev_accuracy']:.3f} at step "
                         f"{record['best_step']}/{steps}, test {record['test_accuracy']:.3f}")
                if name not in keep:   # checkpoints: not needed after
                    shutil.rmtree(output_dir, ignore_errors=True)
    return records


def _train_size(task_name: str, data_dir) -> int:
    return len(get_task(task_name).processor.get_train_examples(str(data_dir)))


def _accuracy(predicted: dict, answers: dict, tuner) -> float:
    guids = [str(ex.guid) for ex in tuner.examples("test")]   # test.tsv's index column
    right = [answers[g] == p for g, p in zip(guids, predicted["predictions"])]
    return float(np.mean(right))


def summarise(records: list[dict], metric: str = "test_accuracy") -> list[dict]:
    """Per size: mean ± s.e. over seeds of each kind, and of the paired gain (in points)."""
    out = []
    for size in sorted({r["size"] for r in records}):
        row = {"size": size}
        by_seed = {}
        for r in records:
            if r["size"] == size:
                by_seed.setdefault(r["seed"], {})[r["kind"]] = r[metric]
        for kind in KINDS:
            row[kind], row[f"{kind}_se"] = mean_se([v[kind] for v in by_seed.values()])
        gains = [100 * (v["pretrained"] - v["scratch"]) for v in by_seed.values()]
        row["gain"], row["gain_se"] = mean_se(gains)
        row["num_seeds"] = len(gains)
        out.append(row)
    return out


def low_data_size(records: list[dict]) -> int:
    """The training-set size whose **dev** gain (pretrained - scratch, mean over seeds) is the
    largest, among the sizes below the largest: "the low-data regime" the summary reports.

    Chosen on dev, the split checkpoint selection already uses, so the test gain reported at
    that size stays a number no choice has looked at.
    """
    rows = summarise(records, metric="dev_accuracy")
    candidates = rows[:-1] or rows
    return max(candidates, key=lambda row: row["gain"])["size"]


def mean_se(values) -> tuple[float, float]:
    """Mean and its standard error (sample s.d. / sqrt(n); 0 for a single value)."""
    values = np.asarray(list(values), dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()) if len(values) else float("nan"), 0.0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def gain_line(row: dict) -> str:
    """`+X.X ± Y.Y` points, the form notebook 05's summary line uses."""
    return f"{row['gain']:+.1f} ± {row['gain_se']:.1f}"

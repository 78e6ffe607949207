"""The workbench's own small pretrained ALBERTs, built on a CPU in minutes from real text.

Two languages run through the same steps: English (the default) and Chinese
(`language="zh"`, `albert_tiny_zh`: People's Daily 1998 and the Three Kingdoms, a BERT-style
WordPiece vocabulary, as Google's `albert_*_zh`).

Later notebooks fine-tune, probe and export these models, so each is saved in Google's release
layout: `albert_config.json`, `30k-clean.model` / `30k-clean.vocab` (English: SentencePiece,
ALBERT's recipe) or `vocab_chinese.txt` (Chinese: WordPiece),
`model.ckpt-best.*` + `model.ckpt-<step>.*` + `checkpoint`, `eval_results.txt`; plus
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

from albert_nb.corpora import loaders as corpora
from albert_nb.io_utils import atomic_path, atomic_write_json
from albert_nb.model.config import AlbertConfig
from albert_nb.paths import artifact_dir
from albert_nb.pretraining import create as cpd
from albert_nb.pretraining import evaluation
from albert_nb.pretraining import trainer as pretraining
from albert_nb.pretraining.evaluation import most_frequent_token_baseline
from albert_nb.pretraining.options import PretrainingOptions
from albert_nb.errors import InputError
from albert_nb.tokenizers.segmenters import get_segmenter
from albert_nb.tokenizers import vocab_training
from albert_nb.tokenizers.tokenization import FullTokenizer
from albert_nb.training import distribute
from albert_nb.training.checkpoints import checkpoint_steps

MARKER = "COMPLETE.json"
FORMAT_VERSION = 4   # 4: float32 everywhere (a v3 build may be bf16; v2 had 4 layers)
ZH_FORMAT_VERSION = 2   # albert_tiny_zh's own: the English recipe's changes are not its changes
PROBE_DUPE_FACTOR = 2   # the held-out SOP/NSP probes: two draws of pair cuts, ~2x the pairs

# The default build, chosen by scripts/sweep_tiny_pretraining.py (table in DEVELOPING.md):
# about 2 M tokens of English (CPython docs, Wikipedia and Jane Austen when installed), a 4k
# SentencePiece vocabulary, sequences of 64 with single-sentence chunks dropped (so every SOP
# label 1 is a true swap, and a step sees 64 pairs), six cuts of the text (dupe_factor 6: the
# model memorised the training pairs of three cuts in their second epoch), and a 2-layer ALBERT
# that shares one 128-wide block with 4 heads (E=64; 0.57x the CPU time of 4 layers per step),
# trained for 1,200 steps, under one epoch. float32 on every machine, so CPUs train the same
# model up to float rounding (the same printed numbers on an AVX2 EPYC and an AMX Xeon). bf16
# ("auto" picks it where the CPU has bf16 matmuls) took 0.86x the time of float32 on that Xeon
# and moved what short runs learn (notebook 09's SOP-vs-NSP gap at 100 steps: swapped-pair AUC
# 0.613 vs 0.411 in float32, 0.562 vs 0.536 in bf16). `--mixed_precision` stays the user's choice.
DEFAULT = {
    "corpora": ("python_docs", "english_wikipedia", "jane_austen"),
    "held_out_fraction": 0.1, "vocab_size": 4000, "max_seq_length": 64,
    "max_predictions_per_seq": 10, "dupe_factor": 6,
    "model": {"embedding_size": 64, "hidden_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "intermediate_size": 512},
    "train_batch_size": 64, "eval_batch_size": 128, "optimizer": "lamb", "learning_rate": 0.01,
    "num_train_steps": 1200, "num_warmup_steps": 120, "save_checkpoints_steps": 600,
    "log_every_steps": 25, "max_eval_steps": 100, "seed": 12345,
    "drop_single_sentence_chunks": True, "objective": "sop", "mixed_precision": None,
}
# CI: the same pipeline, a sliver of it. Built in its own directory, never mistaken for the above.
SMOKE = {
    **DEFAULT, "corpora": ("python_docs",), "held_out_fraction": 0.1, "vocab_size": 1000,
    "dupe_factor": 1, "model": {"embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
                                "num_attention_heads": 2, "intermediate_size": 64},
    "train_batch_size": 16, "eval_batch_size": 64, "num_train_steps": 20, "num_warmup_steps": 2,
    "save_checkpoints_steps": 10, "log_every_steps": 5, "max_eval_steps": 5,
}


# Chinese (albert_tiny_zh), sized for notebook 08's budget. A WordPiece vocabulary built from
# the text; character-level masking, the original's (every CJK character is a word):
# "word_segmenter": "jieba" switches on whole-word masking, harder to learn in this few steps.
# People's Daily is read from the start of the month only (`max_characters` per corpus), so
# the NER dev/test paragraphs (albert_nb.tasks.peoples_daily_ner takes them from the end) stay
# unseen.
ZH_DEFAULT = {
    **DEFAULT, "corpora": ("peoples_daily", "three_kingdoms"), "tokenizer": "wordpiece",
    "word_segmenter": None, "max_characters": 200_000, "held_out_fraction": 0.05,
    # Its own shape, 4 layers (the English default went to 2 layers for its SOP budget).
    "dupe_factor": 1, "model": {"embedding_size": 64, "hidden_size": 128, "num_hidden_layers": 4,
                                "num_attention_heads": 4, "intermediate_size": 512,
                                "hidden_act": "relu"},
    "train_batch_size": 32, "num_train_steps": 600, "num_warmup_steps": 50,
    "save_checkpoints_steps": 300, "log_every_steps": 50, "max_eval_steps": 10,
}
ZH_SMOKE = {**ZH_DEFAULT, "max_characters": 20_000, "vocab_size": 1000, "model": SMOKE["model"],
            **{k: SMOKE[k] for k in ("train_batch_size", "eval_batch_size", "num_train_steps",
                                     "num_warmup_steps", "save_checkpoints_steps",
                                     "log_every_steps", "max_eval_steps")}}
RECIPES = {("en", False): DEFAULT, ("en", True): SMOKE, ("zh", False): ZH_DEFAULT,
           ("zh", True): ZH_SMOKE}
LANGUAGES = ("en", "zh")


def settings(smoke: bool = False, recipe: dict | None = None, language: str = "en") -> dict:
    """The build's settings; `recipe` (a dict of the same keys) replaces them, as the sweep in
    scripts/sweep_tiny_pretraining.py and the ablations of notebook 09 do."""
    if language not in LANGUAGES:
        raise InputError(f"language={language!r}: the tiny models are {list(LANGUAGES)}")
    return dict(recipe) if recipe is not None else dict(RECIPES[(language, bool(smoke))])


def artifact_directory(smoke: bool = False, language: str = "en") -> Path:
    # The name carries the format version: an older build stays where it is, untouched.
    settings(smoke, language=language)   # validates the language
    zh, version = ("_zh", ZH_FORMAT_VERSION) if language == "zh" else ("", FORMAT_VERSION)
    return artifact_dir(f"tiny_pretrained{zh}_v{version}" + ("_smoke" if smoke else ""))


def first_characters(documents, limit: int | None) -> list:
    """The leading documents of a corpus holding about `limit` characters (all when None)."""
    if limit is None:
        return list(documents)
    out, total = [], 0
    for document in documents:
        if total >= limit:
            break
        out.append(document)
        total += sum(len(s) for s in document)
    return out


def is_complete(directory) -> bool:
    return (Path(directory) / MARKER).is_file()


def prepare_data(directory, smoke: bool = False, show_progress: bool = False,
                 recipe: dict | None = None, like: dict | None = None) -> dict:
    """Corpus text -> train/held-out split by document -> SentencePiece -> TFRecords.

    Besides the original's held-out set (`held`), two balanced probes of the held-out text are
    written for `evaluation.sop_report`: `held_sop` (in order vs swapped, single-sentence
    chunks dropped) and `held_nsp` (in order vs B from a random document). Files already
    present are reused (each was written atomically, so present means whole). Returns the
    paths, the tokenizer and corpus statistics.
    """
    s = settings(smoke, recipe)
    directory = Path(directory)
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    paths = {"train_txt": data / "train.txt", "held_txt": data / "held_out.txt",
             "train": data / "train.tfrecord", "held": data / "held_out.tfrecord",
             "held_sop": data / "held_out_swapped_pairs.tfrecord",
             "held_nsp": data / "held_out_random_pairs.tfrecord",
             "spm": directory / "30k-clean.model", "stats": data / "stats.json"}
    names = [n for n in s["corpora"] if corpora.is_available(n)]
    if not names:
        raise InputError(f"none of the corpora {list(s['corpora'])} is installed: run "
                         f"`bash {corpora.INSTALL_SCRIPT}`")
    wordpiece = s.get("tokenizer", "sentencepiece") == "wordpiece"
    if wordpiece:
        paths["vocab"] = paths.pop("spm").with_name("vocab_chinese.txt")
    if like is not None:
        for key in ("train_txt", "held_txt", "held_sop", "held_nsp"):
            _copy_missing(like[key], paths[key])
        for suffix in (".vocab", ".model"):   # .model last: its presence means "vocabulary done"
            _copy_missing(Path(like["spm"]).with_suffix(suffix), paths["spm"].with_suffix(suffix))
    if not paths["held_txt"].is_file():
        documents = [doc for name in names
                     for doc in first_characters(corpora.load(name), s.get("max_characters"))]
        train, held = corpora.split_documents(documents, s["held_out_fraction"], seed=s["seed"])
        corpora.write_pretraining_text(train, paths["train_txt"])
        corpora.write_pretraining_text(held, paths["held_txt"])
    if wordpiece:
        if not paths["vocab"].is_file():
            vocab_training.build_wordpiece_vocab([paths["train_txt"]], paths["vocab"], s["vocab_size"])
        tokenizer = FullTokenizer(vocab_file=paths["vocab"])
    else:
        if not paths["spm"].is_file():
            vocab_training.train_sentencepiece([paths["train_txt"]], directory / "30k-clean",
                                               vocab_size=s["vocab_size"], seed=s["seed"],
                                               input_sentence_size=300_000)
        tokenizer = FullTokenizer(spm_model_file=paths["spm"])
    segmenter = get_segmenter(s.get("word_segmenter"))
    options = dict(max_seq_length=s["max_seq_length"],
                   max_predictions_per_seq=s["max_predictions_per_seq"],
                   random_seed=s["seed"], show_progress=show_progress)
    if not paths["stats"].is_file():
        train_docs = cpd.read_documents(str(paths["train_txt"]), tokenizer, segmenter=segmenter)
        held_docs = cpd.read_documents(str(paths["held_txt"]), tokenizer, segmenter=segmenter)
        drop = s.get("drop_single_sentence_chunks", False)
        objective = s.get("objective", "sop")   # "nsp": BERT's random-document pairs
        stats = {"corpora": names}
        probes = ("held_sop", "held_nsp")
        if like is not None:   # the probes were copied: the same files, the same statistics
            stats.update({key: like["stats"][key] for key in probes})
        for key, docs, dupe, extra in (
                ("train", train_docs, s["dupe_factor"], dict(
                    drop_single_sentence_chunks=drop, random_next_sentence=objective == "nsp")),
                ("held", held_docs, 1, dict(drop_single_sentence_chunks=drop,
                                            random_next_sentence=objective == "nsp")),
                ("held_sop", held_docs, PROBE_DUPE_FACTOR, dict(drop_single_sentence_chunks=True)),
                ("held_nsp", held_docs, PROBE_DUPE_FACTOR, dict(drop_single_sentence_chunks=True,
                                                                 random_next_sentence=True))):
            if like is not None and key in probes:
                continue
            stats[{"held": "held_out"}.get(key, key)] = cpd.run(
                None, str(paths[key]), tokenizer, documents=docs, dupe_factor=dupe,
                **options, **extra)
        atomic_write_json(paths["stats"], stats)
    stats = json.loads(paths["stats"].read_text(encoding="utf-8"))
    return {**{k: str(v) for k, v in paths.items()}, "tokenizer": tokenizer, "stats": stats}


def _copy_missing(source, target) -> None:
    if not Path(target).is_file():
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)


def write_config(directory, vocab_size: int, smoke: bool = False,
                 recipe: dict | None = None) -> str:
    s = settings(smoke, recipe)
    config = AlbertConfig(vocab_size=vocab_size, max_position_embeddings=s["max_seq_length"],
                          **s["model"])
    path = os.path.join(directory, "albert_config.json")
    config.to_json_file(path)
    return path


def options(directory, smoke: bool = False, recipe: dict | None = None, data: dict | None = None):
    """The PretrainingOptions of the build (the same run as the CLI would do). `data`: the
    paths of `prepare_data` when the records live elsewhere (the sweep shares them)."""
    s = settings(smoke, recipe)
    records = Path(directory) / "data"
    train_file = data["train"] if data else str(records / "train.tfrecord")
    held_file = data["held"] if data else str(records / "held_out.tfrecord")
    return PretrainingOptions(
        input_file=train_file, eval_input_file=held_file,
        output_dir=str(directory), albert_config_file=str(Path(directory) / "albert_config.json"),
        max_seq_length=s["max_seq_length"], max_predictions_per_seq=s["max_predictions_per_seq"],
        do_train=True, do_eval=True, train_batch_size=s["train_batch_size"],
        eval_batch_size=s["eval_batch_size"], optimizer=s["optimizer"],
        learning_rate=s["learning_rate"], num_train_steps=s["num_train_steps"],
        num_warmup_steps=s["num_warmup_steps"], save_checkpoints_steps=s["save_checkpoints_steps"],
        keep_checkpoint_max=2, iterations_per_loop=s["log_every_steps"],
        log_every_steps=s["log_every_steps"], max_eval_steps=s["max_eval_steps"], seed=s["seed"],
        mixed_precision=s.get("mixed_precision"))


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
           show=None, recipe: dict | None = None) -> dict:
    """Evaluate on held-out documents, write eval_results.txt and model.ckpt-best, compare with
    the baselines (constant, unigram, bigram; swapped-only and random-document pairs, see
    `albert_nb.pretraining.evaluation`), then write the completion marker. Returns the summary."""
    s = settings(smoke, recipe)
    # The newest checkpoint's metrics, and the weights the reports below score: evaluating the
    # model again here would repeat the last pass of evaluate_checkpoints.
    final = results = trainer.evaluate_checkpoints(show=show)
    mlm_base = most_frequent_token_baseline(trainer.eval_dataset())
    sop_base = sop_majority_baseline(trainer.eval_dataset())
    report = evaluation.held_out_report(trainer.model, data, s["max_seq_length"],
                                        s["max_predictions_per_seq"], data["tokenizer"],
                                        max_examples=s.get("max_report_examples"))
    summary = {"format_version": FORMAT_VERSION, "held_out": final, "checkpoint_eval": results,
               "mlm_baseline": mlm_base, "sop_baseline": sop_base, "evaluation": report,
               "summary_line": evaluation.summary_line(report),
               "corpora": data["stats"]["corpora"], "settings": s, "smoke": smoke,
               "wall_seconds": None if started is None else time.time() - started}
    atomic_write_json(Path(directory) / MARKER, summary, sort_keys=False)
    return summary


def sop_majority_baseline(dataset) -> dict:
    """Accuracy of always answering the more frequent sentence-order label of the set."""
    labels = np.concatenate([b["next_sentence_labels"].numpy().ravel() for b in dataset])
    share = float(labels.mean())
    return {"label": int(share >= 0.5), "accuracy": max(share, 1 - share),
            "num_examples": int(labels.size)}


def summary(directory) -> dict:
    return json.loads((Path(directory) / MARKER).read_text(encoding="utf-8"))


def build_tiny_pretrained(smoke: bool = False, on_log=None, show_progress: bool = True,
                          force: bool = False, language: str = "en") -> Path:
    """Build (or reuse) a tiny pretrained model; returns its directory (see module doc).
    language="zh" builds albert_tiny_zh."""
    directory = artifact_directory(smoke, language)
    if is_complete(directory) and not force:
        return directory
    if force:
        shutil.rmtree(directory)
        directory = artifact_directory(smoke, language)
    build(directory, settings(smoke, language=language), smoke=smoke, on_log=on_log,
          show_progress=show_progress)
    return directory


def build(directory, recipe: dict, smoke: bool = False, data: dict | None = None, on_log=None,
          show_progress: bool = False) -> dict:
    """The whole pipeline of one recipe into `directory` (resumable); returns the summary.

    `data`: records already prepared by `prepare_data` elsewhere (the sweep and notebook 09
    train several models on the same records); by default they are made in `directory`.
    """
    directory = Path(directory)
    if is_complete(directory):
        return summary(directory)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if data is None:
        data = prepare_data(directory, smoke, show_progress=show_progress, recipe=recipe)
    if "spm" in data and data["spm"] != str(directory / "30k-clean.model"):
        for suffix in (".model", ".vocab"):   # the release layout: the vocabulary travels along
            shutil.copyfile(data["spm"][: -len(".model")] + suffix, directory / f"30k-clean{suffix}")
    write_config(directory, data["tokenizer"].vocab_size, smoke, recipe)
    trainer = pretraining.Pretrainer(options(directory, smoke, recipe, data))
    try:
        train(trainer, directory, on_log=on_log, show_progress=show_progress)
        return finish(trainer, directory, data, smoke=smoke, started=started, recipe=recipe)
    finally:
        distribute.set_precision(None)   # a bf16 recipe must not change the caller's models

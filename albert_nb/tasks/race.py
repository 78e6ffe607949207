"""RACE (and any 4-way multiple choice in RACE's layout) -> `MultipleChoiceExample`s.

Layout: `<data_dir>/RACE/{train,dev,test}/{middle,high}/`, each article one JSON object

    {"id": "high1.txt", "article": "...", "questions": [...], "options": [[4 strings], ...],
     "answers": ["A", ...]}

either as RACE is distributed (one `N.txt` file per article) or as the original's `all.txt`
(one article per line), which is what google-research/ALBERT reads. A level folder with `all.txt`
is read from it alone (it holds the same articles as the `N.txt` files); otherwise every `*.txt`.

As the original's `RaceProcessor`, levels are read middle first, then high; `--high_only` /
`--middle_only` keep one. Each question with its 4 options becomes one example: an option fills the
question's "_" when there is one (cloze questions), else it follows the question after a space.

`MultipleChoiceExample` is tokenizer-agnostic and not RACE-specific (a ChID-style idiom cloze fills
`context` and `endings` the same way); `albert_nb.finetuning.multiple_choice` turns it into features.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import os

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_write_text

LABELS = ("A", "B", "C", "D")
LEVELS = ("middle", "high")
SPLITS = ("train", "dev", "test")


@dataclasses.dataclass
class MultipleChoiceExample:
    """One question: the context (article), one text per option (question + option), the label."""

    example_id: str
    context: str
    endings: list[str]
    label: int
    level: str = ""
    question: str = ""
    options: list[str] = dataclasses.field(default_factory=list)


def qa_text(question: str, option: str) -> str:
    """The original's rule: fill the cloze blank "_" with the option, else append it."""
    return question.replace("_", option) if "_" in question else " ".join([question, option])


def examples_from_article(data: dict, where: str, level: str = "") -> list[MultipleChoiceExample]:
    for key in ("article", "questions", "options", "answers"):
        if key not in data:
            raise InputError(f"{where}: missing key {key!r} (RACE layout: article, questions, "
                             "options, answers, id)")
    questions, options, answers = data["questions"], data["options"], data["answers"]
    if not (len(questions) == len(options) == len(answers)):
        raise InputError(f"{where}: {len(questions)} questions, {len(options)} option lists and "
                         f"{len(answers)} answers; expected one of each per question")
    out = []
    for i, (question, opts, answer) in enumerate(zip(questions, options, answers)):
        if not isinstance(opts, list) or len(opts) != len(LABELS):
            count = len(opts) if isinstance(opts, list) else type(opts).__name__
            raise InputError(f"{where}: question {i} has {count} options; expected 4 (A-D)")
        if answer not in LABELS:
            raise InputError(f"{where}: question {i} has answer {answer!r}; expected one of A, B, C, D")
        out.append(MultipleChoiceExample(
            example_id=f"{data.get('id', os.path.basename(where))}-{i}", context=data["article"],
            endings=[qa_text(question, o) for o in opts], label=LABELS.index(answer), level=level,
            question=question, options=list(opts)))
    return out


def _load_line(line: str, where: str) -> dict:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: malformed JSON at column {err.colno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object per article")
    return data


def read_level(directory: str, level: str = "") -> list[MultipleChoiceExample]:
    """One `{split}/{level}` folder: all.txt if present, else every per-article *.txt."""
    all_txt = os.path.join(directory, "all.txt")
    examples = []
    if os.path.isfile(all_txt):
        with open(all_txt, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    examples += examples_from_article(_load_line(line, f"{all_txt} line {number}"),
                                                      f"{all_txt} line {number}", level)
        return examples
    for path in sorted(glob.glob(os.path.join(directory, "*.txt")), key=_natural):
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
        examples += examples_from_article(_load_line(text, path), path, level)
    return examples


def _natural(path: str):
    stem = os.path.splitext(os.path.basename(path))[0]
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def levels(high_only: bool = False, middle_only: bool = False) -> list[str]:
    if high_only and middle_only:
        raise InputError("--high_only and --middle_only exclude each other")
    return [lv for lv in LEVELS if not (lv == "middle" and high_only) and not (lv == "high" and middle_only)]


def read_race(data_dir: str, split: str, high_only: bool = False,
              middle_only: bool = False) -> list[MultipleChoiceExample]:
    """`data_dir/RACE/<split>/{middle,high}` -> examples (the original's get_*_examples)."""
    if split not in SPLITS:
        raise InputError(f"RACE split {split!r}: expected one of {SPLITS}")
    root = os.path.join(data_dir, "RACE", split)
    examples, found = [], False
    for level in levels(high_only, middle_only):
        directory = os.path.join(root, level)
        if os.path.isdir(directory):
            found = True
            examples += read_level(directory, level)
    if not found:
        raise InputError(f"--data_dir={data_dir!r}: no {root}/{{middle,high}}/ folder "
                         "(expected RACE/{train,dev,test}/{middle,high}/ with all.txt or N.txt files)")
    return examples


def write_race(data_dir: str, split: str, level: str, articles: list[dict],
               per_article_files: bool = True) -> str:
    """Write articles in RACE's layout: N.txt per article (as distributed) and all.txt."""
    directory = os.path.join(data_dir, "RACE", split, level)
    os.makedirs(directory, exist_ok=True)
    if per_article_files:
        for number, article in enumerate(articles, 1):
            atomic_write_text(os.path.join(directory, f"{number}.txt"),
                              json.dumps(article, ensure_ascii=False))
    atomic_write_text(os.path.join(directory, "all.txt"),
                      "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles))
    return directory

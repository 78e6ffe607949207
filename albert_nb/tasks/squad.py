"""SQuAD v1.1 / v2.0 files (and CMRC2018, which uses the same JSON layout) -> `SquadExample`s.

The official layout, read unchanged (a Colab user passes the real `train-v1.1.json`):

    {"version": "v2.0", "data": [{"title": ..., "paragraphs": [
        {"context": "...", "qas": [{"id": ..., "question": ..., "is_impossible": false,
                                     "answers": [{"text": ..., "answer_start": 42}]}]}]}]}

`is_impossible` (v2.0) marks a question without an answer in its paragraph; v1.1 files have no
such key. As the original's `read_squad_examples`: for training each answerable question must
have exactly one answer; for prediction every gold answer text is kept for the metrics.

Unlike the original, bad input stops with one line naming the file and the question: malformed
JSON, a missing key, an empty context, an `answer_start` that does not point at the answer text
(the original would silently train on the wrong span).
"""
from __future__ import annotations

import dataclasses
import json
import os

from albert_nb.errors import InputError, require_file
from albert_nb.io_utils import atomic_write_json


@dataclasses.dataclass
class SquadExample:
    """One question on one paragraph. `start_position` is a *character* offset into
    `paragraph_text` (the original's name); -1 and "" for an impossible question."""

    qas_id: str
    question_text: str
    paragraph_text: str
    orig_answer_text: str | None = None
    start_position: int | None = None
    is_impossible: bool = False
    answers: tuple[str, ...] = ()           # every gold answer text (evaluation)
    title: str = ""


def load_json(path) -> dict:
    """The file's JSON object, or one InputError line (file, line, column, what was wrong)."""
    path = require_file(path, "SQuAD file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 (byte {err.start}); expected a SQuAD JSON file") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: "
                         f"{err.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{path}: expected a JSON object with a \"data\" list (SQuAD layout)")
    return data


def _get(obj, key, kind, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise InputError(f"{where}: missing key {key!r} (SQuAD layout)")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{where}: {key!r} should be {names}, got {type(value).__name__}")
    return value


def examples_from_data(data: dict, is_training: bool, source: str = "<data>") -> list[SquadExample]:
    """SQuAD JSON (already parsed) -> examples, in file order."""
    examples = []
    for a, article in enumerate(data["data"]):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, paragraph in enumerate(_get(article, "paragraphs", list, f"{source}: data[{a}]")):
            where = f"{source}: data[{a}] ({title!r}) paragraph {p}"
            context = _get(paragraph, "context", str, where)
            if not context.strip():
                raise InputError(f"{where} has an empty context")
            for qa in _get(paragraph, "qas", list, where):
                qid = str(_get(qa, "id", (str, int), where))
                question = _get(qa, "question", str, f"{where} question {qid!r}")
                answers = qa.get("answers", []) if isinstance(qa, dict) else []
                if not isinstance(answers, list):
                    raise InputError(f"{source}: question {qid!r}: 'answers' should be a list")
                is_impossible = bool(qa.get("is_impossible", False))
                texts = []
                for answer in answers:
                    text = _get(answer, "text", str, f"{source}: question {qid!r} answer")
                    texts.append(text)
                example = SquadExample(qas_id=qid, question_text=question, paragraph_text=context,
                                       is_impossible=is_impossible, answers=tuple(texts), title=title)
                if is_training:
                    if is_impossible:
                        example.start_position, example.orig_answer_text = -1, ""
                    else:
                        if len(answers) != 1:
                            raise InputError(f"{source}: question {qid!r} has {len(answers)} answers; "
                                             "for training each answerable question needs exactly 1")
                        start = _get(answers[0], "answer_start", int,
                                     f"{source}: question {qid!r} answer")
                        check_answer_start(context, texts[0], start, f"{source}: question {qid!r}")
                        example.start_position, example.orig_answer_text = start, texts[0]
                examples.append(example)
    return examples


def check_answer_start(context: str, text: str, start: int, where: str) -> None:
    """The answer text must sit at `answer_start` in the context, character for character."""
    if not text.strip():
        raise InputError(f"{where}: empty answer text (mark it \"is_impossible\": true instead)")
    found = context[start:start + len(text)] if 0 <= start < len(context) else ""
    if found != text:
        raise InputError(f"{where}: answer_start={start} does not point at the answer text "
                         f"{text!r} (the context has {found!r} there)")


def read_squad_examples(input_file, is_training: bool) -> list[SquadExample]:
    """The original's entry point: a SQuAD v1.1/v2.0 (or CMRC2018) JSON file -> examples."""
    path = os.fspath(input_file)
    return examples_from_data(load_json(path), is_training, source=path)


def is_v2(data: dict) -> bool:
    """Does the file carry unanswerable questions (v2.0 layout)?"""
    return str(data.get("version", "")).startswith("v2") or any(
        "is_impossible" in qa for article in data["data"] for p in article.get("paragraphs", [])
        for qa in p.get("qas", []))


def write_squad_json(path, articles: list[dict], version: str) -> str:
    """Write `{"version", "data"}` atomically (the builders of real-text sets use this)."""
    atomic_write_json(path, {"version": version, "data": articles}, indent=None, sort_keys=False)
    return os.fspath(path)

"""Readers for the CLUE classification tasks (Chinese), one JSON object per line.

Formats, as in the CLUE release (`<task>/{train,dev,test}.json`) and its baseline processors:

    task         text_a                      text_b      label            notes
    AFQMC        sentence1                   sentence2   "0"/"1"
    TNEWS        sentence                    -           "100".."116"     15 codes (no 105, 111)
    IFLYTEK      sentence                    -           "0".."118"
    CMNLI/OCNLI  sentence1                   sentence2   NLI 3-way        rows labelled "-" dropped
    CSL          keywords joined by " "      abst        "0"/"1"          are all keywords genuine?
    CLUEWSC2020  text with _span1_, [span2]  -           "true"/"false"   markers inlined

guid is the file's `id` (WSC: `idx`) when present, else "<split>-<0-based line>", so that CLUE
submissions can echo the ids back. Test rows carry `label=None`.

`JsonClassificationProcessor` is the generic reader (field names as parameters); the real-data
Chinese sentiment task in `albert_nb.tasks.sentiment` reuses it with sentence/label keys.
"""
from __future__ import annotations

import json
import os
from typing import Optional, Sequence

from albert_nb.errors import InputError
from albert_nb.tasks.glue import InputExample, SplitReader

_MISSING = object()


class JsonClassificationProcessor(SplitReader):
    """Reads `<data_dir>/<folder>/{train,dev,test}.json`, one JSON object per line.

    text_a_key / text_b_key / label_key name the fields; subclasses override `make_texts` when a
    task builds its text from several fields (CSL, WSC). Rows whose label is in `drop_labels`
    are skipped (NLI rows without annotator agreement are labelled "-").
    """

    name: str = ""
    folder: str = ""
    alt_folders: tuple = ()
    labels: tuple = ()
    files = {"train": "train.json", "dev": "dev.json", "test": "test.json"}
    text_a_key: str = "sentence"
    text_b_key: Optional[str] = None
    label_key: str = "label"
    id_keys: tuple = ("id",)
    drop_labels: tuple = ()
    is_regression = False

    def __init__(self, name: str | None = None, folder: str | None = None,
                 labels: Sequence[str] | None = None, text_a_key: str | None = None,
                 text_b_key: str | None = None, label_key: str | None = None):
        # Instance overrides let a new JSON-lines task be declared without a subclass.
        for attr, value in (("name", name), ("folder", folder), ("text_a_key", text_a_key),
                            ("text_b_key", text_b_key), ("label_key", label_key)):
            if value is not None:
                setattr(self, attr, value)
        if labels is not None:
            self.labels = tuple(str(l) for l in labels)
        self.last_dropped = 0

    # ---------------------------------------------------------------- public API (original names)
    def get_labels(self) -> list[str]:
        return list(self.labels)

    def get_examples(self, data_dir, split: str) -> list[InputExample]:
        if split not in self.files:
            raise InputError(f"task {self.name!r} has no {split!r} split (it has: {', '.join(self.files)})")
        path = self.split_path(data_dir, split)
        examples, dropped = [], 0
        for line_no, record in self.read_json_lines(path):
            example = self._example(record, split, path, line_no)
            if example is None:
                dropped += 1
            else:
                examples.append(example)
        self.last_dropped = dropped
        return examples

    # ---------------------------------------------------------------- locating files
    def expected_files(self) -> list[str]:
        return [os.path.join(self.folder, f) for f in self.files.values()]

    def split_path(self, data_dir, split: str) -> str:
        """`data_dir/<folder>/<file>` (also the release's `<folder>_public`), or `data_dir/<file>`."""
        if data_dir is None or not os.path.isdir(os.fspath(data_dir)):
            raise InputError(f"--data_dir={data_dir!r} is not a directory; expected the folder "
                             f"holding {', '.join(self.expected_files())}")
        data_dir = os.fspath(data_dir)
        file = self.files[split]
        folders = (self.folder, *self.alt_folders, f"{self.folder}_public", "")
        candidates = [os.path.join(data_dir, folder, file) for folder in folders]
        for path in candidates:
            if os.path.isfile(path):
                return path
        raise InputError(f"{self.name} {split} file not found: {candidates[0]!r} (nor "
                         f"{', '.join(repr(c) for c in candidates[1:])}); expected under --data_dir: "
                         f"{', '.join(self.expected_files())}")

    # ---------------------------------------------------------------- reading
    @staticmethod
    def read_json_lines(path: str):
        """Yield (line number, dict) for each non-blank line; a bad line is an InputError."""
        try:
            with open(path, encoding="utf-8-sig") as handle:
                for line_no, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise InputError(f"{path}, line {line_no}: not a JSON object ({err.msg} at "
                                         f"column {err.colno})") from None
                    if not isinstance(record, dict):
                        raise InputError(f"{path}, line {line_no}: expected a JSON object, got "
                                         f"{type(record).__name__}")
                    yield line_no, record
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not valid UTF-8 text ({err.reason} at byte {err.start})") from None

    @staticmethod
    def field(record: dict, key: str, path: str, line_no: int):
        value = record.get(key, _MISSING)
        if value is _MISSING:
            raise InputError(f"{path}, line {line_no}: missing field {key!r} (has: {sorted(record)})")
        return value

    def make_texts(self, record: dict, path: str, line_no: int) -> tuple[str, Optional[str]]:
        text_a = str(self.field(record, self.text_a_key, path, line_no))
        text_b = None if self.text_b_key is None else str(self.field(record, self.text_b_key, path, line_no))
        return text_a, text_b

    def _guid(self, record: dict, split: str, line_no: int) -> str:
        for key in self.id_keys:
            if key in record:
                return str(record[key])
        return f"{split}-{line_no - 1}"     # CLUE's own guid: split and 0-based line index

    def _example(self, record: dict, split: str, path: str, line_no: int) -> Optional[InputExample]:
        label = None
        if split != "test":
            label = str(self.field(record, self.label_key, path, line_no)).strip()
            if label in self.drop_labels:
                return None
            if label not in self.labels:
                raise InputError(f"{path}, line {line_no}: label {label!r} is not one of "
                                 f"{list(self.labels)} for {self.name}")
        text_a, text_b = self.make_texts(record, path, line_no)
        return InputExample(guid=self._guid(record, split, line_no), text_a=text_a, text_b=text_b,
                            label=label)


# ---------------------------------------------------------------------------- CLUE tasks
NLI3 = ("contradiction", "entailment", "neutral")


class AfqmcProcessor(JsonClassificationProcessor):
    """Ant Financial question matching: are the two questions the same intent?"""

    name, folder, labels = "AFQMC", "afqmc", ("0", "1")
    text_a_key, text_b_key = "sentence1", "sentence2"


class TnewsProcessor(JsonClassificationProcessor):
    """Toutiao news headline topic, 15 classes coded 100..116 (105 and 111 are unused)."""

    name, folder = "TNEWS", "tnews"
    labels = tuple(str(100 + i) for i in range(17) if i not in (5, 11))


class IflytekProcessor(JsonClassificationProcessor):
    """App description -> one of 119 app categories (codes "0".."118")."""

    name, folder = "IFLYTEK", "iflytek"
    labels = tuple(str(i) for i in range(119))


class CmnliProcessor(JsonClassificationProcessor):
    """Chinese MNLI (translated); rows labelled "-" (no gold label) are dropped."""

    name, folder, labels = "CMNLI", "cmnli", NLI3
    text_a_key, text_b_key = "sentence1", "sentence2"
    drop_labels = ("-",)


class OcnliProcessor(CmnliProcessor):
    """Original Chinese NLI (written natively, replaced CMNLI on the leaderboard)."""

    name, folder = "OCNLI", "ocnli"


class CslProcessor(JsonClassificationProcessor):
    """Paper keyword recognition: are all the listed keywords genuine keywords of the abstract?

    text_a is the keywords joined by single spaces, text_b the abstract, as CLUE's processor does.
    """

    name, folder, labels = "CSL", "csl", ("0", "1")

    def make_texts(self, record, path, line_no):
        keywords = self.field(record, "keyword", path, line_no)
        if not isinstance(keywords, list):
            raise InputError(f"{path}, line {line_no}: field 'keyword' should be a list of strings, "
                             f"got {type(keywords).__name__}")
        return " ".join(str(k) for k in keywords), str(self.field(record, "abst", path, line_no))


def mark_wsc_spans(text: str, span1_index: int, span1_text: str, span2_index: int,
                   span2_text: str) -> str:
    """Inline CLUE's WSC markers: `_span1_` around the candidate noun, `[span2]` around the pronoun.

    Indices are character offsets into `text`. The spans are marked from the right so that
    inserting one marker does not shift the other span's offset.
    """
    marks = sorted([(span1_index, span1_text, "_", "_"), (span2_index, span2_text, "[", "]")],
                   key=lambda m: m[0], reverse=True)
    for start, span, left, right in marks:
        end = start + len(span)
        text = text[:start] + left + text[start:end] + right + text[end:]
    return text


class WscProcessor(JsonClassificationProcessor):
    """CLUEWSC2020 pronoun resolution: does the pronoun (span2) refer to the noun (span1)?"""

    name, folder, labels = "CLUEWSC2020", "cluewsc2020", ("true", "false")
    alt_folders = ("wsc",)
    id_keys = ("idx", "id")

    def make_texts(self, record, path, line_no):
        text = str(self.field(record, "text", path, line_no))
        target = self.field(record, "target", path, line_no)
        try:
            s1, t1 = int(target["span1_index"]), str(target["span1_text"])
            s2, t2 = int(target["span2_index"]), str(target["span2_text"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path}, line {line_no}: 'target' needs span1_index, span1_text, "
                             f"span2_index, span2_text; got {target!r}") from None
        for index, span, which in ((s1, t1, "span1"), (s2, t2, "span2")):
            if text[index:index + len(span)] != span:
                raise InputError(f"{path}, line {line_no}: {which}_text {span!r} is not at "
                                 f"{which}_index {index} of the text (found "
                                 f"{text[index:index + len(span)]!r})")
        return mark_wsc_spans(text, s1, t1, s2, t2), None


PROCESSORS = {
    "afqmc": AfqmcProcessor, "tnews": TnewsProcessor, "iflytek": IflytekProcessor,
    "cmnli": CmnliProcessor, "ocnli": OcnliProcessor, "csl": CslProcessor,
    "cluewsc2020": WscProcessor,
}

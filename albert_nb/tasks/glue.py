"""Readers for the official GLUE files, with the columns and label sets of the original ALBERT.

The original (`classifier_utils.py`) has one processor class per task, each hard-coding which
tab-separated column holds which text. Here the same facts are written as a small table of
`Layout`s, one per split file, so a reader can see every task's format at a glance:

    task   file(s)                                   header  guid  text_a  text_b  label
    CoLA   train/dev.tsv                              no     row    3       -      1
           test.tsv                                   yes    0      1       -      -
    SST-2  train/dev.tsv                              yes    row    0       -      1
           test.tsv                                   yes    0      1       -      -
    MRPC   train/dev.tsv                              yes    row    3       4      0
           test.tsv                                   yes    0      3       4      -
    STS-B  train/dev.tsv                              yes    0      7       8      last (float)
    QQP    train/dev.tsv (malformed rows skipped)     yes    0      3       4      5
           test.tsv                                   yes    0      1       2      -
    MNLI   train, dev_(mis)matched, test_(mis)matched yes    0      8       9      last
    QNLI, RTE, WNLI                                   yes    0      1       2      last
    AX     diagnostic/diagnostic.tsv (no train)       yes    0      1       2      -
           diagnostic/diagnostic-full.tsv as "dev"    yes    row    Premise Hypoth. Label (by header)

"row" means the guid is "<split>-<row number>" as in the original. Test rows carry `label=None`
(the original put a dummy label there; None cannot be mistaken for a real one).

Text is passed through untouched: lower-casing and `preprocess_text` are the tokenizer's job,
so the same examples serve cased and uncased models.
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import os
from typing import Callable, Optional, Sequence, Union

from albert_nb.errors import InputError

logger = logging.getLogger(__name__)

Label = Union[str, float, None]
SPLITS = ("train", "dev", "test")


class _SkipRow(Exception):
    """Raised for a row that a tolerant reader (QQP) drops instead of failing on."""


@dataclasses.dataclass
class InputExample:
    """One classification example, before tokenisation.

    guid: id used in submission files (the GLUE `index` column for most tasks).
    text_a / text_b: untouched text; text_b is None for single-sentence tasks.
    label: a label string from the task's label list, a float for regression (STS-B),
        or None for unlabelled test rows.
    """

    guid: str
    text_a: str
    text_b: Optional[str] = None
    label: Label = None


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the fields of one split file live (column indices; -1 = last column).

    guid None means "<split>-<row number>"; label None means the file is unlabelled.
    """

    file: str
    header: bool
    guid: Optional[int]
    text_a: int
    text_b: Optional[int] = None
    label: Optional[int] = None

    @property
    def min_columns(self) -> int:
        """Fewest columns a row needs for every field to exist."""
        used = [c for c in (self.guid, self.text_a, self.text_b) if c is not None]
        needed = max(used) + 1
        if self.label is None:
            return needed
        if self.label < 0:          # "last column": it must come after the text columns
            return needed + 1
        return max(needed, self.label + 1)


class SplitReader:
    """The original processors' three entry points, over one `get_examples(data_dir, split)`."""

    def get_train_examples(self, data_dir) -> list[InputExample]:
        return self.get_examples(data_dir, "train")

    def get_dev_examples(self, data_dir) -> list[InputExample]:
        return self.get_examples(data_dir, "dev")

    def get_test_examples(self, data_dir) -> list[InputExample]:
        return self.get_examples(data_dir, "test")


class DataProcessor(SplitReader):
    """Base class: finds a split's file, reads its rows and turns each into an InputExample.

    Subclasses set `name`, `folder` (the sub-folder of data_dir, as in the official download),
    `labels` (None for regression) and `layouts` (split -> Layout).
    """

    name: str = ""
    folder: str = ""
    labels: Optional[tuple] = None
    layouts: dict = {}
    skip_malformed: bool = False   # QQP: the original silently drops rows with missing columns
    last_skipped: int = 0          # rows dropped by the last read (only a tolerant reader drops any)

    # ---------------------------------------------------------------- public API (original names)
    def get_labels(self) -> list:
        """The label list; regression tasks return [None] like the original (one output unit)."""
        return [None] if self.labels is None else list(self.labels)

    @property
    def is_regression(self) -> bool:
        return self.labels is None

    def get_examples(self, data_dir, split: str) -> list[InputExample]:
        if split not in self.layouts:
            raise InputError(f"task {self.name!r} has no {split!r} split "
                             f"(it has: {', '.join(self.layouts)})")
        path = self.split_path(data_dir, split)
        return self._read(path, split, self.layouts[split])

    # ---------------------------------------------------------------- locating files
    def expected_files(self) -> list[str]:
        return [os.path.join(self.folder, layout.file) for layout in self.layouts.values()]

    def split_path(self, data_dir, split: str) -> str:
        """`data_dir/<folder>/<file>` as in the original; `data_dir/<file>` is accepted too, so
        data_dir may also point straight at the task's folder."""
        if data_dir is None or not os.path.isdir(os.fspath(data_dir)):
            raise InputError(f"--data_dir={data_dir!r} is not a directory; expected the folder "
                             f"holding {', '.join(self.expected_files())}")
        data_dir = os.fspath(data_dir)
        file = self.layouts[split].file
        candidates = [os.path.join(data_dir, self.folder, file), os.path.join(data_dir, file)]
        for path in candidates:
            if os.path.isfile(path):
                return path
        raise InputError(f"{self.name} {split} file not found: {candidates[0]!r} (nor {candidates[1]!r}); "
                         f"expected under --data_dir: {', '.join(self.expected_files())}")

    # ---------------------------------------------------------------- reading
    @staticmethod
    def read_tsv(path: str) -> list[tuple[int, list[str]]]:
        """(line number, columns) for every non-empty line. No quoting, as in the original: GLUE
        sentences contain bare quote characters. utf-8-sig drops a byte-order mark if present."""
        rows = []
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                for columns in reader:
                    if columns and any(c.strip() for c in columns):
                        rows.append((reader.line_num, columns))
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not valid UTF-8 text ({err.reason} at byte {err.start})") from None
        return rows

    def _read(self, path: str, split: str, layout: Layout) -> list[InputExample]:
        rows = self.read_tsv(path)
        examples, skipped = [], 0
        for row_index, (line_no, columns) in enumerate(rows):
            if layout.header and row_index == 0:
                continue
            if len(columns) < layout.min_columns:
                if self.skip_malformed:
                    skipped += 1
                    continue
                raise InputError(f"{path}, line {line_no}: {len(columns)} tab-separated columns, "
                                 f"expected at least {layout.min_columns} for {self.name} {split}")
            try:
                examples.append(self._example(columns, layout, split, row_index, path, line_no))
            except _SkipRow:
                skipped += 1
        if skipped:
            logger.warning("%s: skipped %d malformed rows, as the original does", path, skipped)
        self.last_skipped = skipped
        return examples

    def _example(self, columns: Sequence[str], layout: Layout, split: str, row_index: int,
                 path: str, line_no: int) -> InputExample:
        guid = f"{split}-{row_index}" if layout.guid is None else columns[layout.guid]
        text_b = None if layout.text_b is None else columns[layout.text_b]
        label = None if layout.label is None else self._label(columns[layout.label], path, line_no)
        return InputExample(guid=guid, text_a=columns[layout.text_a], text_b=text_b, label=label)

    def _label(self, raw: str, path: str, line_no: int) -> Label:
        raw = raw.strip()
        if self.labels is None:                                   # regression (STS-B)
            try:
                return float(raw)
            except ValueError:
                raise InputError(f"{path}, line {line_no}: label {raw!r} is not a number "
                                 f"({self.name} is a regression task)") from None
        if raw not in self.labels:
            raise InputError(f"{path}, line {line_no}: label {raw!r} is not one of {list(self.labels)} "
                             f"for {self.name}")
        return raw


# ---------------------------------------------------------------------------- the GLUE tasks
BINARY = ("0", "1")
NLI3 = ("contradiction", "entailment", "neutral")
NLI2 = ("entailment", "not_entailment")


class ColaProcessor(DataProcessor):
    """Corpus of Linguistic Acceptability: is the sentence grammatical? train/dev have no header."""

    name, folder, labels = "CoLA", "CoLA", BINARY
    # columns: source, label, original label (* or empty), sentence
    layouts = {"train": Layout("train.tsv", header=False, guid=None, text_a=3, label=1),
               "dev": Layout("dev.tsv", header=False, guid=None, text_a=3, label=1),
               "test": Layout("test.tsv", header=True, guid=0, text_a=1)}   # index, sentence


class Sst2Processor(DataProcessor):
    """Stanford Sentiment Treebank, binary: sentence<TAB>label."""

    name, folder, labels = "SST-2", "SST-2", BINARY
    layouts = {"train": Layout("train.tsv", header=True, guid=None, text_a=0, label=1),
               "dev": Layout("dev.tsv", header=True, guid=None, text_a=0, label=1),
               "test": Layout("test.tsv", header=True, guid=0, text_a=1)}


class MrpcProcessor(DataProcessor):
    """Microsoft Research Paraphrase Corpus: Quality, #1 ID, #2 ID, #1 String, #2 String."""

    name, folder, labels = "MRPC", "MRPC", BINARY
    layouts = {"train": Layout("train.tsv", header=True, guid=None, text_a=3, text_b=4, label=0),
               "dev": Layout("dev.tsv", header=True, guid=None, text_a=3, text_b=4, label=0),
               "test": Layout("test.tsv", header=True, guid=0, text_a=3, text_b=4)}


class StsbProcessor(DataProcessor):
    """Semantic Textual Similarity: a 0-5 similarity score, so regression (float labels)."""

    name, folder, labels = "STS-B", "STS-B", None
    # index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, (score)
    layouts = {"train": Layout("train.tsv", header=True, guid=0, text_a=7, text_b=8, label=-1),
               "dev": Layout("dev.tsv", header=True, guid=0, text_a=7, text_b=8, label=-1),
               "test": Layout("test.tsv", header=True, guid=0, text_a=7, text_b=8)}


class QqpProcessor(DataProcessor):
    """Quora Question Pairs. The official train/dev files hold a few broken rows (a question
    with an embedded newline); the original skips them, and so do we, logging a count."""

    name, folder, labels = "QQP", "QQP", BINARY
    skip_malformed = True
    # id, qid1, qid2, question1, question2, is_duplicate / test: id, question1, question2
    layouts = {"train": Layout("train.tsv", header=True, guid=0, text_a=3, text_b=4, label=5),
               "dev": Layout("dev.tsv", header=True, guid=0, text_a=3, text_b=4, label=5),
               "test": Layout("test.tsv", header=True, guid=0, text_a=1, text_b=2)}

    def _label(self, raw, path, line_no):
        # A label that is not 0/1 marks the tail half of a broken row: skipped like a short row
        # (the original would have crashed later, in the label lookup).
        if raw.strip() not in self.labels:
            raise _SkipRow()
        return raw.strip()


def _mnli_layouts(suffix: str) -> dict:
    # index, promptID, pairID, genre, 4 parse columns, sentence1, sentence2, label1.., gold_label
    return {"train": Layout("train.tsv", header=True, guid=0, text_a=8, text_b=9, label=-1),
            "dev": Layout(f"dev_{suffix}.tsv", header=True, guid=0, text_a=8, text_b=9, label=-1),
            "test": Layout(f"test_{suffix}.tsv", header=True, guid=0, text_a=8, text_b=9)}


class MnliProcessor(DataProcessor):
    """MultiNLI, matched dev/test (genres seen in training)."""

    name, folder, labels = "MNLI", "MNLI", NLI3
    layouts = _mnli_layouts("matched")


class MisMnliProcessor(MnliProcessor):
    """MultiNLI, mismatched dev/test (unseen genres); task name "mismnli" as in the original."""

    name = "MNLI-mm"
    layouts = _mnli_layouts("mismatched")


def _pair_layouts() -> dict:
    # index, text_a, text_b, label / test: index, text_a, text_b
    return {"train": Layout("train.tsv", header=True, guid=0, text_a=1, text_b=2, label=-1),
            "dev": Layout("dev.tsv", header=True, guid=0, text_a=1, text_b=2, label=-1),
            "test": Layout("test.tsv", header=True, guid=0, text_a=1, text_b=2)}


class QnliProcessor(DataProcessor):
    """Question NLI: does the sentence answer the question?"""

    name, folder, labels, layouts = "QNLI", "QNLI", NLI2, _pair_layouts()


class RteProcessor(DataProcessor):
    """Recognizing Textual Entailment."""

    name, folder, labels, layouts = "RTE", "RTE", NLI2, _pair_layouts()


class WnliProcessor(DataProcessor):
    """Winograd NLI (labels 0/1)."""

    name, folder, labels, layouts = "WNLI", "WNLI", BINARY, _pair_layouts()


class AxProcessor(DataProcessor):
    """The GLUE diagnostic set (AX): test only, scored with a model fine-tuned on MNLI.

    The official download puts it at `diagnostic/diagnostic.tsv` (index, sentence1, sentence2),
    which is where the original's AXProcessor looks. As a teaching extra, `dev` reads the
    labelled `diagnostic/diagnostic-full.tsv` (columns found by header: Premise, Hypothesis,
    Label) so the diagnostic's MCC can be computed locally.
    """

    name, folder, labels = "AX", "diagnostic", NLI3
    layouts = {"test": Layout("diagnostic.tsv", header=True, guid=0, text_a=1, text_b=2),
               "dev": Layout("diagnostic-full.tsv", header=True, guid=None, text_a=5, text_b=6, label=7)}

    def get_examples(self, data_dir, split):
        if split == "train":
            raise InputError("AX (GLUE diagnostic) has no training set: fine-tune on MNLI "
                             "(--task_name=MNLI) and predict AX with that model")
        return super().get_examples(data_dir, split)

    def _read(self, path, split, layout):
        if split == "dev":
            header = self.read_tsv(path)[:1]
            names = header[0][1] if header else []
            wanted = ("Premise", "Hypothesis", "Label")
            missing = [w for w in wanted if w not in names]
            if missing:
                raise InputError(f"{path}, line 1: header lacks column(s) {missing}; "
                                 f"expected a header naming {list(wanted)}")
            layout = dataclasses.replace(layout, text_a=names.index("Premise"),
                                         text_b=names.index("Hypothesis"), label=names.index("Label"))
        return super()._read(path, split, layout)


PROCESSORS: dict[str, Callable[[], DataProcessor]] = {
    "cola": ColaProcessor, "sst-2": Sst2Processor, "mrpc": MrpcProcessor, "sts-b": StsbProcessor,
    "qqp": QqpProcessor, "mnli": MnliProcessor, "mismnli": MisMnliProcessor, "qnli": QnliProcessor,
    "rte": RteProcessor, "wnli": WnliProcessor, "ax": AxProcessor,
}

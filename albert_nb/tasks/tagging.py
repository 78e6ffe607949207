"""Token tagging data (named entities): CoNLL-style files, the BIO label set, entity-level scores.

File layout, as CoNLL-2003 and the usual Chinese NER releases (MSRA, People's Daily, CLUENER
converted to BIO): one token per line, `token<space or TAB>tag`, a blank line between
sentences; lines starting with `-DOCSTART-` are skipped. Chinese NER tags characters, so a
token is one character; English files tag words. Both go through the same code: the
WordPiece pieces of a token inherit its tag on the first piece (see `albert_nb.finetuning.tagging`).

A folder for `run_tagging --data_dir` holds `train.txt`, `dev.txt`, `test.txt` and optionally
`labels.txt` (one tag per line, the label ids in order). Without `labels.txt` the tags of
`train.txt` define the set ("O" first, then the entity types' B-/I- tags in sorted order).

Scores are entity-level, CoNLL's definition (seqeval's default mode): an entity counts as
found only when its type and both boundaries are right; precision, recall and F1 are
micro-averaged over entities, with a per-type breakdown.
"""
from __future__ import annotations

import dataclasses
import os
from collections import Counter, defaultdict
from typing import Sequence

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open

# seqeval is imported inside `entity_scores` (deliberately lazy): reading CoNLL files does not need it.

OUTSIDE = "O"
SPLIT_FILES = {"train": "train.txt", "dev": "dev.txt", "test": "test.txt"}
LABELS_FILE = "labels.txt"


@dataclasses.dataclass
class TaggedExample:
    """One sentence: its tokens (characters for Chinese) and one tag per token."""

    guid: str
    tokens: list
    labels: list

    def __post_init__(self):
        if len(self.tokens) != len(self.labels):
            raise InputError(f"example {self.guid}: {len(self.tokens)} tokens but "
                             f"{len(self.labels)} labels; expected one tag per token")


def check_tag(tag: str, where: str) -> None:
    """BIO syntax: "O", or "B-<TYPE>" / "I-<TYPE>"."""
    if tag == OUTSIDE:
        return
    prefix, _, kind = tag.partition("-")
    if prefix not in ("B", "I") or not kind:
        raise InputError(f"{where}: tag {tag!r} is not BIO; expected 'O', 'B-<TYPE>' or 'I-<TYPE>'")


def read_conll(path, split: str = "train", labels: Sequence[str] | None = None) -> list[TaggedExample]:
    """Sentences of a CoNLL-style file. With `labels`, a tag outside them is an InputError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"tagged file not found: {path!r} (expected token<space>tag lines, a blank "
                         "line between sentences)")
    allowed = set(labels) if labels is not None else None
    examples, tokens, tags = [], [], []

    def close():
        if tokens:
            examples.append(TaggedExample(f"{split}-{len(examples)}", list(tokens), list(tags)))
            tokens.clear()
            tags.clear()

    try:
        with open(path, encoding="utf-8-sig") as handle:
            for line_no, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    close()
                    continue
                if line.startswith("-DOCSTART-"):
                    continue
                fields = line.split()
                if len(fields) != 2:
                    raise InputError(f"{path}, line {line_no}: {len(fields[:1])} token and "
                                     f"{len(fields) - 1} labels ({line!r}); expected one token "
                                     "and one tag, separated by a space or TAB")
                token, tag = fields
                check_tag(tag, f"{path}, line {line_no}")
                if allowed is not None and tag not in allowed:
                    raise InputError(f"{path}, line {line_no}: unknown tag {tag!r}; expected one of "
                                     f"{list(labels)}")
                tokens.append(token)
                tags.append(tag)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 text ({err.reason} at byte {err.start})") from None
    close()
    return examples


def write_conll(path, examples: Sequence[TaggedExample]) -> str:
    """Write sentences in the layout `read_conll` reads, atomically."""
    with atomic_open(path) as handle:
        for example in examples:
            for token, tag in zip(example.tokens, example.labels):
                if not token.strip() or any(c.isspace() for c in token):
                    raise InputError(f"example {example.guid}: token {token!r} holds whitespace; "
                                     "CoNLL files cannot carry it")
                handle.write(f"{token} {tag}\n")
            handle.write("\n")
    return os.fspath(path)


def label_set(examples: Sequence[TaggedExample]) -> list[str]:
    """"O", then B-/I- of every entity type seen, types sorted (a stable id order)."""
    kinds = sorted({t.partition("-")[2] for ex in examples for t in ex.labels if t != OUTSIDE})
    return [OUTSIDE] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]


def read_labels(path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        labels = [line.strip() for line in handle if line.strip()]
    for number, tag in enumerate(labels, start=1):
        check_tag(tag, f"{path}, line {number}")
    if len(set(labels)) != len(labels):
        raise InputError(f"{path}: a tag is listed twice; expected each tag once")
    if OUTSIDE not in labels:
        raise InputError(f"{path}: no 'O' tag; expected 'O' and the B-/I- tags")
    return labels


def write_labels(path, labels: Sequence[str]) -> str:
    with atomic_open(path) as handle:
        handle.write("".join(f"{l}\n" for l in labels))
    return os.fspath(path)


class ConllProcessor:
    """`<data_dir>/{train,dev,test}.txt` (+ optional labels.txt), as `run_tagging` reads them."""

    def __init__(self, data_dir):
        if data_dir is None or not os.path.isdir(os.fspath(data_dir)):
            raise InputError(f"--data_dir={data_dir!r} is not a directory; expected the folder holding "
                             f"{', '.join(SPLIT_FILES.values())}")
        self.data_dir = os.fspath(data_dir)
        self._labels = None

    def split_path(self, split: str) -> str:
        if split not in SPLIT_FILES:
            raise InputError(f"split {split!r}: expected one of {list(SPLIT_FILES)}")
        path = os.path.join(self.data_dir, SPLIT_FILES[split])
        if not os.path.isfile(path):
            raise InputError(f"{split} file not found: {path!r}; expected under --data_dir: "
                             f"{', '.join(SPLIT_FILES.values())} (token<space>tag lines)")
        return path

    def get_labels(self) -> list[str]:
        if self._labels is None:
            listed = os.path.join(self.data_dir, LABELS_FILE)
            if os.path.isfile(listed):
                self._labels = read_labels(listed)
            else:
                self._labels = label_set(read_conll(self.split_path("train"), "train"))
        return list(self._labels)

    def get_examples(self, split: str) -> list[TaggedExample]:
        return read_conll(self.split_path(split), split, self.get_labels())


# ------------------------------------------------------------------------------ scores
def entity_scores(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro precision/recall/F1 (seqeval, CoNLL semantics), per type, and the
    token accuracy. Every sentence must have as many predicted as gold tags."""
    from seqeval.metrics import accuracy_score, classification_report

    true_tags, pred_tags = [list(t) for t in true_tags], [list(p) for p in pred_tags]
    for i, (t, p) in enumerate(zip(true_tags, pred_tags)):
        if len(t) != len(p):
            raise InputError(f"sentence {i}: {len(t)} gold tags but {len(p)} predicted")
    report = classification_report(true_tags, pred_tags, output_dict=True, zero_division=0)
    micro = report["micro avg"]
    out = {"precision": float(micro["precision"]), "recall": float(micro["recall"]),
           "f1": float(micro["f1-score"]), "num_entities": int(micro["support"]),
           "token_accuracy": float(accuracy_score(true_tags, pred_tags)) if true_tags else 0.0}
    for kind, row in report.items():
        if kind.endswith(" avg"):
            continue
        out[f"{kind}_f1"] = float(row["f1-score"])
        out[f"{kind}_support"] = int(row["support"])
    return out


def majority_baseline(examples: Sequence[TaggedExample]) -> dict:
    """Tag every token with the most frequent tag of the set ("O"): no entity is found."""
    common = Counter(t for ex in examples for t in ex.labels).most_common(1)[0][0]
    return entity_scores([ex.labels for ex in examples], [[common] * len(ex.labels) for ex in examples])


def dictionary_baseline(train: Sequence[TaggedExample], examples: Sequence[TaggedExample],
                        min_length: int = 2) -> dict:
    """Tag every occurrence of an entity string seen in training with its most frequent type,
    longest match first: what memorising the training entities achieves."""
    votes: dict = defaultdict(Counter)
    for ex in train:
        for kind, start, end in entities(ex.labels):
            votes["".join(ex.tokens[start:end])][kind] += 1
    lexicon = {s: c.most_common(1)[0][0] for s, c in votes.items() if len(s) >= min_length}
    longest = max((len(s) for s in lexicon), default=0)
    predictions = []
    for ex in examples:
        tags, i = [OUTSIDE] * len(ex.tokens), 0
        while i < len(ex.tokens):
            for n in range(min(longest, len(ex.tokens) - i), min_length - 1, -1):
                kind = lexicon.get("".join(ex.tokens[i:i + n]))
                if kind:
                    tags[i:i + n] = [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)
                    i += n - 1
                    break
            i += 1
        predictions.append(tags)
    return entity_scores([ex.labels for ex in examples], predictions)


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) spans of a BIO sequence; an I- without its B- starts an entity
    (CoNLL's lenient reading, the same as seqeval's default)."""
    spans, kind, start = [], None, 0
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, _, name = tag.partition("-")
        if kind is not None and (tag == OUTSIDE or prefix == "B" or name != kind):
            spans.append((kind, start, i))
            kind = None
        if tag != OUTSIDE and kind is None:
            kind, start = name, i
    return spans

"""SQuAD examples -> doc-stride windows -> features, cached as TFRecord + JSON (never pickle).

The original's `convert_examples_to_features`, for any tokenizer (see `albert_nb.finetuning.alignment`):

* Question: normalised and tokenized, cut to `max_query_length` pieces (said once per run).
* Paragraph: aligned to its characters once per paragraph (the original re-aligns it for every
  question; SQuAD has ~5 questions per paragraph, so this is the main speed-up).
* Windows ("doc spans"): `max_tokens_for_doc = max_seq_length - len(query) - 3`; a window starts
  every `doc_stride` tokens until one reaches the paragraph's end. Layout
  `[CLS] query [SEP] doc [SEP]`, segment 0 up to the first [SEP], 1 after.
* `token_is_max_context`: a token in several windows counts only in the window where it has the
  most context (min(left, right) + 0.01 * window length), so each is scored once when decoding.
* `p_mask`: 1 where no answer can be (query, [SEP], padding), 0 for [CLS] and paragraph tokens.
* Training labels: the answer's first/last token in window coordinates; an impossible question,
  or a window that does not contain the whole answer, points at [CLS] (0, 0) with
  `is_impossible = 1` (in v1 too, as the original).
* unique_id counts from 1000000000.

Files (the original's three flags): `--train_feature_file` (TFRecord: unique_ids, input_ids,
segment_ids, p_mask, start_positions, end_positions, is_impossible), `--predict_feature_file`
(TFRecord without the labels) and `--predict_feature_left_file` (JSON: what decoding needs per
window, in place of the original's pickle). Each has a `.fingerprint.json` sidecar; a file is
reused only when the fingerprint of the examples, tokenizer and flags matches, and a file built
from other data or flags is an error (never silently reused, never overwritten: the user may own it).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from albert_nb.errors import InputError
from albert_nb.finetuning.alignment import align
from albert_nb.io_utils import atomic_path, atomic_write_json
from albert_nb.tokenizers.pairs import pack_pair

# TensorFlow is imported inside the record functions (deliberately lazy): features are built and
# checked from the text before TensorFlow loads.

FEATURE_FORMAT = 1
FIRST_UNIQUE_ID = 1000000000


@dataclasses.dataclass
class SquadFeatures:
    """One window of one example, unpadded (input_mask is 1 for every stored position)."""

    unique_id: int
    example_index: int
    doc_span_index: int
    input_ids: list[int]
    segment_ids: list[int]
    p_mask: list[int]
    doc_offset: int                      # index of the first paragraph token in input_ids
    tok_start_to_orig_index: list[int]   # per paragraph token of the window
    tok_end_to_orig_index: list[int]
    token_is_max_context: list[bool]     # per paragraph token of the window
    start_position: int = 0
    end_position: int = 0
    is_impossible: bool = False

    def meta(self) -> dict:
        """What decoding needs (the predict_feature_left_file's rows)."""
        return {k: getattr(self, k) for k in ("unique_id", "example_index", "doc_span_index",
                                              "doc_offset", "tok_start_to_orig_index",
                                              "tok_end_to_orig_index", "token_is_max_context")}


def doc_spans(num_tokens: int, max_tokens_for_doc: int, doc_stride: int) -> list[tuple[int, int]]:
    """(start, length) windows: every `doc_stride` tokens until one reaches the end."""
    spans, start = [], 0
    while start < num_tokens:
        length = min(num_tokens - start, max_tokens_for_doc)
        spans.append((start, length))
        if start + length == num_tokens:
            break
        start += min(length, doc_stride)
    return spans


def is_max_context(spans, span_index: int, position: int) -> bool:
    """Is `span_index` the window where token `position` has the most context?"""
    best_score, best_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if not start <= position <= end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_index = score, index
    return best_index == span_index


@dataclasses.dataclass
class ConversionReport:
    """What conversion had to do to the data, reported once (not per example)."""

    examples: int = 0
    features: int = 0
    truncated_questions: int = 0
    mismatched: list = dataclasses.field(default_factory=list)
    answers_outside: int = 0

    def lines(self, max_query_length: int) -> list[str]:
        out = []
        if self.truncated_questions:
            out.append(f"{self.truncated_questions} question(s) longer than --max_query_length="
                       f"{max_query_length} pieces were truncated to their first {max_query_length}")
        if self.mismatched:
            out.append(f"{len(self.mismatched)} example(s) skipped: their paragraph's pieces could not "
                       f"be aligned to its characters (the original's MISMATCH), e.g. {self.mismatched[0]!r}")
        return out


def convert_examples(examples, tokenizer, max_seq_length: int, doc_stride: int,
                     max_query_length: int, is_training: bool,
                     report: ConversionReport | None = None) -> list[SquadFeatures]:
    """Every example -> its windows (see the module doc). `examples` are `SquadExample`s."""
    if max_seq_length <= max_query_length + 3:
        raise InputError(f"--max_seq_length={max_seq_length} must exceed --max_query_length="
                         f"{max_query_length} + 3 ([CLS] query [SEP] doc [SEP])")
    if doc_stride < 1:
        raise InputError(f"--doc_stride={doc_stride}: expected a positive number of tokens")
    report = report if report is not None else ConversionReport()
    cls_id, sep_id = tokenizer.cls_id, tokenizer.sep_id
    alignments: dict[str, object] = {}
    features, unique_id = [], FIRST_UNIQUE_ID
    for example_index, example in enumerate(examples):
        report.examples += 1
        query = tokenizer.encode(example.question_text)
        if len(query) > max_query_length:
            report.truncated_questions += 1
            query = query[:max_query_length]
        text = example.paragraph_text
        if text not in alignments:
            alignments[text] = align(tokenizer, text)
        alignment = alignments[text]
        if alignment is None:
            report.mismatched.append(example.qas_id)
            continue
        doc_ids = tokenizer.convert_tokens_to_ids(alignment.pieces)
        if is_training and not example.is_impossible:
            end_char = example.start_position + len(example.orig_answer_text) - 1
            tok_start, tok_end = alignment.token_span(example.start_position, end_char)
        spans = doc_spans(len(doc_ids), max_seq_length - len(query) - 3, doc_stride)
        doc_offset = len(query) + 2
        for span_index, (start, length) in enumerate(spans):
            input_ids, segment_ids = pack_pair(query, doc_ids[start:start + length], cls_id, sep_id,
                                               max_seq_length)         # [CLS] query [SEP] doc [SEP]
            p_mask = [0] + [1] * (len(query) + 1) + [0] * length + [1]
            feature = SquadFeatures(
                unique_id=unique_id, example_index=example_index, doc_span_index=span_index,
                input_ids=input_ids, segment_ids=segment_ids, p_mask=p_mask, doc_offset=doc_offset,
                tok_start_to_orig_index=alignment.tok_start_to_orig_index[start:start + length],
                tok_end_to_orig_index=alignment.tok_end_to_orig_index[start:start + length],
                token_is_max_context=[is_max_context(spans, span_index, start + i) for i in range(length)],
                is_impossible=bool(example.is_impossible))
            if is_training and not example.is_impossible:
                if start <= tok_start and tok_end <= start + length - 1:
                    feature.start_position = tok_start - start + doc_offset
                    feature.end_position = tok_end - start + doc_offset
                else:  # the answer is not (wholly) in this window: point at [CLS]
                    feature.is_impossible = True
                    report.answers_outside += 1
            features.append(feature)
            unique_id += 1
    report.features = len(features)
    return features


# ---------------------------------------------------------------------------- files
def settings_digest(tokenizer, settings: dict, feature_format: int):
    """A sha256 started with the tokenizer file, lower-casing, the flags and the record format;
    the caller adds the examples."""
    digest = hashlib.sha256()
    with open(tokenizer.spm_model_file or tokenizer.vocab_file, "rb") as handle:
        digest.update(hashlib.sha256(handle.read()).digest())
    digest.update(json.dumps({**settings, "format": feature_format,
                              "do_lower_case": tokenizer.do_lower_case}, sort_keys=True).encode())
    return digest


def fingerprint(examples, tokenizer, settings: dict) -> str:
    """Hash of the examples' text/answers, the tokenizer file and every flag that shapes features."""
    digest = settings_digest(tokenizer, settings, FEATURE_FORMAT)
    for ex in examples:
        row = (ex.qas_id, ex.question_text, ex.paragraph_text, ex.orig_answer_text or "",
               str(ex.start_position), str(int(ex.is_impossible)))
        digest.update("\x1f".join(row).encode("utf-8", "surrogatepass") + b"\x1e")
    return digest.hexdigest()


def sidecar(path: str) -> str:
    return path + ".fingerprint.json"


def check_cache(path: str, digest: str, settings: dict, flag: str) -> bool:
    """True to reuse `path`; False if absent; InputError if it was built from other data/flags."""
    if not os.path.exists(path):
        return False
    meta_path = sidecar(path)
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        raise InputError(f"--{flag}={path!r} exists but has no readable {os.path.basename(meta_path)} "
                         "(not written by albert_nb, e.g. the original's pickle/TFRecord); "
                         "delete it or pass another path") from None
    if meta.get("fingerprint") == digest:
        return True
    old = meta.get("settings", {})
    changed = [f"{k}={old.get(k)!r}->{v!r}" for k, v in settings.items() if old.get(k) != v]
    what = ", ".join(changed) if changed else "other input data or tokenizer"
    raise InputError(f"--{flag}={path!r} was built from other flags or data ({what}); "
                     "delete it or pass another path")


def write_sidecar(path: str, digest: str, settings: dict, count: int) -> None:
    atomic_write_json(sidecar(path), {"fingerprint": digest, "settings": settings,
                                      "num_features": count, "format": FEATURE_FORMAT})


def write_records(features: list[SquadFeatures], path: str, is_training: bool) -> None:
    import tensorflow as tf

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))

    with atomic_path(path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for f in features:
                row = {"unique_ids": ints([f.unique_id]), "input_ids": ints(f.input_ids),
                       "segment_ids": ints(f.segment_ids), "p_mask": ints(f.p_mask)}
                if is_training:
                    row.update(start_positions=ints([f.start_position]),
                               end_positions=ints([f.end_position]),
                               is_impossible=ints([int(f.is_impossible)]))
                writer.write(tf.train.Example(features=tf.train.Features(feature=row)).SerializeToString())


def write_meta(features: list[SquadFeatures], path: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"format": FEATURE_FORMAT, "features": [f.meta() for f in features]}, handle)


def read_meta(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["features"]


def cached_features(examples, tokenizer, max_seq_length: int, doc_stride: int, max_query_length: int,
                    is_training: bool, record_file: str, meta_file: str | None = None,
                    flags: tuple[str, str] = ("train_feature_file", "predict_feature_left_file"),
                    show=print) -> tuple[int, list[dict] | None]:
    """Build or reuse the feature files; returns (number of features, window metadata or None).

    Training writes `record_file` only; prediction also writes `meta_file` (the JSON left file).
    """
    settings = {"max_seq_length": int(max_seq_length), "doc_stride": int(doc_stride),
                "max_query_length": int(max_query_length), "is_training": bool(is_training)}
    digest = fingerprint(examples, tokenizer, settings)
    paths = [(record_file, flags[0])] + ([(meta_file, flags[1])] if meta_file else [])
    reuse = [check_cache(p, digest, settings, flag) for p, flag in paths]
    if all(reuse):
        with open(sidecar(record_file), encoding="utf-8") as handle:
            count = json.load(handle)["num_features"]
        return count, read_meta(meta_file) if meta_file else None
    report = ConversionReport()
    features = convert_examples(examples, tokenizer, max_seq_length, doc_stride, max_query_length,
                                is_training, report)
    for line in report.lines(max_query_length):
        if show is not None:
            show(line)
    write_records(features, record_file, is_training)
    write_sidecar(record_file, digest, settings, len(features))
    if meta_file:
        write_meta(features, meta_file)
        write_sidecar(meta_file, digest, settings, len(features))
    return len(features), [f.meta() for f in features] if meta_file else None


def read_dataset(path: str, is_training: bool):
    """tf.data of unpadded feature dicts (int32; input_mask implied) from `write_records`' file."""
    import tensorflow as tf

    spec = {"unique_ids": tf.io.FixedLenFeature([], tf.int64),
            "input_ids": tf.io.RaggedFeature(tf.int64), "segment_ids": tf.io.RaggedFeature(tf.int64),
            "p_mask": tf.io.RaggedFeature(tf.int64)}
    if is_training:
        spec.update({k: tf.io.FixedLenFeature([], tf.int64)
                     for k in ("start_positions", "end_positions", "is_impossible")})

    def parse(record):
        row = tf.io.parse_single_example(record, spec)
        out = {k: tf.cast(v, tf.int32) for k, v in row.items() if k != "unique_ids"}
        out["unique_ids"] = row["unique_ids"]
        out["input_mask"] = tf.ones_like(out["input_ids"])
        return out

    return tf.data.TFRecordDataset(path).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def batch(dataset, batch_size: int, max_seq_length: int, is_training: bool, seed: int = 0):
    """Pad to `max_seq_length` (p_mask pads with 1: padding can never be an answer); training
    shuffles, repeats and keeps full batches only, prediction keeps order and the last batch."""
    import tensorflow as tf

    if is_training:
        dataset = dataset.shuffle(10000, seed=seed, reshuffle_each_iteration=True).repeat()
    lengths = {"input_ids": [max_seq_length], "input_mask": [max_seq_length],
               "segment_ids": [max_seq_length], "p_mask": [max_seq_length], "unique_ids": []}
    values = {"input_ids": 0, "input_mask": 0, "segment_ids": 0, "p_mask": 1,
              "unique_ids": tf.constant(0, tf.int64)}
    if is_training:
        for key in ("start_positions", "end_positions", "is_impossible"):
            lengths[key], values[key] = [], 0
    return dataset.padded_batch(batch_size, padded_shapes=lengths, padding_values=values,
                                drop_remainder=is_training).prefetch(tf.data.AUTOTUNE)

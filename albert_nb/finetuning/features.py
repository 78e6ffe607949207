"""Classification examples -> features -> batches, with dynamic padding and length bucketing.

Features follow the original's `classifier_utils`: `[CLS] a [SEP] (b [SEP])`, segment 0 for the
first sentence with its [SEP] and 1 for the second, and when the pair is too long the longer side
loses its last token until it fits (`truncate_seq_pair`). What differs is *when* we pad:

* The original pads every example to `max_seq_length` (512 in run_glue.sh). Most GLUE sentences
  are 20-60 pieces long, so nearly all of the compute goes into attention over padding.
* Here features are stored unpadded. Batches are padded only up to a *bucket boundary* just above
  their longest member, and training draws each batch from one length bucket
  (`tf.data.Dataset.bucket_by_sequence_length`), so short sentences travel with short ones.
  Padding to a small fixed set of lengths (16, 24, 32, 48, ...) instead of the exact batch
  maximum keeps the number of distinct shapes small: XLA compiles each shape once.
* `padding="max"` restores the original's fixed padding (the benchmark's baseline).

Padding changes no result: padded positions get attention bias -10000 and the classifier reads
only [CLS]. The cache stores the unpadded features with a fingerprint sidecar, so a cache built
from other data or settings is rebuilt, never reused. Its file names are our own
(`albert_nb_<task>_train.tf_record`, see `cache_file_name`): the original's
`<task>_train.tf_record` holds padded records of another layout, and the two tools may share
one `--cached_dir`, so neither may ever read (or replace) the other's file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zlib
from typing import Iterable, Sequence

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_path, atomic_write_json
from albert_nb.tokenizers.pairs import pack_pair

# TensorFlow is imported inside the functions that write or read records (deliberately lazy): a
# bad --task_name or an empty dev set is reported from the text alone, before TensorFlow loads.

FEATURE_FORMAT = 2  # bump when the record layout or conversion rule changes (invalidates caches)


@dataclasses.dataclass
class InputFeatures:
    """One example as ids, unpadded. input_mask is implied (1 for every stored position)."""

    input_ids: list[int]
    segment_ids: list[int]
    label_id: float | int

    def __len__(self) -> int:
        return len(self.input_ids)


# --------------------------------------------------------------------------- conversion
def convert_example(example, label_map: dict | None, max_seq_length: int, tokenizer) -> InputFeatures:
    """`example` has text_a, text_b (or None) and label; label_map None means regression."""
    tokens_a = tokenizer.tokenize(tokenizer.preprocess(example.text_a))
    tokens_b = tokenizer.tokenize(tokenizer.preprocess(example.text_b)) if example.text_b else None
    names = tokenizer.special_tokens
    tokens, segment_ids = pack_pair(tokens_a, tokens_b, names["cls"], names["sep"], max_seq_length)
    return InputFeatures(tokenizer.convert_tokens_to_ids(tokens), segment_ids,
                         label_value(example.label, label_map, getattr(example, "guid", "?")))


def label_value(label, label_map: dict | None, guid="?"):
    """Class index for classification, float for regression; 0 for unlabelled (test) rows."""
    if label is None:
        return 0.0 if label_map is None else 0
    if label_map is None:
        try:
            return float(label)
        except (TypeError, ValueError):
            raise InputError(f"example {guid}: regression label {label!r} is not a number") from None
    key = str(label)
    if key not in label_map:
        raise InputError(f"example {guid}: label {label!r} is not one of the task's labels "
                         f"{sorted(label_map)}")
    return label_map[key]


def convert_examples(examples: Iterable, label_list: Sequence | None, max_seq_length: int,
                     tokenizer, show_progress: bool = False, desc: str = "features") -> list[InputFeatures]:
    """Convert every example (label_list None = regression)."""
    from tqdm.auto import tqdm

    label_map = None if label_list is None else {str(l): i for i, l in enumerate(label_list)}
    examples = list(examples)
    return [convert_example(ex, label_map, max_seq_length, tokenizer)
            for ex in tqdm(examples, desc=desc, disable=not show_progress, unit="ex",
                           dynamic_ncols=True, mininterval=1.0)]


def lengths(features: Sequence[InputFeatures]) -> list[int]:
    return [len(f) for f in features]


# ------------------------------------------------------------------------------- cache
def examples_fingerprint(examples, label_list, max_seq_length: int, tokenizer, task: str,
                         split: str) -> str:
    """A hash of everything that determines the features: the examples' text and labels, the
    tokenizer file, lower-casing, max_seq_length, labels and the feature format."""
    digest = hashlib.sha256()
    source = tokenizer.spm_model_file or tokenizer.vocab_file
    with open(source, "rb") as handle:
        digest.update(hashlib.sha256(handle.read()).digest())
    settings = {"format": FEATURE_FORMAT, "task": task, "split": split,
                "do_lower_case": tokenizer.do_lower_case, "max_seq_length": int(max_seq_length),
                "labels": None if label_list is None else [str(l) for l in label_list]}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for ex in examples:
        row = (str(getattr(ex, "guid", "")), ex.text_a, ex.text_b or "", str(ex.label))
        digest.update("\x1f".join(row).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1e")
    return digest.hexdigest()


CACHE_SPLITS = {"train": "train", "dev": "eval", "test": "predict"}


def cache_file_name(task: str, split: str) -> str:
    """Our feature cache's file name for a split: `albert_nb_<task>_{train,eval,predict}.tf_record`
    (the original's names without the prefix belong to the original's layout)."""
    if split not in CACHE_SPLITS:
        raise InputError(f"split={split!r}: expected one of {sorted(CACHE_SPLITS)}")
    return f"albert_nb_{task}_{CACHE_SPLITS[split]}.tf_record"


def _fingerprint_path(record_path: str) -> str:
    return record_path + ".fingerprint.json"


def file_checksum(path: str) -> tuple[int, int]:
    """(size in bytes, CRC-32) of a file, streamed: a truncated or altered cache differs."""
    crc, size = 0, 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def cache_is_valid(record_path: str, fingerprint: str) -> bool:
    """The cache was built from these data and settings, and its file is the one written then
    (same size and CRC-32: a cache truncated by a full disk or a copy is rebuilt, not read)."""
    meta = _fingerprint_path(record_path)
    if not (os.path.isfile(record_path) and os.path.isfile(meta)):
        return False
    try:
        with open(meta, encoding="utf-8") as handle:
            recorded = json.load(handle)
        return (recorded.get("fingerprint") == fingerprint
                and [recorded.get("size"), recorded.get("crc32")] == list(file_checksum(record_path)))
    except (OSError, ValueError, AttributeError):
        return False


def write_features(features: Sequence[InputFeatures], path: str, is_regression: bool,
                   fingerprint: str | None = None) -> str:
    """TFRecord of unpadded features (original names: input_ids, segment_ids, label_ids),
    written atomically; the fingerprint sidecar is written after the records."""
    import tensorflow as tf

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    with atomic_path(path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for f in features:
                label = (tf.train.Feature(float_list=tf.train.FloatList(value=[float(f.label_id)]))
                         if is_regression else ints([int(f.label_id)]))
                example = tf.train.Example(features=tf.train.Features(feature={
                    "input_ids": ints(f.input_ids), "segment_ids": ints(f.segment_ids),
                    "label_ids": label}))
                writer.write(example.SerializeToString())
    if fingerprint is not None:
        size, crc = file_checksum(path)
        atomic_write_json(_fingerprint_path(path), {"fingerprint": fingerprint,
                                                    "num_examples": len(features),
                                                    "format": FEATURE_FORMAT,
                                                    "size": size, "crc32": crc})
    return path


def read_features(path: str, is_regression: bool):
    """tf.data of unpadded feature dicts from `write_features`' file."""
    import tensorflow as tf

    spec = {
        "input_ids": tf.io.RaggedFeature(tf.int64),
        "segment_ids": tf.io.RaggedFeature(tf.int64),
        "label_ids": tf.io.FixedLenFeature([], tf.float32 if is_regression else tf.int64),
    }

    def parse(record):
        parsed = tf.io.parse_single_example(record, spec)
        return _finish({"input_ids": parsed["input_ids"], "segment_ids": parsed["segment_ids"],
                        "label_ids": parsed["label_ids"]}, is_regression)

    return tf.data.TFRecordDataset(path).map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def cached_features(path: str, examples, label_list, max_seq_length: int, tokenizer, task: str,
                    split: str, show=print, show_progress: bool = False) -> tuple[str, int, bool]:
    """Reuse `path` when its fingerprint matches, else convert and (re)write it.

    Returns (path, number of examples, reused?). A stale cache is announced and rebuilt.
    """
    examples = list(examples)
    fingerprint = examples_fingerprint(examples, label_list, max_seq_length, tokenizer, task, split)
    if cache_is_valid(path, fingerprint):
        return path, len(examples), True
    if os.path.exists(path) and show is not None:
        show(f"feature cache {path} was built from other data or settings, or is damaged; "
             "rebuilding it")
    features = convert_examples(examples, label_list, max_seq_length, tokenizer,
                                show_progress=show_progress, desc=f"{task} {split} features")
    write_features(features, path, label_list is None, fingerprint)
    return path, len(features), False


# ------------------------------------------------------------------------------ batches
def _finish(feature: dict, is_regression: bool) -> dict:
    """int32 ids/segments and the implied input_mask, for one unpadded example."""
    import tensorflow as tf

    ids = tf.cast(feature["input_ids"], tf.int32)                          # [len]
    return {"input_ids": ids, "input_mask": tf.ones_like(ids),
            "segment_ids": tf.cast(feature["segment_ids"], tf.int32),
            "label_ids": tf.cast(feature["label_ids"], tf.float32 if is_regression else tf.int32)}


def features_dataset(features: Sequence[InputFeatures], is_regression: bool):
    """tf.data of unpadded feature dicts from in-memory features (no file needed)."""
    import tensorflow as tf

    data = {
        "input_ids": tf.ragged.constant([f.input_ids for f in features], dtype=tf.int32),
        "segment_ids": tf.ragged.constant([f.segment_ids for f in features], dtype=tf.int32),
        "label_ids": tf.constant([f.label_id for f in features],
                                 dtype=tf.float32 if is_regression else tf.int32),
    }
    return tf.data.Dataset.from_tensor_slices(data).map(
        lambda f: _finish(f, is_regression), num_parallel_calls=tf.data.AUTOTUNE)


def bucket_boundaries(max_seq_length: int, smallest: int = 16) -> list[int]:
    """Padded lengths a batch may take: 16, 24, 32, 48, 64, 96, ... (steps of x1.5 / x1.33),
    always ending at max_seq_length. Fine enough that padding wastes < ~25 %, coarse enough that
    XLA sees about a dozen shapes even at 512."""
    out, size = [], smallest
    while size < max_seq_length:
        out.append(size)
        half = size + size // 2
        if half < max_seq_length:
            out.append(half)
        size *= 2
    out.append(max_seq_length)
    return sorted(set(b for b in out if b <= max_seq_length))


def _pad_to_boundary(batch: dict, boundaries: list[int]) -> dict:
    """Pad a batch (already padded to its longest member) up to the next bucket boundary."""
    import tensorflow as tf

    length = tf.shape(batch["input_ids"])[1]
    table = tf.constant(boundaries, tf.int32)
    target = tf.gather(table, tf.searchsorted(table, [length], side="left")[0])
    out = dict(batch)
    for key, value in batch.items():
        if value.shape.rank == 2:       # every per-position key (ids, mask, segments, tags)
            out[key] = tf.pad(value, [[0, 0], [0, target - length]])       # [batch, target]
    return out


def batch_dataset(dataset, batch_size: int, max_seq_length: int, is_training: bool,
                  padding: str = "dynamic", seed: int = 0, shuffle_buffer: int = 10000,
                  drop_remainder: bool | None = None):
    """Batch unpadded examples.

    Training: shuffle, repeat forever, and (dynamic) group examples into length buckets, each
    batch padded to its bucket's boundary; full batches only, as the original (drop_remainder).
    Evaluation/prediction: keep the input order (predictions must line up with the examples),
    pad each batch to the boundary above its longest member, keep the last short batch.
    `padding="max"`: every batch padded to max_seq_length, as the original.
    """
    import tensorflow as tf

    if padding not in ("dynamic", "max"):
        raise InputError(f"padding={padding!r}: expected 'dynamic' or 'max'")
    if drop_remainder is None:
        drop_remainder = is_training
    boundaries = bucket_boundaries(max_seq_length)
    if is_training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    if padding == "max":
        shapes = {key: [max_seq_length] if spec.shape.rank == 1 else []
                  for key, spec in dataset.element_spec.items()}
        dataset = dataset.padded_batch(batch_size, padded_shapes=shapes, drop_remainder=drop_remainder)
    elif is_training:
        # bucket_by_sequence_length puts length l in the first bucket with l < boundary, and pads
        # to boundary - 1; shifting by one makes the padded lengths exactly `boundaries`.
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda f: tf.shape(f["input_ids"])[0],
            bucket_boundaries=[b + 1 for b in boundaries],
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=True, drop_remainder=drop_remainder)
    else:
        dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(lambda b: _pad_to_boundary(b, boundaries))
    return dataset.prefetch(tf.data.AUTOTUNE)


def padding_stats(features: Sequence[InputFeatures], max_seq_length: int) -> dict:
    """How much of a fixed-length batch is padding: real tokens / (examples x max_seq_length)."""
    import numpy as np

    lens = np.asarray(lengths(features))
    boundaries = np.asarray(bucket_boundaries(max_seq_length))
    bucketed = boundaries[np.searchsorted(boundaries, lens, side="left")]
    return {"mean_length": float(lens.mean()), "median_length": float(np.median(lens)),
            "max_length": int(lens.max()),
            "real_fraction_fixed": float(lens.sum() / (len(lens) * max_seq_length)),
            "real_fraction_bucketed": float(lens.sum() / bucketed.sum())}

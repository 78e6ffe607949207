"""Pretraining TFRecords: the exact format of ALBERT's create_pretraining_data.py.

Public API (used by create_pretraining_data and by the pretraining trainer):

* `FEATURE_NAMES` -- the eight feature names, in the original's order.
* `feature_lengths(max_seq_length, max_predictions_per_seq)` -> {name: length}.
* `instance_to_features(instance, max_seq_length, max_predictions_per_seq)` -> {name: list}
  (padded); `serialize_features(features)` -> bytes of a `tf.train.Example` (deterministic
  serialisation, so equal inputs give byte-identical files).
* `parse_example(serialized, max_seq_length, max_predictions_per_seq, use_token_boundary=False)`
  -> {name: int32/float32 tensor}, what the original's run_pretraining input_fn reads:
  input_ids/input_mask/segment_ids [L], masked_lm_positions/ids/weights [P],
  next_sentence_labels [1]; int64 features cast to int32 (TPUs/XLA prefer int32).
* `make_dataset(input_files, max_seq_length, max_predictions_per_seq, batch_size,
  is_training, seed=None)` -> batched `tf.data.Dataset` of those dicts. Training: file order
  shuffled, repeated, interleaved over min(4, #files) files, shuffle buffer 100,
  drop_remainder -- as the original. Eval: files in order, not repeated unless `repeat=True`.
* `read_examples(path)` -> list of {name: numpy array} (inspection, tests, notebooks), and
  `infer_lengths(path)` -> (max_seq_length, max_predictions_per_seq) from the first record.

Feature table (L = max_seq_length, P = max_predictions_per_seq, doubled by do_permutation):
  input_ids int64[L], input_mask int64[L], segment_ids int64[L], token_boundary int64[L],
  masked_lm_positions int64[P], masked_lm_ids int64[P], masked_lm_weights float[P],
  next_sentence_labels int64[1]  (the SOP label; name kept from BERT's NSP).
"""
from __future__ import annotations

import glob
import os
import re

import numpy as np

from albert_nb.errors import InputError

# TensorFlow is imported inside the functions (deliberately lazy): `cli` consults this module's
# record errors, and the feature names are read without TensorFlow.

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "token_boundary",
                 "masked_lm_positions", "masked_lm_ids", "masked_lm_weights",
                 "next_sentence_labels")
FLOAT_FEATURES = frozenset({"masked_lm_weights"})


def feature_lengths(max_seq_length: int, max_predictions_per_seq: int) -> dict:
    L, P = int(max_seq_length), int(max_predictions_per_seq)
    return {"input_ids": L, "input_mask": L, "segment_ids": L, "token_boundary": L,
            "masked_lm_positions": P, "masked_lm_ids": P, "masked_lm_weights": P,
            "next_sentence_labels": 1}


def _pad(values, length: int, fill=0):
    values = list(values)
    if len(values) > length:
        raise InputError(f"{len(values)} values do not fit a feature of length {length}")
    return values + [fill] * (length - len(values))


def instance_to_features(instance, max_seq_length: int, max_predictions_per_seq: int) -> dict:
    """Pad one `TrainingInstance` (albert_nb.pretraining.instances) to fixed lengths."""
    n = len(instance.input_ids)
    m = len(instance.masked_lm_positions)
    return {
        "input_ids": _pad(instance.input_ids, max_seq_length),
        "input_mask": _pad([1] * n, max_seq_length),
        "segment_ids": _pad(instance.segment_ids, max_seq_length),
        "token_boundary": _pad(instance.token_boundary, max_seq_length),
        "masked_lm_positions": _pad(instance.masked_lm_positions, max_predictions_per_seq),
        "masked_lm_ids": _pad(instance.masked_lm_ids, max_predictions_per_seq),
        "masked_lm_weights": _pad([1.0] * m, max_predictions_per_seq, 0.0),
        "next_sentence_labels": [1 if instance.is_random_next else 0],
    }


def serialize_features(features: dict) -> bytes:
    """A `tf.train.Example` with int64/float lists, serialised deterministically."""
    import tensorflow as tf

    feature = {}
    for name in FEATURE_NAMES:
        values = features[name]
        if name in FLOAT_FEATURES:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    # Features is a protobuf map: only deterministic serialisation fixes the key order.
    return example.SerializeToString(deterministic=True)


def _feature_spec(max_seq_length: int, max_predictions_per_seq: int, use_token_boundary: bool):
    import tensorflow as tf

    lengths = feature_lengths(max_seq_length, max_predictions_per_seq)
    names = [n for n in FEATURE_NAMES if n != "token_boundary" or use_token_boundary]
    return {n: tf.io.FixedLenFeature([lengths[n]], tf.float32 if n in FLOAT_FEATURES else tf.int64)
            for n in names}


def parse_example(serialized, max_seq_length: int, max_predictions_per_seq: int,
                  use_token_boundary: bool = False) -> dict:
    """Decode one serialised example (or a batch of them) into int32/float32 tensors."""
    import tensorflow as tf

    spec = _feature_spec(max_seq_length, max_predictions_per_seq, use_token_boundary)
    if getattr(serialized, "shape", None) is not None and serialized.shape.rank == 1:
        parsed = tf.io.parse_example(serialized, spec)
    else:
        parsed = tf.io.parse_single_example(serialized, spec)
    return {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in parsed.items()}


def expand_input_files(input_files) -> list[str]:
    """Comma-separated patterns (or a list of them) -> sorted existing files; InputError if none."""
    if isinstance(input_files, (str, os.PathLike)):
        patterns = [p for p in os.fspath(input_files).split(",") if p.strip()]
    else:
        patterns = [os.fspath(p) for p in input_files]
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern.strip()))
        if not matches:
            raise InputError(f"input_file {pattern!r} matches no file")
        files.extend(matches)
    if not files:
        raise InputError("input_file is empty; expected file paths, comma lists or globs")
    return files


# Marks the assertion a bad record trips inside the tf.data pipeline; `record_error` turns
# the resulting InvalidArgumentError into an InputError naming the file and record number.
BAD_RECORD = "albert_nb bad record"
_BAD_RECORD_RE = re.compile(re.escape(BAD_RECORD) + r"\] \[(.*?)\] \[(\d+)\] \[(.*?)\] \[(.*?)\]")
_ID_FEATURES = ("input_ids", "masked_lm_ids")


def _numbered_records(path):
    """(file, record number from 0, serialized) of one TFRecord file."""
    import tensorflow as tf

    return tf.data.TFRecordDataset(path).enumerate().map(lambda i, r: (path, i, r))


def _checked_parse(paths, numbers, serialized, max_seq_length, max_predictions_per_seq,
                   use_token_boundary, vocab_size):
    """Parse a batch like `parse_example`, but check every record as it is read: each feature
    has its length (lengths that change mid-file are caught at the first such record) and no id
    is negative or >= vocab_size. A failed check stops the pipeline with BAD_RECORD, the file
    and the record number, before any step trains on the batch."""
    import tensorflow as tf

    lengths = feature_lengths(max_seq_length, max_predictions_per_seq)
    names = [n for n in FEATURE_NAMES if n != "token_boundary" or use_token_boundary]
    spec = {n: tf.io.RaggedFeature(tf.float32 if n in FLOAT_FEATURES else tf.int64) for n in names}
    parsed = tf.io.parse_example(serialized, spec)
    checks = []

    def require(ok, row, what):                        # ok: [batch] bool
        first = tf.argmax(tf.cast(tf.logical_not(ok), tf.int32))
        checks.append(tf.debugging.Assert(tf.reduce_all(ok), [
            BAD_RECORD, paths[first], numbers[first], what, row[first]], summarize=4))

    out = {}
    for name in names:
        got = parsed[name].row_lengths()               # [batch]
        require(tf.equal(got, lengths[name]), got, f"{name} length (expected {lengths[name]})")
        if vocab_size is not None and name in _ID_FEATURES:
            values = parsed[name]
            worst = tf.reduce_max(tf.abs(values), axis=1)   # [batch]
            require(tf.logical_and(tf.reduce_min(values, axis=1) >= 0, worst < vocab_size), worst,
                    f"{name} id outside [0, vocab_size={vocab_size})")
        out[name] = parsed[name]
    with tf.control_dependencies(checks):
        dense = {n: tf.identity(v.to_tensor(shape=[None, lengths[n]])) for n, v in out.items()}
    return {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in dense.items()}


def record_error(err) -> InputError | None:
    """The InputError for a pipeline error raised by a bad record, else None."""
    match = _BAD_RECORD_RE.search(str(getattr(err, "message", err)))
    if match is None:
        return None
    path, number, what, value = match.groups()
    return InputError(f"TFRecord {path!r}, record {number} (counting from 0): {what}, found "
                      f"{value}; expected records as create_pretraining_data writes them")


def check_framing(path: str) -> int:
    """Walk a TFRecord file's record headers (length + CRC, 12 bytes; data; data CRC, 4 bytes)
    without reading the data; returns the number of records. A file cut inside a header ends
    silently in TensorFlow's reader (the tail is dropped without a word), so a file that does
    not end exactly after its last record is refused here, naming the record and byte."""
    size = os.path.getsize(path)
    offset, number = 0, 0
    with open(path, "rb") as handle:
        while offset < size:
            header = handle.read(12)
            if len(header) < 12:
                break
            length = int.from_bytes(header[:8], "little")
            end = offset + 12 + length + 4
            if end > size:
                break
            handle.seek(end)
            offset, number = end, number + 1
    if offset != size:
        raise InputError(f"TFRecord {path!r} is truncated or damaged: record {number} (counting from "
                         f"0) starts at byte {offset} but does not fit in the file's {size} bytes; "
                         "regenerate it (create_pretraining_data)")
    return number


def make_dataset(input_files, max_seq_length: int, max_predictions_per_seq: int,
                 batch_size: int, is_training: bool, seed: int | None = None,
                 repeat: bool | None = None, use_token_boundary: bool = False,
                 drop_remainder: bool | None = None, vocab_size: int | None = None):
    """Batched tf.data pipeline over pretraining TFRecords, like the original's input_fn.

    Every record is checked as it is read (see `_checked_parse`); `vocab_size` also bounds
    the ids; each file's framing is checked first (`check_framing`), so a truncated file is
    named before training starts.
    """
    import tensorflow as tf

    files = expand_input_files(input_files)
    for path in files:
        check_framing(path)
    repeat = is_training if repeat is None else repeat
    drop_remainder = is_training if drop_remainder is None else drop_remainder
    if is_training:
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(files))
        ds = ds.shuffle(len(files), seed=seed)
        if repeat:
            ds = ds.repeat()
        ds = ds.interleave(_numbered_records, cycle_length=min(4, len(files)),
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
        ds = ds.shuffle(100, seed=seed)
    else:
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(files)).flat_map(_numbered_records)
        if repeat:
            ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda p, i, s: _checked_parse(p, i, s, max_seq_length, max_predictions_per_seq,
                                               use_token_boundary, vocab_size),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _decode_raw(record: bytes) -> dict:
    import tensorflow as tf

    example = tf.train.Example.FromString(record)
    out = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = getattr(feature, kind).value
        out[name] = np.asarray(values, dtype=np.float32 if kind == "float_list" else np.int64)
    return out


def read_examples(path, limit: int | None = None) -> list[dict]:
    """Raw decoded records (numpy arrays, original dtypes) for inspection and tests."""
    import tensorflow as tf

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"TFRecord file not found: {path!r}")
    out = []
    for raw in tf.data.TFRecordDataset(path):
        out.append(_decode_raw(raw.numpy()))
        if limit is not None and len(out) >= limit:
            break
    return out


def infer_lengths(path) -> tuple[int, int]:
    """(max_seq_length, max_predictions_per_seq) of a pretraining TFRecord file."""
    first = read_examples(path, limit=1)
    if not first:
        raise InputError(f"TFRecord file {os.fspath(path)!r} holds no examples")
    return len(first[0]["input_ids"]), len(first[0]["masked_lm_positions"])

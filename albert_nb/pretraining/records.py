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

import numpy as np

from albert_nb.errors import InputError

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


def make_dataset(input_files, max_seq_length: int, max_predictions_per_seq: int,
                 batch_size: int, is_training: bool, seed: int | None = None,
                 repeat: bool | None = None, use_token_boundary: bool = False,
                 drop_remainder: bool | None = None):
    """Batched tf.data pipeline over pretraining TFRecords, like the original's input_fn."""
    import tensorflow as tf

    files = expand_input_files(input_files)
    repeat = is_training if repeat is None else repeat
    drop_remainder = is_training if drop_remainder is None else drop_remainder
    if is_training:
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(files))
        ds = ds.shuffle(len(files), seed=seed)
        if repeat:
            ds = ds.repeat()
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)),
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
        ds = ds.shuffle(100, seed=seed)
    else:
        ds = tf.data.TFRecordDataset(files)
        if repeat:
            ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda s: parse_example(s, max_seq_length, max_predictions_per_seq,
                                        use_token_boundary),
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

"""The encoder's input names, defined once: the original's feature names, so TFRecords, TF-Hub
signatures, serving exports and checkpoints line up without renaming."""
from __future__ import annotations

# TensorFlow is imported inside `input_signature` (deliberately lazy): the input names are read by
# modules that never load TensorFlow (options, data preparation).

INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


def encoder_inputs(batch) -> dict:
    """The encoder's inputs out of a batch that may carry labels and other features."""
    return {k: batch[k] for k in INPUT_NAMES if k in batch}


def input_signature() -> dict:
    """{name: TensorSpec([None, None], int32)}: one trace serves every batch size and length."""
    import tensorflow as tf  # deliberate: this module stays importable without TensorFlow

    return {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES}

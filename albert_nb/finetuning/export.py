"""run_classifier's `--export_dir`: a SavedModel of the fine-tuned classifier, with two signatures.

* `serving_default` -- the original's (`_serving_input_receiver_fn` + Estimator export): one input
  `input`, a string vector of serialized `tf.Example`s each holding int64 `input_ids`,
  `input_mask`, `segment_ids` of length `max_seq_length` (the features the original writes),
  so a TF Serving client of the original's export works unchanged.
* `serving_ids` -- ours: `input_ids`, `input_mask`, `segment_ids` as int32 [batch, seq] tensors of
  any length (no tf.Example encoding, no padding to max_seq_length).

Both return `probabilities` and `predictions` as the original's model_fn: softmax and argmax for
classification; for regression (STS-B) `probabilities` is the raw [batch, 1] output and
`predictions` the same squeezed to [batch]. `threshold` (the original's `--threshold_to_export`,
a decision threshold for the client) adds a constant float32 output `threshold` to both.
"""
from __future__ import annotations

import math
import os
import time

import tensorflow as tf

MODEL_INPUTS = ("input_ids", "input_mask", "segment_ids")
SIGNATURES = ("serving_default", "serving_ids")


def export_classifier(model, export_dir: str, max_seq_length: int, is_regression: bool,
                      threshold: float = float("nan")) -> str:
    """Write `<export_dir>/<unix time>/` (the Estimator's layout) and return that path."""
    def outputs(inputs):
        logits = model(inputs, training=False)["logits"]                   # [batch, C]
        if is_regression:
            out = {"probabilities": logits, "predictions": logits[:, 0]}   # [batch, 1], [batch]
        else:
            probabilities = tf.nn.softmax(logits, -1)                      # [batch, C]
            out = {"probabilities": probabilities,
                   "predictions": tf.argmax(probabilities, -1, output_type=tf.int32)}
        if not math.isnan(threshold):
            out["threshold"] = tf.constant(threshold, tf.float32)
        return out

    spec = {k: tf.TensorSpec([None, None], tf.int32, name=k) for k in MODEL_INPUTS}
    features = {k: tf.io.FixedLenFeature([max_seq_length], tf.int64) for k in MODEL_INPUTS}

    @tf.function(input_signature=[spec])
    def serving_ids(inputs):
        return outputs(inputs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="input")])
    def serving_default(serialized):
        parsed = tf.io.parse_example(serialized, features)                 # int64 [batch, seq]
        return outputs({k: tf.cast(v, tf.int32) for k, v in parsed.items()})

    module = tf.Module()
    module.model_variables = list(model.variables)
    module.serving_ids, module.serving_default = serving_ids, serving_default
    path = os.path.join(export_dir, str(int(time.time())))
    while os.path.exists(path):  # two exports within a second: the Estimator's next timestamp
        path = os.path.join(export_dir, str(int(os.path.basename(path)) + 1))
    tf.saved_model.save(module, path, signatures={
        "serving_default": serving_default.get_concrete_function(),
        "serving_ids": serving_ids.get_concrete_function()})
    return path


def example_strings(features, max_seq_length: int) -> list[bytes]:
    """Serialized tf.Examples for `serving_default` from InputFeatures (padded with zeros to
    max_seq_length, input_mask 1 on real tokens), as the original's feature files hold them."""
    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    out = []
    for f in features:
        pad = [0] * (max_seq_length - len(f.input_ids))
        example = tf.train.Example(features=tf.train.Features(feature={
            "input_ids": ints(list(f.input_ids) + pad),
            "input_mask": ints([1] * len(f.input_ids) + pad),
            "segment_ids": ints(list(f.segment_ids) + pad)}))
        out.append(example.SerializeToString())
    return out

"""The pretraining objectives, as the original's run_pretraining.py computes them.

* masked LM: cross entropy at the masked positions only, weighted by `masked_lm_weights`
  (0 for padding slots): sum(w * nll) / (sum(w) + 1e-5). The decoder is the word-embedding
  table itself plus an output bias (`model.heads.MaskedLMHead`).
* sentence order (SOP): cross entropy of the 2-way classifier on the pooled [CLS] vector.
* total = MLM + SOP.

Under a strategy with several replicas the MLM denominator is the *global* batch's weight sum
(`global_weight_sum`), so the loss is the one-device loss whatever the replica count (the
original's TPU cores each divided by their own count, which weights a core with fewer masked
tokens more). SOP needs nothing: every replica holds the same number of examples.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from albert_nb.model.inputs import INPUT_NAMES

MODEL_INPUTS = (*INPUT_NAMES, "masked_lm_positions")
EVAL_KEYS = ("global_step", "loss", "masked_lm_accuracy", "masked_lm_loss",
             "sentence_order_accuracy", "sentence_order_loss")


def masked_lm_loss(mlm_logits, masked_lm_ids, masked_lm_weights):
    """Weighted mean NLL over masked slots -> (scalar loss, per-slot nll [batch, P])."""
    log_probs = ops.log_softmax(ops.cast(mlm_logits, "float32"), axis=-1)   # [batch, P, V]
    labels = ops.cast(masked_lm_ids, "int32")[..., None]                   # [batch, P, 1]
    nll = -ops.take_along_axis(log_probs, labels, axis=-1)[..., 0]         # [batch, P]
    weights = ops.cast(masked_lm_weights, "float32")                        # [batch, P]
    loss = ops.sum(weights * nll) / (global_weight_sum(ops.sum(weights)) + 1e-5)
    return loss, nll


def global_weight_sum(weight_sum):
    """A replica's share of the global batch's weight sum (the sum over replicas divided by
    their count): the training loop divides each replica's loss by the replica count and sums
    the gradients, so sum_r(S_r / this) / replicas = sum(S) / sum(W), the one-device mean.
    Outside a multi-replica step (one device, evaluation) it is `weight_sum` itself."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return weight_sum
    return context.all_reduce(tf.distribute.ReduceOp.SUM, weight_sum) / context.num_replicas_in_sync


def sentence_order_loss(sop_logits, labels):
    """Mean NLL of the 2-way sentence-order classifier -> (scalar, per-example nll [batch])."""
    log_probs = ops.log_softmax(ops.cast(sop_logits, "float32"), axis=-1)  # [batch, 2]
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))              # [batch, 1]
    nll = -ops.take_along_axis(log_probs, labels, axis=-1)[:, 0]           # [batch]
    return ops.mean(nll), nll


def pretraining_losses(outputs, batch) -> dict:
    """Model outputs + a batch of TFRecord features -> every loss term (float32 scalars/tensors)."""
    mlm, mlm_nll = masked_lm_loss(outputs["mlm_logits"], batch["masked_lm_ids"],
                                  batch["masked_lm_weights"])
    sop, sop_nll = sentence_order_loss(outputs["sop_logits"], batch["next_sentence_labels"])
    return {"loss": mlm + sop, "masked_lm_loss": mlm, "sentence_order_loss": sop,
            "mlm_nll": mlm_nll, "sop_nll": sop_nll}


class PretrainingMetrics:
    """The original's eval metrics, accumulated over batches with Keras metrics.

    masked_lm_accuracy and masked_lm_loss are weighted by masked_lm_weights (padding slots count
    zero); `loss` is the mean of the per-batch total loss, as Estimator reports it.
    """

    def __init__(self):
        self.loss = keras.metrics.Mean(name="loss")
        self.mlm_accuracy = keras.metrics.SparseCategoricalAccuracy(name="masked_lm_accuracy")
        self.mlm_loss = keras.metrics.Mean(name="masked_lm_loss")
        self.sop_accuracy = keras.metrics.SparseCategoricalAccuracy(name="sentence_order_accuracy")
        self.sop_loss = keras.metrics.Mean(name="sentence_order_loss")
        self.all = (self.loss, self.mlm_accuracy, self.mlm_loss, self.sop_accuracy, self.sop_loss)

    def update(self, outputs, batch, losses) -> None:
        weights = ops.cast(batch["masked_lm_weights"], "float32")
        self.loss.update_state(losses["loss"])
        self.mlm_accuracy.update_state(batch["masked_lm_ids"], outputs["mlm_logits"],
                                       sample_weight=weights)
        self.mlm_loss.update_state(losses["mlm_nll"], sample_weight=weights)
        sop_labels = ops.reshape(batch["next_sentence_labels"], (-1,))
        self.sop_accuracy.update_state(sop_labels, outputs["sop_logits"])
        self.sop_loss.update_state(losses["sop_nll"])

    def reset(self) -> None:
        for metric in self.all:
            metric.reset_state()

    def result(self) -> dict:
        return {m.name: float(m.result()) for m in self.all}


def model_inputs(batch) -> dict:
    """What the pretraining model reads from a TFRecord batch (the labels stay behind)."""
    return {k: batch[k] for k in MODEL_INPUTS}

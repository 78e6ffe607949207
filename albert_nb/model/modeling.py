"""`AlbertModel`: embeddings -> shared-block encoder -> pooler, as a Keras 3 model.

Inputs use the original's feature names (`input_ids`, `input_mask`, `segment_ids`) so TFRecords,
TF-Hub signatures and checkpoints line up without renaming.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from albert_nb.errors import InputError
from albert_nb.model.config import AlbertConfig
from albert_nb.model.inputs import INPUT_NAMES, input_signature
from albert_nb.model.layers import (
    MASK_VALUE,
    AlbertEmbeddings,
    AlbertEncoder,
    AlbertPooler,
)


def attention_mask_bias(input_mask):
    """[batch, seq] 1/0 mask -> additive [batch, 1, 1, seq] bias: 0 for tokens, -10000 for padding.

    expand_dims rather than `[:, None, None, :]`: TFLite has a builtin kernel for the former only
    (the latter would need TF Select ops to export run_squad_v1's albert_model.tflite)."""
    mask = ops.cast(input_mask, "float32")
    return ops.expand_dims(ops.expand_dims((1.0 - mask) * MASK_VALUE, 1), 1)


def dummy_inputs(batch: int = 1, seq: int = 2) -> dict[str, np.ndarray]:
    ids = np.zeros((batch, seq), dtype="int32")
    return {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": ids}


def _check_inputs(inputs, config: AlbertConfig) -> dict:
    if not isinstance(inputs, dict):
        raise InputError(f"AlbertModel expects a dict with keys {INPUT_NAMES}, got {type(inputs).__name__}")
    missing = [name for name in ("input_ids",) if name not in inputs]
    if missing:
        raise InputError(f"AlbertModel inputs: missing {missing}; expected keys {INPUT_NAMES}")
    ids = inputs["input_ids"]
    shape = tuple(ids.shape)
    if len(shape) != 2:
        raise InputError(f"AlbertModel inputs['input_ids']: expected shape [batch, seq], got {shape}")
    seq = shape[1]
    if seq is not None and seq > config.max_position_embeddings:
        raise InputError(f"sequence length {seq} exceeds max_position_embeddings "
                         f"= {config.max_position_embeddings}")
    out = dict(inputs)
    if "input_mask" not in out:
        out["input_mask"] = ops.ones_like(ids)
    if "segment_ids" not in out:
        out["segment_ids"] = ops.zeros_like(ids)
    for name in ("input_mask", "segment_ids"):
        if tuple(out[name].shape) != shape:
            raise InputError(f"AlbertModel inputs[{name!r}]: shape {tuple(out[name].shape)} "
                             f"does not match input_ids {shape}")
    return out


class AlbertModel(keras.Model):
    """The ALBERT encoder. Returns a dict:

    sequence_output [batch, seq, hidden], pooled_output [batch, hidden], embedding_output
    [batch, seq, E], and on request hidden_states (projected embeddings + one entry per block
    application: L x inner_group_num) and attentions ([batch, heads, seq, seq] per application).
    """

    def __init__(self, config: AlbertConfig, name: str = "albert", **kwargs):
        super().__init__(name=name, **kwargs)
        self.config = config
        self.embeddings = AlbertEmbeddings(config, name="embeddings")
        self.encoder = AlbertEncoder(config, name="encoder")
        self.pooler = AlbertPooler(config, name="pooler")
        self.embeddings.build(None)
        self.encoder.build(None)
        self.pooler.build(None)
        self.built = True

    @property
    def word_embeddings(self):
        return self.embeddings.word_embeddings

    def call(self, inputs, training=None, output_hidden_states=False, output_attentions=False):
        inputs = _check_inputs(inputs, self.config)
        input_ids = ops.cast(inputs["input_ids"], "int32")                # [batch, seq]
        segment_ids = ops.cast(inputs["segment_ids"], "int32")            # [batch, seq]
        mask_bias = attention_mask_bias(inputs["input_mask"])             # [batch, 1, 1, seq]
        embedded = self.embeddings(input_ids, segment_ids, training=training)   # [batch, seq, E]
        sequence_output, hidden_states, attentions = self.encoder(
            embedded, mask_bias, training=training,
            output_hidden_states=output_hidden_states, output_attentions=output_attentions)
        outputs = {
            "sequence_output": sequence_output,                            # [batch, seq, hidden]
            "pooled_output": self.pooler(sequence_output),                 # [batch, hidden]
            "embedding_output": embedded,                                  # [batch, seq, E]
        }
        if output_hidden_states:
            outputs["hidden_states"] = hidden_states
        if output_attentions:
            outputs["attentions"] = attentions
        return outputs

    def forward_function(self, output_hidden_states=False, output_attentions=False, jit_compile=False):
        """A tf.function over [None, None] int32 inputs: one trace serves every batch and length.

        Eager Keras calls never retrace, but graph callers (serving, hub export, benchmarks) would
        trace once per new sequence length without a relaxed input signature.
        """
        @tf.function(input_signature=[input_signature()], jit_compile=jit_compile)
        def forward(inputs):
            return self(inputs, training=False, output_hidden_states=output_hidden_states,
                        output_attentions=output_attentions)

        return forward

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(AlbertConfig.from_dict(config["config"]), name=config.get("name", "albert"))

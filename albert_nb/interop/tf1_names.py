"""The name table of Google's TF1 graph: for every weight of an albert_nb model, the variable
name the original gives it (`bert/embeddings/word_embeddings`,
`bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel`, ...) and whether
the stored array is the transpose of our Keras kernel.

`albert_nb.interop.checkpoints` reads and writes TF1 checkpoints through `tf1_name_map`, and
`albert_nb.interop.hf` builds Hugging Face's names on the same `Entry`, so every format is one
table away from our variables.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from albert_nb.errors import InputError
from albert_nb.model import heads
from albert_nb.model.modeling import AlbertModel

ENCODER_SCOPE = "bert/"
# Suffixes of optimizer state; the original's AdamW and LAMB both use adam_m / adam_v.
SLOT_SUFFIXES = ("/adam_m", "/adam_v", "/lamb_m", "/lamb_v", "/Adam", "/Adam_1", "/Momentum")
SKIPPED_NAMES = ("global_step", "good_steps", "loss_scale", "current_loss_scale")
# TF-Hub (TF1 format) modules store the same names under the module's scope.
HUB_SCOPE = "module/"


def is_slot_or_step(name: str) -> bool:
    return name.endswith(SLOT_SUFFIXES) or name.split("/")[-1] in SKIPPED_NAMES or "/Adam" in name


@dataclasses.dataclass(frozen=True)
class Entry:
    """One weight: its TF1 name, our Keras variable, and whether TF1 stores the transpose."""

    name: str
    variable: object
    transpose: bool = False

    @property
    def checkpoint_shape(self) -> tuple:
        shape = tuple(int(d) for d in self.variable.shape)
        return shape[::-1] if self.transpose else shape

    def to_checkpoint(self, value: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(value.T) if self.transpose else value

    def from_checkpoint(self, value: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(value.T) if self.transpose else value


def _dense(prefix: str, layer, transpose: bool = False) -> list[Entry]:
    return [Entry(f"{prefix}/kernel", layer.kernel, transpose), Entry(f"{prefix}/bias", layer.bias)]


def _norm(prefix: str, layer) -> list[Entry]:
    return [Entry(f"{prefix}/gamma", layer.gamma), Entry(f"{prefix}/beta", layer.beta)]


def encoder_entries(albert) -> list[Entry]:
    """The encoder (`bert/...`) part of the table for an `AlbertModel`."""
    emb, enc = albert.embeddings, albert.encoder
    e = [Entry("bert/embeddings/word_embeddings", emb.word_embeddings),
         Entry("bert/embeddings/token_type_embeddings", emb.token_type_embeddings),
         Entry("bert/embeddings/position_embeddings", emb.position_embeddings)]
    e += _norm("bert/embeddings/LayerNorm", emb.LayerNorm)
    if enc.embedding_hidden_mapping_in is not None:   # absent when E == H, as in the original
        e += _dense("bert/encoder/embedding_hidden_mapping_in", enc.embedding_hidden_mapping_in)
    for g, group in enumerate(enc.groups):
        for i, block in enumerate(group):
            p = f"bert/encoder/transformer/group_{g}/inner_group_{i}"
            att = block.attention
            for part in ("query", "key", "value"):
                e += _dense(f"{p}/attention_1/self/{part}", getattr(att, part))
            e += _dense(f"{p}/attention_1/output/dense", att.dense)
            e += _norm(f"{p}/LayerNorm", att.LayerNorm)                  # after attention
            e += _dense(f"{p}/ffn_1/intermediate/dense", block.ffn)
            e += _dense(f"{p}/ffn_1/intermediate/output/dense", block.ffn_output)  # nested "output"
            e += _norm(f"{p}/LayerNorm_1", block.full_layer_layer_norm)  # after the FFN
    e += _dense("bert/pooler/dense", albert.pooler.dense)
    return e


def head_entries(model) -> list[Entry]:
    """The head part of the table; empty for a bare `AlbertModel`.

    Heads whose original weight is `output_weights` store it [out, H], the transpose of a Keras
    Dense kernel [H, out]. Token classification has no original graph; it uses the classifier's
    names (`output_weights`, `output_bias`).
    """
    if isinstance(model, heads.AlbertForPretraining):
        mlm = model.mlm_head
        return (_dense("cls/predictions/transform/dense", mlm.dense)
                + _norm("cls/predictions/transform/LayerNorm", mlm.LayerNorm)
                + [Entry("cls/predictions/output_bias", mlm.output_bias),
                   Entry("cls/seq_relationship/output_weights", model.sop_head.kernel, True),
                   Entry("cls/seq_relationship/output_bias", model.sop_head.bias)])
    if isinstance(model, (heads.AlbertForSequenceClassification, heads.AlbertForTokenClassification,
                          heads.AlbertForMultipleChoice)):
        return [Entry("output_weights", model.classifier.kernel, True),
                Entry("output_bias", model.classifier.bias)]
    if isinstance(model, heads.AlbertForQuestionAnswering):
        return [Entry("cls/squad/output_weights", model.qa_outputs.kernel, True),
                Entry("cls/squad/output_bias", model.qa_outputs.bias)]
    if isinstance(model, heads.AlbertForQuestionAnsweringV2):
        return (_dense("start_logits/dense", model.start_dense)
                + _dense("end_logits/dense_0", model.end_dense_0)
                + _norm("end_logits/LayerNorm", model.end_norm)
                + _dense("end_logits/dense_1", model.end_dense_1)
                + _dense("answer_class/dense_0", model.answer_dense_0)
                + [Entry("answer_class/dense_1/kernel", model.answer_dense_1.kernel)])
    return []


def encoder_of(model):
    """The `AlbertModel` inside `model` (itself, or a head's `.albert`)."""
    if isinstance(model, AlbertModel):
        return model
    albert = getattr(model, "albert", None)
    if not isinstance(albert, AlbertModel):
        raise InputError(f"{type(model).__name__} holds no albert_nb AlbertModel at `.albert`; "
                         "TF1 checkpoints map only onto albert_nb models")
    return albert


def tf1_name_map(model) -> list[Entry]:
    """Every weight of `model` (an AlbertModel or any head) with its TF1 name, encoder first."""
    entries = encoder_entries(encoder_of(model)) + head_entries(model)
    names = [e.name for e in entries]
    assert len(names) == len(set(names)), "TF1 name table has duplicates"
    return entries

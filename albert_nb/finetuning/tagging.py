"""Tagged sentences -> WordPiece/SentencePiece features -> tags per original token, and back.

A tagged corpus labels *tokens* (Chinese NER: characters; CoNLL English: words), while the
model sees *pieces*. Each token is tokenised on its own (so its pieces never merge with a
neighbour's) and its tag goes on its first piece; the other pieces, [CLS] and [SEP] carry
weight 0 and are neither trained on nor scored. Predictions come back through `token_index`
(the token each first piece starts), so every token of the input gets exactly one tag:

* a token with no piece at all (a control or zero-width character) is tagged "O";
* a sentence longer than `max_seq_length - 2` pieces is cut into consecutive windows
  (never dropped, never truncated), and their predictions are joined again.

The label of a continuation piece could be trained too (BERT's paper used the first piece
only; so do we, which keeps "one prediction per token" exact).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf
from keras import ops

from albert_nb.errors import InputError
from albert_nb.tasks.tagging import OUTSIDE


@dataclasses.dataclass
class TaggingFeatures:
    """One window of one sentence, unpadded."""

    input_ids: list
    segment_ids: list
    label_ids: list         # tag id on a token's first piece, 0 elsewhere
    label_weights: list     # 1 on a token's first piece, 0 elsewhere
    token_index: list       # index of the token a first piece starts, -1 elsewhere
    example_index: int

    def __len__(self) -> int:
        return len(self.input_ids)


def token_pieces(tokenizer, token: str) -> list[str]:
    return tokenizer.tokenize(tokenizer.preprocess(token))


def convert_tagged_example(example, example_index: int, label_map: dict, max_seq_length: int,
                           tokenizer) -> list[TaggingFeatures]:
    """Windows of `[CLS] pieces [SEP]`, each at most `max_seq_length` long."""
    if max_seq_length < 3:
        raise InputError(f"--max_seq_length={max_seq_length}: expected at least 3 ([CLS] x [SEP])")
    budget = max_seq_length - 2
    windows, current = [], []               # current: (token index, pieces) of this window
    for index, token in enumerate(example.tokens):
        tag = example.labels[index]
        if tag not in label_map:
            raise InputError(f"example {example.guid}: unknown tag {tag!r}; expected one of "
                             f"{list(label_map)}")
        pieces = token_pieces(tokenizer, token)[:budget]
        if current and sum(len(p) for _, p in current) + len(pieces) > budget:
            windows.append(current)
            current = []
        current.append((index, pieces))
    windows.append(current)
    out = []
    for window in windows:
        pieces = [tokenizer.special_tokens["cls"]]
        labels, weights, starts = [0], [0], [-1]
        for index, token_piece_list in window:
            for k, piece in enumerate(token_piece_list):
                pieces.append(piece)
                first = k == 0
                labels.append(label_map[example.labels[index]] if first else 0)
                weights.append(int(first))
                starts.append(index if first else -1)
        pieces.append(tokenizer.special_tokens["sep"])
        labels, weights, starts = labels + [0], weights + [0], starts + [-1]
        out.append(TaggingFeatures(tokenizer.convert_tokens_to_ids(pieces), [0] * len(pieces),
                                   labels, weights, starts, example_index))
    return out


def convert_tagged_examples(examples: Sequence, labels: Sequence[str], max_seq_length: int,
                            tokenizer) -> list[TaggingFeatures]:
    label_map = {label: i for i, label in enumerate(labels)}
    return [f for i, ex in enumerate(examples)
            for f in convert_tagged_example(ex, i, label_map, max_seq_length, tokenizer)]


def tags_from_logits(features: Sequence[TaggingFeatures], logits: Sequence[np.ndarray],
                     examples: Sequence, labels: Sequence[str]) -> list[list[str]]:
    """One tag per token of every example, from per-window logits ([len_i, num_labels] each,
    padding allowed at the end)."""
    out = [[OUTSIDE] * len(ex.tokens) for ex in examples]
    for feature, window_logits in zip(features, logits):
        ids = np.asarray(window_logits)[: len(feature)].argmax(axis=-1)       # [len]
        for position, token in enumerate(feature.token_index):
            if token >= 0:
                out[feature.example_index][token] = labels[int(ids[position])]
    return out


def features_dataset(features: Sequence[TaggingFeatures]):
    """tf.data of unpadded dicts (input_ids, input_mask, segment_ids, label_ids, label_weights),
    batched by `albert_nb.finetuning.features.batch_dataset` (which pads every sequence)."""
    def ragged(key):
        return tf.ragged.constant([getattr(f, key) for f in features], dtype=tf.int32)

    data = {key: ragged(key) for key in ("input_ids", "segment_ids", "label_ids", "label_weights")}

    def finish(f):
        f = {k: tf.cast(v, tf.int32) for k, v in f.items()}
        f["input_mask"] = tf.ones_like(f["input_ids"])
        return f

    return tf.data.Dataset.from_tensor_slices(data).map(finish, num_parallel_calls=tf.data.AUTOTUNE)


def tagging_loss(logits, label_ids, label_weights):
    """Mean cross entropy over the weighted (first-piece) positions. logits [batch, seq, labels]."""
    per_token = ops.sparse_categorical_crossentropy(label_ids, logits, from_logits=True)  # [b, s]
    weights = ops.cast(label_weights, per_token.dtype)
    return ops.sum(per_token * weights) / ops.maximum(ops.sum(weights), 1.0)

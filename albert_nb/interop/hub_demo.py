"""The small fine-tuning demo of notebook 04: train a classifier *through* a hub module.

Task (built from the tiny model's held-out English text, no download): is a sentence in its
original word order (label 1) or are its words shuffled (label 0)? A pretrained encoder has
seen word order, so a few steps already move the loss; what the notebook checks is that the
gradients go into the hub module's own weights.
"""
from __future__ import annotations

import keras
import numpy as np
import plotly.graph_objects as go
import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.tokenizers.pairs import encode_pair


def word_order_examples(lines, n: int = 256, min_words: int = 6, seed: int = 0):
    """(texts, labels): half original sentences (1), half with shuffled words (0)."""
    rng = np.random.default_rng(seed)
    sentences = [line.strip() for line in lines if len(line.split()) >= min_words]
    if not sentences:
        raise InputError(f"word_order_examples: no sentence with at least {min_words} words")
    picked = [sentences[i] for i in rng.choice(len(sentences), size=n, replace=len(sentences) < n)]
    texts, labels = [], []
    for index, sentence in enumerate(picked):
        if index % 2:
            words = sentence.split()
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(0)
        else:
            texts.append(sentence)
            labels.append(1)
    return texts, np.asarray(labels, dtype=np.int32)


def encode(tokenizer, texts, max_seq_length: int = 32) -> dict:
    """[CLS] pieces [SEP], padded: {input_ids, input_mask, segment_ids} int32 [n, max_seq_length]."""
    ids = np.zeros((len(texts), max_seq_length), dtype=np.int32)
    mask = np.zeros_like(ids)
    for row, text in enumerate(texts):
        seq, _ = encode_pair(tokenizer, text, None, max_seq_length)
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return {"input_ids": ids, "input_mask": mask, "segment_ids": np.zeros_like(ids)}


def fine_tune(model, features: dict, labels, steps: int = 30, batch_size: int = 16,
              learning_rate: float = 3e-4, seed: int = 0) -> list[float]:
    """Plain Adam steps on random mini-batches; returns the loss of every step."""
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(learning_rate)
    variables = model.trainable_variables

    @tf.function
    def step(batch, y):
        with tf.GradientTape() as tape:
            logits = model(batch, training=True)["logits"]                 # [batch, 2]
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses = []
    for _ in range(steps):
        rows = rng.choice(len(labels), size=batch_size, replace=False)
        losses.append(float(step({k: v[rows] for k, v in features.items()}, labels[rows])))
    return losses


def accuracy(model, features: dict, labels) -> float:
    logits = np.asarray(model(features, training=False)["logits"])
    return float((logits.argmax(-1) == labels).mean())


def loss_figure(histories: dict):
    """Training loss per step, one line per run."""
    fig = go.Figure()
    for name, losses in histories.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(losses) + 1)), y=losses, mode="lines", name=name))
    fig.update_layout(title="Fine-tuning through the hub module", xaxis_title="step",
                      yaxis_title="cross-entropy loss", height=350)
    return fig

"""Every ALBERT head, each a small Keras model wrapping an `AlbertModel` at `.albert`.

Heads mirror the original's fine-tuning graphs (names in comments are the TF1 variable scopes),
so checkpoints map one to one: MLM tied to the word embeddings, SOP on the pooled output,
classification/regression, token tagging, SQuAD v1 spans, SQuAD v2 spans with answer
verification (XLNet-style), and RACE-style multiple choice.
"""
from __future__ import annotations

import keras
from keras import ops

from albert_nb.model.config import AlbertConfig
from albert_nb.model.layers import activation, dense, layer_norm
from albert_nb.model.inputs import encoder_inputs
from albert_nb.model.modeling import AlbertModel

NEG_INF = -1e30  # masks logits of positions that can never be an answer (query, padding)


def gather_positions(sequence, positions):
    """sequence [batch, seq, width], positions [batch, P] -> [batch, P, width]."""
    positions = ops.cast(positions, "int32")
    return ops.take_along_axis(sequence, positions[:, :, None], axis=1)


class MaskedLMHead(keras.layers.Layer):
    """cls/predictions: dense H->E with the hidden activation, LayerNorm, then logits against
    the word-embedding table itself (tied decoder) plus a per-token output bias."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.dense = dense(config, config.embedding_size, "dense", act=activation(config.hidden_act))
        self.LayerNorm = layer_norm(config)

    def build(self, input_shape=None):
        self.dense.build((None, None, self.config.hidden_size))
        self.LayerNorm.build((None, None, self.config.embedding_size))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.config.vocab_size,),
                                           initializer="zeros")
        self.built = True

    def call(self, hidden, embedding_table):
        x = self.LayerNorm(self.dense(hidden))                              # [batch, P, E]
        table = ops.cast(embedding_table, x.dtype)                         # [V, E]
        logits = ops.matmul(x, ops.transpose(table))                       # [batch, P, V]
        # Under mixed precision Keras hands the bias over in the compute dtype: add it in float32.
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")


class AlbertForPretraining(keras.Model):
    """Masked LM over gathered positions + sentence-order prediction from the pooled output."""

    def __init__(self, config: AlbertConfig, albert: AlbertModel | None = None, name="albert_pretraining", **kw):
        super().__init__(name=name, **kw)
        self.config = config
        self.albert = albert or AlbertModel(config)
        self.mlm_head = MaskedLMHead(config, name="predictions")
        self.sop_head = dense(config, 2, "seq_relationship")
        self.mlm_head.build()
        self.sop_head.build((None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        out = self.albert(encoder_inputs(inputs), training=training)
        positions = inputs.get("masked_lm_positions")
        seq = out["sequence_output"]                                        # [batch, seq, hidden]
        picked = seq if positions is None else gather_positions(seq, positions)  # [batch, P, hidden]
        return {
            "mlm_logits": self.mlm_head(picked, self.albert.word_embeddings),  # [batch, P, V]
            "sop_logits": ops.cast(self.sop_head(out["pooled_output"]), "float32"),  # [batch, 2]
            "sequence_output": seq,
            "pooled_output": out["pooled_output"],
        }


class AlbertForSequenceClassification(keras.Model):
    """Dropout on the pooled output, then one dense layer; num_labels=1 means regression (STS-B)."""

    def __init__(self, config: AlbertConfig, num_labels: int, albert: AlbertModel | None = None,
                 classifier_dropout: float | None = None, name="albert_classifier", **kw):
        super().__init__(name=name, **kw)
        self.config, self.num_labels = config, num_labels
        self.albert = albert or AlbertModel(config)
        rate = config.classifier_dropout_prob if classifier_dropout is None else classifier_dropout
        self.dropout = keras.layers.Dropout(rate)
        self.classifier = dense(config, num_labels, "output")             # output_weights/output_bias
        self.classifier.build((None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        pooled = self.albert(encoder_inputs(inputs), training=training)["pooled_output"]
        logits = self.classifier(self.dropout(pooled, training=training))   # [batch, num_labels]
        return {"logits": ops.cast(logits, "float32")}


class AlbertForTokenClassification(keras.Model):
    """Per-token tagging (NER, POS): dropout + dense on every position of the sequence output."""

    def __init__(self, config: AlbertConfig, num_labels: int, albert: AlbertModel | None = None,
                 name="albert_tagger", **kw):
        super().__init__(name=name, **kw)
        self.config, self.num_labels = config, num_labels
        self.albert = albert or AlbertModel(config)
        self.dropout = keras.layers.Dropout(config.classifier_dropout_prob)
        self.classifier = dense(config, num_labels, "output")
        self.classifier.build((None, None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        seq = self.albert(encoder_inputs(inputs), training=training)["sequence_output"]
        logits = self.classifier(self.dropout(seq, training=training))      # [batch, seq, num_labels]
        return {"logits": ops.cast(logits, "float32")}


class AlbertForQuestionAnswering(keras.Model):
    """SQuAD v1.1: one dense H->2 over the sequence gives start and end logits (cls/squad)."""

    def __init__(self, config: AlbertConfig, albert: AlbertModel | None = None, name="albert_squad", **kw):
        super().__init__(name=name, **kw)
        self.config = config
        self.albert = albert or AlbertModel(config)
        self.qa_outputs = dense(config, 2, "squad")
        self.qa_outputs.build((None, None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        seq = self.albert(encoder_inputs(inputs), training=training)["sequence_output"]
        logits = ops.cast(self.qa_outputs(seq), "float32")                 # [batch, seq, 2]
        return {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}


class AlbertForQuestionAnsweringV2(keras.Model):
    """SQuAD 2.0 with answer verification, as the original's XLNet-style head.

    Start logits come from each token alone; end logits are conditioned on a start token's hidden
    state (the gold start when training, each of the top `start_n_top` starts at inference); an
    answerability logit reads the [CLS] state plus the start-probability-weighted sequence.
    `p_mask` is 1 where no answer may start or end (query, [SEP], padding).
    """

    def __init__(self, config: AlbertConfig, albert: AlbertModel | None = None, start_n_top: int = 5,
                 end_n_top: int = 5, dropout_prob: float = 0.1, name="albert_squad_v2", **kw):
        super().__init__(name=name, **kw)
        self.config, self.start_n_top, self.end_n_top = config, start_n_top, end_n_top
        h = config.hidden_size
        self.albert = albert or AlbertModel(config)
        self.start_dense = dense(config, 1, "start_logits")                # start_logits/dense
        self.end_dense_0 = dense(config, h, "end_logits_dense_0", act="tanh")
        self.end_norm = layer_norm(config, "end_logits_LayerNorm")
        self.end_dense_1 = dense(config, 1, "end_logits_dense_1")
        self.answer_dense_0 = dense(config, h, "answer_class_dense_0", act="tanh")
        self.answer_dropout = keras.layers.Dropout(dropout_prob)
        self.answer_dense_1 = dense(config, 1, "answer_class_dense_1", use_bias=False)
        self.start_dense.build((None, None, h))
        self.end_dense_0.build((None, None, 2 * h))
        self.end_norm.build((None, None, h))
        self.end_dense_1.build((None, None, h))
        self.answer_dense_0.build((None, 2 * h))
        self.answer_dense_1.build((None, h))
        self.built = True

    def _end_logits(self, seq, start_states, p_mask):
        """seq [batch, seq, H], start_states broadcast to it -> masked end logits [..., seq]."""
        x = self.end_dense_1(self.end_norm(self.end_dense_0(ops.concatenate([seq, start_states], -1))))
        logits = ops.cast(x[..., 0], "float32")
        return logits * (1.0 - p_mask) + NEG_INF * p_mask

    def call(self, inputs, training=None):
        seq = self.albert(encoder_inputs(inputs), training=training)["sequence_output"]  # [B, T, H]
        p_mask = ops.cast(inputs["p_mask"], "float32")                     # [B, T]
        start_logits = ops.cast(self.start_dense(seq)[..., 0], "float32")
        start_logits = start_logits * (1.0 - p_mask) + NEG_INF * p_mask   # [B, T]
        start_log_probs = ops.log_softmax(start_logits, axis=-1)
        outputs = {"start_logits": start_logits, "start_log_probs": start_log_probs}
        seq_len = ops.shape(seq)[1]

        if "start_positions" in inputs and inputs["start_positions"] is not None:
            # Teacher forcing: condition the end on the gold start token.
            start_states = gather_positions(seq, ops.reshape(inputs["start_positions"], (-1, 1)))  # [B,1,H]
            start_states = ops.broadcast_to(start_states, ops.shape(seq))   # [B, T, H]
            end_logits = self._end_logits(seq, start_states, p_mask)        # [B, T]
            outputs["end_logits"] = end_logits
            outputs["end_log_probs"] = ops.log_softmax(end_logits, axis=-1)
        else:
            k = self.start_n_top
            start_top_log_probs, start_top_index = ops.top_k(start_log_probs, k=k)   # [B, k]
            start_states = gather_positions(seq, start_top_index)           # [B, k, H]
            seq_k = ops.broadcast_to(seq[:, None], (ops.shape(seq)[0], k, seq_len, self.config.hidden_size))
            start_k = ops.broadcast_to(start_states[:, :, None], ops.shape(seq_k))  # [B, k, T, H]
            end_logits = self._end_logits(seq_k, start_k, p_mask[:, None])  # [B, k, T]
            end_log_probs = ops.log_softmax(end_logits, axis=-1)
            end_top_log_probs, end_top_index = ops.top_k(end_log_probs, k=self.end_n_top)  # [B, k, k']
            outputs.update({
                "start_top_log_probs": start_top_log_probs, "start_top_index": start_top_index,
                "end_top_log_probs": ops.reshape(end_top_log_probs, (-1, k * self.end_n_top)),
                "end_top_index": ops.reshape(end_top_index, (-1, k * self.end_n_top)),
            })

        # Answerability: expected start state under the start distribution, next to [CLS].
        start_p = ops.softmax(start_logits, axis=-1)                       # [B, T]
        start_feature = ops.sum(seq * ops.cast(start_p[..., None], seq.dtype), axis=1)  # [B, H]
        x = self.answer_dense_0(ops.concatenate([start_feature, seq[:, 0]], -1))
        cls_logits = self.answer_dense_1(self.answer_dropout(x, training=training))
        outputs["cls_logits"] = ops.cast(cls_logits[:, 0], "float32")       # [B]
        return outputs


class AlbertForMultipleChoice(keras.Model):
    """RACE: each (article, question+option) pair is encoded separately; one score per option."""

    def __init__(self, config: AlbertConfig, albert: AlbertModel | None = None, dropout_prob: float = 0.1,
                 name="albert_multiple_choice", **kw):
        super().__init__(name=name, **kw)
        self.config = config
        self.albert = albert or AlbertModel(config)
        self.dropout = keras.layers.Dropout(dropout_prob)
        self.classifier = dense(config, 1, "output")
        self.classifier.build((None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        ids = inputs["input_ids"]                                           # [B, choices, T]
        batch, choices, seq = ops.shape(ids)[0], ops.shape(ids)[1], ops.shape(ids)[2]
        flat = {k: ops.reshape(v, (batch * choices, seq)) for k, v in encoder_inputs(inputs).items()}
        pooled = self.albert(flat, training=training)["pooled_output"]      # [B*choices, H]
        scores = self.classifier(self.dropout(pooled, training=training))   # [B*choices, 1]
        return {"logits": ops.reshape(ops.cast(scores, "float32"), (batch, choices))}

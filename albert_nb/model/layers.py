"""The building blocks of ALBERT, one Keras layer each.

Names of sub-layers and weights follow the original TF1 graph (`word_embeddings`, `LayerNorm`,
`query`/`key`/`value`, `ffn`, `ffn_output`, ...) so the checkpoint maps in `albert_nb.interop.checkpoints`
read like a table rather than a puzzle. Kernels are stored 2-D as [in, out], exactly as the
original stores them, and reshaped to heads at run time.
"""
from __future__ import annotations

import math

import keras
from keras import ops

from albert_nb.model.config import AlbertConfig

# The additive mask the original uses for padding: large enough to zero a softmax entry,
# small enough to stay finite in float16.
MASK_VALUE = -10000.0


def initializer(config: AlbertConfig):
    return keras.initializers.TruncatedNormal(stddev=config.initializer_range)


def activation(name: str):
    """Map config names to functions; "gelu" is the tanh approximation, as in the original."""
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name == "gelu_exact":
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name == "relu":
        return keras.activations.relu
    if name == "tanh":
        return keras.activations.tanh
    return keras.activations.linear


def dense(config: AlbertConfig, units: int, name: str, act=None, use_bias: bool = True):
    return keras.layers.Dense(units, activation=act, use_bias=use_bias, name=name,
                              kernel_initializer=initializer(config))


def project(x, kernel_and_bias):
    """x @ kernel + bias with weights already in x's dtype (see `AlbertBlock.matmul_weights`)."""
    kernel, bias = kernel_and_bias
    return ops.add(ops.matmul(x, kernel), bias)


def uses_fused_weights(layer) -> bool:
    """True under a low-precision compute dtype (mixed_bfloat16 / mixed_float16).

    Then every block casts its matmul weights once per forward pass and runs Q, K and V as one
    matmul (`AlbertBlock.matmul_weights`); in float32 the plain per-layer path runs, so float32
    numerics stay exactly those of the layer-by-layer model.
    """
    return layer.compute_dtype != "float32"


def layer_norm(config: AlbertConfig, name: str = "LayerNorm"):
    # Layer norm statistics stay in float32 under mixed precision (Keras does this by default).
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class AlbertEmbeddings(keras.layers.Layer):
    """Token + segment + position embeddings at width E (not H): the first ALBERT idea.

    A V x E table plus one E x H projection (in the encoder) replaces BERT's V x H table;
    with V=30000, E=128, H=4096 that is 4.4M instead of 123M parameters.
    """

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.LayerNorm = layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def build(self, input_shape=None):
        cfg, init = self.config, initializer(self.config)
        # autocast=False: under mixed precision the rows are gathered from the float32 table and
        # only they are cast ([batch, seq, E]), not the whole V x E table on every step.
        self.word_embeddings = self.add_weight(
            name="word_embeddings", shape=(cfg.vocab_size, cfg.embedding_size), initializer=init,
            autocast=False)
        self.token_type_embeddings = self.add_weight(
            name="token_type_embeddings", shape=(cfg.type_vocab_size, cfg.embedding_size), initializer=init)
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(cfg.max_position_embeddings, cfg.embedding_size),
            initializer=init)
        self.LayerNorm.build((None, None, cfg.embedding_size))
        self.built = True

    def call(self, input_ids, segment_ids, training=None):
        seq_len = ops.shape(input_ids)[1]
        words = ops.cast(ops.take(self.word_embeddings, input_ids, axis=0),
                         self.compute_dtype)                                # [batch, seq, E]
        segments = ops.take(self.token_type_embeddings, segment_ids, axis=0)  # [batch, seq, E]
        positions = self.position_embeddings[:seq_len]                     # [seq, E]
        x = words + segments + ops.cast(positions[None], words.dtype)
        x = self.LayerNorm(x)
        return self.dropout(x, training=training)                          # [batch, seq, E]


class AlbertAttention(keras.layers.Layer):
    """Multi-head self-attention, then residual + LayerNorm (post-LN, as BERT and ALBERT)."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        h = config.hidden_size
        self.num_heads, self.head_size = config.num_attention_heads, config.head_size
        self.query = dense(config, h, "query")
        self.key = dense(config, h, "key")
        self.value = dense(config, h, "value")
        self.dense = dense(config, h, "dense")   # the original's attention_1/output/dense
        self.LayerNorm = layer_norm(config)
        self.attention_dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)
        self.output_dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def build(self, input_shape):
        h = self.config.hidden_size
        for layer in (self.query, self.key, self.value, self.dense):
            layer.build((None, None, h))
        self.LayerNorm.build((None, None, h))
        self.built = True

    def _split_heads(self, x, batch, seq):
        x = ops.reshape(x, (batch, seq, self.num_heads, self.head_size))  # [batch, seq, heads, d]
        return ops.transpose(x, (0, 2, 1, 3))                             # [batch, heads, seq, d]

    def call(self, hidden, mask_bias, training=None, weights=None):
        """`weights` (from `AlbertBlock.matmul_weights`) switches to the fused low-precision path."""
        batch, seq = ops.shape(hidden)[0], ops.shape(hidden)[1]
        if weights is None:
            q = self._split_heads(self.query(hidden), batch, seq)          # [batch, heads, seq, d]
            k = self._split_heads(self.key(hidden), batch, seq)
            v = self._split_heads(self.value(hidden), batch, seq)
        else:
            qkv = project(hidden, weights["qkv"])                          # [batch, seq, 3 * hidden]
            q, k, v = (self._split_heads(x, batch, seq) for x in ops.split(qkv, 3, axis=-1))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))              # [batch, heads, seq, seq]
        scores = scores * ops.cast(1.0 / math.sqrt(self.head_size), scores.dtype)
        # Softmax in float32 even under mixed precision: small logit differences matter.
        scores = ops.cast(scores, "float32") + ops.cast(mask_bias, "float32")  # mask: [batch, 1, 1, seq]
        probs = ops.softmax(scores, axis=-1)                               # [batch, heads, seq, seq]
        context = ops.matmul(self.attention_dropout(ops.cast(probs, v.dtype), training=training), v)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)),
                              (batch, seq, self.config.hidden_size))       # [batch, seq, hidden]
        out = self.dense(context) if weights is None else project(context, weights["dense"])
        out = self.output_dropout(out, training=training)
        return self.LayerNorm(hidden + out), probs


class AlbertBlock(keras.layers.Layer):
    """One transformer block: attention sub-layer, then the feed-forward sub-layer.

    ALBERT's second idea is that the *same* block object runs at many depths, so this layer is
    called L / num_hidden_groups times per forward pass.
    """

    def __init__(self, config: AlbertConfig, share_from: "AlbertBlock | None" = None, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        # `share_from` + config.shared_sublayer: reuse that block's attention or FFN sub-layer
        # objects (the Table 4 ablation); Keras lists a shared variable once.
        shared = config.shared_sublayer if share_from is not None else ""
        self.attention = (share_from.attention if shared == "attention"
                          else AlbertAttention(config, name="attention"))
        if shared == "ffn":
            self.ffn, self.ffn_output = share_from.ffn, share_from.ffn_output
            self.full_layer_layer_norm = share_from.full_layer_layer_norm
        else:
            self.ffn = dense(config, config.intermediate_size, "ffn",
                             act=activation(config.hidden_act))
            self.ffn_output = dense(config, config.hidden_size, "ffn_output")
            self.full_layer_layer_norm = layer_norm(config, "LayerNorm_1")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def build(self, input_shape):
        h = self.config.hidden_size
        for layer, shape in ((self.attention, h), (self.ffn, h),
                             (self.ffn_output, self.config.intermediate_size),
                             (self.full_layer_layer_norm, h)):
            if not layer.built:   # a shared sub-layer is built once, by its owner
                layer.build((None, None, shape))
        self.built = True

    def matmul_weights(self, dtype) -> dict:
        """This block's matmul weights cast to `dtype` once, with Q, K and V side by side.

        ALBERT applies one block at many depths; Keras would cast each float32 kernel at every
        application (and cast its gradient back at every application too). Casting once per
        forward pass does that work once, and one [H, 3H] matmul keeps the bf16 units busier
        than three [H, H] ones (measured: benchmarks/bench_model.py --precision).
        """
        a = self.attention

        def cast(layer):
            return ops.cast(layer.kernel, dtype), ops.cast(layer.bias, dtype)

        qkv = [cast(layer) for layer in (a.query, a.key, a.value)]
        return {"qkv": (ops.concatenate([k for k, _ in qkv], axis=1),     # [hidden, 3 * hidden]
                        ops.concatenate([b for _, b in qkv], axis=0)),    # [3 * hidden]
                "dense": cast(a.dense), "ffn": cast(self.ffn), "ffn_output": cast(self.ffn_output)}

    def call(self, hidden, mask_bias, training=None, weights=None):
        attended, probs = self.attention(hidden, mask_bias, training=training,
                                         weights=weights)                   # [batch, seq, hidden]
        if weights is None:
            ffn = self.ffn_output(self.ffn(attended))                        # [batch, seq, hidden]
        else:
            inner = self.ffn.activation(project(attended, weights["ffn"]))   # [batch, seq, inter]
            ffn = project(inner, weights["ffn_output"])                      # [batch, seq, hidden]
        ffn = self.dropout(ffn, training=training)
        return self.full_layer_layer_norm(attended + ffn), probs


class AlbertEncoder(keras.layers.Layer):
    """E -> H projection, then L virtual layers drawn from G groups of `inner_group_num` blocks."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embedding_hidden_mapping_in = (
            dense(config, config.hidden_size, "embedding_hidden_mapping_in")
            if config.embedding_size != config.hidden_size else None)
        self.blocks = []
        for g in range(config.num_hidden_groups):
            for i in range(config.inner_group_num):
                owner = self.blocks[i] if g and config.shared_sublayer else None
                block = AlbertBlock(config, share_from=owner, name=f"group_{g}_inner_group_{i}")
                # Keras tracks the list, but tf.train.Checkpoint only sees attributes.
                setattr(self, f"group_{g}_inner_group_{i}", block)
                self.blocks.append(block)

    @property
    def groups(self) -> list[list[AlbertBlock]]:
        """blocks as [group][inner]: the original's transformer/group_g/inner_group_i."""
        n = self.config.inner_group_num
        return [self.blocks[g * n:(g + 1) * n] for g in range(self.config.num_hidden_groups)]

    def build(self, input_shape):
        cfg = self.config
        if self.embedding_hidden_mapping_in is not None:
            self.embedding_hidden_mapping_in.build((None, None, cfg.embedding_size))
        for block in self.blocks:
            block.build((None, None, cfg.hidden_size))
        self.built = True

    def call(self, embedded, mask_bias, training=None, output_hidden_states=False,
             output_attentions=False):
        hidden = embedded
        if self.embedding_hidden_mapping_in is not None:
            hidden = self.embedding_hidden_mapping_in(embedded)            # [batch, seq, hidden]
        all_hidden, all_probs = [hidden], []
        groups = self.groups
        # Low precision: each block's weights are cast once here, not at each of its L applications.
        weights = ({id(block): block.matmul_weights(self.compute_dtype) for block in self.blocks}
                   if uses_fused_weights(self) else {})
        for layer_index in range(self.config.num_hidden_layers):
            for block in groups[self.config.group_of_layer(layer_index)]:
                hidden, probs = block(hidden, mask_bias, training=training,
                                      weights=weights.get(id(block)))
                if output_hidden_states:
                    all_hidden.append(hidden)
                if output_attentions:
                    all_probs.append(probs)
        return hidden, all_hidden, all_probs


class AlbertPooler(keras.layers.Layer):
    """tanh(W h_[CLS] + b): the sentence vector the classification and SOP heads read."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.dense = dense(config, config.hidden_size, "dense", act="tanh")

    def build(self, input_shape):
        self.dense.build((None, self.config.hidden_size))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0])                            # [batch, hidden]

"""Figures (and one shape trace) for the architecture walkthrough, notebooks/01_architecture.

Every builder is a plain function returning a `plotly.graph_objects.Figure`, so tests can call
them headless and notebooks just `.show()` them. Numbers come from `albert_nb.model.params`.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from albert_nb.model import params
from albert_nb.model.config import AlbertConfig
from albert_nb.errors import InputError
from albert_nb.model.inputs import INPUT_NAMES

# Keras and the model load inside the one figure that builds a model (deliberately lazy): the other
# figures are plain plotly.

COMPONENT_COLORS = {"embeddings": "#4C78A8", "embedding_projection": "#72B7B2", "attention": "#F58518",
                    "ffn": "#E45756", "pooler": "#54A24B"}


def embedding_factorization_figure(vocab_size: int = 30000, hidden_sizes=(768, 1024, 2048, 4096),
                                   embedding_sizes=(64, 128, 256)) -> go.Figure:
    """Embedding parameters, BERT's V x H table vs ALBERT's V x E table + E x H projection."""
    hidden = np.asarray(hidden_sizes)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hidden, y=vocab_size * hidden / 1e6, mode="lines+markers",
                             name="BERT: V x H", line=dict(width=3, color="black")))
    for e in embedding_sizes:
        fig.add_trace(go.Scatter(x=hidden, y=(vocab_size * e + e * hidden) / 1e6, mode="lines+markers",
                                 name=f"ALBERT: V x E + E x H (E={e})"))
    # Log axes: BERT's table grows 5x from H=768 to 4096 while ALBERT's barely moves; on a
    # linear axis the three ALBERT lines collapse into one at the bottom.
    fig.update_layout(title=f"Factorized embeddings (V = {vocab_size:,})",
                      xaxis_title="hidden size H", yaxis_title="parameters (millions, log scale)",
                      xaxis=dict(tickvals=list(hidden), type="log"), yaxis=dict(type="log"))
    return fig


def layer_schedule_figure(config: AlbertConfig) -> go.Figure:
    """Which distinct block runs at each depth: ALBERT's cross-layer sharing made visible."""
    rows, labels = [], []
    for layer in range(config.num_hidden_layers):
        g = config.group_of_layer(layer)
        for i in range(config.inner_group_num):
            rows.append(g * config.inner_group_num + i)
            labels.append(f"layer {layer}" + (f" / inner {i}" if config.inner_group_num > 1 else ""))
    blocks = config.num_distinct_blocks
    grid = np.zeros((len(rows), blocks))
    grid[np.arange(len(rows)), rows] = 1
    fig = go.Figure(go.Heatmap(
        z=grid, x=[f"group_{b // config.inner_group_num}_inner_group_{b % config.inner_group_num}"
                   for b in range(blocks)],
        y=labels, colorscale=[[0, "#f0f0f0"], [1, "#F58518"]], showscale=False, xgap=2, ygap=2))
    fig.update_layout(title=f"{len(rows)} block applications, {blocks} distinct block(s) with parameters",
                      xaxis_title="parameter block", yaxis=dict(autorange="reversed"),
                      height=max(300, 22 * len(rows) + 120))
    return fig


def parameter_breakdown_figure(presets=("bert_base", "albert_base_v2", "albert_large_v2",
                                        "albert_xlarge_v2", "albert_xxlarge_v2")) -> go.Figure:
    """Stacked bars: where each model's parameters live (embeddings, attention, FFN, ...)."""
    counts = {name: params.count_parameters(AlbertConfig.from_preset(name)) for name in presets}
    fig = go.Figure()
    for component in params.COMPONENTS:
        fig.add_trace(go.Bar(x=list(presets), y=[counts[p][component] / 1e6 for p in presets],
                             name=component, marker_color=COMPONENT_COLORS[component]))
    fig.update_layout(barmode="stack", title="Parameters by component (encoder + pooler)",
                      yaxis_title="parameters (millions)")
    return fig


def table1_figure(rows: list[dict] | None = None) -> go.Figure:
    """The paper's Table 1 counts beside our exact ones (log scale: 12M to 334M)."""
    rows = rows or params.table1()
    names = [r["model"] for r in rows]
    fig = go.Figure([
        go.Bar(x=names, y=[int(r["paper_params"][:-1]) for r in rows], name="paper (rounded)",
               marker_color="#BAB0AC"),
        go.Bar(x=names, y=[r["exact_params"] / 1e6 for r in rows], name="exact (ours)",
               marker_color="#4C78A8", text=[f"{r['exact_params'] / 1e6:.1f}M" for r in rows],
               textposition="outside"),
    ])
    fig.update_layout(barmode="group", title="ALBERT paper Table 1: printed vs exact parameter counts",
                      yaxis=dict(type="log", title="parameters (millions, log scale)"))
    return fig


def sharing_ablation_figure(rows: list[dict] | None = None) -> go.Figure:
    """Table 4: ALBERT-base parameters per sharing mode, stacked by component, E = 768 and 128."""
    rows = rows or params.sharing_ablation()
    sizes = sorted({r["embedding"] for r in rows}, reverse=True)
    fig = make_subplots(rows=1, cols=len(sizes), shared_yaxes=True,
                        subplot_titles=[f"E = {e}" for e in sizes])
    for col, e in enumerate(sizes, start=1):
        subset = [r for r in rows if r["embedding"] == e]
        for component in params.COMPONENTS:
            fig.add_trace(go.Bar(x=[r["sharing"] for r in subset],
                                 y=[r[f"{component}_params"] / 1e6 for r in subset],
                                 name=component, marker_color=COMPONENT_COLORS[component],
                                 legendgroup=component, showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Scatter(x=[r["sharing"] for r in subset],
                                 y=[int(r["paper_params"][:-1]) for r in subset], mode="markers",
                                 marker=dict(symbol="diamond", size=11, color="black"),
                                 name="paper (rounded)", legendgroup="paper", showlegend=col == 1),
                      row=1, col=col)
    fig.update_layout(barmode="stack", title="Cross-layer sharing ablation (ALBERT-base, L=12, H=768)",
                      yaxis_title="parameters (millions)")
    return fig


def size_comparison_figure(rows: list[dict] | None = None, batch: int = 1, seq: int = 512) -> go.Figure:
    """Parameters vs training activations vs forward FLOPs, BERT and ALBERT sizes side by side.

    The point: sharing shrinks parameters (left) but not activations (middle) or compute (right).
    """
    rows = rows or params.size_comparison(batch=batch, seq=seq)
    names = [r["preset"] for r in rows]
    colors = ["#4C78A8" if n.startswith("bert") else "#F58518" for n in names]
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        "parameters (MB, fp32)", f"training activations (MB, batch {batch}, seq {seq})",
        f"forward GFLOPs (batch {batch}, seq {seq})"))
    for col, key in enumerate(("parameter_mb", "activation_mb", "forward_gflops"), start=1):
        fig.add_trace(go.Bar(x=names, y=[r[key] for r in rows], marker_color=colors, showlegend=False,
                             text=[f"{r[key]:.0f}" for r in rows], textposition="outside"), row=1, col=col)
    fig.update_layout(title="BERT (blue) vs ALBERT (orange): what sharing saves and what it does not",
                      height=450)
    return fig


# ------------------------------------------------------------------------ shape trace
def forward_shape_trace(model, inputs) -> tuple[list[dict], dict]:
    """Re-run one forward pass sub-layer by sub-layer, recording every intermediate shape.

    Uses the model's own layers (no copied math beyond reshapes), and returns the final
    sequence and pooled outputs so callers can check the trace equals `model(inputs)`.
    Block 0 is traced in detail; later block applications record only their output.
    """
    from keras import ops

    from albert_nb.model.modeling import attention_mask_bias

    for key in INPUT_NAMES:
        if key not in inputs:
            raise InputError(f"forward_shape_trace: inputs lack {key!r}; expected {INPUT_NAMES}")
    cfg = model.config
    trace: list[dict] = []

    def note(step, tensor, meaning):
        trace.append({"step": step, "shape": tuple(int(d) for d in tensor.shape), "meaning": meaning})
        return tensor

    ids = note("input_ids", ops.convert_to_tensor(inputs["input_ids"], "int32"), "[batch, seq] token ids")
    seg = ops.convert_to_tensor(inputs["segment_ids"], "int32")
    emb = model.embeddings
    words = note("word embeddings", ops.take(emb.word_embeddings, ids, axis=0), "[batch, seq, E] lookup in V x E")
    segs = note("segment embeddings", ops.take(emb.token_type_embeddings, seg, axis=0), "[batch, seq, E]")
    pos = note("position embeddings", emb.position_embeddings[: ids.shape[1]], "[seq, E], broadcast over batch")
    x = note("embeddings LayerNorm", emb.LayerNorm(words + segs + pos[None]), "[batch, seq, E]")
    mask_bias = note("attention mask bias", attention_mask_bias(inputs["input_mask"]),
                     "[batch, 1, 1, seq]: 0 or -10000")
    if model.encoder.embedding_hidden_mapping_in is not None:
        x = note("embedding_hidden_mapping_in", model.encoder.embedding_hidden_mapping_in(x),
                 "[batch, seq, H]: the E -> H projection")
    batch, seq = ids.shape[0], ids.shape[1]
    application = 0
    for layer in range(cfg.num_hidden_layers):
        for block in model.encoder.groups[cfg.group_of_layer(layer)]:
            name = block.name
            if application == 0:
                att = block.attention
                q = note(f"{name}/attention/query", att.query(x), "[batch, seq, H]")
                qh = note("  split heads", att._split_heads(q, batch, seq), "[batch, heads, seq, head_size]")
                kh = att._split_heads(att.key(x), batch, seq)
                vh = att._split_heads(att.value(x), batch, seq)
                scores = ops.matmul(qh, ops.transpose(kh, (0, 1, 3, 2))) / float(np.sqrt(att.head_size))
                note("  scores q.k^T / sqrt(d)", scores, "[batch, heads, seq, seq]")
                probs = note("  softmax(scores + mask)", ops.softmax(scores + mask_bias, axis=-1),
                             "[batch, heads, seq, seq]")
                ctx = note("  probs . v", ops.matmul(probs, vh), "[batch, heads, seq, head_size]")
                ctx = ops.reshape(ops.transpose(ctx, (0, 2, 1, 3)), (batch, seq, cfg.hidden_size))
                note("  merge heads", ctx, "[batch, seq, H]")
                attended = note(f"{name}/attention LayerNorm(x + dense(ctx))",
                                att.LayerNorm(x + att.dense(ctx)), "[batch, seq, H]")
                inner = note(f"{name}/ffn (activation)", block.ffn(attended), "[batch, seq, I]")
                x = note(f"{name}/LayerNorm_1(x + ffn_output)",
                         block.full_layer_layer_norm(attended + block.ffn_output(inner)), "[batch, seq, H]")
            else:
                x, _ = block(x, mask_bias, training=False)
                note(f"layer {layer}: {name}", x, f"[batch, seq, H], reusing the weights of {name}")
            application += 1
    pooled = note("pooler tanh(dense(x[:, 0]))", model.pooler(x), "[batch, H]")
    return trace, {"sequence_output": x, "pooled_output": pooled}

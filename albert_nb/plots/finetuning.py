"""Plotly figures for fine-tuning: curves of several runs, a confusion matrix, the length
distribution behind dynamic padding, and benchmark throughput. Plain functions returning
figures, so tests and headless notebook runs build them without a browser."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from albert_nb.plots.colors import color_of

# scikit-learn is imported inside `confusion_figure` (deliberately lazy): the other figures do not
# need it.


def curves_figure(runs: dict, metric: str = "eval_accuracy", title: str = "Fine-tuning"):
    """Training loss (left) and the dev metric of every evaluated checkpoint (right).

    `runs` maps a run name to {"history": train records, "eval_history": eval records}, the
    lists `finetuning.run` returns (also saved as train_history.json / eval_history.json).
    The best checkpoint of each run, the one selection keeps, is marked with a star.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", f"dev {metric}"))
    for index, (name, run) in enumerate(runs.items()):
        color = color_of(name, index)
        history = run.get("history") or []
        evals = [r for r in (run.get("eval_history") or []) if metric in r]
        fig.add_trace(go.Scatter(x=[r["step"] for r in history], y=[r["loss"] for r in history],
                                 name=f"{name}: train loss", mode="lines", line=dict(color=color)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=[r["global_step"] for r in evals], y=[r[metric] for r in evals],
                                 name=f"{name}: dev {metric}", mode="lines+markers",
                                 line=dict(color=color, dash="dot")), row=1, col=2)
        if evals:
            best = max(evals, key=lambda r: r[metric])
            fig.add_trace(go.Scatter(x=[best["global_step"]], y=[best[metric]], mode="markers",
                                     marker=dict(symbol="star", size=14, color=color),
                                     name=f"{name}: best {best[metric]:.3f}"), row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text=metric, row=1, col=2)
    fig.update_layout(title=title, height=420, legend=dict(orientation="h", y=-0.25))
    return fig


def confusion_figure(labels, predictions, label_names, title: str = "Confusion matrix (dev)"):
    """Counts of (true label, predicted label), with each row's share in the hover text."""
    from sklearn.metrics import confusion_matrix

    names = [str(n) for n in label_names]
    matrix = confusion_matrix(np.asarray(labels), np.asarray(predictions),
                              labels=list(range(len(names))))
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, colorscale="Blues", text=matrix, texttemplate="%{text}",
        customdata=share, hovertemplate="true %{y}<br>predicted %{x}<br>%{z} (%{customdata:.1%} of row)"
                                        "<extra></extra>"))
    fig.update_xaxes(title_text="predicted", side="bottom")
    fig.update_yaxes(title_text="true", autorange="reversed")
    fig.update_layout(title=title, height=380, width=460)
    return fig


def length_figure(lengths, max_seq_length: int, boundaries=(), title: str = "Sequence lengths"):
    """Histogram of tokenized lengths with the bucket boundaries and the fixed padding length:
    the gap between the bars and the max_seq_length line is what fixed padding computes on."""
    fig = go.Figure(go.Histogram(x=list(lengths), nbinsx=60, name="examples"))
    for b in boundaries:
        fig.add_vline(x=b, line=dict(color="grey", dash="dot", width=1))
    fig.add_vline(x=max_seq_length, line=dict(color="red", width=2),
                  annotation_text=f"fixed padding: {max_seq_length}")
    fig.update_layout(title=title, xaxis_title="tokens per example (with [CLS]/[SEP])",
                      yaxis_title="examples", height=360, bargap=0.05)
    return fig


def throughput_figure(results: dict, title: str = "Fine-tuning throughput"):
    """Bar chart of examples/s per setting (the benchmark's output)."""
    names = list(results)
    values = [results[n] for n in names]
    fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.0f}" for v in values], textposition="auto"))
    fig.update_layout(title=title, yaxis_title="training examples / s", height=360)
    return fig


def comparison_figure(scores: dict, metric: str = "accuracy", title: str = "Pretrained vs from scratch",
                      errors: dict | None = None, axis_title: str | None = None):
    """Grouped bars: {task: {run name: score}} (put a "majority class" entry in to show the
    floor a classifier must beat); `errors`, the same shape, draws ± error bars."""
    fig = go.Figure()
    tasks = list(scores)
    run_names = sorted({name for per_task in scores.values() for name in per_task})
    for index, name in enumerate(run_names):
        values = [scores[t].get(name) for t in tasks]
        bars = None
        if errors is not None:
            bars = dict(type="data", array=[(errors.get(t) or {}).get(name) or 0 for t in tasks])
        fig.add_trace(go.Bar(x=tasks, y=values, name=name, marker_color=color_of(name, index),
                             text=[None if v is None else f"{v:.3f}" for v in values],
                             textposition="auto", error_y=bars))
    fig.update_layout(title=title, yaxis_title=axis_title or f"best dev {metric}", barmode="group",
                      height=380)
    return fig


def learning_curve_figure(rows: list, metric_title: str = "test accuracy",
                          title: str = "Learning curves: pretrained vs from scratch",
                          majority: float | None = None):
    """Accuracy (mean ± s.e. over seeds) against training-set size, one line per kind.

    `rows`: `albert_nb.experiments.learning_curves.summarise` output. The gap between the lines
    is what pretraining buys; it is widest where labelled data is scarce.
    """
    fig = go.Figure()
    sizes = [r["size"] for r in rows]
    for index, kind in enumerate(("pretrained", "scratch")):
        fig.add_trace(go.Scatter(
            x=sizes, y=[r[kind] for r in rows], name=kind, mode="lines+markers",
            line=dict(color=color_of(kind, index)),
            error_y=dict(type="data", array=[r[f"{kind}_se"] for r in rows])))
    if majority is not None:
        fig.add_hline(y=majority, line=dict(color=color_of("majority class"), dash="dot"),
                      annotation_text="majority class")
    fig.update_xaxes(type="log", title_text="labelled training examples", tickvals=sizes)
    fig.update_layout(title=title, yaxis_title=metric_title, height=400)
    return fig

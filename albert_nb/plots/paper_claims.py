"""Figures of notebook 09: the paper's claims retrained at tiny scale.

Plain functions of the numbers `albert_nb.experiments.paper_claims` returns; every point or bar
carries its standard error.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from albert_nb.plots.colors import color_of


def sop_nsp_figure(table: dict, title: str = "SOP vs NSP: each objective on both tasks"):
    """Grouped bars of ROC AUC: {trained with: {evaluated on: (auc, se)}} (the paper's Table 5)."""
    fig = go.Figure()
    for index, (trained, row) in enumerate(table.items()):
        tasks = list(row)
        fig.add_trace(go.Bar(x=tasks, y=[row[t][0] for t in tasks], name=f"{trained}-trained",
                             marker_color=color_of(trained, index),
                             error_y=dict(type="data", array=[row[t][1] for t in tasks]),
                             text=[f"{row[t][0]:.3f}" for t in tasks], textposition="outside"))
    fig.add_hline(y=0.5, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_layout(title=title, barmode="group", yaxis_title="held-out ROC AUC",
                      yaxis_range=[0.3, 1.0], height=400)
    return fig


def mlm_vs_parameters_figure(rows: list, title: str, x: str = "parameters",
                             x_title: str = "parameters (encoder + pooler)", log_x: bool = True):
    """MLM accuracy (± s.e.) of each variant against its parameter count (or E)."""
    fig = go.Figure()
    for index, row in enumerate(rows):
        fig.add_trace(go.Scatter(
            x=[row[x]], y=[row["accuracy"]], mode="markers+text", name=row["name"],
            text=[row["name"]], textposition="top center",
            marker=dict(size=12, color=color_of(_series(row["name"]), index)),
            error_y=dict(type="data", array=[row["se"]])))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="held-out masked-LM accuracy",
                      height=400, showlegend=False)
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def _series(name: str) -> str:
    return {"all-shared": "ALBERT", "not-shared": "BERT"}.get(name, name)


def transitions_figure(curves: dict, title: str = "Input vs output of each layer"):
    """L2 distance (left) and cosine distance (right) per layer: {model name: transitions}."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("L2 distance", "cosine distance"))
    for index, (name, curve) in enumerate(curves.items()):
        layers = list(range(1, len(curve["l2"]) + 1))
        color = color_of(name, index)
        fig.add_trace(go.Scatter(x=layers, y=curve["l2"], name=name, mode="lines+markers",
                                 line=dict(color=color)), row=1, col=1)
        fig.add_trace(go.Scatter(x=layers, y=curve["cosine"], name=name, mode="lines+markers",
                                 line=dict(color=color), showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text="layer", dtick=1)
    fig.update_layout(title=title, height=380)
    return fig

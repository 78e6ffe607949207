"""Plotly figures for question answering: F1 against the SQuAD 2.0 no-answer threshold (all,
answerable and unanswerable questions separately) and the windows a paragraph is cut into.
Plain functions returning figures (tests and headless notebook runs build them)."""
from __future__ import annotations

import plotly.graph_objects as go

from albert_nb.plots.colors import color_of


def threshold_figure(rows: list[dict], chosen: float | None = None,
                     title: str = "SQuAD 2.0: F1 against the no-answer threshold"):
    """`rows` from `albert_nb.tasks.squad_metrics.threshold_curve`: one line each for all
    questions, HasAns and NoAns; `chosen` (the dev-tuned threshold) as a vertical line.

    Left of a threshold every question with a higher no-answer score is answered "": NoAns F1
    rises to 100 while HasAns F1 falls to 0; the overall F1 peaks in between."""
    x = [r["threshold"] for r in rows]
    fig = go.Figure()
    for index, (key, name) in enumerate((("f1", "all questions"), ("HasAns_f1", "answerable (HasAns)"),
                                         ("NoAns_f1", "unanswerable (NoAns)"))):
        fig.add_trace(go.Scatter(x=x, y=[r[key] for r in rows], name=name, mode="lines",
                                 line=dict(color=color_of(name, index), width=3 if key == "f1" else 2)))
    if chosen is not None:
        fig.add_vline(x=chosen, line=dict(color="gray", dash="dash"),
                      annotation_text=f"tuned on dev: {chosen:.2f}")
    fig.update_layout(title=title, xaxis_title="no-answer threshold (answer \"\" when null odds > t)",
                      yaxis_title="F1", height=420, legend=dict(orientation="h", y=-0.25))
    return fig


def windows_figure(tokens: list[str], spans: list[tuple[int, int]], title: str = "Doc-stride windows"):
    """One bar per window over the paragraph's token positions (where each window starts and
    how far it reaches), the picture behind --doc_stride and the max-context rule."""
    fig = go.Figure()
    for index, (start, length) in enumerate(spans):
        fig.add_trace(go.Bar(x=[length], y=[f"window {index}"], base=[start], orientation="h",
                             marker_color=color_of(f"window {index}", index), name=f"window {index}",
                             hovertext=" ".join(tokens[start:start + length])))
    fig.update_layout(title=title, xaxis_title="paragraph token position", showlegend=False,
                      height=120 + 40 * len(spans), yaxis=dict(autorange="reversed"))
    return fig

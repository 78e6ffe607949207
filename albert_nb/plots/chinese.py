"""Plotly figures of notebook 08 (Chinese): entity-level F1 per type, pretrained vs scratch.
Plain functions returning figures, so tests and headless runs build them without a browser."""
from __future__ import annotations

import plotly.graph_objects as go

from albert_nb.plots.colors import color_of


def entity_f1_figure(scores: dict, types=("PER", "LOC", "ORG"),
                     title: str = "NER test entity F1 by type"):
    """Grouped bars of F1 per entity type and overall: {run name: entity scores} where the
    scores are `albert_nb.tasks.tagging.entity_scores` output (`f1`, `<TYPE>_f1`,
    `<TYPE>_support`). The support (gold entities on test) is in each group's label, because
    a type with a dozen entities moves by whole tenths of F1 with one entity more or less."""
    first = next(iter(scores.values()), {})
    groups = [f"{t} ({first.get(f'{t}_support', 0)})" for t in types] + ["all"]
    fig = go.Figure()
    for index, (name, s) in enumerate(scores.items()):
        values = [s.get(f"{t}_f1", 0.0) for t in types] + [s.get("f1", 0.0)]
        fig.add_trace(go.Bar(x=groups, y=values, name=name, marker_color=color_of(name, index),
                             text=[f"{v:.2f}" for v in values], textposition="auto"))
    fig.update_layout(title=title, yaxis_title="entity F1 (exact type and span)",
                      xaxis_title="type (gold entities)", barmode="group", height=360,
                      yaxis=dict(range=[0, 1]))
    return fig

"""Figures for the attention explorer (notebooks/06_attention_explorer), one pure function each.

Every builder takes numbers from `albert_nb.analysis.attention` and returns a `plotly.graph_objects.Figure`,
so tests check them headless and the explorer copies them into its FigureWidgets. Token axes
are numeric positions with piece labels as tick text: a sentence may repeat a piece, and
plotly would merge repeated category names into one row.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from albert_nb.analysis import attention as att
from albert_nb.errors import InputError

ATTENTION_SCALE = "Blues"
DIFFERENCE_SCALE = "RdBu_r"


def application_label(application: dict) -> str:
    """'L2.1 · block 3 (group_1_inner_group_1)': the depth and the weights that ran there."""
    return f"{application['label']} · block {application['block']}"


def _head_map(run: att.AttentionRun, application: int, head) -> tuple[np.ndarray, str]:
    """[T, T] map of one head, or the mean over heads when head is None / -1."""
    if not 0 <= application < run.attentions.shape[0]:
        raise InputError(f"application {application}: expected 0..{run.attentions.shape[0] - 1}")
    if head is None or head < 0:
        return run.attentions[application].mean(0), "mean of heads"
    if head >= run.num_heads:
        raise InputError(f"head {head}: expected 0..{run.num_heads - 1}")
    return run.attentions[application, head], f"head {head}"


def _token_heatmap(z, rows, cols, tokens, colorscale, zmid=None, name="", showscale=True, zmax=None):
    """A heatmap on numeric token positions with piece tick labels and a readable hover."""
    labels = np.array([f"{i}:{t}" for i, t in enumerate(tokens)], dtype=object)
    custom = np.stack(np.broadcast_arrays(labels[rows][:, None], labels[cols][None, :]), -1)
    return go.Heatmap(z=z, x=list(cols), y=list(rows), customdata=custom, colorscale=colorscale,
                      zmid=zmid, zmin=None if zmid is not None else 0, zmax=zmax, name=name,
                      showscale=showscale,
                      hovertemplate="query %{customdata[0]}<br>key %{customdata[1]}"
                                    "<br>weight %{z:.3f}<extra>" + name + "</extra>")


def _token_axes(fig, tokens, rows, cols, row=None, col=None):
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(tickvals=list(cols), ticktext=[tokens[i] for i in cols], tickangle=-60,
                     title="key (attended to)", **kw)
    fig.update_yaxes(tickvals=list(rows), ticktext=[tokens[i] for i in rows], autorange="reversed",
                     title="query", **kw)


def head_heatmap(run: att.AttentionRun, application: int = 0, head: int | None = 0,
                 filter: str = "All", hide_special: bool = False) -> go.Figure:
    """One head (or the head mean) at one application: who attends to whom, with hover values.

    filter keeps a sentence-pair block (A->B: A's queries over B's keys, as bertviz);
    hide_special drops the [CLS]/[SEP] key columns (as exBERT), without renormalising.
    """
    z, what = _head_map(run, application, head)
    rows, cols = att.filter_block(run.segment_ids, filter)
    if hide_special:
        cols = np.array([j for j in cols if run.tokens[j] not in ("[CLS]", "[SEP]")], dtype=int)
    fig = go.Figure(_token_heatmap(z[np.ix_(rows, cols)], rows, cols, run.tokens, ATTENTION_SCALE,
                                   name=what, zmax=1.0))
    _token_axes(fig, run.tokens, rows, cols)
    app = run.applications[application]
    fig.update_layout(title=f"{run.label + ': ' if run.label else ''}{app['label']} ({app['name']}), "
                            f"{what}" + ("" if filter == "All" else f", {filter}"),
                      height=max(350, 18 * len(rows) + 160))
    return fig


def statistic_grid(stats: dict, statistic: str, applications, selected: tuple | None = None,
                   title: str | None = None) -> go.Figure:
    """Applications x heads heatmap of one statistic; `selected=(application, head)` is outlined."""
    if statistic not in stats:
        raise InputError(f"statistic {statistic!r}: expected one of {sorted(stats)}")
    values = np.asarray(stats[statistic])                               # [A, heads]
    heads = values.shape[1]
    fig = go.Figure(go.Heatmap(
        z=values, x=list(range(heads)), y=list(range(len(applications))), colorscale="Viridis",
        text=np.round(values, 2), texttemplate="%{text}",
        hovertemplate="%{y}, head %{x}<br>" + statistic + " %{z:.3f}<extra></extra>"))
    fig.update_xaxes(tickvals=list(range(heads)), ticktext=[f"head {h}" for h in range(heads)])
    fig.update_yaxes(tickvals=list(range(len(applications))),
                     ticktext=[application_label(a) for a in applications], autorange="reversed")
    if selected is not None and selected[1] is not None and selected[1] >= 0:
        a, h = selected
        fig.add_shape(type="rect", x0=h - 0.5, x1=h + 0.5, y0=a - 0.5, y1=a + 0.5,
                      line=dict(color="red", width=3))
    fig.update_layout(title=title or att.STATISTICS.get(statistic, statistic),
                      height=max(300, 30 * len(applications) + 140))
    return fig


def layer_similarity_figure(similarity, applications, title: str | None = None) -> go.Figure:
    """Cosine similarity of every pair of applications; squares mark pairs that share weights.

    With full sharing every cell is a same-block pair, so anything below 1 is attention that
    changed with depth while the parameters did not.
    """
    sim = np.asarray(similarity)
    n = len(applications)
    labels = [application_label(a) for a in applications]
    same = att.same_block_matrix(applications) & ~np.eye(n, dtype=bool)
    ys, xs = np.nonzero(same)
    fig = go.Figure([
        go.Heatmap(z=sim, x=list(range(n)), y=list(range(n)), colorscale="Viridis", zmax=1,
                   text=np.round(sim, 2), texttemplate="%{text}", name="cosine",
                   hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>"),
        go.Scatter(x=xs, y=ys, mode="markers", name="same parameter block",
                   marker=dict(symbol="square-open", size=22, color="white", line=dict(width=2)),
                   customdata=[applications[i]["name"] for i in ys],
                   hovertemplate="both ran %{customdata}<extra></extra>"),
    ])
    ticks = dict(tickvals=list(range(n)), ticktext=labels)
    fig.update_xaxes(**ticks, tickangle=-45)
    fig.update_yaxes(**ticks, autorange="reversed")
    fig.update_layout(title=title or "Layer-to-layer similarity of attention (cosine); "
                                     "squares: the same weights ran at both depths",
                      height=max(350, 36 * n + 160), legend=dict(orientation="h", y=-0.25))
    return fig


def compare_figure(run_a: att.AttentionRun, run_b: att.AttentionRun, application: int = 0,
                   head: int | None = 0) -> go.Figure:
    """Two runs side by side (two inputs, or two checkpoints), plus B - A when lengths match."""
    za, what = _head_map(run_a, application, head)
    zb, _ = _head_map(run_b, application, head)
    same_shape = za.shape == zb.shape
    names = [run_a.label or "A", run_b.label or "B"]
    titles = names + ([f"{names[1]} - {names[0]}"] if same_shape else [])
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.12)
    for col, (run, z) in enumerate(((run_a, za), (run_b, zb)), start=1):
        idx = np.arange(run.length)
        fig.add_trace(_token_heatmap(z, idx, idx, run.tokens, ATTENTION_SCALE, name=names[col - 1],
                                     showscale=False, zmax=1.0), row=1, col=col)
        _token_axes(fig, run.tokens, idx, idx, row=1, col=col)
    if same_shape:
        idx = np.arange(run_a.length)
        diff = zb - za
        bound = float(np.abs(diff).max()) or 1.0
        trace = _token_heatmap(diff, idx, idx, run_a.tokens, DIFFERENCE_SCALE, zmid=0.0, name="difference")
        trace.update(zmin=-bound, zmax=bound, colorbar=dict(title="B - A"))
        fig.add_trace(trace, row=1, col=3)
        _token_axes(fig, run_a.tokens, idx, idx, row=1, col=3)
    app = run_a.applications[application]
    fig.update_layout(title=f"Compare at {app['label']} ({app['name']}), {what}",
                      height=max(380, 18 * max(run_a.length, run_b.length) + 180))
    return fig


def predictions_figure(run: att.AttentionRun, position: int) -> go.Figure:
    """MLM top-k at a masked position, as horizontal bars (most likely on top)."""
    if position not in run.predictions:
        raise InputError(f"no MLM predictions at position {position}; masked: {sorted(run.predictions)}")
    pieces, probs = zip(*run.predictions[position])
    truth = run.masked.get(position)
    colors = ["#F58518" if p == truth else "#4C78A8" for p in pieces]
    fig = go.Figure(go.Bar(x=list(probs), y=list(pieces), orientation="h", marker_color=colors,
                           text=[f"{p:.3f}" for p in probs], textposition="auto"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=f"[MASK] at {position} (was {truth!r}): top-{len(pieces)} predictions",
                      xaxis_title="probability", height=300)
    return fig

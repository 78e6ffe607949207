"""Figures for the attention explorer (notebooks/06_attention_explorer), one pure function each.

Every builder takes numbers from `albert_nb.analysis.attention` and returns a `plotly.graph_objects.Figure`,
so tests check them headless and the explorer copies them into its FigureWidgets. Token axes
are categories named "position:piece" (a sentence may repeat a piece, and plotly would merge
repeated category names into one row) with the bare pieces as tick text; the hover names both
tokens without a per-cell label array, and weights keep 4 significant digits, so a saved
notebook stays small.
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


def position_labels(tokens) -> list[str]:
    """Unique category names of the token axes: "position:piece"."""
    return [f"{i}:{t}" for i, t in enumerate(tokens)]


def significant(z, digits: int = 4) -> np.ndarray:
    """`z` rounded to `digits` significant digits of its largest magnitude (JSON stays short)."""
    z = np.asarray(z, dtype="float64")
    top = float(np.abs(z).max()) if z.size else 0.0
    if not top:
        return z
    return np.round(z, max(0, digits - 1 - int(np.floor(np.log10(top)))))


def _token_heatmap(z, rows, cols, tokens, colorscale, name="", **colors):
    """A heatmap over token categories with a readable hover; `colors` are plotly's colour
    settings (coloraxis, or zmin/zmax/zmid/colorbar)."""
    labels = position_labels(tokens)
    if "coloraxis" not in colors:
        colors.setdefault("colorscale", colorscale)
    return go.Heatmap(z=significant(z), x=[labels[j] for j in cols], y=[labels[i] for i in rows],
                      name=name, hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.4g}<extra>"
                                               + name + "</extra>", **colors)


def _attention_range(*maps) -> dict:
    """Colours over the range of the weights shown: on a fixed 0-1 scale a head whose weights
    are all near 1/T (0.02-0.1 here) looks blank. The colour bar gives the actual values."""
    shown = [np.asarray(m) for m in maps if np.size(m)]
    if not shown:
        return {"zmin": 0.0, "zmax": 1.0}
    low, high = min(float(m.min()) for m in shown), max(float(m.max()) for m in shown)
    return {"zmin": low, "zmax": high if high > low else low + 1e-6}


# Tick labels stay readable at about this many pixels per piece (rotated, 9 px font).
PIXELS_PER_LABEL = 11


def _token_axes(fig, tokens, rows, cols, row=None, col=None, width: int = 600, y_labels=True):
    """Piece labels on both axes; x labels thinned to one every k pieces when the panel is
    narrower than PIXELS_PER_LABEL per piece (the hover still names every cell)."""
    kw = {} if row is None else dict(row=row, col=col)
    labels = position_labels(tokens)
    cols, rows = list(cols), list(rows)
    step = max(1, int(np.ceil(len(cols) * PIXELS_PER_LABEL / max(width, 1))))
    shown = cols[::step]
    fig.update_xaxes(type="category", tickvals=[labels[j] for j in shown],
                     ticktext=[tokens[j] for j in shown], tickangle=-90, tickfont=dict(size=9),
                     title="key (attended to)", **kw)
    fig.update_yaxes(type="category", tickvals=[labels[i] for i in rows],
                     ticktext=[tokens[i] for i in rows] if y_labels else [""] * len(rows),
                     autorange="reversed", tickfont=dict(size=9),
                     title="query" if y_labels else None, **kw)


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
    shown = z[np.ix_(rows, cols)]
    fig = go.Figure(_token_heatmap(shown, rows, cols, run.tokens, ATTENTION_SCALE, name=what,
                                   colorbar=dict(title="weight"), **_attention_range(shown)))
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
    off = sim[~np.eye(n, dtype=bool)]
    low = float(off.min()) if off.size else 0.0
    digits = 2 if 1 - low > 0.05 else 4      # near-uniform maps: all cosines round to 1.00
    fig = go.Figure([
        go.Heatmap(z=sim, x=list(range(n)), y=list(range(n)), colorscale="Viridis", zmin=low, zmax=1,
                   text=np.round(sim, digits), texttemplate="%{text}", name="cosine",
                   hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>"),
        go.Scatter(x=xs, y=ys, mode="markers", name="same parameter block",
                   marker=dict(symbol="square-open", size=22, color="white", line=dict(width=2)),
                   customdata=[applications[i]["name"] for i in ys],
                   hovertemplate="both ran %{customdata}<extra></extra>"),
    ])
    ticks = dict(tickvals=list(range(n)), ticktext=labels)
    fig.update_xaxes(**ticks, tickangle=-45)
    fig.update_yaxes(**ticks, autorange="reversed")
    fig.update_layout(title=title or ("Layer-to-layer similarity of attention (cosine)<br><sup>"
                                      "white squares: the same weights ran at both depths</sup>"),
                      height=max(350, 36 * n + 160), legend=dict(orientation="h", y=-0.25))
    return fig


def compare_figure(run_a: att.AttentionRun, run_b: att.AttentionRun, application: int = 0,
                   head: int | None = 0, width: int = 1100) -> go.Figure:
    """A reference run and another side by side, plus `B - A` (other minus reference) when the
    lengths match: pass the reference first (random init, or the unmasked input) so every
    difference in the notebook reads "what changed".

    Both maps share one colour scale (0 to the larger maximum), so their shades compare; the
    figure takes the full width, and `width` (its expected pixels) thins the tick labels.
    """
    za, what = _head_map(run_a, application, head)
    zb, _ = _head_map(run_b, application, head)
    same_shape = za.shape == zb.shape
    names = [run_a.label or "A", run_b.label or "B"]
    titles = names + ([f"{names[1]} − {names[0]}"] if same_shape else [])
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.03,
                        shared_yaxes=same_shape)
    panel = int(width * 0.8 / len(titles))
    scale = _attention_range(za, zb)
    fig.update_layout(coloraxis=dict(colorscale=ATTENTION_SCALE, cmin=scale["zmin"], cmax=scale["zmax"],
                                     colorbar=dict(title="weight", x=1.0, len=0.45, y=1.0,
                                                   yanchor="top")))
    for col, (run, z) in enumerate(((run_a, za), (run_b, zb)), start=1):
        idx = np.arange(run.length)
        fig.add_trace(_token_heatmap(z, idx, idx, run.tokens, ATTENTION_SCALE, name=names[col - 1],
                                     coloraxis="coloraxis"), row=1, col=col)
        _token_axes(fig, run.tokens, idx, idx, row=1, col=col, width=panel,
                    y_labels=col == 1 or not same_shape)
    if same_shape:
        idx = np.arange(run_a.length)
        diff = zb - za
        bound = float(np.abs(diff).max()) or 1.0
        fig.update_layout(coloraxis2=dict(colorscale=DIFFERENCE_SCALE, cmin=-bound, cmax=bound, cmid=0.0,
                                          colorbar=dict(title=titles[2], x=1.0, len=0.45, y=0.0,
                                                        yanchor="bottom", exponentformat="e")))
        fig.add_trace(_token_heatmap(diff, idx, idx, run_a.tokens, DIFFERENCE_SCALE, name=titles[2],
                                     coloraxis="coloraxis2"), row=1, col=3)
        _token_axes(fig, run_a.tokens, idx, idx, row=1, col=3, width=panel, y_labels=False)
    app = run_a.applications[application]
    fig.update_layout(title=f"Compare at {app['label']} ({app['name']}), {what}",
                      height=max(380, 14 * max(run_a.length, run_b.length) + 200),
                      margin=dict(l=90, r=110, t=90, b=110))
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

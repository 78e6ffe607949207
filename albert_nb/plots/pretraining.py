"""Plotly figures for pretraining: the training curve (live or after the fact) and the
held-out results against their constant baselines. Plain functions returning figures, so tests
and headless notebook runs build them without a browser."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

# IPython.display is imported where a table is shown (deliberately lazy): tests call the figure
# functions without a notebook.

CURVES = (  # (record key, label, subplot row)
    ("loss", "total loss", 1), ("masked_lm_loss", "masked LM loss", 1),
    ("sentence_order_loss", "sentence order loss", 1),
    ("masked_lm_accuracy", "masked LM accuracy", 2),
    ("sentence_order_accuracy", "sentence order accuracy", 2),
)


def training_figure(history=(), title: str = "ALBERT pretraining"):
    """Losses (top) and accuracies (bottom) against the step, one trace per metric.

    `history` is a list of the records `Pretrainer.train` logs ({"step", "loss", ...}).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("training loss", "training accuracy"))
    steps = [r["step"] for r in history]
    for key, label, row in CURVES:
        fig.add_trace(go.Scatter(x=steps, y=[r[key] for r in history], name=label,
                                 mode="lines+markers"), row=row, col=1)
    fig.update_yaxes(title_text="nats", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1], row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(title=title, height=560, legend=dict(orientation="h", y=-0.15))
    return fig


class LiveTrainingChart:
    """A training-curve callback: `chart(record)` after every log.

    With `live=True` (an interactive notebook) the figure is displayed once and redrawn in place
    through an IPython display handle (no widget library needed); otherwise records are only
    collected and `figure()` builds the static figure at the end (headless runs, CI).
    """

    def __init__(self, history=(), live: bool = False, title: str = "ALBERT pretraining"):
        self.history = list(history)
        self.title = title
        self.handle = None
        if live:
            from IPython.display import display

            # Publish the MIME bundle ourselves: a Figure's own _ipython_display_ would drop the
            # display id, and every update would append a new chart instead of redrawing one.
            self.handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict:
        return self.figure()._repr_mimebundle_(None, None)

    def __call__(self, record: dict) -> None:
        self.history.append(record)
        if self.handle is not None:
            self.handle.update(self._bundle(), raw=True)

    def figure(self):
        return training_figure(self.history, self.title)


def baseline_figure(results: dict, mlm_baseline: float, sop_baseline: float,
                    title: str = "Held-out accuracy vs. constant baselines"):
    """Grouped bars: the model's masked-LM and sentence-order accuracy next to the best
    constant guess on the same held-out positions / pairs."""
    tasks = ["masked LM", "sentence order"]
    fig = go.Figure([
        go.Bar(name="constant baseline", x=tasks, y=[mlm_baseline, sop_baseline],
               text=[f"{mlm_baseline:.3f}", f"{sop_baseline:.3f}"], textposition="outside"),
        go.Bar(name="tiny ALBERT", x=tasks,
               y=[results["masked_lm_accuracy"], results["sentence_order_accuracy"]],
               text=[f"{results['masked_lm_accuracy']:.3f}",
                     f"{results['sentence_order_accuracy']:.3f}"], textposition="outside"),
    ])
    fig.update_layout(title=title, barmode="group", yaxis=dict(title="accuracy", range=[0, 1]),
                      height=420)
    return fig


def learning_rate_figure(schedule, num_train_steps: int, points: int = 200):
    """The warm-up + polynomial-decay schedule over the whole run."""
    step_size = max(1, num_train_steps // points)
    steps = list(range(0, num_train_steps + 1, step_size))
    fig = go.Figure(go.Scatter(x=steps, y=[float(schedule(s)) for s in steps], mode="lines"))
    fig.update_layout(title="learning rate schedule", xaxis_title="step",
                      yaxis_title="learning rate", height=320)
    return fig

"""An ipywidgets + plotly attention explorer that knows ALBERT's shared layers.

    explorer = AttentionExplorer(model, tokenizer, "The cat sat.", "It was tired.")
    explorer            # in a notebook: displays the controls and the live figures

Controls pick the block application ("layer", labelled with the parameter block that ran there),
the head (or the mean of heads), a sentence-pair filter, the statistic of the layer x head grid,
and a piece to replace by [MASK] (the model re-runs; an AlbertForPretraining also shows MLM
top-k). Figures are `go.FigureWidget`s updated in place from the pure builders in
`albert_nb.plots.attention`, so everything here works headless: tests set widget values and
read the figures back. Needs `anywidget` (plotly's FigureWidget is built on it). No CDN, no torch.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import plotly.graph_objects as go

from albert_nb import notebook
from albert_nb.analysis import attention as att
from albert_nb.plots import attention as plots
from albert_nb.errors import InputError

# IPython.display is imported where the explorer is shown (deliberately lazy): tests build the
# figures without a notebook.

NO_MASK = -1
MEAN_HEAD = -1


def _figure_widget(fig: go.Figure) -> go.FigureWidget:
    try:
        return go.FigureWidget(fig)
    except ImportError as err:  # plotly raises this when anywidget is missing
        raise ImportError("the attention explorer needs `anywidget` for plotly's FigureWidget "
                          "(pip install anywidget)") from err


def refresh(widget: go.FigureWidget, fig: go.Figure) -> None:
    """Make `widget` show `fig` without replacing the widget object (one front-end message)."""
    with widget.batch_update():
        same = len(widget.data) == len(fig.data) and all(
            a.type == b.type for a, b in zip(widget.data, fig.data))
        if same:
            for old, new in zip(widget.data, fig.data):
                old.update(new.to_plotly_json(), overwrite=True)
        else:
            widget.data = ()
            widget.add_traces(list(fig.data))
        widget.layout = fig.layout


class AttentionExplorer:
    """Widgets + live figures over one model (and optionally a second one to compare with)."""

    def __init__(self, model, tokenizer, text_a: str, text_b: str = "", compare_model=None,
                 label: str = "model", compare_label: str = "compare", top_k: int = 5):
        self.model, self.tokenizer, self.top_k = model, tokenizer, top_k
        self.compare_model, self.label, self.compare_label = compare_model, label, compare_label
        self.text_a = widgets.Text(value=text_a, description="sentence A", continuous_update=False,
                                   layout=widgets.Layout(width="95%"))
        self.text_b = widgets.Text(value=text_b, description="sentence B", continuous_update=False,
                                   placeholder="(optional) a second sentence",
                                   layout=widgets.Layout(width="95%"))
        self.layer = widgets.Dropdown(description="layer")
        self.head = widgets.Dropdown(description="head")
        self.filter = widgets.Dropdown(options=att.FILTERS, value="All", description="filter")
        self.statistic = widgets.Dropdown(description="statistic")
        self.mask = widgets.Dropdown(description="mask")
        self.hide_special = widgets.Checkbox(value=False, description="hide [CLS]/[SEP] keys")
        self.centered = widgets.Checkbox(value=False, description="centre similarity (minus 1/T)")
        self.status = widgets.HTML()
        self.run = self.compare_run = None
        self._busy = False
        self._compute()
        self._set_options()
        self.heatmap = _figure_widget(self._heatmap_figure())
        self.grid = _figure_widget(self._grid_figure())
        self.similarity = _figure_widget(self._similarity_figure())
        self.compare = _figure_widget(self._compare_figure()) if compare_model is not None else None
        self.predictions = _figure_widget(self._predictions_figure())
        self.grid.data[0].on_click(self._on_grid_click)   # click a cell: jump to that layer/head
        for control in (self.text_a, self.text_b, self.mask):
            control.observe(self._on_input, names="value")
        for control in (self.layer, self.head, self.filter, self.hide_special):
            control.observe(self._on_view, names="value")
        self.statistic.observe(self._on_statistic, names="value")
        self.centered.observe(lambda _: self._update(similarity=True), names="value")
        self.widget = self._layout()

    # ------------------------------------------------------------------ computing
    def _compute(self) -> None:
        """Re-run the model(s) on the current text and mask choice."""
        mask = self.mask.value if self.mask.value not in (None, NO_MASK) else None
        text_b = self.text_b.value.strip() or None
        self.run = att.run_attention(self.model, self.tokenizer, self.text_a.value, text_b,
                                     mask_positions=() if mask is None else (mask,),
                                     top_k=self.top_k, label=self.label)
        if self.compare_model is not None:
            self.compare_run = att.run_attention(self.compare_model, self.tokenizer, self.text_a.value,
                                                 text_b, mask_positions=() if mask is None else (mask,),
                                                 top_k=self.top_k, label=self.compare_label)
        self.stats = self.run.statistics()
        pair = self.run.b_start is not None
        self.status.value = html.escape(
            f"{self.run.length} pieces{' (pair, B starts at ' + str(self.run.b_start) + ')' if pair else ''}, "
            f"{len(self.run.applications)} block applications of "
            f"{len({a['block'] for a in self.run.applications})} parameter block(s), "
            f"{self.run.num_heads} heads")

    def _set_options(self) -> None:
        """Refill the dropdowns for the current run, keeping the user's choices where valid.

        (ipywidgets resets a Dropdown to its first option whenever its options change.)
        """
        run, original = self.run, dict(self.run.masked)
        choices = {
            self.layer: [(plots.application_label(a), a["application"]) for a in run.applications],
            self.head: [("mean of heads", MEAN_HEAD)] + [(f"head {h}", h) for h in range(run.num_heads)],
            self.statistic: [(name, name) for name in self.stats],
            self.mask: [("(no mask)", NO_MASK)] + [
                (f"{i}: {original.get(i, t)}", i) for i, t in enumerate(run.tokens)
                if t not in ("[CLS]", "[SEP]") or i in original],
            self.filter: [(f, f) for f in (att.FILTERS if run.b_start is not None else ("All",))],
        }
        defaults = {self.head: 0, self.statistic: "entropy"}
        self._busy = True
        try:
            for control, options in choices.items():
                keep = control.value
                control.options = options
                values = [v for _, v in options]
                if keep in values:
                    control.value = keep
                elif defaults.get(control) in values:
                    control.value = defaults[control]
        finally:
            self._busy = False

    # -------------------------------------------------------------------- figures
    def _selection(self):
        head = self.head.value if self.head.value is not None else MEAN_HEAD
        return (self.layer.value or 0), head

    def _heatmap_figure(self):
        application, head = self._selection()
        return plots.head_heatmap(self.run, application, head, self.filter.value or "All",
                                  hide_special=self.hide_special.value)

    def _grid_figure(self):
        return plots.statistic_grid(self.stats, self.statistic.value, self.run.applications,
                                    selected=self._selection())

    def _similarity_figure(self):
        sim = att.layer_similarity(self.run.attentions, centered=self.centered.value)
        return plots.layer_similarity_figure(sim, self.run.applications)

    def _compare_figure(self):
        # The compare model is the reference: the difference reads "this model - compare model",
        # the same way round as the notebook's own difference plots.
        application, head = self._selection()
        return plots.compare_figure(self.compare_run, self.run, application, head)

    def _predictions_figure(self):
        if not self.run.predictions:
            fig = go.Figure()
            reason = ("pick a piece under 'mask' to see MLM top-k" if hasattr(self.model, "mlm_head")
                      else "this model has no MLM head (use AlbertForPretraining)")
            fig.update_layout(title=reason, height=200)
            return fig
        return plots.predictions_figure(self.run, next(iter(self.run.predictions)))

    def _update(self, heatmap=False, grid=False, similarity=False, compare=False, predictions=False):
        if heatmap:
            refresh(self.heatmap, self._heatmap_figure())
        if grid:
            refresh(self.grid, self._grid_figure())
        if similarity:
            refresh(self.similarity, self._similarity_figure())
        if compare and self.compare is not None:
            refresh(self.compare, self._compare_figure())
        if predictions:
            refresh(self.predictions, self._predictions_figure())

    # -------------------------------------------------------------------- events
    def _on_input(self, change) -> None:
        if self._busy:
            return
        if change["owner"] is not self.mask:   # new text: the old mask position means nothing
            self._busy = True
            self.mask.value = NO_MASK
            self._busy = False
        try:
            self._compute()
        except InputError as err:
            self.status.value = f"<b style='color:#c00'>{html.escape(str(err))}</b>"
            return
        self._set_options()
        self._update(True, True, True, True, True)

    def _on_view(self, change) -> None:
        if not self._busy:
            self._update(heatmap=True, grid=True, compare=True)

    def _on_statistic(self, change) -> None:
        if not self._busy:
            self._update(grid=True)

    def _on_grid_click(self, trace, points, state) -> None:
        if points.point_inds:
            self.head.value = int(points.xs[0])
            self.layer.value = int(points.ys[0])

    # --------------------------------------------------------------------- public
    def set_text(self, text_a: str, text_b: str = "") -> None:
        """Change both sentences with one re-run."""
        unchanged_a = self.text_a.value == text_a
        self._busy = True
        self.text_b.value = text_b
        self._busy = False
        if unchanged_a:   # an unchanged value fires no event: re-run explicitly
            self._on_input({"owner": self.text_b})
        else:
            self.text_a.value = text_a

    def _layout(self):
        controls = widgets.VBox([
            self.text_a, self.text_b,
            widgets.HBox([self.layer, self.head, self.filter]),
            widgets.HBox([self.statistic, self.mask, self.hide_special, self.centered]),
            self.status])
        figures = [widgets.HBox([self.heatmap, self.grid]),
                   widgets.HBox([self.similarity, self.predictions])]
        if self.compare is not None:
            figures.append(self.compare)
        return widgets.VBox([controls, *figures])

    def figures(self) -> list[go.FigureWidget]:
        return [f for f in (self.heatmap, self.grid, self.similarity, self.predictions, self.compare)
                if f is not None]

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
        if notebook.headless():
            # No one will move these controls, and a saved widget without its state shows
            # nothing: keep a still copy of each figure (with its static fallback, see
            # albert_nb.notebook) so the executed notebook shows what the explorer showed.
            for figure in self.figures():
                go.Figure(figure).show()

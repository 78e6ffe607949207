"""Figures for the tokenization notebook (plain functions returning plotly Figures)."""
from __future__ import annotations

import collections

import plotly.graph_objects as go

from albert_nb.pretraining.masking import ngram_probabilities
from albert_nb.tokenizers.tokenization import SPIECE_UNDERLINE


def piece_length_figure(tokenizers: dict, max_length: int = 16) -> go.Figure:
    """Share of vocabulary entries by length in characters (without "▁" / "##"), per tokenizer.

    SentencePiece vocabularies hold many multi-character English pieces; a Chinese WordPiece
    vocabulary is almost all single characters.
    """
    fig = go.Figure()
    for name, tok in tokenizers.items():
        specials = set(tok.special_tokens.values())
        lengths = collections.Counter()
        for piece in tok.vocab:
            if piece in specials:
                continue
            core = piece.replace(SPIECE_UNDERLINE, "")
            core = core[2:] if core.startswith("##") else core
            lengths[min(len(core), max_length)] += 1
        total = sum(lengths.values()) or 1
        xs = list(range(0, max_length + 1))
        fig.add_bar(x=xs, y=[lengths[x] / total for x in xs], name=name)
    fig.update_layout(title="Vocabulary pieces by length", barmode="group",
                      xaxis_title=f"characters in the piece ({max_length} = {max_length} or more)",
                      yaxis_title="share of vocabulary", yaxis_tickformat=".0%")
    return fig


def tokens_per_sentence_figure(lengths: dict) -> go.Figure:
    """Box plots of tokens per sentence: `{label: [lengths...]}`."""
    fig = go.Figure()
    for name, values in lengths.items():
        fig.add_box(y=list(values), name=name, boxmean=True)
    fig.update_layout(title="Tokens per sentence", yaxis_title="tokens")
    return fig


def ngram_length_figure(observed_counts: dict, max_ngram: int = 3,
                        favor_shorter_ngram: bool = True) -> go.Figure:
    """Observed masked n-gram lengths against the target p(n) proportional to 1/n."""
    total = sum(observed_counts.values()) or 1
    ns = list(range(1, max_ngram + 1))
    fig = go.Figure()
    fig.add_bar(x=ns, y=[observed_counts.get(n, 0) / total for n in ns], name="observed")
    fig.add_scatter(x=ns, y=ngram_probabilities(max_ngram, favor_shorter_ngram), mode="markers",
                    marker=dict(size=14, symbol="x"), name="target p(n)")
    fig.update_layout(title="Masked n-gram lengths (in words)", xaxis_title="n",
                      yaxis_title="share", yaxis_tickformat=".0%", xaxis_dtick=1)
    return fig

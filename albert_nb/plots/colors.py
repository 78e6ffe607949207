"""One colour per series name, for every chart of every notebook.

A reader compares charts by colour: "pretrained" must be the same blue in 05's curves, its
bars and its learning curves, and ALBERT the same orange in 01 and 09. Names not listed get
a fixed colour from the palette by their position, never a colour a listed name owns.
"""
from __future__ import annotations

SERIES = {
    "pretrained": "#1f77b4",
    "scratch": "#d62728",
    "majority class": "#7f7f7f",
    "baseline": "#7f7f7f",
    "unigram": "#bcbd22",
    "bigram": "#8c564b",
    "ALBERT": "#F58518",
    "BERT": "#4C78A8",
    "SOP": "#2ca02c",
    "NSP": "#9467bd",
}
PALETTE = ("#17becf", "#e377c2", "#ff7f0e", "#aec7e8", "#98df8a", "#c5b0d5")


def color_of(name: str, index: int = 0) -> str:
    """The colour of a series: by its name (case-insensitive prefix, so "pretrained: dev
    accuracy" is still "pretrained"), else PALETTE[index]."""
    lowered = name.lower()
    for key, color in SERIES.items():
        if lowered == key.lower() or lowered.startswith(key.lower() + " ") \
                or lowered.startswith(key.lower() + ":") or lowered.startswith(key.lower() + "-"):
            return color
    return PALETTE[index % len(PALETTE)]

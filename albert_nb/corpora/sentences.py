"""Sentence splitters for the pretraining input format (one sentence per line).

Rule-based on purpose: the original expects pre-split text and only needs sentence
*boundaries* good enough for SOP pairs, so a small readable regex beats a model download.
"""
from __future__ import annotations

import re

# Abbreviations that end in "." without ending a sentence (checked case-insensitively).
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "e.g", "i.e",
                  "cf", "no", "fig", "vol", "ch", "p", "pp", "approx", "dept", "gen", "col", "capt",
                  "lt", "sgt", "mt", "ft", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                  "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m", "inc", "ltd", "co"}
# End mark, optional closing quotes/brackets, whitespace, then something that can open a sentence.
_EN_BOUNDARY = re.compile(r"([.!?]+[\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_ZH_BOUNDARY = re.compile(r"([。！？!?；…]+[\u201d\u2019\u300d\u300f\uff09)]*)")


def split_english(text: str) -> list[str]:
    """Split English prose into sentences; whitespace is collapsed first."""
    text = " ".join(text.split())
    if not text:
        return []
    sentences, start = [], 0
    for match in _EN_BOUNDARY.finditer(text):
        end = match.end(1)
        words = text[start:end].split()
        last = words[-1].rstrip(".!?\"')]\u201d\u2019").lower() if words else ""
        if match.group(1).startswith(".") and (last in _ABBREVIATIONS or
                                              (len(last) == 1 and last.isalpha())):
            continue  # "Mr. Darcy", "J. Smith": not a boundary
        sentences.append(text[start:end].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def split_chinese(text: str) -> list[str]:
    """Split Chinese text after 。！？；… (keeping closing quotes with their sentence)."""
    text = "".join(text.split())  # Chinese needs no spaces; drop layout whitespace
    pieces = _ZH_BOUNDARY.split(text)
    sentences = []
    for i in range(0, len(pieces), 2):
        sentence = pieces[i] + (pieces[i + 1] if i + 1 < len(pieces) else "")
        if sentence:
            sentences.append(sentence)
    return sentences

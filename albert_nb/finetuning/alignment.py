"""Which characters of the original paragraph each token covers, for any ALBERT tokenizer.

Extractive QA predicts token spans but must answer with the paragraph's own text, so every token
needs its character span in the *original* paragraph. Tokenizers lose that: SentencePiece runs on
normalised text (whitespace collapsed, NFKD, accents dropped, lower-cased) and WordPiece drops
accents and splits punctuation. The original (`squad_utils.convert_examples_to_features`) solves
it without tokenizer offsets, and that is the method here:

1. Concatenate the pieces' texts: SentencePiece's "▁" becomes a space; for WordPiece a word-start
   piece gets a leading space and "##" is dropped ([UNK] stands for one character that matches
   nothing). This is `piece_text`.
2. A longest-common-subsequence alignment between the paragraph's characters (each normalised the
   way the tokenizer normalises text, `char_normalizer`) and that string. The two strings differ
   only a little, so the DP only looks at a band of `|n - m| + 5` cells around the diagonal
   (doubled once if less than 80 % of the paragraph matched), as the original.
3. Each token's first/last character is mapped back through the alignment; unmatched characters
   take the nearest matched neighbour (`convert_index`, the original's `_convert_index`).

Because only pieces and a per-character normaliser are needed, the same code serves English
SentencePiece models and the Chinese WordPiece vocabularies (CMRC2018 goes through it unchanged).
`align(tokenizer, text)` is the entry point; it returns None when the match is below 80 % (the
original's "MISMATCH DETECTED!", after which the example is skipped).
"""
from __future__ import annotations

import dataclasses
import unicodedata

from albert_nb.tokenizers.tokenization import SPIECE_UNDERLINE, preprocess_text
from albert_nb.tokenizers.wordpiece import CONTINUATION_PREFIX

MATCH_FRACTION = 0.8
_UNMATCHABLE = "\x00"
_UNSET, _UP, _LEFT, _DIAGONAL = 255, 0, 1, 2


def piece_text(tokenizer, pieces: list[str]) -> tuple[str, list[int], list[int]]:
    """The pieces' concatenated text and each piece's first/last character in it."""
    unk = tokenizer.special_tokens["unk"]
    text, starts, ends = [], [], []
    length = 0
    for piece in pieces:
        if tokenizer.is_sentencepiece:
            surface = piece.replace(SPIECE_UNDERLINE, " ")
        elif piece == unk:
            surface = " " + _UNMATCHABLE
        elif piece.startswith(CONTINUATION_PREFIX):
            surface = piece[len(CONTINUATION_PREFIX):]
        else:
            surface = " " + piece
        surface = surface or _UNMATCHABLE
        starts.append(length)
        length += len(surface)
        ends.append(length - 1)
        text.append(surface)
    return "".join(text), starts, ends


def char_normalizer(tokenizer):
    """char -> what the tokenizer turns it into (possibly "" or several characters)."""
    lower = tokenizer.do_lower_case
    if tokenizer.is_sentencepiece:
        return lambda c: preprocess_text(c, lower=lower, remove_space=False)

    def wordpiece_char(c: str) -> str:
        if lower:
            c = "".join(ch for ch in unicodedata.normalize("NFD", c.lower())
                        if unicodedata.category(ch) != "Mn")
        return c

    return wordpiece_char


def lcs_alignment(original: list[str], target: str, max_dist: int) -> tuple[list, list, int]:
    """Banded LCS of `original` (normalised characters) and `target`.

    Returns (orig_to_target, target_to_orig, matched): index maps with None where a character
    has no partner, and the LCS length. Cells outside the band count as 0, as the original.
    """
    n, m = len(original), len(target)
    rows, moves, bounds = [], [], []
    prev, prev_lo = [], 0
    for i in range(n):
        lo, hi = max(0, i - max_dist), min(m, i + max_dist)
        width = max(hi - lo, 0)
        row, move = [0] * width, bytearray([_UNSET]) * width
        char = original[i]
        for j in range(lo, hi):
            k = j - lo
            best, how = 0, _UNSET
            if i > 0:
                p = j - prev_lo
                best, how = (prev[p] if 0 <= p < len(prev) else 0), _UP
            if j > 0:
                left = row[k - 1] if k > 0 else 0
                if left > best:
                    best, how = left, _LEFT
            if char == target[j]:
                p = j - 1 - prev_lo
                diagonal = (prev[p] if i > 0 and 0 <= p < len(prev) else 0) + 1
                if diagonal > best:
                    best, how = diagonal, _DIAGONAL
            row[k], move[k] = best, how
        rows.append(row)
        moves.append(move)
        bounds.append(lo)
        prev, prev_lo = row, lo
    orig_to_target, target_to_orig = [None] * n, [None] * m
    i, j = n - 1, m - 1
    while i >= 0 and j >= 0:
        k = j - bounds[i]
        if not 0 <= k < len(moves[i]) or moves[i][k] == _UNSET:
            break
        how = moves[i][k]
        if how == _DIAGONAL:
            orig_to_target[i], target_to_orig[j] = j, i
            i, j = i - 1, j - 1
        elif how == _LEFT:
            j -= 1
        else:
            i -= 1
    k = (m - 1) - bounds[n - 1] if n else -1
    matched = rows[n - 1][k] if n and 0 <= k < len(rows[n - 1]) else 0
    return orig_to_target, target_to_orig, matched


def convert_index(index: list, pos: int, m: int | None = None, is_start: bool = True) -> int:
    """index[pos], or for an unaligned position the nearest aligned neighbour: a start moves
    right (just after the previous aligned one), an end moves left (the original's rule)."""
    if index[pos] is not None:
        return index[pos]
    n = len(index)
    rear = pos
    while rear < n - 1 and index[rear] is None:
        rear += 1
    front = pos
    while front > 0 and index[front] is None:
        front -= 1
    if index[front] is None and index[rear] is None:
        return 0
    if index[front] is None:
        if index[rear] >= 1:
            return 0 if is_start else index[rear] - 1
        return index[rear]
    if index[rear] is None:
        if m is not None and index[front] < m - 1:
            return index[front] + 1 if is_start else m - 1
        return index[front]
    if is_start:
        return index[front] + 1 if index[rear] > index[front] + 1 else index[rear]
    return index[rear] - 1 if index[rear] > index[front] + 1 else index[front]


@dataclasses.dataclass
class Alignment:
    """A paragraph's pieces and, per piece, its first/last character in the original text."""

    pieces: list[str]
    tok_start_to_orig_index: list[int]
    tok_end_to_orig_index: list[int]
    orig_to_chartok_index: list
    chartok_to_tok_index: list[int]

    def token_span(self, char_start: int, char_end: int) -> tuple[int, int]:
        """Original characters [char_start, char_end] -> first and last token covering them."""
        start = convert_index(self.orig_to_chartok_index, char_start, is_start=True)
        end = convert_index(self.orig_to_chartok_index, char_end, is_start=False)
        last = len(self.chartok_to_tok_index) - 1
        return (self.chartok_to_tok_index[min(start, last)],
                self.chartok_to_tok_index[min(max(end, 0), last)])


def align(tokenizer, text: str) -> Alignment | None:
    """Tokenize a paragraph and map its pieces back to characters; None on a mismatch."""
    pieces = tokenizer.tokenize(tokenizer.preprocess(text)) if tokenizer.is_sentencepiece \
        else tokenizer.tokenize(text)
    if not pieces:
        return None
    target, starts, ends = piece_text(tokenizer, pieces)
    normalize = char_normalizer(tokenizer)
    original = [normalize(c) for c in text]
    n, m = len(original), len(target)
    max_dist = abs(n - m) + 5
    for _ in range(2):
        orig_to_t, t_to_orig, matched = lcs_alignment(original, target, max_dist)
        if matched > MATCH_FRACTION * n:
            break
        max_dist *= 2
    if all(v is None for v in orig_to_t) or matched < MATCH_FRACTION * n:
        return None
    chartok_to_tok = [0] * m
    for t, (s, e) in enumerate(zip(starts, ends)):
        for c in range(s, e + 1):
            chartok_to_tok[c] = t
    return Alignment(
        pieces=pieces,
        tok_start_to_orig_index=[convert_index(t_to_orig, s, n, is_start=True) for s in starts],
        tok_end_to_orig_index=[convert_index(t_to_orig, e, n, is_start=False) for e in ends],
        orig_to_chartok_index=orig_to_t, chartok_to_tok_index=chartok_to_tok)

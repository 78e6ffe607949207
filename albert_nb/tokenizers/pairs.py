"""`[CLS] A [SEP] B [SEP]`: the one pair encoding every task, demo and explorer uses.

The original's `classifier_utils` rule: segment 0 for [CLS], A and the first [SEP]; segment 1 for
B and its [SEP]; a pair that is too long loses tokens from the end of its longer side, one at a
time (B on a tie), so the shorter sentence keeps as much as it can.
"""
from __future__ import annotations

from albert_nb.errors import InputError


def truncate_seq_pair(tokens_a: list, tokens_b: list, max_length: int) -> None:
    """Pop from the end of the longer list (B on a tie) until both fit in `max_length`, in place."""
    while len(tokens_a) + len(tokens_b) > max_length:
        (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()


def pack_pair(a: list, b: list | None, cls, sep, max_seq_length: int) -> tuple[list, list[int]]:
    """Items of A and B (pieces or ids) -> ([CLS] A [SEP] (B [SEP]), segment ids), truncated.

    A `b` that is None or empty (a text_b that tokenises to nothing) gives one sentence,
    `[CLS] A [SEP]`, as the original's `if tokens_b:`.
    """
    if max_seq_length < 3:
        raise InputError(f"--max_seq_length={max_seq_length}: expected at least 3 ([CLS] a [SEP])")
    a, b = list(a), list(b or [])
    is_pair = bool(b)
    if is_pair:
        truncate_seq_pair(a, b, max_seq_length - 3)                     # [CLS] a [SEP] b [SEP]
    else:
        a = a[: max_seq_length - 2]                                      # [CLS] a [SEP]
    items = [cls, *a, sep]
    segment_ids = [0] * len(items)
    if is_pair:
        items += [*b, sep]
        segment_ids += [1] * (len(b) + 1)
    return items, segment_ids


def encode_pair(tokenizer, text_a: str, text_b: str | None = None,
                max_seq_length: int = 512) -> tuple[list[int], list[int]]:
    """Text -> (input_ids, segment_ids) through `tokenizer` (preprocess, pieces, ids)."""
    a = tokenizer.encode(text_a or "")
    b = tokenizer.encode(text_b) if text_b else None
    return pack_pair(a, b, tokenizer.cls_id, tokenizer.sep_id, max_seq_length)

"""Word-start flags for masking, and one sentence shown as the masked LM sees it.

Masking works on *units*: with `do_whole_word_mask` a unit is a word, a start piece plus its
continuation pieces (`albert_nb.pretraining.masking`). Which piece starts a word is the
tokenizer's call (`FullTokenizer.is_start_piece`): "▁" for SentencePiece, no "##" for
WordPiece, so for Chinese WordPiece every character starts a word and masking is by character,
the original's behaviour. A segmenter (`albert_nb.tokenizers.segmenters`, e.g. jieba) replaces
those flags by its word boundaries: whole-word masking for Chinese, as albert_zh and CLUE did.
The ids never change, only the flags.
"""
from __future__ import annotations

import random

from albert_nb.pretraining.masking import create_masked_lm_predictions


def start_table(tokenizer) -> bytes:
    """Word-start flag for every vocab id, computed once (1 = starts a word)."""
    return bytes(1 if tokenizer.is_start_piece(tokenizer.inv_vocab[i]) else 0
                 for i in range(tokenizer.vocab_size))


def sentence_ids(tokenizer, text: str, segmenter=None, table: bytes | None = None):
    """(ids, word-start flags) of one preprocessed line.

    Without a segmenter the flags come from the pieces; with one, each word's pieces are
    flagged 1, 0, 0, ...: its characters are masked together.
    """
    if segmenter is None:
        table = table if table is not None else start_table(tokenizer)
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))
        return ids, bytes(table[i] for i in ids)
    ids, flags = [], []
    for word in segmenter(text):
        word_ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
        ids.extend(word_ids)
        flags.extend([1] * bool(word_ids) + [0] * (len(word_ids) - 1))   # a blank "word": none
    return ids, bytes(flags)


def format_masked_sentence(tokenizer, text: str, segmenter=None, seed: int = 0,
                           masked_lm_prob: float = 0.15, ngram: int = 3,
                           max_predictions_per_seq: int = 20) -> str:
    """One sentence as the masked LM would see it: masked pieces as `[MASK:x]` (x the hidden
    piece; a 10% random or kept replacement shows as `[x->y]`). With a segmenter, the word
    boundaries used for whole-word masking are shown as `|`."""
    ids, starts = sentence_ids(tokenizer, tokenizer.preprocess(text), segmenter)
    masked = create_masked_lm_predictions(
        ids, [False] * len(ids), list(starts), random.Random(seed), vocab_size=tokenizer.vocab_size,
        mask_id=tokenizer.mask_id, masked_lm_prob=masked_lm_prob, ngram=ngram,
        max_predictions_per_seq=max_predictions_per_seq)
    hidden = set(masked.masked_lm_positions)
    out = []
    for position, (original, shown) in enumerate(zip(ids, masked.input_ids)):
        if segmenter is not None and starts[position] and position:
            out.append("|")
        piece = tokenizer.inv_vocab[original]
        if position not in hidden:
            out.append(piece)
        elif shown == tokenizer.mask_id:
            out.append(f"[MASK:{piece}]")
        else:
            out.append(f"[{piece}->{tokenizer.inv_vocab[shown]}]")
    return " ".join(out)

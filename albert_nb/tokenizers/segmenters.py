"""Chinese word boundaries for whole-word masking: our option, not the original's behaviour.

Google's Chinese ALBERT masks *characters*: BERT's basic tokenizer makes every CJK character a
word of its own, so `do_whole_word_mask` never groups two of them, and masking "北京" may hide
"北" alone, which the model restores from "京" without knowing anything about the sentence.
albert_zh and the CLUE baselines (after Cui et al.'s Chinese BERT-wwm) segment the text with
jieba and mask a whole word's characters together. `create_pretraining_data --word_segmenter=jieba`
does that here: the pieces and their ids stay the same, only the word-start flags change.
"""
from __future__ import annotations

import logging
import warnings

from albert_nb.errors import InputError

# jieba is imported when a segmenter is first used (deliberately lazy): it takes a second to load its
# dictionary and only Chinese whole-word masking needs it.

SEGMENTERS = ("jieba",)


def jieba_segmenter():
    """`text -> list of words` with jieba's default dictionary (precise mode, HMM for unknown
    words). Deterministic: the same text always gets the same cut."""
    with warnings.catch_warnings():   # jieba 0.42.1 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import jieba   # lazy: loading its 350k-word dictionary takes a second; only WWM needs it

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    return lambda text: tokenizer.lcut(text, HMM=True)


def get_segmenter(name: str | None):
    """The segmenter called `name` (None: no segmenter, character-level masking)."""
    if name in (None, "", "none"):
        return None
    if name == "jieba":
        return jieba_segmenter()
    raise InputError(f"--word_segmenter={name!r}: expected one of {list(SEGMENTERS)} (or none, "
                     "the original's character-level masking)")

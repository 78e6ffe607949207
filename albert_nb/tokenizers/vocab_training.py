"""Build tokenizer files from real text: a SentencePiece model (English) or a WordPiece
vocabulary (Chinese).

`train_sentencepiece` follows the recipe of ALBERT's `30k-clean.model`: a unigram model with
`<pad>`=0, `<unk>`=1, no BOS/EOS, control symbols `[CLS]` `[SEP]` `[MASK]` (ids 2, 3, 4) and
the user-defined symbols `( ) " - . – £ €` (always their own piece), character coverage
0.99995, shuffled input. The text is run through `preprocess_text` first so the model sees
exactly what `FullTokenizer.encode` will feed it (lower-cased for an uncased model).

`build_wordpiece_vocab` makes a small BERT-Chinese-style vocabulary: specials first
(`[PAD] [UNK] [CLS] [SEP] [MASK]` = 0..4), then single characters by frequency, their `##`
continuation forms, then frequent whole words (English words and numbers inside Chinese
text). The tokenizer never assumes these ids; it looks the tokens up.

Write the files next to the model's `albert_config.json` (`30k-clean.model`,
`vocab_chinese.txt`) so `FullTokenizer.from_directory` finds them.
"""
from __future__ import annotations

import collections
import io
import os
from typing import Iterable

import sentencepiece as spm

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_write_bytes, atomic_write_text
from albert_nb.tokenizers import wordpiece
from albert_nb.tokenizers.tokenization import preprocess_text

SPM_CONTROL_SYMBOLS = ("[CLS]", "[SEP]", "[MASK]")
SPM_USER_DEFINED_SYMBOLS = ("(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac")
WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _iter_text_lines(source) -> Iterable[str]:
    """Sentences from an iterable of strings or from file paths (one sentence per line)."""
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    items = list(source) if not hasattr(source, "__next__") else source
    for item in items:
        if isinstance(item, os.PathLike) or (isinstance(item, str) and os.path.isfile(item)
                                             and "\n" not in item):
            with open(item, "r", encoding="utf-8") as handle:
                for line in handle:
                    yield line
        else:
            yield item


def train_sentencepiece(sentences, model_prefix, vocab_size: int = 30000, *,
                        do_lower_case: bool = True, model_type: str = "unigram",
                        character_coverage: float = 0.99995,
                        input_sentence_size: int = 10_000_000, shuffle_input_sentence: bool = True,
                        hard_vocab_limit: bool = True, seed: int = 0,
                        num_threads: int | None = None, max_sentence_length: int = 8192,
                        extra_user_defined_symbols: tuple = ()) -> str:
    """Train a SentencePiece model with ALBERT's recipe; returns the `.model` path.

    `sentences`: an iterable of sentences, or file path(s) with one sentence per line.
    Writes `<model_prefix>.model` and `<model_prefix>.vocab` (piece<TAB>score) atomically.
    `extra_user_defined_symbols`: pieces forced into the vocabulary besides the recipe's (a demo
    uses "000," to show the digit-comma rule on a model that surely has such a piece).
    """
    lines = []
    for line in _iter_text_lines(sentences):
        line = preprocess_text(line, lower=do_lower_case)
        if line:
            lines.append(line)
    if not lines:
        raise InputError("train_sentencepiece got no non-empty sentences")
    buffer = io.BytesIO()
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=buffer, vocab_size=vocab_size,
            model_type=model_type, pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
            control_symbols=list(SPM_CONTROL_SYMBOLS),
            user_defined_symbols=list(SPM_USER_DEFINED_SYMBOLS) + list(extra_user_defined_symbols),
            character_coverage=character_coverage, input_sentence_size=input_sentence_size,
            shuffle_input_sentence=shuffle_input_sentence, hard_vocab_limit=hard_vocab_limit,
            num_threads=num_threads or min(4, os.cpu_count() or 1),
            max_sentence_length=max_sentence_length, minloglevel=2)
    except RuntimeError as err:
        raise InputError(f"SentencePiece training failed for vocab_size={vocab_size} on "
                         f"{len(lines)} sentences: {err} (vocab_size must exceed the number of "
                         "distinct characters kept by character_coverage, and a small corpus "
                         "needs a small vocab_size or hard_vocab_limit=False)") from None
    model_path = os.fspath(model_prefix) + ".model"
    atomic_write_bytes(model_path, buffer.getvalue())
    processor = spm.SentencePieceProcessor(model_proto=buffer.getvalue())
    rows = [f"{processor.IdToPiece(i)}\t{processor.GetScore(i):g}"
            for i in range(processor.GetPieceSize())]
    atomic_write_text(os.fspath(model_prefix) + ".vocab", "\n".join(rows) + "\n")
    return model_path


def build_wordpiece_vocab(texts, out_file, vocab_size: int = 8000, *, do_lower_case: bool = True,
                          min_frequency: int = 1, with_counts: bool = False) -> str:
    """Build a WordPiece vocab from (mostly Chinese) texts; returns `out_file`.

    Order: specials, then characters that start a basic-tokenizer word (by frequency), then
    `##c` for characters seen inside words, then frequent whole words of length > 1 -- until
    `vocab_size`. Every character kept can always be spelled, so a word is [UNK] only when it
    uses a character that did not make the cut. `with_counts=True` writes a second column
    (`token<TAB>count`), a layout `load_vocab` also accepts.
    """
    basic = wordpiece.BasicTokenizer(do_lower_case=do_lower_case)
    starts: collections.Counter = collections.Counter()
    inner: collections.Counter = collections.Counter()
    words: collections.Counter = collections.Counter()
    seen_any = False
    for text in _iter_text_lines(texts):
        for word in basic.tokenize(text):
            seen_any = True
            starts[word[0]] += 1
            for char in word[1:]:
                inner[char] += 1
            if len(word) > 1:
                words[word] += 1
    if not seen_any:
        raise InputError("build_wordpiece_vocab got no text")
    if vocab_size <= len(WORDPIECE_SPECIALS):
        raise InputError(f"vocab_size={vocab_size} must exceed the {len(WORDPIECE_SPECIALS)} specials")
    entries: list[tuple[str, int]] = [(t, 0) for t in WORDPIECE_SPECIALS]
    taken = set(WORDPIECE_SPECIALS)

    def add(token, count):
        if len(entries) < vocab_size and token not in taken and count >= min_frequency:
            entries.append((token, count))
            taken.add(token)

    def by_freq(counter):  # frequency, ties broken by the token so output is deterministic
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

    for char, count in by_freq(starts):
        add(char, count)
    for char, count in by_freq(inner):
        add(wordpiece.CONTINUATION_PREFIX + char, count)
    for word, count in by_freq(words):
        add(word, count)
    if with_counts:
        text = "".join(f"{t}\t{c}\n" for t, c in entries)
    else:
        text = "".join(f"{t}\n" for t, _ in entries)
    atomic_write_text(out_file, text)
    return os.fspath(out_file)


def unk_rates(tokenizer, texts) -> tuple[float, float]:
    """(share of texts with an [UNK], share of tokens that are [UNK]) of `tokenizer` on `texts`.

    Measure it on held-out text: on the vocabulary's own training text every character was
    seen, so SentencePiece shows almost no [UNK] there whatever it will meet later.
    """
    encoded = [tokenizer.encode(text) for text in texts]
    tokens = sum(len(ids) for ids in encoded)
    return (sum(tokenizer.unk_id in ids for ids in encoded) / max(1, len(encoded)),
            sum(ids.count(tokenizer.unk_id) for ids in encoded) / max(1, tokens))

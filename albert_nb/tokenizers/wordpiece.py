"""BERT-style WordPiece tokenization, the path Google's Chinese ALBERT models use.

Why WordPiece for Chinese: Chinese has no spaces, so a SentencePiece model trained on
raw text learns multi-character pieces that cut across word boundaries in arbitrary
ways. BERT-Chinese (and ALBERT-zh after it) simply isolate every CJK character: the
"basic" tokenizer puts spaces around each one, so each character is its own word and
the ~21k-entry vocabulary is mostly single characters plus English/number pieces.

Two stages:
1. `BasicTokenizer`: clean control characters, isolate CJK characters, split on
   whitespace, optionally lower-case and strip accents, split punctuation off.
2. `WordpieceTokenizer`: greedy longest-match-first against the vocabulary; a piece that
   continues a word is written with a leading "##"; a word that cannot be covered becomes
   "[UNK]" as a whole.
"""
from __future__ import annotations

import collections
import os
import unicodedata

from albert_nb.errors import InputError

UNK_TOKEN = "[UNK]"
CONTINUATION_PREFIX = "##"


def load_vocab(vocab_file) -> "collections.OrderedDict[str, int]":
    """Read a vocab file: one token per line, id = line number (0-based).

    Only the first whitespace-separated field counts, so two-column files
    (`token<TAB>count`, the layout of some Chinese vocabularies) load the same way.
    Bad files (missing, not UTF-8, empty, blank lines, duplicate tokens) raise InputError.
    """
    path = os.fspath(vocab_file)
    if not os.path.isfile(path):
        raise InputError(f"vocab file not found: {path!r} (expected a text file, one token per line)")
    try:
        with open(path, "r", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except UnicodeDecodeError as err:
        raise InputError(f"vocab file {path!r} is not UTF-8 (byte offset {err.start}); "
                         "expected a text file, one token per line") from None
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    vocab: "collections.OrderedDict[str, int]" = collections.OrderedDict()
    for index, line in enumerate(lines):
        fields = line.strip().split()
        if not fields:
            raise InputError(f"vocab file {path!r} line {index + 1} is blank; "
                             "expected one token per line (ids are line numbers)")
        token = fields[0]
        if token in vocab:
            raise InputError(f"vocab file {path!r} line {index + 1}: duplicate token {token!r} "
                             f"(first seen on line {vocab[token] + 1})")
        vocab[token] = index
    if not vocab:
        raise InputError(f"vocab file {path!r} is empty; expected one token per line")
    return vocab


def is_whitespace(char: str) -> bool:
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    if char in ("\t", "\n", "\r"):  # counted as whitespace, not control
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char: str) -> bool:
    """ASCII symbols count as punctuation too ("$", "^", "`"), like BERT."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_cjk_char(code: int) -> bool:
    """CJK Unified Ideographs blocks (Han characters). Not Hangul, Hiragana or Katakana:
    those languages write spaces between words, so they are left to WordPiece."""
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F
            or 0x2B820 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF
            or 0x2F800 <= code <= 0x2FA1F)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class BasicTokenizer:
    """Whitespace/punctuation splitting with every CJK character made its own token."""

    def __init__(self, do_lower_case: bool = True):
        self.do_lower_case = do_lower_case

    def tokenize(self, text: str) -> list[str]:
        text = self._clean(text)
        text = self._space_cjk(text)
        tokens = []
        for word in text.split():
            if self.do_lower_case:
                word = strip_accents(word.lower())
            tokens.extend(self._split_punctuation(word))
        return tokens

    @staticmethod
    def _clean(text: str) -> str:
        out = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD or is_control(char):
                continue
            out.append(" " if is_whitespace(char) else char)
        return "".join(out)

    @staticmethod
    def _space_cjk(text: str) -> str:
        return "".join(f" {c} " if is_cjk_char(ord(c)) else c for c in text)

    @staticmethod
    def _split_punctuation(word: str) -> list[str]:
        pieces: list[str] = []
        current = ""
        for char in word:
            if is_punctuation(char):
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(char)
            else:
                current += char
        if current:
            pieces.append(current)
        return pieces


class WordpieceTokenizer:
    """Greedy longest-match-first segmentation of one word into vocabulary pieces."""

    def __init__(self, vocab, unk_token: str = UNK_TOKEN, max_input_chars_per_word: int = 200):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize_word(self, word: str) -> list[str]:
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            match = None
            while start < end:  # shrink from the right until a vocab entry matches
                candidate = word[start:end]
                if start > 0:
                    candidate = CONTINUATION_PREFIX + candidate
                if candidate in self.vocab:
                    match = candidate
                    break
                end -= 1
            if match is None:
                return [self.unk_token]  # the whole word is unknown, not just the tail
            pieces.append(match)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """`text` is expected to be already split by BasicTokenizer (whitespace-joined)."""
        out = []
        for word in text.split():
            out.extend(self.tokenize_word(word))
        return out

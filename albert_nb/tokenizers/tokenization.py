"""ALBERT's tokenizer: SentencePiece for the English models, WordPiece for the Chinese ones.

`FullTokenizer(vocab_file=None, do_lower_case=True, spm_model_file=None)` mirrors the
original class:

* with `spm_model_file` (English, `30k-clean.model`): `tokenize` runs SentencePiece plus the
  digit-comma rule (`encode_pieces`). Like the original, `tokenize` does *not* normalise the
  text: callers run `preprocess_text(text, lower=do_lower_case)` first. `encode(text)` does
  both steps plus the id lookup, which is what the original's GLUE/SQuAD/RACE code does.
* without it (Chinese, `vocab_chinese.txt`): BERT's basic tokenizer + greedy WordPiece
  (see `albert_nb.tokenizers.wordpiece`).

Special ids are looked up by token, never assumed: a SentencePiece model trained with the
original recipe has `<pad>` 0, `<unk>` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4, while
BERT-Chinese vocabularies have `[PAD]` 0, `[UNK]` 100, `[CLS]` 101, `[SEP]` 102, `[MASK]` 103.

`FullTokenizer.from_directory(d)` finds the tokenizer file next to `albert_config.json`
the way Google's tarballs lay them out (`30k-clean.model`, or `vocab_chinese.txt`).
"""
from __future__ import annotations

import glob
import os
import unicodedata

import sentencepiece as spm

from albert_nb.errors import InputError
from albert_nb.tokenizers import wordpiece

SPIECE_UNDERLINE = "\u2581"  # "▁": SentencePiece's word-start marker

# Punctuation that may sit inside an English piece without making it a word start (whole-word
# masking), exactly the set the original's rule works with under Python 3: ASCII punctuation
# *without* the apostrophe (its string literal has \" where \' was meant), so a piece holding
# "'" ("'s", "n't", "a'b") starts a word of its own. The original also adds "€" and "£", as
# UTF-8 bytes, which never equal a str piece, so they count as foreign characters here too.
_SP_WORD_PUNCT = frozenset('!"#$%&()*+,-./:;?@[\\]^_`{|}~')
_ENGLISH_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")


def preprocess_text(inputs: str, remove_space: bool = True, lower: bool = False) -> str:
    """Normalise text before SentencePiece, as the original does.

    Collapse whitespace runs to one space (and strip), NFKD-normalise and drop combining
    marks (so "café" -> "cafe", full-width "１２" -> "12"), optionally lower-case.
    No quote normalisation (HuggingFace's AlbertTokenizer also maps `` and '' to ").
    """
    if isinstance(inputs, bytes):
        inputs = inputs.decode("utf-8")
    outputs = " ".join(inputs.strip().split()) if remove_space else inputs
    outputs = unicodedata.normalize("NFKD", outputs)
    outputs = "".join(c for c in outputs if not unicodedata.combining(c))
    if lower:
        outputs = outputs.lower()
    return outputs


def encode_pieces(sp_model, text: str, sample: bool = False,
                  strip_added_underline: bool = True) -> list[str]:
    """SentencePiece pieces with the digit-comma rule.

    SentencePiece may learn pieces such as "▁9," or "000," (a number glued to the comma of
    "9,000,000"). The rule re-encodes such a piece without its comma and emits "," as its
    own piece, so number pieces stay comparable. Re-encoding "000" alone makes SentencePiece
    add its dummy "▁" prefix; when the original piece had no "▁" (it continued a word) that
    prefix is removed again. The original meant to do this too, but compares str with bytes
    under Python 3, so its version keeps the spurious "▁" (a fake word boundary);
    `strip_added_underline=False` reproduces that behaviour for comparison.
    """
    if sample:
        pieces = sp_model.SampleEncodeAsPieces(text, 64, 0.1)
    else:
        pieces = sp_model.EncodeAsPieces(text)
    out: list[str] = []
    for piece in pieces:
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            sub = sp_model.EncodeAsPieces(piece[:-1].replace(SPIECE_UNDERLINE, ""))
            if (strip_added_underline and piece[0] != SPIECE_UNDERLINE and sub
                    and sub[0][0] == SPIECE_UNDERLINE):
                if len(sub[0]) == 1:
                    sub = sub[1:]
                else:
                    sub[0] = sub[0][1:]
            out.extend(sub)
            out.append(piece[-1])
        else:
            out.append(piece)
    return out


def is_start_piece_sp(piece: str) -> bool:
    """Does this SentencePiece piece start a word (for whole-word masking)?

    Yes if it begins with "▁" or "<", is a single punctuation mark, or contains any character
    other than a-z / punctuation (digits, non-Latin scripts: such pieces are treated as whole
    words of their own). Otherwise it continues the previous word.
    """
    if piece.startswith(SPIECE_UNDERLINE) or piece.startswith("<") or piece in _SP_WORD_PUNCT:
        return True
    return not all(c.lower() in _ENGLISH_LETTERS or c in _SP_WORD_PUNCT for c in piece)


def is_start_piece_wordpiece(piece: str) -> bool:
    return not piece.startswith(wordpiece.CONTINUATION_PREFIX)


def _load_sp_model(path: str):
    if not os.path.isfile(path):
        raise InputError(f"SentencePiece model not found: {path!r} (expected e.g. 30k-clean.model)")
    with open(path, "rb") as handle:
        proto = handle.read()
    model = spm.SentencePieceProcessor()
    try:
        model.LoadFromSerializedProto(proto)
    except Exception:  # sentencepiece raises a bare RuntimeError/OSError on a bad proto
        raise InputError(f"{path!r} is not a SentencePiece model file "
                         "(expected a *.model protobuf such as 30k-clean.model)") from None
    if model.GetPieceSize() == 0:
        raise InputError(f"SentencePiece model {path!r} has no pieces")
    return model


class FullTokenizer:
    """Text -> pieces -> ids for ALBERT (SentencePiece or WordPiece)."""

    def __init__(self, vocab_file=None, do_lower_case: bool = True, spm_model_file=None):
        self.do_lower_case = bool(do_lower_case)
        self.sp_model = None
        self.spm_model_file = os.fspath(spm_model_file) if spm_model_file else None
        self.vocab_file = os.fspath(vocab_file) if vocab_file else None
        if self.spm_model_file:
            self.sp_model = _load_sp_model(self.spm_model_file)
            self.vocab = {self.sp_model.IdToPiece(i): i for i in range(self.sp_model.GetPieceSize())}
            self._names = {"pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]",
                           "mask": "[MASK]"}
        elif self.vocab_file:
            self.vocab = dict(wordpiece.load_vocab(self.vocab_file))
            if wordpiece.UNK_TOKEN not in self.vocab:
                raise InputError(f"vocab file {self.vocab_file!r} has no {wordpiece.UNK_TOKEN} "
                                 "token; expected a BERT/ALBERT WordPiece vocab")
            self.basic_tokenizer = wordpiece.BasicTokenizer(do_lower_case=self.do_lower_case)
            self.wordpiece_tokenizer = wordpiece.WordpieceTokenizer(self.vocab)
            self._names = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]",
                           "mask": "[MASK]"}
        else:
            raise InputError("FullTokenizer needs spm_model_file (SentencePiece *.model) "
                             "or vocab_file (WordPiece vocab.txt); got neither")
        self.inv_vocab = {i: t for t, i in self.vocab.items()}
        source = self.spm_model_file or self.vocab_file
        for role in ("unk", "cls", "sep", "mask"):
            if self._names[role] not in self.vocab:
                raise InputError(f"tokenizer file {source!r} lacks the special token "
                                 f"{self._names[role]!r} ({role}); expected ALBERT's special tokens")

    # -- construction from a model directory ------------------------------------------
    @classmethod
    def from_directory(cls, directory, do_lower_case: bool = True) -> "FullTokenizer":
        """The tokenizer stored next to `albert_config.json` (see `tokenizer_files`)."""
        files = tokenizer_files(directory)
        return cls(vocab_file=files["vocab_file"], do_lower_case=do_lower_case,
                   spm_model_file=files["spm_model_file"])

    # -- the original's API ----------------------------------------------------------
    @property
    def is_sentencepiece(self) -> bool:
        return self.sp_model is not None

    def tokenize(self, text: str) -> list[str]:
        """Pieces of `text`. SentencePiece path: no normalisation here (see `preprocess`)."""
        if self.sp_model is not None:
            return encode_pieces(self.sp_model, text)
        pieces = []
        for word in self.basic_tokenizer.tokenize(text):
            pieces.extend(self.wordpiece_tokenizer.tokenize_word(word))
        return pieces

    def convert_tokens_to_ids(self, tokens) -> list[int]:
        if self.sp_model is not None:
            return [self.sp_model.PieceToId(t) for t in tokens]  # unknown -> <unk>
        unk = self.unk_id
        return [self.vocab.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        try:
            return [self.inv_vocab[int(i)] for i in ids]
        except KeyError as err:
            raise InputError(f"token id {err.args[0]} is outside the vocabulary "
                             f"(size {self.vocab_size})") from None

    # -- conveniences ------------------------------------------------------------------
    def preprocess(self, text: str) -> str:
        """What the original's callers do before `tokenize` (SentencePiece only)."""
        if self.sp_model is not None:
            return preprocess_text(text, lower=self.do_lower_case)
        return text.strip()

    def encode(self, text: str) -> list[int]:
        """preprocess + tokenize + ids, the way the original's data processors do it."""
        return self.convert_tokens_to_ids(self.tokenize(self.preprocess(text)))

    def is_start_piece(self, piece: str) -> bool:
        """Word-start test used by whole-word masking (depends on the tokenizer kind)."""
        if self.sp_model is not None:
            return is_start_piece_sp(piece)
        return is_start_piece_wordpiece(piece)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        # A WordPiece vocab without [PAD] still pads with 0, like the original's writers.
        return self.vocab.get(self._names["pad"], 0)

    def special_id(self, name: str) -> int:
        """Id of a special token by role: "unk", "cls", "sep" or "mask"."""
        return self.vocab[self._names[name]]

    unk_id = property(lambda self: self.special_id("unk"))
    cls_id = property(lambda self: self.special_id("cls"))
    sep_id = property(lambda self: self.special_id("sep"))
    mask_id = property(lambda self: self.special_id("mask"))

    @property
    def special_tokens(self) -> dict:
        return dict(self._names)

    def __repr__(self) -> str:
        kind = "SentencePiece" if self.sp_model is not None else "WordPiece"
        return (f"FullTokenizer({kind}, vocab_size={self.vocab_size}, "
                f"do_lower_case={self.do_lower_case}, file={self.spm_model_file or self.vocab_file!r})")


SPM_NAMES = ("30k-clean.model",)
VOCAB_NAMES = ("vocab_chinese.txt", "vocab.txt")
CHINESE_VOCAB_NAME = "vocab_chinese.txt"
# Google's albert_*_zh configs use BERT-Chinese's WordPiece vocabulary, 21128 entries.
CHINESE_VOCAB_SIZE = 21128


def check_release_tokenizer(directory=None, config=None, spm_model_file=None) -> None:
    """Refuse a Chinese release (WordPiece `vocab_chinese.txt`) paired with a SentencePiece model.

    The trap (the original's issue #58): Google's `albert_*_zh` tarballs hold no `*.model`,
    and an English `30k-clean.model` passed by habit tokenises Chinese into pieces whose ids
    mean other characters in the Chinese embedding table: no error, just a model that
    learns nothing. A release is Chinese when its folder holds `vocab_chinese.txt` or its
    config has BERT-Chinese's vocab_size (21128).
    """
    if not spm_model_file:
        return
    vocab = os.path.join(os.fspath(directory), CHINESE_VOCAB_NAME) if directory else None
    if vocab and os.path.isfile(vocab):
        why, hint = f"{os.fspath(directory)!r} is a Chinese release (it holds {CHINESE_VOCAB_NAME})", vocab
    elif config is not None and int(config.vocab_size) == CHINESE_VOCAB_SIZE:
        why = (f"the model config has vocab_size={CHINESE_VOCAB_SIZE}, Google's Chinese WordPiece "
               "vocabulary")
        hint = f"<release>/{CHINESE_VOCAB_NAME}"
    else:
        return
    raise InputError(f"--spm_model_file={os.fspath(spm_model_file)!r} is a SentencePiece model, but "
                     f"{why}; Chinese ALBERT uses BERT WordPiece: drop --spm_model_file and pass "
                     f"--vocab_file={hint}")


def release_tokenizer(directory, vocab_file=None, spm_model_file=None, do_lower_case: bool = True,
                      config=None) -> FullTokenizer:
    """The tokenizer of a model directory: the files given (as the CLIs' --vocab_file /
    --spm_model_file), else the one found next to `albert_config.json`; a SentencePiece model
    given for a Chinese release is refused (`check_release_tokenizer`)."""
    check_release_tokenizer(directory, config, spm_model_file)
    if spm_model_file or vocab_file:
        return FullTokenizer(vocab_file=vocab_file, do_lower_case=do_lower_case,
                             spm_model_file=spm_model_file)
    return FullTokenizer.from_directory(directory, do_lower_case=do_lower_case)


def tokenizer_files(directory) -> dict:
    """Locate the tokenizer file in a model directory.

    Preference: `30k-clean.model`, then a single other `*.model`, then `vocab_chinese.txt`,
    `vocab.txt`, then a single `*vocab*.txt`. Returns
    `{"spm_model_file": path or None, "vocab_file": path or None}` (exactly one is set).
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise InputError(f"model directory not found: {directory!r}")
    for name in SPM_NAMES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return {"spm_model_file": path, "vocab_file": None}
    models = sorted(glob.glob(os.path.join(directory, "*.model")))
    if len(models) > 1:
        raise InputError(f"{directory!r} holds several SentencePiece models {models}; "
                         "pass spm_model_file explicitly")
    if models:
        return {"spm_model_file": models[0], "vocab_file": None}
    for name in VOCAB_NAMES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return {"spm_model_file": None, "vocab_file": path}
    vocabs = sorted(glob.glob(os.path.join(directory, "*vocab*.txt")))
    if len(vocabs) == 1:
        return {"spm_model_file": None, "vocab_file": vocabs[0]}
    raise InputError(f"no tokenizer file in {directory!r}: expected 30k-clean.model (or one "
                     "*.model) for SentencePiece, or vocab_chinese.txt / vocab.txt for WordPiece")

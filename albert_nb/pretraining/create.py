"""Text -> pretraining TFRecords for ALBERT (masked LM with n-grams + sentence-order prediction).

`python -m albert_nb.create_pretraining_data` (same flags and defaults as the original) is a
thin flag layer over `run`.

Input: plain UTF-8 text, one sentence per line, a blank line between documents. Input and
output accept comma-separated lists (inputs also globs); instances go round-robin to outputs.
Each new input file also starts a new document.

Python API (notebooks): `run(input_files, output_files, tokenizer, **options) -> stats`.

Differences from the original, all deliberate:
* Reproducible: every random choice comes from one `random.Random(random_seed)`, so the same
  seed gives byte-identical files (the original samples n-gram lengths from numpy's global RNG).
* Bounded memory: the original keeps `dupe_factor` copies of every instance in RAM and
  shuffles them at the end (its issue #204). Here the tokenised corpus is kept once (4 bytes
  a token) and instances are produced one pass at a time: each pass's instances (every
  document once, a fresh draw of pair cuts and masks) are shuffled among themselves and
  streamed to disk before the next pass starts. Peak memory is thus about corpus + one pass,
  independent of `dupe_factor`. The file reads as `dupe_factor` shuffled epochs, so a
  document never appears twice within one pass.
* `vocab_file` is only required when there is no `spm_model_file`.
* A progress bar; bad input raises InputError (missing files, bad UTF-8 with line and byte
  offset, empty corpus, too small `max_seq_length`).
"""
from __future__ import annotations

import contextlib
import os
import random
import re
import time
from array import array

from albert_nb.errors import InputError, warn
from albert_nb.faults import fault_point
from albert_nb.io_utils import atomic_path
from albert_nb.pretraining.records import (expand_input_files, instance_to_features,
                                        serialize_features)
from albert_nb.pretraining.instances import InstanceOptions, create_instances_from_document
from albert_nb.pretraining.wwm import sentence_ids, start_table

# TensorFlow and tqdm are imported where records are written and progress shown (deliberately
# lazy): create_pretraining_data checks its flags and inputs before TensorFlow loads.

def _progress(iterable=None, total=None, desc="", enabled=True, unit="it"):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled, unit=unit, leave=False)


INPUT_FILE_MODES = ("r", "rb")
# Lines are read at most this many bytes at a time: a corpus that is one 50 MB line must not be
# held (and tokenised) whole. A longer line is split at a space (or a UTF-8 character boundary).
READ_LIMIT = 1 << 20
# A sentence this many times longer than an instance is a runaway line (no line breaks), not
# prose: it is cut while reading so no step works on it whole.
LONG_SENTENCE_FACTOR = 8
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cut_point(raw: bytes) -> int:
    """Where to split an over-long piece: after its last space, else at a character boundary."""
    space = raw.rfind(b" ")
    if space > 0:
        return space + 1
    cut = len(raw)
    while cut > 0 and 0x80 <= raw[cut - 1] < 0xC0:   # back over continuation bytes
        cut -= 1
    if cut > 0 and raw[cut - 1] >= 0xC0:               # and a lead byte whose tail is cut off
        cut -= 1
    return cut or len(raw)   # no boundary at all: not UTF-8, and decoding will say where


def _iter_lines(path: str, input_file_mode: str = "r", limit: int | None = None):
    """(line_number, text, is_continuation) of a UTF-8 file, streamed in pieces of at most
    `limit` bytes (READ_LIMIT).

    `input_file_mode` is the original's: "r" reads text, so bad UTF-8 is an error (here an
    InputError with line and byte offset); "rb" reads bytes and decodes them the way the
    original's `convert_to_unicode` does, dropping bytes that are not UTF-8.
    """
    limit = limit or READ_LIMIT
    errors = "ignore" if input_file_mode == "rb" else "strict"
    offset = 0
    number = 1
    carry = b""
    continuation = False
    with open(path, "rb") as handle:
        while True:
            raw = carry + handle.readline(max(1, limit - len(carry)))
            carry = b""
            if not raw:
                return
            complete = raw.endswith(b"\n")
            if not complete and len(raw) >= limit:
                cut = _cut_point(raw)
                raw, carry = raw[:cut], raw[cut:]
            try:
                text = raw.decode("utf-8", errors)
            except UnicodeDecodeError as err:
                raise InputError(f"input_file {path!r} is not valid UTF-8: line {number}, "
                                 f"byte offset {offset + err.start} (byte "
                                 f"{raw[err.start:err.start + 1]!r})") from None
            offset += len(raw)
            yield number, text, continuation
            continuation = not complete
            if complete:
                number += 1


def _split_ids(ids: list, starts: bytes, size: int):
    """A sentence longer than `size` tokens as consecutive sentences of at most `size`."""
    for begin in range(0, len(ids), size):
        yield array("i", ids[begin:begin + size]), starts[begin:begin + size]


def read_documents(input_files, tokenizer, *, segmenter=None, show_progress: bool = False,
                   input_file_mode: str = "r", max_sentence_tokens: int | None = None):
    """Tokenise input files into documents: lists of `(ids array('i'), starts bytes)`.

    `segmenter` (WordPiece only): a callable text -> list of words (e.g. jieba.lcut) for
    Chinese whole-word masking; every piece after a word's first counts as a continuation.
    Without one, each CJK character is its own word (the basic tokenizer isolates them).

    `max_sentence_tokens` (what `run` passes: max_seq_length - 3): a sentence longer than
    LONG_SENTENCE_FACTOR times this (a runaway line, not prose) is cut into consecutive
    sentences of this many tokens, with one warning; no instance holds more than a window of
    it. Ordinary long sentences are kept whole and trimmed per instance as in the original. NUL and other control characters are counted and reported in
    one warning: they are not text, and the tokenizer drops them or reads them as <unk>.
    """
    if input_file_mode not in INPUT_FILE_MODES:
        raise InputError(f"--input_file_mode={input_file_mode!r}; expected 'r' or 'rb'")
    if segmenter is not None and tokenizer.is_sentencepiece:
        raise InputError("--word_segmenter needs a WordPiece --vocab_file tokenizer (SentencePiece "
                         "pieces already mark word starts with '\u2581')")
    files = expand_input_files(input_files)
    table = start_table(tokenizer)
    documents: list[list] = []
    bar = _progress(total=sum(os.path.getsize(f) for f in files), desc="reading",
                    enabled=show_progress, unit="B")
    cut, controls = None, None   # (file, line, tokens) of the first long sentence / control char
    control_count = 0
    for path in files:
        documents.append([])  # every file starts a new document
        for number, line, continued in _iter_lines(path, input_file_mode):
            bar.update(len(line.encode("utf-8")))
            found = len(_CONTROL.findall(line))
            if found:
                control_count += found
                controls = controls or (path, number)
            text = tokenizer.preprocess(line)
            if not text:
                if not continued:
                    documents.append([])
                continue
            ids, starts = sentence_ids(tokenizer, text, segmenter, table)
            if not ids:
                continue
            if max_sentence_tokens and len(ids) > LONG_SENTENCE_FACTOR * max_sentence_tokens:
                cut = cut or (path, number, len(ids))
                documents[-1].extend(_split_ids(ids, starts, max_sentence_tokens))
            else:
                documents[-1].append((array("i", ids), starts))
    bar.close()
    if cut:
        warn(f"input_file {cut[0]!r} line {cut[1]}: a sentence of {cut[2]} tokens (and any other "
             f"longer than {LONG_SENTENCE_FACTOR * max_sentence_tokens}) was cut into sentences of "
             f"{max_sentence_tokens} tokens (max_seq_length - 3); expected one sentence per line")
    if controls:
        warn(f"input_file {controls[0]!r}: {control_count} NUL/control character(s), the first "
             f"on line {controls[1]}; they are not text (the tokenizer drops them or reads <unk>)")
    documents = [d for d in documents if d]
    if not documents:
        raise InputError(f"input_file {','.join(files)!r} holds no text: expected one sentence "
                         "per line with blank lines between documents")
    return documents


def check_paths(input_files, output_files) -> None:
    """Refuse an output named twice (round-robin would keep half its records) and an output
    that is also an input (it would overwrite the corpus it is made from); an output that cannot
    be written (a directory, or under a file) is refused before the corpus is read."""
    seen = {}
    for out in output_files:
        if os.path.isdir(out):
            raise InputError(f"--output_file {out!r} is a directory; expected a file path to write")
        parent = os.path.dirname(os.path.abspath(out))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise InputError(f"--output_file {out!r}: {parent!r} is a file, not a directory")
        real = os.path.realpath(out)
        if real in seen:
            raise InputError(f"--output_file names {out!r} twice (also as {seen[real]!r}); "
                             "expected distinct files")
        seen[real] = out
    for path in input_files:
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"--output_file {seen[real]!r} is also an --input_file; writing it "
                             "would overwrite the corpus (expected a new file)")


def validate_options(options: InstanceOptions, dupe_factor: int) -> None:
    if options.max_seq_length < 5:
        raise InputError(f"--max_seq_length={options.max_seq_length} is too small: "
                         "[CLS] A [SEP] B [SEP] needs at least 5")
    if options.max_predictions_per_seq < 1:
        raise InputError(f"--max_predictions_per_seq={options.max_predictions_per_seq}; expected >= 1")
    if not 0.0 <= options.masked_lm_prob <= 1.0:
        raise InputError(f"--masked_lm_prob={options.masked_lm_prob}; expected in [0, 1]")
    if not 0.0 <= options.short_seq_prob <= 1.0:
        raise InputError(f"--short_seq_prob={options.short_seq_prob}; expected in [0, 1]")
    if options.ngram < 1:
        raise InputError(f"--ngram={options.ngram}; expected >= 1")
    if dupe_factor < 1:
        raise InputError(f"--dupe_factor={dupe_factor}; expected >= 1")


def iter_instances(documents, tokenizer, options: InstanceOptions, rng: random.Random):
    """One pass over the documents: yields TrainingInstance objects in document order."""
    for index in range(len(documents)):
        yield from create_instances_from_document(
            documents, index, rng, options, cls_id=tokenizer.cls_id, sep_id=tokenizer.sep_id,
            mask_id=tokenizer.mask_id, vocab_size=tokenizer.vocab_size)


def run(input_files, output_files, tokenizer, *, random_seed: int = 12345, dupe_factor: int = 40,
        show_progress: bool = True, segmenter=None, documents=None, input_file_mode: str = "r",
        **option_kwargs) -> dict:
    """Create pretraining TFRecords; returns statistics.

    `option_kwargs`: the InstanceOptions fields (max_seq_length, short_seq_prob, masked_lm_prob,
    max_predictions_per_seq, ngram, favor_shorter_ngram, do_whole_word_mask, do_permutation,
    random_next_sentence, drop_single_sentence_chunks). `documents` may be given pre-tokenised (then input_files is unused).
    """
    import tensorflow as tf

    unknown = set(option_kwargs) - {f.name for f in InstanceOptions.__dataclass_fields__.values()}
    if unknown:
        raise InputError(f"unknown create_pretraining_data options: {sorted(unknown)}")
    options = InstanceOptions(**option_kwargs)
    validate_options(options, dupe_factor)
    if isinstance(output_files, (str, os.PathLike)):
        output_files = [p for p in os.fspath(output_files).split(",") if p.strip()]
    if not output_files:
        raise InputError("--output_file is empty; expected one or more comma-separated paths")
    output_files = [os.fspath(p).strip() for p in output_files]
    started = time.time()
    if documents is None:
        check_paths(expand_input_files(input_files), output_files)
        documents = read_documents(input_files, tokenizer, segmenter=segmenter,
                                   show_progress=show_progress, input_file_mode=input_file_mode,
                                   max_sentence_tokens=options.max_seq_length - 3)
    else:
        check_paths([], output_files)
    rng = random.Random(random_seed)
    documents = list(documents)
    rng.shuffle(documents)
    max_predictions = options.max_predictions_per_seq * (2 if options.do_permutation else 1)
    stats = {"num_documents": len(documents),
             "num_sentences": sum(len(d) for d in documents),
             "num_tokens": sum(len(s[0]) for d in documents for s in d),
             "num_instances": 0, "num_sop_label_1": 0, "num_masked": 0,
             "max_seq_length": options.max_seq_length,
             "max_predictions_per_seq": max_predictions, "output_files": list(output_files)}
    bar = _progress(total=dupe_factor * len(documents), desc="instances",
                    enabled=show_progress, unit="doc")
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(tf.io.TFRecordWriter(stack.enter_context(atomic_path(p))))
                   for p in output_files]
        for _ in range(dupe_factor):
            serialized = []
            for index in range(len(documents)):
                for inst in create_instances_from_document(
                        documents, index, rng, options, cls_id=tokenizer.cls_id,
                        sep_id=tokenizer.sep_id, mask_id=tokenizer.mask_id,
                        vocab_size=tokenizer.vocab_size):
                    features = instance_to_features(inst, options.max_seq_length, max_predictions)
                    serialized.append(serialize_features(features))
                    stats["num_sop_label_1"] += int(inst.is_random_next)
                    stats["num_masked"] += len(inst.masked_lm_positions)
                bar.update(1)
            rng.shuffle(serialized)  # shuffle within the pass (bounded memory, see docstring)
            for record in serialized:
                writers[stats["num_instances"] % len(writers)].write(record)
                stats["num_instances"] += 1
            del serialized
            fault_point("create_pretraining_data.pass")          # temp files half written
        fault_point("create_pretraining_data.before_publish")    # complete, not yet renamed
    bar.close()
    stats["seconds"] = time.time() - started
    return stats


def format_instance(features: dict, tokenizer, max_tokens: int | None = None) -> str:
    """Readable view of one decoded example: tokens with masked positions as [MASK->label]."""
    ids = [int(i) for i, m in zip(features["input_ids"], features["input_mask"]) if m]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    labels = {int(p): int(l) for p, l, w in zip(features["masked_lm_positions"],
                                                features["masked_lm_ids"],
                                                features["masked_lm_weights"]) if w > 0}
    shown = []
    for pos, token in enumerate(tokens):
        if pos in labels:
            shown.append(f"[{token}->{tokenizer.inv_vocab[labels[pos]]}]")
        else:
            shown.append(token)
    if max_tokens is not None:
        shown = shown[:max_tokens]
    label = int(features["next_sentence_labels"][0])
    return f"SOP label {label} ({'swapped/random' if label else 'in order'}): " + " ".join(shown)

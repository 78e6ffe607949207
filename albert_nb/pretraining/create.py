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
import time
from array import array

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_path
from albert_nb.pretraining.records import (expand_input_files, instance_to_features,
                                        serialize_features)
from albert_nb.pretraining.instances import InstanceOptions, create_instances_from_document

def _progress(iterable=None, total=None, desc="", enabled=True, unit="it"):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled, unit=unit, leave=False)


def _start_table(tokenizer) -> bytes:
    """Word-start flag for every vocab id, computed once (1 = starts a word)."""
    return bytes(1 if tokenizer.is_start_piece(tokenizer.inv_vocab[i]) else 0
                 for i in range(tokenizer.vocab_size))


INPUT_FILE_MODES = ("r", "rb")


def _iter_lines(path: str, input_file_mode: str = "r"):
    """(line_number, text) of a UTF-8 file, streamed.

    `input_file_mode` is the original's: "r" reads text, so bad UTF-8 is an error (here an
    InputError with line and byte offset); "rb" reads bytes and decodes them the way the
    original's `convert_to_unicode` does, dropping bytes that are not UTF-8.
    """
    offset = 0
    errors = "ignore" if input_file_mode == "rb" else "strict"
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8", errors)
            except UnicodeDecodeError as err:
                raise InputError(f"input_file {path!r} is not valid UTF-8: line {number}, "
                                 f"byte offset {offset + err.start} (byte "
                                 f"{raw[err.start:err.start + 1]!r})") from None
            offset += len(raw)
            yield number, text


def read_documents(input_files, tokenizer, *, segmenter=None, show_progress: bool = False,
                   input_file_mode: str = "r"):
    """Tokenise input files into documents: lists of `(ids array('i'), starts bytes)`.

    `segmenter` (WordPiece only): a callable text -> list of words (e.g. jieba.lcut) for
    Chinese whole-word masking; every piece after a word's first counts as a continuation.
    Without one, each CJK character is its own word (the basic tokenizer isolates them).
    """
    if input_file_mode not in INPUT_FILE_MODES:
        raise InputError(f"--input_file_mode={input_file_mode!r}; expected 'r' or 'rb'")
    if segmenter is not None and tokenizer.is_sentencepiece:
        raise InputError("segmenter is only supported with a WordPiece vocab_file tokenizer")
    files = expand_input_files(input_files)
    table = _start_table(tokenizer)
    documents: list[list] = []
    bar = _progress(total=sum(os.path.getsize(f) for f in files), desc="reading",
                    enabled=show_progress, unit="B")
    for path in files:
        documents.append([])  # every file starts a new document
        for _, line in _iter_lines(path, input_file_mode):
            bar.update(len(line.encode("utf-8")))
            text = tokenizer.preprocess(line)
            if not text:
                documents.append([])
                continue
            if segmenter is None:
                ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))
                starts = bytes(table[i] for i in ids)
            else:
                ids, flags = [], []
                for word in segmenter(text):
                    word_ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
                    ids.extend(word_ids)
                    flags.extend([1] + [0] * (len(word_ids) - 1))
                starts = bytes(flags)
            if ids:
                documents[-1].append((array("i", ids), starts))
    bar.close()
    documents = [d for d in documents if d]
    if not documents:
        raise InputError(f"input_file {','.join(files)!r} holds no text: expected one sentence "
                         "per line with blank lines between documents")
    return documents


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
    started = time.time()
    if documents is None:
        documents = read_documents(input_files, tokenizer, segmenter=segmenter,
                                   show_progress=show_progress, input_file_mode=input_file_mode)
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

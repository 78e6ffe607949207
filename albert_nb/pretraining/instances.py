"""From tokenised documents to SOP training instances (the core of create_pretraining_data).

A document is a list of sentences; a sentence is a pair `(ids, starts)`: token ids
(`array('i')`, 4 bytes a token, so the whole corpus stays small in RAM) and word-start flags
(`bytes`, 1 = the piece starts a word; used by whole-word masking).

`create_instances_from_document` cuts one document into `[CLS] A [SEP] B [SEP]` sequences:

* target length = max_seq_length - 3, or with prob `short_seq_prob` a random length in
  [2, max_seq_length - 3] (so the model also sees short inputs, as at fine-tuning time);
* sentences are accumulated until the target is reached; A = the first k of them (k random),
  B = the rest;
* Sentence-Order Prediction: with prob 0.5 A and B are swapped, label 1; else in order,
  label 0. With `random_next_sentence` (BERT's NSP) B comes from a random other document
  instead, label 1.
* When the chunk holds a single sentence there is nothing to split, so B comes from a
  random document (label 1) even in SOP mode -- the original's behaviour (its issue #234).
  With `drop_single_sentence_chunks` (ours, default off) such a chunk makes no instance
  instead: every SOP label 1 is then a true swap and the labels are balanced, which is what
  a small demo run or a swapped-pair evaluation set needs.
* Over-long pairs are trimmed one token at a time from the longer side, front or back at
  random.
"""
from __future__ import annotations

import dataclasses
import random

from albert_nb.pretraining.masking import create_masked_lm_predictions


@dataclasses.dataclass
class TrainingInstance:
    input_ids: list            # [CLS] A [SEP] B [SEP] after masking, unpadded
    segment_ids: list          # 0 for [CLS] A [SEP], 1 for B [SEP]
    token_boundary: list       # word-start flags (1 for specials)
    masked_lm_positions: list
    masked_lm_ids: list        # labels: the original ids
    is_random_next: bool       # SOP label 1 (swapped) / NSP label 1 (random B)


@dataclasses.dataclass(frozen=True)
class InstanceOptions:
    max_seq_length: int = 512
    short_seq_prob: float = 0.1
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    ngram: int = 3
    favor_shorter_ngram: bool = True
    do_whole_word_mask: bool = True
    do_permutation: bool = False
    random_next_sentence: bool = False
    drop_single_sentence_chunks: bool = False   # ours: see the module docstring


def truncate_seq_pair(a_ids, a_starts, b_ids, b_starts, max_num_tokens: int,
                      rng: random.Random) -> None:
    """Trim the longer segment (front or back, 50/50) until the pair fits. In place.

    The same random choices as trimming one token at a time, but the trim is tracked as index
    bounds and applied once: deleting from the front of a list one token at a time is
    quadratic, which made a corpus of one very long line take hours.
    """
    a_begin, a_end, b_begin, b_end = 0, len(a_ids), 0, len(b_ids)
    while (a_end - a_begin) + (b_end - b_begin) > max_num_tokens:
        if a_end - a_begin > b_end - b_begin:
            front = rng.random() < 0.5
            a_begin, a_end = (a_begin + 1, a_end) if front else (a_begin, a_end - 1)
        else:
            front = rng.random() < 0.5
            b_begin, b_end = (b_begin + 1, b_end) if front else (b_begin, b_end - 1)
    for values, begin, end in ((a_ids, a_begin, a_end), (a_starts, a_begin, a_end),
                               (b_ids, b_begin, b_end), (b_starts, b_begin, b_end)):
        del values[end:]
        del values[:begin]


def _concat(sentences):
    ids, starts = [], []
    for s_ids, s_starts in sentences:
        ids.extend(s_ids)
        starts.extend(s_starts)
    return ids, starts


def create_instances_from_document(all_documents, document_index: int, rng: random.Random,
                                   options: InstanceOptions, *, cls_id: int, sep_id: int,
                                   mask_id: int, vocab_size: int) -> list[TrainingInstance]:
    document = all_documents[document_index]
    max_num_tokens = options.max_seq_length - 3
    target_length = max_num_tokens
    if rng.random() < options.short_seq_prob:
        target_length = rng.randint(2, max_num_tokens)

    instances = []
    chunk: list = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i][0])
        if i == len(document) - 1 or chunk_length >= target_length:
            if len(chunk) == 1 and options.drop_single_sentence_chunks:
                chunk, chunk_length, i = [], 0, i + 1
                continue
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            a_ids, a_starts = _concat(chunk[:a_end])
            is_random_next = False
            if len(chunk) == 1 or (options.random_next_sentence and rng.random() < 0.5):
                is_random_next = True
                b_ids, b_starts = _random_segment(all_documents, document_index,
                                                  target_length - len(a_ids), rng)
                i -= len(chunk) - a_end  # give the unused sentences back
            elif not options.random_next_sentence and rng.random() < 0.5:
                is_random_next = True  # SOP negative: same two segments, swapped
                b_ids, b_starts = _concat(chunk[a_end:])
                a_ids, a_starts, b_ids, b_starts = b_ids, b_starts, a_ids, a_starts
            else:
                b_ids, b_starts = _concat(chunk[a_end:])
            truncate_seq_pair(a_ids, a_starts, b_ids, b_starts, max_num_tokens, rng)
            instances.append(_make_instance(a_ids, a_starts, b_ids, b_starts, is_random_next,
                                            rng, options, cls_id, sep_id, mask_id, vocab_size))
            chunk = []
            chunk_length = 0
        i += 1
    return instances


def _random_segment(all_documents, document_index, target_b_length, rng):
    """Sentences from a random other document (10 tries to avoid our own), from a random start."""
    for _ in range(10):
        random_index = rng.randint(0, len(all_documents) - 1)
        if random_index != document_index:
            break
    random_document = all_documents[random_index]
    start = rng.randint(0, len(random_document) - 1)
    ids, starts = [], []
    for s_ids, s_starts in random_document[start:]:
        ids.extend(s_ids)
        starts.extend(s_starts)
        if len(ids) >= target_b_length:
            break
    return ids, starts


def _make_instance(a_ids, a_starts, b_ids, b_starts, is_random_next, rng, options,
                   cls_id, sep_id, mask_id, vocab_size) -> TrainingInstance:
    ids = [cls_id] + a_ids + [sep_id] + b_ids + [sep_id]
    starts = [1] + a_starts + [1] + b_starts + [1]
    special = [True] + [False] * len(a_ids) + [True] + [False] * len(b_ids) + [True]
    segment_ids = [0] * (len(a_ids) + 2) + [1] * (len(b_ids) + 1)
    masked = create_masked_lm_predictions(
        ids, special, starts, rng, vocab_size=vocab_size, mask_id=mask_id,
        masked_lm_prob=options.masked_lm_prob,
        max_predictions_per_seq=options.max_predictions_per_seq, ngram=options.ngram,
        favor_shorter_ngram=options.favor_shorter_ngram,
        do_whole_word_mask=options.do_whole_word_mask, do_permutation=options.do_permutation)
    return TrainingInstance(input_ids=masked.input_ids, segment_ids=segment_ids,
                            token_boundary=masked.token_boundary,
                            masked_lm_positions=masked.masked_lm_positions,
                            masked_lm_ids=masked.masked_lm_ids, is_random_next=is_random_next)

"""ALBERT's masked-LM target selection: whole-word n-gram masking with 80/10/10 replacement.

Given one sequence `[CLS] A [SEP] B [SEP]` (as ids plus word-start flags):

1. Group tokens into *units*: with whole-word masking a unit is a word (a start piece plus
   its continuation pieces), otherwise a single token. [CLS]/[SEP] are never candidates.
2. Budget: `num_to_predict = min(max_predictions_per_seq, max(1, round(len * masked_lm_prob)))`.
3. Visit the units in a random order. At each start unit draw an n-gram length n in
   1..`ngram` with p(n) proportional to 1/n (6/11, 3/11, 2/11 for ngram=3), or to 1/(ngram+1-n)
   when `favor_shorter_ngram` is False, always over all of 1..`ngram` as the original does:
   near the end of the sequence the n-gram is simply cut at the last unit (so the last units
   start long n-grams less often than a renormalised draw would make them). Shrink n while the
   n-gram would exceed the budget; skip it if it still does or if it overlaps what is already
   chosen.
4. Each chosen *token* independently: 80% -> [MASK], 10% kept, 10% a uniformly random id
   from the whole vocabulary.
5. `do_permutation`: choose a second, disjoint set the same way and shuffle its tokens among
   themselves; those positions are predicted too (so up to 2x the budget).

`masked_lm_prob=0` masks nothing (no permutation either), as the original.

All randomness comes from the `random.Random` passed in: same seed, same masks. (The
original draws n from numpy's *global* RNG, which `random_seed` does not control.)
"""
from __future__ import annotations

import dataclasses
import random


def ngram_probabilities(max_ngram: int, favor_shorter_ngram: bool = True) -> list[float]:
    """p(n) for n = 1..max_ngram: proportional to 1/n, or reversed."""
    weights = [1.0 / n for n in range(1, max_ngram + 1)]
    if not favor_shorter_ngram:
        weights = weights[::-1]
    total = sum(weights)
    return [w / total for w in weights]


@dataclasses.dataclass
class MaskedSequence:
    input_ids: list            # ids after replacement (the model input)
    token_boundary: list       # 1 for [CLS]/[SEP] and word-start pieces
    masked_lm_positions: list  # sorted positions to predict
    masked_lm_ids: list        # original ids at those positions (the labels)


def word_units(is_special, is_start, do_whole_word_mask: bool) -> list[list[int]]:
    """Candidate units (lists of positions); specials excluded."""
    units: list[list[int]] = []
    after_special = True
    for i, (special, start) in enumerate(zip(is_special, is_start)):
        if special:
            after_special = True
            continue
        if do_whole_word_mask and not start and not after_special:
            units[-1].append(i)  # continuation piece joins the previous word
        else:
            # A continuation piece right after [CLS]/[SEP] (its word start was truncated
            # away) starts a unit of its own instead of gluing across the separator.
            units.append([i])
        after_special = False
    return units


def choose_ngrams(units, budget: int, covered: set, rng: random.Random, probs) -> list[list[int]]:
    """Disjoint n-grams of units (each a list of token positions), at most `budget` tokens
    in all (step 3 above). `covered` holds positions already taken and is updated."""
    order = list(range(len(units)))
    rng.shuffle(order)
    lengths = list(range(1, len(probs) + 1))
    chosen: list[list[int]] = []
    total = 0
    for start in order:
        if total >= budget:
            break
        n = rng.choices(lengths, weights=probs)[0]  # the slice below shrinks near the end
        positions = [p for unit in units[start:start + n] for p in unit]
        while n > 1 and total + len(positions) > budget:
            n -= 1
            positions = [p for unit in units[start:start + n] for p in unit]
        if total + len(positions) > budget:
            continue
        if any(p in covered for p in positions):
            continue
        covered.update(positions)
        chosen.append(positions)
        total += len(positions)
    return chosen


def create_masked_lm_predictions(input_ids, is_special, is_start, rng: random.Random, *,
                                 vocab_size: int, mask_id: int, masked_lm_prob: float = 0.15,
                                 max_predictions_per_seq: int = 20, ngram: int = 3,
                                 favor_shorter_ngram: bool = True, do_whole_word_mask: bool = True,
                                 do_permutation: bool = False) -> MaskedSequence:
    """Pick MLM targets for one sequence and corrupt the input (see module docstring)."""
    input_ids = list(input_ids)
    token_boundary = [1 if (s or b) else 0 for s, b in zip(is_special, is_start)]
    units = word_units(is_special, is_start, do_whole_word_mask)
    budget = min(max_predictions_per_seq, max(1, int(round(len(input_ids) * masked_lm_prob))))
    probs = ngram_probabilities(ngram, favor_shorter_ngram)
    if masked_lm_prob == 0:  # the original returns before any selection
        return MaskedSequence(input_ids=input_ids, token_boundary=token_boundary,
                              masked_lm_positions=[], masked_lm_ids=[])

    covered: set = set()
    output = list(input_ids)
    labels = {}
    for pos in [p for gram in choose_ngrams(units, budget, covered, rng, probs) for p in gram]:
        if rng.random() < 0.8:
            output[pos] = mask_id
        elif rng.random() < 0.5:
            pass  # keep the original token
        else:
            output[pos] = rng.randrange(vocab_size)
        labels[pos] = input_ids[pos]

    if do_permutation:
        selected = [p for gram in choose_ngrams(units, budget, covered, rng, probs) for p in gram]
        shuffled = list(selected)
        rng.shuffle(shuffled)
        for src, tgt in zip(selected, shuffled):
            output[src] = input_ids[tgt]
            labels[src] = input_ids[src]

    positions = sorted(labels)
    return MaskedSequence(input_ids=output, token_boundary=token_boundary,
                          masked_lm_positions=positions,
                          masked_lm_ids=[labels[p] for p in positions])


def ngram_length_counts(start_flags_per_sequence, rng: random.Random, *, ngram: int = 3,
                        masked_lm_prob: float = 0.15, max_predictions_per_seq: int = 20,
                        favor_shorter_ngram: bool = True) -> dict:
    """How many n-grams of each length (in words) the selection picks over real sequences.

    Each element of `start_flags_per_sequence` is a list of word-start flags (no specials).
    Used to check the 1/n law on real text, where words of several pieces and the budget
    interact.
    """
    probs = ngram_probabilities(ngram, favor_shorter_ngram)
    counts: dict = {}
    for starts in start_flags_per_sequence:
        units = word_units([False] * len(starts), starts, True)
        budget = min(max_predictions_per_seq, max(1, int(round(len(starts) * masked_lm_prob))))
        unit_of = {p: k for k, unit in enumerate(units) for p in unit}
        for gram in choose_ngrams(units, budget, set(), rng, probs):
            n = len({unit_of[p] for p in gram})
            counts[n] = counts.get(n, 0) + 1
    return counts

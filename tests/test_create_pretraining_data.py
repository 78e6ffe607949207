"""create_pretraining_data: record format, SOP pairs, n-gram masking, reproducibility, errors."""
import collections
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from albert_nb.pretraining import create as cpd
from albert_nb.pretraining import masking
from albert_nb.pretraining import records as pretraining_data
from albert_nb.tokenizers import vocab_training
from albert_nb.errors import InputError
from albert_nb.pretraining.instances import InstanceOptions, create_instances_from_document
from albert_nb.tokenizers.tokenization import FullTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_docs_corpus():
    """Real English documents from CPython's pydoc topics, in the original's input format."""
    import re

    from pydoc_data.topics import topics

    docs = []
    for name in sorted(topics)[:40]:
        text = " ".join(topics[name].split())
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
        docs.append("\n".join(sentences))
    return "\n\n".join(docs) + "\n"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cpd")
    corpus = directory / "corpus.txt"
    corpus.write_text(_python_docs_corpus(), encoding="utf-8")
    model = vocab_training.train_sentencepiece([corpus], directory / "30k-clean", vocab_size=1000)
    return directory, corpus, FullTokenizer(spm_model_file=model)


def test_record_format_exact(setup, tmp_path):
    _, corpus, tok = setup
    out = tmp_path / "a.tfrecord"
    stats = cpd.run(str(corpus), str(out), tok, max_seq_length=64, max_predictions_per_seq=10,
                    dupe_factor=1, show_progress=False)
    records = pretraining_data.read_examples(out)
    assert len(records) == stats["num_instances"] > 0
    expected = {"input_ids": (np.int64, 64), "input_mask": (np.int64, 64),
                "segment_ids": (np.int64, 64), "token_boundary": (np.int64, 64),
                "masked_lm_positions": (np.int64, 10), "masked_lm_ids": (np.int64, 10),
                "masked_lm_weights": (np.float32, 10), "next_sentence_labels": (np.int64, 1)}
    for rec in records:
        assert set(rec) == set(expected)
        for name, (dtype, length) in expected.items():
            assert rec[name].dtype == dtype and rec[name].shape == (length,), name
        n = int(rec["input_mask"].sum())
        assert rec["input_mask"][:n].all() and not rec["input_mask"][n:].any()
        ids = rec["input_ids"]
        assert ids[0] == tok.cls_id and ids[n - 1] == tok.sep_id and not ids[n:].any()
        m = int(rec["masked_lm_weights"].sum())
        positions = rec["masked_lm_positions"][:m]
        assert list(positions) == sorted(positions) and 0 < m <= 10
        assert not rec["masked_lm_positions"][m:].any()
    import tensorflow as tf

    raw = next(iter(tf.data.TFRecordDataset(str(out)))).numpy()
    single = pretraining_data.parse_example(raw, 64, 10, use_token_boundary=True)
    assert single["input_ids"].dtype == tf.int32 and single["token_boundary"].shape == (64,)
    assert (single["input_ids"].numpy() == records[0]["input_ids"]).all()
    batch = next(iter(pretraining_data.make_dataset(str(out), 64, 10, batch_size=4,
                                                    is_training=False)))
    assert batch["input_ids"].dtype.name == "int32" and batch["input_ids"].shape == (4, 64)
    assert batch["masked_lm_weights"].dtype.name == "float32"
    assert batch["next_sentence_labels"].shape == (4, 1) and "token_boundary" not in batch
    assert pretraining_data.infer_lengths(out) == (64, 10)


def test_permutation_doubles_prediction_slots(setup, tmp_path):
    _, corpus, tok = setup
    out = tmp_path / "p.tfrecord"
    cpd.run(str(corpus), str(out), tok, max_seq_length=64, max_predictions_per_seq=8,
            dupe_factor=1, do_permutation=True, show_progress=False)
    recs = pretraining_data.read_examples(out, limit=20)
    assert pretraining_data.infer_lengths(out) == (64, 16)
    assert max(int(r["masked_lm_weights"].sum()) for r in recs) > 8


def test_same_seed_byte_identical_and_round_robin(setup, tmp_path):
    _, corpus, tok = setup
    kw = dict(max_seq_length=48, max_predictions_per_seq=7, dupe_factor=2, show_progress=False)
    a, b, c = (tmp_path / n for n in ("a.tfrecord", "b.tfrecord", "c.tfrecord"))
    cpd.run(str(corpus), str(a), tok, random_seed=7, **kw)
    cpd.run(str(corpus), str(b), tok, random_seed=7, **kw)
    cpd.run(str(corpus), str(c), tok, random_seed=8, **kw)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    outs = [str(tmp_path / f"shard{i}.tfrecord") for i in range(3)]
    stats = cpd.run(str(corpus), ",".join(outs), tok, random_seed=7, **kw)
    counts = [len(pretraining_data.read_examples(p)) for p in outs]
    assert sum(counts) == stats["num_instances"] and max(counts) - min(counts) <= 1
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def _synthetic_documents(num_docs=30, sentences=8, length=6):
    """Doc d, sentence s, token t has id 1000*d + 10*s + t + 10: order is readable from ids."""
    from array import array

    docs = []
    for d in range(num_docs):
        doc = []
        for s in range(sentences):
            ids = [1000 * d + 10 * s + t + 10 for t in range(length)]
            doc.append((array("i", ids), bytes([1] * length)))
        docs.append(doc)
    return docs


def _unmask(inst):
    ids = list(inst.input_ids)
    for pos, label in zip(inst.masked_lm_positions, inst.masked_lm_ids):
        ids[pos] = label
    return ids


def test_sop_labels_and_swapped_halves():
    docs = _synthetic_documents(num_docs=80)
    rng = random.Random(3)
    options = InstanceOptions(max_seq_length=40, short_seq_prob=0.0, max_predictions_per_seq=5)
    kinds = collections.Counter()
    for index in range(len(docs)):
        for inst in create_instances_from_document(docs, index, rng, options, cls_id=1, sep_id=2,
                                                   mask_id=3, vocab_size=100000):
            ids = _unmask(inst)
            first_sep = ids.index(2)
            a, b = ids[1:first_sep], ids[first_sep + 1:-1]
            assert inst.segment_ids == [0] * (first_sep + 1) + [1] * (len(b) + 1)
            same_doc = {x // 1000 for x in a} == {x // 1000 for x in b}
            if not same_doc:
                assert inst.is_random_next
                kinds["random"] += 1
            elif inst.is_random_next:
                assert min(a) > max(b), "label 1: B's sentences come before A's in the document"
                kinds["swapped"] += 1
            else:
                assert max(a) < min(b), "label 0: A then B in document order"
                kinds["in_order"] += 1
    assert kinds["swapped"] > 20 and kinds["in_order"] > 20
    assert abs(kinds["swapped"] - kinds["in_order"]) < 0.4 * (kinds["swapped"] + kinds["in_order"])


def test_drop_single_sentence_chunks_leaves_only_true_swaps():
    """Default: one-sentence chunks borrow B from another document (label 1). Dropping them
    leaves in-order and swapped pairs of the same document only, about half each."""
    docs = _synthetic_documents(num_docs=80)
    for drop in (False, True):
        rng = random.Random(3)
        options = InstanceOptions(max_seq_length=40, short_seq_prob=0.3,
                                  drop_single_sentence_chunks=drop)
        kinds = collections.Counter()
        for index in range(len(docs)):
            for inst in create_instances_from_document(docs, index, rng, options, cls_id=1,
                                                       sep_id=2, mask_id=3, vocab_size=100000):
                ids = _unmask(inst)
                sep = ids.index(2)
                a, b = ids[1:sep], ids[sep + 1:-1]
                same_doc = {x // 1000 for x in a} == {x // 1000 for x in b}
                kinds["random" if not same_doc else "swapped" if inst.is_random_next
                      else "in_order"] += 1
        if drop:
            assert kinds["random"] == 0 and kinds["swapped"] > 20
            assert abs(kinds["swapped"] - kinds["in_order"]) < 0.3 * sum(kinds.values())
        else:
            assert kinds["random"] > 5


def test_random_next_sentence_uses_other_documents():
    docs = _synthetic_documents()
    rng = random.Random(5)
    options = InstanceOptions(max_seq_length=40, short_seq_prob=0.0, random_next_sentence=True)
    random_b = swapped = 0
    for index in range(len(docs)):
        for inst in create_instances_from_document(docs, index, rng, options, cls_id=1, sep_id=2,
                                                   mask_id=3, vocab_size=100000):
            ids = _unmask(inst)
            sep = ids.index(2)
            a, b = ids[1:sep], ids[sep + 1:-1]
            if {x // 1000 for x in a} != {x // 1000 for x in b}:
                random_b += 1
                assert inst.is_random_next
            elif min(a) > max(b):
                swapped += 1
    assert random_b > 20 and swapped == 0


def test_short_seq_prob_gives_short_sequences():
    docs = _synthetic_documents(sentences=40)
    lengths = {0.0: [], 1.0: []}
    for prob in lengths:
        rng = random.Random(0)
        options = InstanceOptions(max_seq_length=128, short_seq_prob=prob)
        for index in range(len(docs)):
            lengths[prob] += [len(i.input_ids) for i in create_instances_from_document(
                docs, index, rng, options, cls_id=1, sep_id=2, mask_id=3, vocab_size=100000)]
    assert np.median(lengths[1.0]) < 0.7 * np.median(lengths[0.0])


@pytest.mark.parametrize("favor_shorter,expected", [(True, [6 / 11, 3 / 11, 2 / 11]),
                                                     (False, [2 / 11, 3 / 11, 6 / 11])])
def test_ngram_length_distribution(favor_shorter, expected):
    probs = masking.ngram_probabilities(3, favor_shorter)
    assert np.allclose(probs, expected)
    rng = random.Random(11)
    units = [[i] for i in range(2000)]
    counts = collections.Counter()
    for _ in range(20):
        # budget far below the sequence size, so shrinking to fit rarely intervenes
        for gram in masking.choose_ngrams(units, 300, set(), rng, probs):
            counts[len(gram)] += 1
    total = sum(counts.values())
    observed = [counts[n] / total for n in (1, 2, 3)]
    assert np.allclose(observed, expected, atol=0.04), observed


def test_80_10_10_replacement():
    rng = random.Random(1)
    vocab, mask_id = 5000, 4
    kinds = collections.Counter()
    for _ in range(300):
        ids = [rng.randrange(10, vocab) for _ in range(100)]
        special = [True] + [False] * 98 + [True]
        res = masking.create_masked_lm_predictions(ids, special, [1] * 100, rng, vocab_size=vocab,
                                                   mask_id=mask_id, max_predictions_per_seq=15)
        assert len(res.masked_lm_positions) == 15  # round(100 * 0.15)
        for pos, label in zip(res.masked_lm_positions, res.masked_lm_ids):
            assert label == ids[pos] and 0 < pos < 99
            out = res.input_ids[pos]
            kinds["mask" if out == mask_id else "kept" if out == label else "random"] += 1
    total = sum(kinds.values())
    assert abs(kinds["mask"] / total - 0.8) < 0.03
    assert abs(kinds["kept"] / total - 0.1) < 0.02
    assert abs(kinds["random"] / total - 0.1) < 0.02


def test_whole_word_masking_keeps_words_whole():
    rng = random.Random(2)
    for _ in range(200):
        n = 60
        starts = [1] + [1 if rng.random() < 0.4 else 0 for _ in range(n - 2)] + [1]
        starts[1] = 1
        special = [True] + [False] * (n - 2) + [True]
        res = masking.create_masked_lm_predictions(list(range(100, 100 + n)), special, starts, rng,
                                                   vocab_size=1000, mask_id=4,
                                                   max_predictions_per_seq=20)
        masked = set(res.masked_lm_positions)
        words = masking.word_units(special, starts, True)
        for word in words:
            covered = [p in masked for p in word]
            assert all(covered) or not any(covered), word
        assert res.token_boundary == [1 if (s or b) else 0 for s, b in zip(special, starts)]


def test_no_whole_word_mask_uses_single_pieces():
    units = masking.word_units([True, False, False, False, True], [1, 1, 0, 0, 1], False)
    assert units == [[1], [2], [3]]
    # a continuation right after [SEP] does not glue onto the previous segment's word
    assert masking.word_units([True, False, True, False, True], [1, 1, 1, 0, 1], True) == [[1], [3]]


def test_input_errors(setup, tmp_path):
    _, corpus, tok = setup
    out = str(tmp_path / "o.tfrecord")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    with pytest.raises(InputError, match="holds no text"):
        cpd.run(str(empty), out, tok, dupe_factor=1, show_progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nsecond\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"bad.txt.*line 3, byte offset 21"):
        cpd.run(str(bad), out, tok, dupe_factor=1, show_progress=False)
    with pytest.raises(InputError, match="nothere"):
        cpd.run(str(tmp_path / "nothere*.txt"), out, tok, dupe_factor=1, show_progress=False)
    with pytest.raises(InputError, match="max_seq_length=4"):
        cpd.run(str(corpus), out, tok, max_seq_length=4, show_progress=False)
    with pytest.raises(InputError, match="unknown"):
        cpd.run(str(corpus), out, tok, max_seq_lenght=64, show_progress=False)
    assert not os.path.exists(out)


def test_wordpiece_chinese_and_segmenter(tmp_path):
    text = "话说天下大势，分久必合，合久必分。\n周末七国分争，并入于秦。\n\n及秦灭之后，楚、汉分争。\n"
    corpus = tmp_path / "zh.txt"
    corpus.write_text(text, encoding="utf-8")
    vocab = vocab_training.build_wordpiece_vocab([text], tmp_path / "vocab_chinese.txt", 300)
    tok = FullTokenizer(vocab_file=vocab)
    docs = cpd.read_documents(str(corpus), tok)
    assert len(docs) == 2 and all(b == 1 for doc in docs for _, s in doc for b in s)
    segmented = cpd.read_documents(str(corpus), tok, segmenter=lambda t: [t[i:i + 2] for i in
                                                                          range(0, len(t), 2)])
    assert list(segmented[0][0][1][:4]) == [1, 0, 1, 0]
    out = tmp_path / "zh.tfrecord"
    stats = cpd.run(str(corpus), str(out), tok, max_seq_length=32, dupe_factor=3,
                    show_progress=False)
    assert stats["num_instances"] == len(pretraining_data.read_examples(out)) > 0


def test_cli_original_flags(setup, tmp_path):
    directory, corpus, _ = setup
    out = tmp_path / "cli.tfrecord"
    env = dict(os.environ, PYTHONPATH=REPO)
    cmd = [sys.executable, "-m", "albert_nb.create_pretraining_data", f"--input_file={corpus}",
           f"--output_file={out}", "--vocab_file=unused.txt",
           f"--spm_model_file={directory / '30k-clean.model'}", "--max_seq_length=64",
           "--max_predictions_per_seq=10", "--dupe_factor=1", "--noprogress", "--ngram=2",
           "--do_lower_case"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pretraining_data.infer_lengths(out) == (64, 10)
    cmd[3] = f"--input_file={tmp_path / 'missing.txt'}"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "missing.txt" in done.stderr and "Traceback" not in done.stderr

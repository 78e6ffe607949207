"""Exact compatibility with google-research/ALBERT where this project does not differ on purpose.

Each test computes the expected value from the original's rule, written out here independently
of the package (from a reading of the original's create_pretraining_data.py, classifier_utils.py
and modeling.py), or derived analytically, and compares the package against it.
"""
import collections
import itertools
import math
import random
from fractions import Fraction

import pytest

from albert_nb.pretraining import create as cpd
from albert_nb.errors import InputError
from albert_nb.model.config import AlbertConfig
from albert_nb.pretraining import masking
from albert_nb.tokenizers import vocab_training
from albert_nb.tokenizers.tokenization import FullTokenizer, is_start_piece_sp


# ------------------------------------------------------------------ word starts (item 7)
def original_is_start_piece_sp(piece: str) -> bool:
    """The original's `_is_start_piece_sp` as it behaves under Python 3: its punctuation literal
    has \\" where \\' was meant (so the apostrophe is missing), and it adds "€"/"£" as UTF-8
    *bytes*, which never equal (or are contained in) a str piece."""
    special = set('!"#$%&"()*+,-./:;?@[\\]^_`{|}~') | {"€".encode("utf-8"), "£".encode("utf-8")}
    english = set("abcdefghijklmnopqrstuvwxyz")
    return (piece.startswith("\u2581") or piece.startswith("<") or piece in special
            or not all(c.lower() in english | special for c in piece))


APOSTROPHE_TEXT = ("It's the user's choice, isn't it? Don't touch o'clock's rock'n'roll. "
                   "We'd've paid \u00a3s and \u20acs; the cat's toys aren't its own.\n")


@pytest.fixture(scope="module")
def sp_tokenizer(tmp_path_factory):
    """A real SentencePiece model trained on English prose (CPython's pydoc topics)."""
    import re

    from pydoc_data.topics import topics

    prose = [s for name in sorted(topics)[:8]
             for s in re.split(r"(?<=[.!?])\s+", " ".join(topics[name].split())) if s]
    directory = tmp_path_factory.mktemp("compat_spm")
    model = vocab_training.train_sentencepiece(prose + [APOSTROPHE_TEXT] * 20,
                                               directory / "30k-clean", vocab_size=400)
    return FullTokenizer(spm_model_file=model)


def test_word_start_rule_is_the_originals_on_every_piece(sp_tokenizer):
    # SentencePiece splits "'" from letters by default (its own script), so a released model
    # rarely has "'s"-like pieces; models trained without split_by_unicode_script do.
    crafted = ["'s", "n't", "a'b", "'", "\u2581don", "'t", "ing", "s", ",", "\u20ac", "\u00a3",
               "\u20aca", "\u00a3s", "x-y", "12", "\u4e2d", "<unk>", "[MASK]"]
    pieces = [sp_tokenizer.inv_vocab[i] for i in range(sp_tokenizer.vocab_size)] + crafted
    differ = [p for p in pieces if is_start_piece_sp(p) != original_is_start_piece_sp(p)]
    assert not differ, differ[:10]
    for piece in ("'s", "n't", "a'b"):   # the cases the issue names: words of their own
        assert is_start_piece_sp(piece)
    assert not is_start_piece_sp("ing") and not is_start_piece_sp("x-y")


def test_word_start_flags_of_real_text_match_the_original(sp_tokenizer, tmp_path):
    corpus = tmp_path / "apostrophes.txt"
    corpus.write_text(APOSTROPHE_TEXT, encoding="utf-8")
    (sentence,) = cpd.read_documents(str(corpus), sp_tokenizer)[0]
    pieces = sp_tokenizer.convert_ids_to_tokens(list(sentence[0]))
    assert list(sentence[1]) == [int(original_is_start_piece_sp(p)) for p in pieces]


# ------------------------------------------------- digit-comma rule (a deliberate difference)
def original_encode_pieces_py3(sp_model, text):
    """tokenization.encode_pieces of the original as it runs under Python 3. Its
    SPIECE_UNDERLINE is the *bytes* b"\xe2\x96\x81", so `piece[0] != SPIECE_UNDERLINE` is always
    true and `cur_pieces[0][0] == SPIECE_UNDERLINE` always false: the "\u2581" that re-encoding
    a word-continuing "0," adds is never removed. (Under Python 2 a one-byte `piece[0]` never
    equals the three-byte marker either.)"""
    out = []
    for piece in sp_model.EncodeAsPieces(text):
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            out.extend(sp_model.EncodeAsPieces(piece[:-1].replace("\u2581", "")) + [","])
        else:
            out.append(piece)
    return out


def test_digit_comma_rule_differs_from_the_original_only_where_it_adds_a_word_boundary(tmp_path):
    """Notebook 02's demonstration: a model with the piece "0," (forced in, as a 30000-piece
    model learns it from number-heavy text); the original gives other ids than ours."""
    from albert_nb.tokenizers.tokenization import encode_pieces, preprocess_text

    text = [f"about {n:,} people came, and {n * 7 % 1000} left." for n in range(1000, 90000, 731)]
    model = vocab_training.train_sentencepiece(text, tmp_path / "dc", vocab_size=120,
                                               hard_vocab_limit=False, extra_user_defined_symbols=("0,",))
    tok = FullTokenizer(spm_model_file=model)
    differ = 0
    for number in ("1,000,000", "2,500,000", "12,345", "7,070"):
        line = preprocess_text(f"about {number} people", lower=True)
        original, ours = original_encode_pieces_py3(tok.sp_model, line), encode_pieces(tok.sp_model, line)
        assert encode_pieces(tok.sp_model, line, strip_added_underline=False) == original
        assert "".join(ours) == "".join(tok.sp_model.EncodeAsPieces(line))   # no new boundary
        differ += tok.convert_tokens_to_ids(original) != tok.convert_tokens_to_ids(ours)
    assert differ >= 2


# ------------------------------------------------------------ n-gram selection (item 8)
def original_mask_distribution(units, budget, probs):
    """Exact distribution of the original's n-gram selection: {frozenset(positions): P}.

    Enumerates every visiting order of the units (all equally likely: the original shuffles
    its candidate list) and every draw of n. The original draws n from 1..ngram with p(n) over
    *all* lengths and takes the slice `cand_indexes[idx:idx + n]`, which is shorter near the end;
    shrinks n while the slice exceeds the budget; skips an over-budget or overlapping slice;
    stops once the budget is reached.
    """
    probs = [Fraction(p).limit_denominator(10 ** 6) for p in probs]
    result = collections.defaultdict(Fraction)
    orders = list(itertools.permutations(range(len(units))))

    def visit(order, k, covered, weight):
        if k == len(order) or len(covered) >= budget:
            result[frozenset(covered)] += weight
            return
        start = order[k]
        for n, p in enumerate(probs, start=1):
            size = n
            chosen = [q for u in units[start:start + size] for q in u]
            while len(covered) + len(chosen) > budget and size > 1:
                size -= 1
                chosen = [q for u in units[start:start + size] for q in u]
            if len(covered) + len(chosen) > budget or covered & set(chosen):
                visit(order, k + 1, covered, weight * p)
            else:
                visit(order, k + 1, covered | set(chosen), weight * p)

    for order in orders:
        visit(order, 0, frozenset(), Fraction(1, len(orders)))
    return dict(result)


def sampled_distribution(units, budget, trials, seed):
    rng = random.Random(seed)
    probs = masking.ngram_probabilities(3)
    counts = collections.Counter()
    for _ in range(trials):
        grams = masking.choose_ngrams(units, budget, set(), rng, probs)
        counts[frozenset(p for gram in grams for p in gram)] += 1
    return {k: v / trials for k, v in counts.items()}


def test_last_two_words_masked_with_the_originals_probability():
    """Three words, budget 2: by hand, the original masks the last two with probability
    (0 + 8/11 + 1/2) / 3 = 9/22 = 0.409 (first visit at word 1: an n>=2 draw takes words 1-2,
    an n=1 draw needs word 2 next; first visit at word 2: word 1 must come next). Renormalising
    n over what fits would give 7/18 = 0.389."""
    units = [[1], [2], [3]]
    exact = original_mask_distribution(units, 2, masking.ngram_probabilities(3))
    assert exact[frozenset({2, 3})] == Fraction(9, 22)
    trials = 30000
    observed = sampled_distribution(units, 2, trials, seed=7)
    p = float(Fraction(9, 22))
    tolerance = 4 * math.sqrt(p * (1 - p) / trials)           # 4 standard errors = 0.011
    assert abs(observed.get(frozenset({2, 3}), 0.0) - p) < tolerance
    assert abs(observed.get(frozenset({2, 3}), 0.0) - 7 / 18) > tolerance


@pytest.mark.parametrize("units,budget", [
    ([[1], [2], [3], [4], [5]], 3),
    ([[1], [2, 3], [4], [5, 6, 7]], 3),     # whole words of several pieces near the end
])
def test_selection_distribution_matches_the_original_exactly(units, budget):
    exact = original_mask_distribution(units, budget, masking.ngram_probabilities(3))
    assert math.isclose(float(sum(exact.values())), 1.0)
    trials = 20000
    observed = sampled_distribution(units, budget, trials, seed=3)
    assert set(observed) <= set(exact)
    for outcome, p in exact.items():
        p = float(p)
        assert abs(observed.get(outcome, 0.0) - p) < 4.5 * math.sqrt(p * (1 - p) / trials) + 1e-3, \
            (sorted(outcome), observed.get(outcome, 0.0), p)


# ------------------------------------------------------------ masked_lm_prob=0 (item 9)
def test_masked_lm_prob_zero_masks_nothing(tmp_path):
    from albert_nb.pretraining import records

    ids = list(range(10, 40))
    special = [True] + [False] * 28 + [True]
    for permutation in (False, True):
        res = masking.create_masked_lm_predictions(
            ids, special, [1] * 30, random.Random(0), vocab_size=100, mask_id=4,
            masked_lm_prob=0.0, do_permutation=permutation)
        assert res.input_ids == ids and res.masked_lm_positions == [] and res.masked_lm_ids == []
    text = "the cat sat on the mat\nit was a sunny day\n\nthe dog ran off\nit came back later\n"
    corpus = tmp_path / "c.txt"
    corpus.write_text(text)
    vocab = vocab_training.build_wordpiece_vocab([text], tmp_path / "vocab.txt", 60)
    tokenizer = FullTokenizer(vocab_file=vocab)
    out = tmp_path / "zero.tfrecord"
    stats = cpd.run(str(corpus), str(out), tokenizer, masked_lm_prob=0.0, max_seq_length=32,
                    dupe_factor=2, show_progress=False)
    assert stats["num_masked"] == 0 and stats["num_instances"] > 0
    for example in records.read_examples(out):
        assert example["masked_lm_weights"].sum() == 0
        assert tokenizer.mask_id not in example["input_ids"].tolist()


# ------------------------------------------------------------------ hidden_act (item 11)
def test_hidden_act_is_case_insensitive_as_the_original():
    for spelling, ours in (("GELU", "gelu"), ("Relu", "relu"), ("TANH", "tanh"), ("Linear", "linear")):
        config = AlbertConfig.from_dict({"vocab_size": 10, "hidden_size": 8, "num_attention_heads": 2,
                                         "intermediate_size": 16, "hidden_act": spelling})
        assert config.hidden_act == ours
    with pytest.raises(InputError, match="hidden_act"):
        AlbertConfig.from_dict({"vocab_size": 10, "hidden_act": "Swish"})


# ------------------------------------------------- text_b that tokenises to nothing (item 12)
def original_classifier_tokens(tokens_a, tokens_b, max_seq_length):
    """classifier_utils.convert_single_example's layout from token lists."""
    if tokens_b:
        while len(tokens_a) + len(tokens_b) > max_seq_length - 3:
            (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()
    else:
        tokens_a = tokens_a[:max_seq_length - 2]
    tokens = ["[CLS]", *tokens_a, "[SEP]"]
    segments = [0] * len(tokens)
    if tokens_b:
        tokens += [*tokens_b, "[SEP]"]
        segments += [1] * (len(tokens_b) + 1)
    return tokens, segments


def test_text_b_that_tokenises_to_nothing_gives_a_single_sentence(tmp_path):
    from albert_nb.finetuning.features import convert_example

    Example = collections.namedtuple("Example", "guid text_a text_b label")
    vocab = vocab_training.build_wordpiece_vocab(["the cat sat on the mat"], tmp_path / "v.txt", 40)
    tokenizer = FullTokenizer(vocab_file=vocab)
    for text_b in ("   ", "\t", "\x00\x01", "the mat", None, ""):
        example = Example("1", "the cat sat", text_b, "0")
        got = convert_example(example, {"0": 0}, 16, tokenizer)
        tokens_b = tokenizer.tokenize(tokenizer.preprocess(text_b)) if text_b else None
        tokens, segments = original_classifier_tokens(
            tokenizer.tokenize(tokenizer.preprocess("the cat sat")), tokens_b, 16)
        assert got.input_ids == tokenizer.convert_tokens_to_ids(tokens), repr(text_b)
        assert got.segment_ids == segments, repr(text_b)
    blank = convert_example(Example("1", "the cat sat", "   ", "0"), {"0": 0}, 16, tokenizer)
    assert blank.input_ids.count(tokenizer.sep_id) == 1 and set(blank.segment_ids) == {0}


# ------------------------------------------------------------- --input_file_mode (item 12)
def test_input_file_mode_rb_drops_bad_bytes_as_the_original(tmp_path):
    text = "the cat sat on the mat\nit was a sunny day\n"
    vocab = vocab_training.build_wordpiece_vocab([text], tmp_path / "vocab.txt", 60)
    tokenizer = FullTokenizer(vocab_file=vocab)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"the cat s\xffat on the mat\nit was a sunny day\n")
    with pytest.raises(InputError, match=r"bad.txt.*line 1"):
        cpd.read_documents(str(bad), tokenizer, input_file_mode="r")
    # the original's "rb" path: convert_to_unicode = decode("utf-8", "ignore")
    clean = tmp_path / "clean.txt"
    clean.write_bytes(bad.read_bytes().decode("utf-8", "ignore").encode("utf-8"))
    got = cpd.read_documents(str(bad), tokenizer, input_file_mode="rb")
    want = cpd.read_documents(str(clean), tokenizer)
    assert [[list(s[0]) for s in d] for d in got] == [[list(s[0]) for s in d] for d in want]
    with pytest.raises(InputError, match="input_file_mode='rt'.*'r' or 'rb'"):
        cpd.read_documents(str(clean), tokenizer, input_file_mode="rt")



# ------------------------------------------------------------- --export_dir signatures (item 3)
@pytest.mark.parametrize("num_labels,threshold", [(3, 0.25), (1, float("nan"))])
def test_export_has_the_originals_tf_example_signature_and_ours(tmp_path, num_labels, threshold):
    import numpy as np
    import tensorflow as tf

    from albert_nb.finetuning import export
    from albert_nb.finetuning.features import InputFeatures
    from albert_nb.model.heads import AlbertForSequenceClassification

    config = AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
    model = AlbertForSequenceClassification(config, num_labels)
    features = [InputFeatures([2, 7, 8, 3], [0, 0, 0, 0], 0),
                InputFeatures([2, 9, 3, 11, 12, 13, 3], [0, 0, 0, 1, 1, 1, 1], 0)]
    ids = np.zeros((2, 12), np.int32)
    segments, mask = np.zeros_like(ids), np.zeros_like(ids)
    for row, f in enumerate(features):
        ids[row, :len(f)], segments[row, :len(f)], mask[row, :len(f)] = f.input_ids, f.segment_ids, 1
    logits = model({"input_ids": ids, "input_mask": mask, "segment_ids": segments},
                   training=False)["logits"].numpy()
    path = export.export_classifier(model, str(tmp_path / "export"), 12, num_labels == 1, threshold)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == set(export.SIGNATURES)
    original = loaded.signatures["serving_default"]
    assert [s.name for s in original.structured_input_signature[1].values()] == ["input"]
    by_example = original(input=tf.constant(export.example_strings(features, 12)))
    by_ids = loaded.signatures["serving_ids"](input_ids=ids, input_mask=mask, segment_ids=segments)
    # the original's outputs: softmax/argmax, or for regression the [batch, 1] output and its squeeze
    want = logits if num_labels == 1 else tf.nn.softmax(logits).numpy()
    for out in (by_example, by_ids):
        np.testing.assert_allclose(out["probabilities"].numpy(), want, rtol=1e-5, atol=1e-6)
        expected = logits[:, 0] if num_labels == 1 else want.argmax(-1)
        np.testing.assert_allclose(out["predictions"].numpy(), expected, rtol=1e-5, atol=1e-6)
        if math.isnan(threshold):
            assert "threshold" not in out
        else:
            assert out["threshold"].dtype == tf.float32 and float(out["threshold"]) == threshold
# ------------------------------------------------------------- --init_from_group0 (item 10)
def original_group0_assignment(model_names, checkpoint_names):
    """modeling.get_assignment_map_from_checkpoint with num_of_group > 1: a weight loads from
    its own name when the checkpoint has it, else from the same weight in group 0."""
    import re

    out = {}
    for name in model_names:
        if name in checkpoint_names:
            out[name] = name
        elif re.sub(r"/group_\d+/", "/group_0/", name) in checkpoint_names:
            out[name] = re.sub(r"/group_\d+/", "/group_0/", name)
    return out


@pytest.mark.parametrize("layout", ["google", "albert_nb"])
def test_init_from_group0_maps_each_name_to_itself_first(tmp_path, layout):
    import numpy as np
    import tensorflow as tf

    from albert_nb.interop import checkpoints
    from albert_nb.model.heads import AlbertForPretraining
    from albert_nb.training import checkpoints as pretraining

    small = AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=4,
                         num_hidden_groups=2, num_attention_heads=2, intermediate_size=32,
                         max_position_embeddings=16)
    source = AlbertForPretraining(small)
    ids = np.array([[2, 5, 6, 7, 3]], np.int32)
    source({"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)})
    for variable in source.trainable_variables:  # make group 1 visibly differ from group 0
        variable.assign(np.random.default_rng(abs(hash(variable.path)) % 2**32)
                        .normal(size=variable.shape).astype("float32"))
    saved = checkpoints.tf1_arrays(source)
    if layout == "google":
        prefix = checkpoints.save_tf1_checkpoint(source, str(tmp_path / "model.ckpt-7"))
    else:
        prefix = tf.train.Checkpoint(variables=pretraining.variables_by_path(source)).write(
            str(tmp_path / "ours" / "ckpt-7"))
    target = AlbertForPretraining(small.replace(num_hidden_groups=4))
    target({"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)})
    pretraining.load_init_checkpoint(target, prefix, init_from_group0=True)
    got = checkpoints.tf1_arrays(target)
    mapping = original_group0_assignment(list(got), set(saved))
    assert any("/group_1/" in k and v == k for k, v in mapping.items())       # own group 1
    assert any("/group_3/" in k and "/group_0/" in v for k, v in mapping.items())
    for name, source_name in mapping.items():
        np.testing.assert_array_equal(got[name], saved[source_name], err_msg=name)


# --------------------------------------- run_glue.sh's two phases, from_tf_hub, flags (1, 2, 3, 12)
@pytest.fixture(scope="module")
def hub_module(tmp_path_factory):
    """A hub module written by export_to_tfhub's own function from a Google-layout folder."""
    from finetuning_helpers import model_files

    from albert_nb.interop import tfhub

    files = model_files()
    return files, tfhub.export_directory(files["dir"], str(tmp_path_factory.mktemp("hub") / "module"),
                                         do_lower_case=False)


def parse_run_classifier(argv):
    """run_classifier's flags (generated from ClassifierOptions) parsed from one command line."""
    from absl import flags

    from albert_nb import cli
    from albert_nb.finetuning.options import ClassifierOptions

    values = flags.FlagValues()
    cli.define_flags(ClassifierOptions, values)
    values(["run_classifier", *argv])
    return cli.options_from_flags(ClassifierOptions, values)


def original_best_lines(history, key):
    """run_classifier.py's eval loop: each block's "best = " is the best before that checkpoint,
    starting from _best_trial_info()'s -1, replaced only by a strictly higher value."""
    best, lines = -1, []
    for record in history:
        lines.append(f"best = {best}")
        if record[key] > best:
            best = record[key]
    return lines


def test_run_glue_sh_two_phases_then_export_alone_through_a_hub_module(hub_module, tmp_path):
    """run_glue.sh's run_task with its default hub handle and the Colab's
    --spm_model_file=from_tf_hub: a --do_train run (every checkpoint kept: the original's
    RunConfig has keep_checkpoint_max=0), a separate --do_eval --do_predict run that sweeps them
    all and finds the early best, then --export_dir alone with --threshold_to_export."""
    import os

    import tensorflow as tf

    from albert_nb import paths
    from albert_nb.finetuning import classifier, export

    files, module = hub_module
    out = tmp_path / "MNLI"
    common = [f"--output_dir={out}", f"--data_dir={paths.REPO_ROOT / 'data' / 'glue'}",
              "--vocab_file=from_tf_hub", "--spm_model_file=from_tf_hub", "--do_lower_case",
              "--max_seq_length=64", "--optimizer=adamw", "--task_name=MNLI", "--warmup_step=2",
              "--learning_rate=1e-3", "--train_step=8", "--save_checkpoints_steps=1",
              "--train_batch_size=4", f"--albert_hub_module_handle={module}"]
    phase1 = parse_run_classifier(common + ["--do_train", "--nodo_eval", "--nodo_predict",
                                            "--init_checkpoint="])
    out.mkdir()
    theirs = out / "mnli_train.tf_record"        # the original's cache in the shared folder (5)
    theirs.write_bytes(b"the original's padded records")
    assert phase1.keep_checkpoint_max == 0
    messages = []
    trained = classifier.run(phase1, show=messages.append, show_progress=False)
    assert any("encoder from hub module" in m for m in messages), messages
    tokenizer = trained["tuner"].tokenizer                      # the module's, with its casing
    assert tokenizer.spm_model_file.startswith(module) and tokenizer.do_lower_case is False
    assert theirs.read_bytes() == b"the original's padded records"
    assert (out / "albert_nb_mnli_train.tf_record").is_file()
    assert sorted(int(f.split("-")[-1][:-6]) for f in os.listdir(out)
                  if f.startswith("model.ckpt-") and f.endswith(".index")) == list(range(1, 9))

    swept = classifier.run(parse_run_classifier(common + ["--nodo_train", "--do_eval", "--do_predict"]),
                           show=None, show_progress=False)
    history = swept["eval_history"]
    steps = [r["global_step"] for r in history]
    assert steps == list(range(1, 9))
    scores = [r["eval_accuracy"] for r in history]
    assert swept["best"]["global_step"] == steps[scores.index(max(scores))]   # first on ties
    results = (out / "eval_results.txt").read_text()
    assert [line for line in results.splitlines() if line.startswith("best = ")] == \
        original_best_lines(history, "eval_accuracy")               # first block: "best = -1"
    assert (out / "test_results.tsv").is_file()

    alone = classifier.run(parse_run_classifier(common + [
        "--nodo_train", "--nodo_eval", "--nodo_predict", f"--export_dir={tmp_path / 'export'}",
        "--threshold_to_export=0.25"]), show=None, show_progress=False)
    loaded = tf.saved_model.load(alone["export"])
    assert set(loaded.signatures) == set(export.SIGNATURES)
    features = [classifier_features(tokenizer, "the cat sat", "on the mat", 64)]
    got = loaded.signatures["serving_default"](input=tf.constant(export.example_strings(features, 64)))
    assert float(got["threshold"]) == 0.25 and got["probabilities"].shape == (1, 3)


def classifier_features(tokenizer, text_a, text_b, max_seq_length):
    from albert_nb.finetuning.features import convert_example

    Example = collections.namedtuple("Example", "guid text_a text_b label")
    return convert_example(Example("1", text_a, text_b, "0"), {"0": 0}, max_seq_length, tokenizer)


def test_from_tf_hub_takes_the_tokenizer_from_the_module(hub_module, tmp_path):
    from albert_nb.finetuning.options import ClassifierOptions
    from albert_nb.finetuning.trainer import resolve_model_source

    files, module = hub_module
    reference = FullTokenizer(spm_model_file=files["spm"], do_lower_case=False)
    text = reference.preprocess("The Original's Colab passes from_tf_hub.")
    for flag in ("spm_model_file", "vocab_file"):
        opts = ClassifierOptions(data_dir=".", task_name="MNLI", output_dir=str(tmp_path),
                                 albert_hub_module_handle=module, **{flag: "from_tf_hub"})
        source = resolve_model_source(opts, 64)
        assert source.tokenizer.do_lower_case is False         # the module's tokenization_info
        assert source.tokenizer.encode(text) == reference.encode(text)
    opts = ClassifierOptions(data_dir=".", task_name="MNLI", output_dir=str(tmp_path),
                             albert_config_file=files["config"], spm_model_file="from_tf_hub")
    with pytest.raises(InputError, match="--spm_model_file=from_tf_hub .*--albert_hub_module_handle"):
        resolve_model_source(opts, 64)


# ------------------------------------------------------- --masked_lm_budget float (item 6)
def test_masked_lm_budget_is_the_originals_float_flag(tmp_path):
    """The original: flags.DEFINE_float("masked_lm_budget", 0, ...). A value > 0 made its
    input_fn read `token_boundary` instead of the masked_lm_* features its model_fn then
    looks up (a KeyError): it never ran. So 0.5 parses, and is refused in one line."""
    from absl import flags

    from albert_nb import cli
    from albert_nb.pretraining import trainer
    from albert_nb.pretraining.options import PretrainingOptions

    def parse(*argv):
        values = flags.FlagValues()
        cli.define_flags(PretrainingOptions, values)
        values(["run_pretraining", f"--input_file={tmp_path / 'none.tfrecord'}",
                f"--output_dir={tmp_path}", f"--albert_config_file={tmp_path / 'none.json'}", *argv])
        return cli.options_from_flags(PretrainingOptions, values)

    assert parse().masked_lm_budget == 0.0
    opts = parse("--masked_lm_budget=0.5")
    assert opts.masked_lm_budget == 0.5
    with pytest.raises(InputError, match=r"^--masked_lm_budget=0.5: online masking is not supported"):
        trainer.validate(opts)
    with pytest.raises(InputError, match="--albert_config_file"):   # 0 passes on to the next check
        trainer.validate(parse("--masked_lm_budget=0"))


# --------------------------------------------------------------- --optimizer (item 12)
@pytest.mark.parametrize("program", ["run_classifier", "run_pretraining", "run_squad_v1", "run_squad_v2",
                                     "run_race", "run_tagging"])
def test_a_bad_optimizer_is_one_clear_line_and_exit_2(program):
    """The original's run_classifier takes any string and fails later ("Not supported
    optimizer"); ours is an enum refused at parse time, before TensorFlow loads."""
    import subprocess
    import sys

    from albert_nb import paths

    result = subprocess.run([sys.executable, "-m", f"albert_nb.{program}", "--optimizer=sgd"],
                            capture_output=True, text=True, timeout=120, cwd=paths.REPO_ROOT,
                            env={**__import__("os").environ, "PYTHONPATH": str(paths.REPO_ROOT)})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert "--optimizer=sgd" in lines[0] and "adamw" in lines[0] and "lamb" in lines[0]
    assert "Traceback" not in result.stderr

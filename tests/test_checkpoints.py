"""Google TF1 checkpoints: a format-identical fixture (TF1 names written by TF1's own Saver, with
adam_m/adam_v slots and global_step) must load into our model with exactly the outputs of a
model whose weights were assigned from the same arrays by attribute, and load -> save -> load is
the identity. Bad pairings fail naming the variable and both shapes.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import albert_nb as an
from albert_nb.training.checkpoints import variables_by_path
from albert_nb.interop import checkpoints
from albert_nb.errors import InputError

V, E, H, I, N_LABELS = 40, 8, 16, 32, 3
CONFIG = dict(vocab_size=V, embedding_size=E, hidden_size=H, num_hidden_layers=3,
              num_hidden_groups=1, inner_group_num=2, num_attention_heads=2,
              intermediate_size=I, max_position_embeddings=24)
BLOCK = "bert/encoder/transformer/group_0/inner_group_{i}/"


def tf1_arrays(seed: int = 0, vocab: int = V) -> dict:
    """Random weights under the original names and shapes (albert_original.md 4.4)."""
    rng = np.random.default_rng(seed)
    shapes = {"bert/embeddings/word_embeddings": (vocab, E),
              "bert/embeddings/token_type_embeddings": (2, E),
              "bert/embeddings/position_embeddings": (24, E),
              "bert/embeddings/LayerNorm/gamma": (E,), "bert/embeddings/LayerNorm/beta": (E,),
              "bert/encoder/embedding_hidden_mapping_in/kernel": (E, H),
              "bert/encoder/embedding_hidden_mapping_in/bias": (H,),
              "bert/pooler/dense/kernel": (H, H), "bert/pooler/dense/bias": (H,),
              "cls/predictions/transform/dense/kernel": (H, E),
              "cls/predictions/transform/dense/bias": (E,),
              "cls/predictions/transform/LayerNorm/gamma": (E,),
              "cls/predictions/transform/LayerNorm/beta": (E,),
              "cls/predictions/output_bias": (vocab,),
              "cls/seq_relationship/output_weights": (2, H),
              "cls/seq_relationship/output_bias": (2,)}
    for i in range(2):
        p = BLOCK.format(i=i)
        for part in ("query", "key", "value"):
            shapes[f"{p}attention_1/self/{part}/kernel"] = (H, H)
            shapes[f"{p}attention_1/self/{part}/bias"] = (H,)
        shapes.update({f"{p}attention_1/output/dense/kernel": (H, H),
                       f"{p}attention_1/output/dense/bias": (H,),
                       f"{p}LayerNorm/gamma": (H,), f"{p}LayerNorm/beta": (H,),
                       f"{p}ffn_1/intermediate/dense/kernel": (H, I),
                       f"{p}ffn_1/intermediate/dense/bias": (I,),
                       f"{p}ffn_1/intermediate/output/dense/kernel": (I, H),
                       f"{p}ffn_1/intermediate/output/dense/bias": (H,),
                       f"{p}LayerNorm_1/gamma": (H,), f"{p}LayerNorm_1/beta": (H,)})
    arrays = {}
    for name, shape in shapes.items():
        base = 1.0 if name.endswith("gamma") else 0.0
        arrays[name] = (base + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    return arrays


def write_tf1_checkpoint(prefix, arrays, slots: bool = True, step: int = 1234,
                         scope: str = "") -> str:
    """Write with TF1's graph-mode Saver, as the original's TPUEstimator did: variables named
    exactly as given (plus `<name>/adam_m`, `<name>/adam_v` and `global_step`)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        var_list = {}
        for name, value in arrays.items():
            var_list[scope + name] = tf.compat.v1.Variable(value, name=scope + name)
            if slots:
                for slot in ("adam_m", "adam_v"):
                    key = f"{scope}{name}/{slot}"
                    var_list[key] = tf.compat.v1.Variable(np.full_like(value, 0.5), name=key)
        if step is not None:
            var_list["global_step"] = tf.compat.v1.Variable(np.int64(step), name="global_step")
        saver = tf.compat.v1.train.Saver(var_list=var_list)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.fspath(prefix), write_meta_graph=False, write_state=False)
    return os.fspath(prefix)


def assign_directly(model, arrays) -> None:
    """Set weights by attribute from the original-named arrays (independent of the loader)."""
    albert = model.albert
    emb, enc = albert.embeddings, albert.encoder
    emb.word_embeddings.assign(arrays["bert/embeddings/word_embeddings"])
    emb.token_type_embeddings.assign(arrays["bert/embeddings/token_type_embeddings"])
    emb.position_embeddings.assign(arrays["bert/embeddings/position_embeddings"])
    emb.LayerNorm.gamma.assign(arrays["bert/embeddings/LayerNorm/gamma"])
    emb.LayerNorm.beta.assign(arrays["bert/embeddings/LayerNorm/beta"])
    enc.embedding_hidden_mapping_in.kernel.assign(arrays["bert/encoder/embedding_hidden_mapping_in/kernel"])
    enc.embedding_hidden_mapping_in.bias.assign(arrays["bert/encoder/embedding_hidden_mapping_in/bias"])
    for i, block in enumerate(enc.groups[0]):
        p = BLOCK.format(i=i)
        for part in ("query", "key", "value"):
            getattr(block.attention, part).kernel.assign(arrays[f"{p}attention_1/self/{part}/kernel"])
            getattr(block.attention, part).bias.assign(arrays[f"{p}attention_1/self/{part}/bias"])
        block.attention.dense.kernel.assign(arrays[f"{p}attention_1/output/dense/kernel"])
        block.attention.dense.bias.assign(arrays[f"{p}attention_1/output/dense/bias"])
        block.attention.LayerNorm.gamma.assign(arrays[f"{p}LayerNorm/gamma"])
        block.attention.LayerNorm.beta.assign(arrays[f"{p}LayerNorm/beta"])
        block.ffn.kernel.assign(arrays[f"{p}ffn_1/intermediate/dense/kernel"])
        block.ffn.bias.assign(arrays[f"{p}ffn_1/intermediate/dense/bias"])
        block.ffn_output.kernel.assign(arrays[f"{p}ffn_1/intermediate/output/dense/kernel"])
        block.ffn_output.bias.assign(arrays[f"{p}ffn_1/intermediate/output/dense/bias"])
        block.full_layer_layer_norm.gamma.assign(arrays[f"{p}LayerNorm_1/gamma"])
        block.full_layer_layer_norm.beta.assign(arrays[f"{p}LayerNorm_1/beta"])
    albert.pooler.dense.kernel.assign(arrays["bert/pooler/dense/kernel"])
    albert.pooler.dense.bias.assign(arrays["bert/pooler/dense/bias"])
    model.mlm_head.dense.kernel.assign(arrays["cls/predictions/transform/dense/kernel"])
    model.mlm_head.dense.bias.assign(arrays["cls/predictions/transform/dense/bias"])
    model.mlm_head.LayerNorm.gamma.assign(arrays["cls/predictions/transform/LayerNorm/gamma"])
    model.mlm_head.LayerNorm.beta.assign(arrays["cls/predictions/transform/LayerNorm/beta"])
    model.mlm_head.output_bias.assign(arrays["cls/predictions/output_bias"])
    model.sop_head.kernel.assign(arrays["cls/seq_relationship/output_weights"].T)
    model.sop_head.bias.assign(arrays["cls/seq_relationship/output_bias"])


def batch():
    ids = np.array([[2, 5, 6, 7, 3, 0, 0], [2, 9, 10, 3, 11, 12, 3]], dtype=np.int32)
    return {"input_ids": ids, "input_mask": (ids != 0).astype(np.int32),
            "segment_ids": np.array([[0] * 7, [0, 0, 0, 0, 1, 1, 1]], dtype=np.int32),
            "masked_lm_positions": np.array([[1, 2], [1, 5]], dtype=np.int32)}


def outputs(model):
    out = model(batch(), training=False)
    return {k: np.asarray(out[k]) for k in ("mlm_logits", "sop_logits", "sequence_output", "pooled_output")}


@pytest.fixture(scope="module")
def fixture_ckpt(tmp_path_factory):
    arrays = tf1_arrays()
    directory = tmp_path_factory.mktemp("google_release")
    prefix = write_tf1_checkpoint(directory / "model.ckpt-best", arrays)
    return arrays, prefix


def config():
    return an.AlbertConfig(**CONFIG)


def test_tf1_checkpoint_loads_like_direct_assignment(fixture_ckpt):
    arrays, prefix = fixture_ckpt
    loaded = an.AlbertForPretraining(config())
    report = checkpoints.load_checkpoint(loaded, prefix)
    direct = an.AlbertForPretraining(config())
    assign_directly(direct, arrays)
    got, want = outputs(loaded), outputs(direct)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert report.format == "google_tf1"
    assert sorted(report.loaded) == sorted(arrays)
    assert report.missing == [] and report.unused == []
    assert len(report.skipped) == 2 * len(arrays) + 1          # adam_m, adam_v, global_step
    assert report.global_step == 1234
    # A fresh model differs: the test would notice a loader that did nothing.
    fresh = outputs(an.AlbertForPretraining(config()))
    assert np.abs(fresh["mlm_logits"] - want["mlm_logits"]).max() > 1e-3


def test_load_save_load_is_identity(fixture_ckpt, tmp_path):
    import tensorflow as tf

    arrays, prefix = fixture_ckpt
    model = an.AlbertForPretraining(config())
    checkpoints.load_checkpoint(model, prefix)
    out = checkpoints.save_tf1_checkpoint(model, tmp_path / "again" / "model.ckpt-best", global_step=7)
    saved = dict(tf.train.list_variables(out))
    assert set(saved) == set(arrays) | {"global_step"}      # original names, no optimizer slots
    reader = tf.train.load_checkpoint(out)
    for name, value in arrays.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)
    assert sorted(os.listdir(tmp_path / "again")) == ["model.ckpt-best.data-00000-of-00001",
                                                      "model.ckpt-best.index"]
    again = an.AlbertForPretraining(config())
    checkpoints.load_checkpoint(again, out)
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_classifier_head_names_and_reporting(fixture_ckpt, tmp_path):
    import tensorflow as tf

    arrays, prefix = fixture_ckpt
    clf = an.AlbertForSequenceClassification(config(), N_LABELS)
    report = checkpoints.load_checkpoint(clf, prefix)
    assert report.missing == ["output_weights", "output_bias"]
    assert "cls/seq_relationship/output_weights" in report.unused
    np.testing.assert_array_equal(clf.albert.pooler.dense.kernel.numpy(), arrays["bert/pooler/dense/kernel"])
    out = checkpoints.save_tf1_checkpoint(clf, tmp_path / "clf" / "model.ckpt")
    shapes = dict(tf.train.list_variables(out))
    assert shapes["output_weights"] == [N_LABELS, H]            # [num_labels, H], the original's layout
    np.testing.assert_array_equal(tf.train.load_checkpoint(out).get_tensor("output_weights"),
                                  clf.classifier.kernel.numpy().T)


def test_vocab_mismatch_names_variable_and_shapes(fixture_ckpt):
    _, prefix = fixture_ckpt
    model = an.AlbertForPretraining(config().replace(vocab_size=30))
    with pytest.raises(InputError) as err:
        checkpoints.load_checkpoint(model, prefix)
    message = str(err.value)
    assert "bert/embeddings/word_embeddings" in message
    assert "[40, 8]" in message and "[30, 8]" in message and "vocab_size is 30" in message


def test_wrong_config_pairing_fails(fixture_ckpt):
    _, prefix = fixture_ckpt
    with pytest.raises(InputError, match=r"\[16, 32\].*\[16, 64\]"):
        checkpoints.load_checkpoint(an.AlbertForPretraining(config().replace(intermediate_size=64)), prefix)
    with pytest.raises(InputError, match="group_1/inner_group_0"):  # config says 2 groups
        checkpoints.load_checkpoint(an.AlbertForPretraining(config().replace(num_hidden_groups=3)), prefix)


def test_init_from_group0_copies_group0(fixture_ckpt):
    arrays, prefix = fixture_ckpt
    model = an.AlbertForPretraining(config().replace(num_hidden_groups=3))
    checkpoints.load_checkpoint(model, prefix, init_from_group0=True)
    np.testing.assert_array_equal(model.albert.encoder.groups[2][1].ffn.kernel.numpy(),
                                  arrays[BLOCK.format(i=1) + "ffn_1/intermediate/dense/kernel"])


def test_brightmart_layout_is_refused(tmp_path):
    arrays = {"bert/embeddings/word_embeddings": np.zeros((V, E), np.float32),
              "bert/embeddings/word_embeddings_2": np.zeros((E, H), np.float32),
              "bert/encoder/layer_shared/attention/self/query/kernel": np.zeros((H, H), np.float32)}
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt", arrays, slots=False)
    with pytest.raises(InputError, match="brightmart/albert_zh .*layer_shared"):
        checkpoints.load_checkpoint(an.AlbertForPretraining(config()), prefix)


def test_not_a_checkpoint_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="expected .*index"):
        checkpoints.load_checkpoint(an.AlbertModel(config()), tmp_path / "nothing")
    with pytest.raises(InputError, match="no checkpoint in"):
        checkpoints.load_checkpoint(an.AlbertModel(config()), tmp_path)
    prefix = write_tf1_checkpoint(tmp_path / "other.ckpt", {"dense/kernel": np.zeros((2, 2), np.float32)})
    with pytest.raises(InputError, match="not an ALBERT checkpoint"):
        checkpoints.load_checkpoint(an.AlbertModel(config()), prefix)


def test_albert_nb_checkpoint_and_pretraining_hook(fixture_ckpt, tmp_path):
    """Our own training checkpoints (variables=<path>) load too, and the pretraining CLI's
    --init_checkpoint reaches this module for Google's format."""
    import tensorflow as tf

    from albert_nb.pretraining import trainer as pretraining

    arrays, prefix = fixture_ckpt
    source = an.AlbertForPretraining(config())
    assign_directly(source, arrays)
    ours = tf.train.Checkpoint(variables=variables_by_path(source),
                               step=tf.Variable(5, dtype=tf.int64)).write(str(tmp_path / "ours" / "ckpt-5"))
    target = an.AlbertForPretraining(config())
    report = checkpoints.load_checkpoint(target, ours)
    assert report.format == "albert_nb" and not report.missing
    np.testing.assert_array_equal(outputs(target)["mlm_logits"], outputs(source)["mlm_logits"])
    via_hook = an.AlbertForPretraining(config())
    pretraining.load_init_checkpoint(via_hook, prefix)
    np.testing.assert_array_equal(outputs(via_hook)["sop_logits"], outputs(source)["sop_logits"])
    # --init_from_group0: a 1-group checkpoint grows into 3 groups through the same hook.
    grown = an.AlbertForPretraining(config().replace(num_hidden_groups=3))
    pretraining.load_init_checkpoint(grown, prefix, init_from_group0=True)
    np.testing.assert_array_equal(grown.albert.encoder.groups[2][1].ffn_output.kernel.numpy(),
                                  arrays[BLOCK.format(i=1) + "ffn_1/intermediate/output/dense/kernel"])
    with pytest.raises(InputError, match="inner_group_2"):   # a missing inner block is an error
        checkpoints.load_init_checkpoint(an.AlbertForPretraining(config().replace(inner_group_num=3)), prefix)


# ------------------------------------------------------------------ release directories
def write_spm(directory, vocab_size: int = 60) -> str:
    """A tiny SentencePiece model with ALBERT's recipe, trained on project-written sentences."""
    from albert_nb.tokenizers import vocab_training

    words = ["alpha", "beta", "gamma", "delta", "model", "layer", "token", "share", "weight", "block"]
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(words, size=8)) for _ in range(300)]
    return vocab_training.train_sentencepiece(sentences, os.path.join(directory, "30k-clean"),
                                              vocab_size=vocab_size, hard_vocab_limit=False)


def make_release(directory, arrays, vocab_size: int = V, slots: bool = True) -> str:
    os.makedirs(directory, exist_ok=True)
    write_spm(directory, vocab_size=vocab_size)
    an.AlbertConfig(**CONFIG).to_json_file(os.path.join(directory, "albert_config.json"))
    write_tf1_checkpoint(os.path.join(directory, "model.ckpt-best"), arrays, slots=slots)
    return os.fspath(directory)


def test_load_pretrained_release_directory(tmp_path):
    from albert_nb.tokenizers.tokenization import FullTokenizer

    arrays = tf1_arrays(seed=1)
    directory = make_release(tmp_path / "albert_tiny", arrays)
    loaded = checkpoints.load_pretrained(directory)
    assert isinstance(loaded.tokenizer, FullTokenizer) and loaded.tokenizer.is_sentencepiece
    assert loaded.tokenizer.vocab_size <= loaded.config.vocab_size
    direct = an.AlbertForPretraining(config())
    assign_directly(direct, arrays)
    np.testing.assert_array_equal(outputs(loaded.model)["mlm_logits"], outputs(direct)["mlm_logits"])
    encoder = checkpoints.load_pretrained(directory, head="encoder")
    assert isinstance(encoder.model, an.AlbertModel) and encoder.report.unused  # cls/* not used


def test_release_vocab_mismatch_and_chinese_vocab(tmp_path):
    directory = make_release(tmp_path / "big_vocab", tf1_arrays(), vocab_size=60)
    an.AlbertConfig(**dict(CONFIG, vocab_size=20)).to_json_file(os.path.join(directory, "albert_config.json"))
    with pytest.raises(InputError, match=r"30k-clean.model: the tokenizer has \d+ entries .*vocab_size=20"):
        checkpoints.load_pretrained(directory)
    # Chinese layout: a WordPiece vocab_chinese.txt instead of SentencePiece.
    zh = tmp_path / "albert_zh"
    zh.mkdir()
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("的一是不了人我在有他这中大来上")
    (zh / "vocab_chinese.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    an.AlbertConfig(**CONFIG).to_json_file(zh / "albert_config.json")
    write_tf1_checkpoint(zh / "model.ckpt-best", tf1_arrays(), slots=False)
    loaded = checkpoints.load_pretrained(zh)
    assert not loaded.tokenizer.is_sentencepiece
    assert loaded.tokenizer.tokenize("我是中国人") == ["我", "是", "中", "[UNK]", "人"]


def test_export_checkpoints_drops_slots_and_keeps_outputs(tmp_path):
    import tensorflow as tf

    from albert_nb import export_checkpoints

    source = make_release(tmp_path / "trained", tf1_arrays(seed=2))
    out = export_checkpoints.export(source, tmp_path / "clean" / "model.ckpt-best")
    names = {n for n, _ in tf.train.list_variables(out["prefix"])}
    assert not any("adam" in n for n in names) and "bert/embeddings/word_embeddings" in names
    assert {"albert_config.json", "30k-clean.model", "30k-clean.vocab"} <= set(os.listdir(tmp_path / "clean"))
    a = checkpoints.load_pretrained(source).model
    b = checkpoints.load_pretrained(tmp_path / "clean").model
    np.testing.assert_array_equal(outputs(a)["mlm_logits"], outputs(b)["mlm_logits"])


def test_export_checkpoints_export_path_is_a_prefix_as_the_original(tmp_path):
    """The original's Saver.save(sess, export_path): <prefix>.index, <prefix>.data-*, and a
    `checkpoint` file in the prefix's folder naming it; global_step is a fresh 0."""
    import tensorflow as tf

    from albert_nb import export_checkpoints

    source = make_release(tmp_path / "trained", tf1_arrays(seed=3))
    target = tmp_path / "out"
    target.mkdir()
    (target / "albert_config.json").write_text("{}\n")  # the user's own file: never replaced
    out = export_checkpoints.export(source, target / "albert_clean", copy_release_files=True)
    files = set(os.listdir(target))
    assert {"albert_clean.index", "albert_clean.data-00000-of-00001", "checkpoint"} <= files
    assert not any(f.startswith("model.ckpt") for f in files)
    assert (target / "albert_config.json").read_text() == "{}\n" and out["kept"] == ["albert_config.json"]
    assert "30k-clean.model" in out["copied"]
    state = tf.train.get_checkpoint_state(str(target))
    assert state.model_checkpoint_path == str(target / "albert_clean")
    assert tf.train.latest_checkpoint(str(target)) == str(target / "albert_clean")
    assert int(tf.train.load_checkpoint(out["prefix"]).get_tensor("global_step")) == 0
    # a second export into the same folder becomes the latest; the first stays listed
    export_checkpoints.export(source, target / "second", copy_release_files=False)
    state = tf.train.get_checkpoint_state(str(target))
    assert state.model_checkpoint_path == str(target / "second")
    assert list(state.all_model_checkpoint_paths) == [str(target / "albert_clean"), str(target / "second")]
    with pytest.raises(InputError, match=r"is a directory; it is a checkpoint prefix.*model.ckpt-best"):
        export_checkpoints.export(source, target)


def test_export_checkpoints_cli_bad_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "albert_nb.export_checkpoints",
                             f"--albert_directory={tmp_path / 'missing'}", f"--export_path={tmp_path / 'o'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "InputError: model directory not found" in result.stderr
    assert "Traceback" not in result.stderr

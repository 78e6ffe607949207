"""TF-Hub: the export CLI turns a Google-layout directory into a TF2 hub module whose signatures
reproduce our model; it reloads through tf.saved_model / hub.load, hub.KerasLayer under tf_keras
(subprocess with TF_USE_LEGACY_KERAS=1) and our Keras 3 `HubEncoder`, through which gradients
reach the module's own variables. A TF1-Hub-format module (the released layout) loads too."""
import os
import subprocess
import sys

import numpy as np
import pytest

import albert_nb as an
from albert_nb.interop import checkpoints
from albert_nb.interop import tfhub
from albert_nb.errors import InputError
from test_checkpoints import CONFIG, assign_directly, make_release, tf1_arrays


def inputs():
    ids = np.array([[2, 5, 6, 7, 3, 0], [2, 9, 10, 3, 11, 3]], dtype=np.int32)
    return {"input_ids": ids, "input_mask": (ids != 0).astype(np.int32),
            "segment_ids": np.array([[0] * 6, [0, 0, 0, 0, 1, 1]], dtype=np.int32)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    release = make_release(root / "albert_tiny", tf1_arrays(seed=3))
    result = subprocess.run(
        [sys.executable, "-m", "albert_nb.export_to_tfhub", f"--albert_directory={release}",
         f"--export_path={root / 'module'}", "--checkpoint_name=model.ckpt-best", "--use_einsum=false"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return release, str(root / "module")


def test_signatures_reproduce_the_model(exported):
    import tensorflow as tf

    release, module = exported
    model = checkpoints.load_pretrained(release).model
    obj = tf.saved_model.load(module)
    assert set(obj.signatures) == set(tfhub.SIGNATURES)
    x = inputs()
    tokens = obj.signatures["tokens"](**{k: tf.constant(v) for k, v in x.items()})
    want = model.albert(x, training=False)
    np.testing.assert_allclose(tokens["pooled_output"], want["pooled_output"], atol=1e-6)
    np.testing.assert_allclose(tokens["sequence_output"], want["sequence_output"], atol=1e-6)
    positions = np.array([[1, 2], [1, 4]], dtype=np.int32)
    mlm = obj.signatures["mlm"](mlm_positions=tf.constant(positions), **{k: tf.constant(v) for k, v in x.items()})
    ours = model(dict(x, masked_lm_positions=positions), training=False)
    assert mlm["mlm_logits"].shape == (4, CONFIG["vocab_size"])         # [batch * P, V], as the original
    np.testing.assert_allclose(mlm["mlm_logits"], np.reshape(ours["mlm_logits"], (4, -1)), atol=1e-5)
    sop = obj.signatures["sop"](**{k: tf.constant(v) for k, v in x.items()})
    np.testing.assert_allclose(sop["sop_log_probs"], tf.nn.log_softmax(ours["sop_logits"]), atol=1e-6)
    info = obj.signatures["tokenization_info"]()
    assert info["vocab_file"].numpy().decode().endswith("assets/30k-clean.model")
    assert bool(info["do_lower_case"].numpy()) is True
    assert sorted(os.listdir(os.path.join(module, "assets"))) == [
        "30k-clean.model", "30k-clean.vocab", "albert_config.json"]
    assert tfhub.config_json(module)["hidden_size"] == CONFIG["hidden_size"]
    assert len(obj.trainable_variables) == len(model.albert.trainable_weights)
    assert "Einsum" not in tfhub.graph_op_types(module) and "MatMul" in tfhub.graph_op_types(module)


def test_hub_load_and_tokenizer(exported):
    import tensorflow_hub as hub

    release, module = exported
    out = hub.load(module).signatures["tokens"](**{k: v for k, v in inputs().items()})
    assert out["pooled_output"].shape == (2, CONFIG["hidden_size"])
    tokenizer = tfhub.tokenizer_from_hub(module)
    reference = checkpoints.load_pretrained(release).tokenizer
    text = "Alpha beta token weight sharing"
    assert tokenizer.encode(text) == reference.encode(text) and tokenizer.do_lower_case


def test_keras3_encoder_trains_the_module_weights(exported):
    import keras
    import tensorflow as tf

    _, module = exported
    encoder, tokenizer = tfhub.load_hub_encoder(module, trainable=True)
    config = encoder.config
    model = an.AlbertForSequenceClassification(config, 2, albert=encoder, classifier_dropout=0.0)
    x, labels = inputs(), tf.constant([0, 1])
    assert len(model.trainable_variables) == len(encoder.module.trainable_variables) + 2
    optimizer = keras.optimizers.Adam(1e-2)
    before = encoder.module.signatures["tokens"](**x)["pooled_output"].numpy()
    losses = []
    for _ in range(5):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)["logits"]
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(g is not None for g in grads)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    after = encoder.module.signatures["tokens"](**x)["pooled_output"].numpy()
    assert np.abs(after - before).max() > 1e-4      # the module's own variables were updated


def test_hub_keras_layer_under_tf_keras(exported):
    """What users of the released modules write, in a TF_USE_LEGACY_KERAS=1 process."""
    release, module = exported
    model = checkpoints.load_pretrained(release).model
    report = tfhub.check_with_tf_keras(module, inputs())
    assert report["keras_version"].startswith("2.") and report["tf_keras_active"]   # not Keras 3
    np.testing.assert_allclose(report["pooled_output"], model.albert(inputs())["pooled_output"], atol=1e-6)
    assert "unsupported when calling a SavedModel signature" in report["signature_trainable"]
    n = len(model.albert.trainable_weights)
    assert report["trainable_weights"] == n and report["weights_with_gradient"] == n


def write_tf1_hub_module(directory, arrays, release_dir) -> str:
    """The released modules' layout: tfhub_module.pb (ModuleDef{format: FORMAT_V3}), a TF1
    SavedModel whose variables carry the bert/... names, and assets."""
    import shutil

    import tensorflow as tf

    directory = os.fspath(directory)
    graph = tf.Graph()
    with graph.as_default():
        for name, value in arrays.items():
            tf.compat.v1.Variable(value, name=name)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(directory)
            builder.add_meta_graph_and_variables(session, [])
            builder.save()
    with open(os.path.join(directory, "tfhub_module.pb"), "wb") as handle:
        handle.write(b"\x08\x03")
    os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
    for name in ("albert_config.json", "30k-clean.model", "30k-clean.vocab"):
        shutil.copy(os.path.join(release_dir, name), os.path.join(directory, "assets", name))
    return directory


def test_tf1_hub_format_module_loads_into_native_model(exported, tmp_path):
    release, _ = exported
    arrays = tf1_arrays(seed=4)
    arrays = {k: v for k, v in arrays.items() if not k.startswith("cls/")}  # hub modules: encoder
    module = write_tf1_hub_module(tmp_path / "albert_base_3", arrays, release)
    loaded = tfhub.load_module(module)
    assert loaded.format == "tf1_hub" and loaded.tokenizer.is_sentencepiece
    encoder = loaded.encoder
    assert isinstance(encoder, an.AlbertModel)
    direct = an.AlbertForPretraining(an.AlbertConfig(**CONFIG))
    full = dict(tf1_arrays(seed=4))
    assign_directly(direct, full)
    np.testing.assert_array_equal(encoder(inputs())["pooled_output"], direct.albert(inputs())["pooled_output"])
    with pytest.raises(InputError, match="TF1 Hub format"):
        tfhub.HubEncoder(module)


def test_bad_handles(tmp_path):
    with pytest.raises(InputError, match="no such directory, and not a URL"):
        tfhub.load_module(tmp_path / "nope")
    with pytest.raises(InputError, match="holds no saved_model.pb"):
        tfhub.load_module(tmp_path)
    with pytest.raises(InputError, match="needs an AlbertForPretraining"):
        tfhub.export_hub_module(an.AlbertModel(an.AlbertConfig(**CONFIG)), tmp_path / "m", ["x"])

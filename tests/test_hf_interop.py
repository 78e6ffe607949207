"""Hugging Face directories: a real `transformers` ALBERT (random weights, saved with
safe_serialization) loads into our model with the same outputs (1e-5), and our model written
back loads in `transformers` with outputs identical to the original's."""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import albert_nb as an  # noqa: E402
from albert_nb.interop import hf as hf_interop
from albert_nb.errors import InputError  # noqa: E402

ATOL = 1e-5
HF_CONFIG = dict(vocab_size=60, embedding_size=8, hidden_size=16, num_hidden_layers=3,
                 num_hidden_groups=1, inner_group_num=2, num_attention_heads=2,
                 intermediate_size=32, hidden_act="gelu_new", hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0, max_position_embeddings=32)


def perturbed(model):
    """Random LayerNorm and bias values too, so a mis-mapped one shows in the outputs."""
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return model.eval()


def batch():
    ids = np.array([[2, 5, 6, 7, 3, 0, 0], [2, 9, 10, 3, 11, 12, 3]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    seg = np.array([[0] * 7, [0, 0, 0, 0, 1, 1, 1]], dtype=np.int64)
    return ids, mask, seg


def hf_outputs(model):
    ids, mask, seg = batch()
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(seg))
    return out


def our_inputs():
    ids, mask, seg = batch()
    return {"input_ids": ids.astype(np.int32), "input_mask": mask.astype(np.int32),
            "segment_ids": seg.astype(np.int32)}


@pytest.fixture(scope="module")
def hf_pretraining_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hf_albert")
    model = perturbed(transformers.AlbertForPreTraining(transformers.AlbertConfig(**HF_CONFIG)))
    model.save_pretrained(directory, safe_serialization=True)
    assert os.path.isfile(directory / "model.safetensors")
    return directory, model


def test_hf_pretraining_outputs_match(hf_pretraining_dir):
    directory, hf = hf_pretraining_dir
    loaded = hf_interop.load_hf_directory(directory)
    assert loaded.config.hidden_act == "gelu"               # HF "gelu_new" == our tanh gelu
    assert not loaded.report.missing and not loaded.report.unused
    want = hf_outputs(hf)
    got = loaded.model(our_inputs(), training=False)
    np.testing.assert_allclose(got["mlm_logits"], want.prediction_logits.numpy(), atol=ATOL)
    np.testing.assert_allclose(got["sop_logits"], want.sop_logits.numpy(), atol=ATOL)
    fresh = an.AlbertForPretraining(loaded.config)(our_inputs())["mlm_logits"]
    assert np.abs(np.asarray(fresh) - want.prediction_logits.numpy()).max() > 1e-2


def test_round_trip_hf_ours_hf_is_identical(hf_pretraining_dir, tmp_path):
    from safetensors.numpy import load_file

    directory, hf = hf_pretraining_dir
    loaded = hf_interop.load_hf_directory(directory)
    hf_interop.save_hf_directory(loaded.model, tmp_path / "back")
    original = load_file(os.path.join(directory, "model.safetensors"))
    written = load_file(os.path.join(tmp_path / "back", "model.safetensors"))
    assert set(written) == set(original)
    for key in original:
        np.testing.assert_array_equal(written[key], original[key], err_msg=key)
    again = transformers.AlbertForPreTraining.from_pretrained(tmp_path / "back").eval()
    a, b = hf_outputs(hf), hf_outputs(again)
    np.testing.assert_array_equal(a.prediction_logits.numpy(), b.prediction_logits.numpy())
    np.testing.assert_array_equal(a.sop_logits.numpy(), b.sop_logits.numpy())


def test_classifier_both_directions(tmp_path):
    hf = perturbed(transformers.AlbertForSequenceClassification(
        transformers.AlbertConfig(**HF_CONFIG, num_labels=3)))
    hf.save_pretrained(tmp_path / "hf_clf", safe_serialization=True)
    cfg = hf_interop.read_hf_config(tmp_path / "hf_clf")
    ours = an.AlbertForSequenceClassification(cfg, 3)
    report = hf_interop.load_hf_weights(ours, tmp_path / "hf_clf")
    assert not report.missing
    np.testing.assert_allclose(ours(our_inputs())["logits"], hf_outputs(hf).logits.numpy(), atol=ATOL)
    hf_interop.save_hf_directory(ours, tmp_path / "ours_clf")
    back = transformers.AlbertForSequenceClassification.from_pretrained(tmp_path / "ours_clf").eval()
    np.testing.assert_array_equal(hf_outputs(back).logits.numpy(), hf_outputs(hf).logits.numpy())


def test_bare_encoder_directory(tmp_path):
    hf = perturbed(transformers.AlbertModel(transformers.AlbertConfig(**HF_CONFIG)))
    hf.save_pretrained(tmp_path / "enc", safe_serialization=True)
    loaded = hf_interop.load_hf_directory(tmp_path / "enc", head="encoder")
    got = loaded.model(our_inputs())
    want = hf_outputs(hf)
    np.testing.assert_allclose(got["sequence_output"], want.last_hidden_state.numpy(), atol=ATOL)
    np.testing.assert_allclose(got["pooled_output"], want.pooler_output.numpy(), atol=ATOL)


def test_pickle_only_directory_is_refused(tmp_path, hf_pretraining_dir):
    directory, _ = hf_pretraining_dir
    (tmp_path / "config.json").write_text((directory / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"not opened")
    with pytest.raises(InputError, match=r"no model.safetensors.*pytorch_model.bin.*safe_serialization=True"):
        hf_interop.load_hf_directory(tmp_path)


def test_shape_mismatch_names_tensor(tmp_path, hf_pretraining_dir):
    import json
    import shutil

    directory, _ = hf_pretraining_dir
    shutil.copy(directory / "model.safetensors", tmp_path / "model.safetensors")
    config = json.loads((directory / "config.json").read_text())
    config["vocab_size"] = 50
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"word_embeddings.weight' has shape \[60, 8\] .*expects \[50, 8\]"):
        hf_interop.load_hf_directory(tmp_path)

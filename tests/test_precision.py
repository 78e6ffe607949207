"""Mixed precision: the fused low-precision block path, `--mixed_precision=auto`, and a bf16
pretraining loss curve that stays on the float32 one.

Tolerance of the loss curve (`CURVE_RTOL` = 0.5%, relative, at every step): bfloat16 keeps 8
significant bits, so each rounding of an activation or a weight copy errs by at most 2**-9 ~ 0.2%
relative. Matmuls accumulate in float32; LayerNorm, softmax, the losses and LAMB's update of the
float32 master weights run in float32 (only a shared block's gradient is summed over its
applications in bf16 before that), so the roundings average out instead of adding up along the
block applications: the loss moves by far less than one bf16 step
(measured here: at most 1.4e-4 relative over 30 steps, while the curve falls by 18%). The bound
is one bf16 unit (2**-8 = 0.39%) rounded up: an error that does not average out — a loss or a
softmax computed in bf16, weights updated in bf16, a wrong weight in the fused path — shows up
as a systematic shift of that size or more.
"""
import numpy as np
import pytest

import albert_nb as an
from albert_nb.errors import InputError
from albert_nb.training import distribute

CURVE_STEPS = 30
CURVE_RTOL = 0.005


def tiny_config(**overrides):
    fields = dict(vocab_size=97, embedding_size=16, hidden_size=32, num_hidden_layers=3,
                  num_attention_heads=4, intermediate_size=64, max_position_embeddings=32,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return an.AlbertConfig(**{**fields, **overrides})


@pytest.fixture
def policy():
    """Set a global Keras policy for one test and always restore float32."""
    import keras

    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy("float32")


def test_fused_block_path_equals_the_layer_path_in_float32():
    """The low-precision path (weights cast once, Q/K/V as one matmul) computes the same block."""
    import keras

    config = tiny_config()
    model = an.AlbertModel(config)
    block = model.encoder.blocks[0]
    rng = np.random.default_rng(0)
    hidden = keras.ops.convert_to_tensor(rng.normal(size=(2, 7, 32)).astype("float32"))
    bias = an.model.modeling.attention_mask_bias(np.array([[1] * 7, [1] * 5 + [0] * 2]))
    plain, plain_probs = block(hidden, bias)
    fused, fused_probs = block(hidden, bias, weights=block.matmul_weights("float32"))
    np.testing.assert_allclose(np.asarray(fused), np.asarray(plain), atol=1e-5)
    np.testing.assert_allclose(np.asarray(fused_probs), np.asarray(plain_probs), atol=1e-6)


def test_bf16_model_uses_the_fused_path_and_stays_close(policy):
    import keras

    config = tiny_config()
    inputs = {"input_ids": np.array([[2, 5, 9, 11, 3, 0], [2, 7, 8, 3, 0, 0]], "int32"),
              "input_mask": np.array([[1] * 5 + [0], [1] * 4 + [0, 0]], "int32")}
    reference = an.AlbertModel(config)
    expected = np.asarray(reference(inputs)["sequence_output"])
    policy("mixed_bfloat16")
    model = an.AlbertModel(config)
    model.set_weights(reference.get_weights())
    assert an.model.layers.uses_fused_weights(model.encoder)
    out = model(inputs)["sequence_output"]
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    # LayerNorm output is O(1); bf16 rounding of inputs and weights moves it by ~1e-2.
    np.testing.assert_allclose(np.asarray(keras.ops.cast(out, "float32")), expected, atol=0.1)


def loss_curve(precision: str, steps: int, learning_rate: float = 3e-2) -> list[float]:
    """Per-step total pretraining loss (MLM at masked positions + SOP, LAMB) on real records."""
    import keras
    import tensorflow as tf

    from albert_nb.model.heads import AlbertForPretraining
    from albert_nb.pretraining import records
    from albert_nb.pretraining.objectives import model_inputs, pretraining_losses
    from albert_nb.training.optimization import create_optimizer
    from pretraining_helpers import PREDS, SEQ, pretraining_files

    files = pretraining_files()
    config = an.AlbertConfig.from_json_file(files["config"]).replace(
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    distribute.set_precision(precision)
    try:
        keras.utils.set_random_seed(0)
        model = AlbertForPretraining(config)
        optimizer = create_optimizer(learning_rate, steps, 3, "lamb")
        variables = model.trainable_variables

        @tf.function
        def step(batch):
            with tf.GradientTape() as tape:
                loss = pretraining_losses(model(model_inputs(batch), training=True), batch)["loss"]
            optimizer.apply(tape.gradient(loss, variables), variables)
            return loss

        dataset = records.make_dataset([files["train"]], SEQ, PREDS, 16, is_training=True, seed=0)
        return [float(step(batch)) for batch in dataset.take(steps)]
    finally:
        distribute.set_precision("float32")


def test_bf16_pretraining_loss_curve_follows_float32():
    fp32 = np.array(loss_curve("float32", CURVE_STEPS))
    bf16 = np.array(loss_curve("bf16", CURVE_STEPS))
    assert fp32[-5:].mean() < 0.9 * fp32[:5].mean()           # the curve does fall
    rel = np.abs(bf16 - fp32) / fp32
    assert rel.max() <= CURVE_RTOL, f"bf16 leaves the fp32 loss curve by {rel.max():.2%} (step {rel.argmax()})"


def test_auto_precision_follows_the_hardware():
    # This CPU-only process: the answer depends only on the CPU flags.
    assert distribute.auto_precision(flags={"avx2", "avx512_bf16"}) == "mixed_bfloat16"
    assert distribute.auto_precision(flags={"avx2", "amx_bf16", "amx_tile"}) == "mixed_bfloat16"
    assert distribute.auto_precision(flags={"avx2", "avx512f"}) == "float32"
    assert distribute.auto_precision(flags=set()) == "float32"

    class TPUStrategy:  # only the class name is read
        pass

    assert distribute.auto_precision(TPUStrategy(), flags=set()) == "mixed_bfloat16"
    expected = distribute.auto_precision()
    assert distribute.resolve_precision("auto") == expected
    assert distribute.resolve_precision("bf16") == "mixed_bfloat16"
    assert distribute.resolve_precision(None) == "float32"
    with pytest.raises(InputError, match="--mixed_precision='int8'"):
        distribute.resolve_precision("int8")


def test_cpu_flags_reads_proc_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert distribute.cpu_flags(str(path)) == {"fpu", "avx2", "avx512_bf16"}
    assert distribute.cpu_flags(str(tmp_path / "missing")) == set()

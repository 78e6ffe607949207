"""LAMB / AdamW update math against a numpy transcription of the original's formulas, the
LayerNorm/bias exclusions on real ALBERT variable paths, the LR schedule, and clipping."""
import numpy as np
import pytest

import albert_nb as an
from albert_nb.training import optimization
from albert_nb.errors import InputError

EXCLUDE = ("LayerNorm", "layer_norm", "bias")


def _reference_step(w, g, m, v, lr, kind, decay, adapt, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
    """One step of the original AdamWeightDecayOptimizer / LAMBOptimizer, in numpy."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    update = m / (np.sqrt(v) + eps)
    if decay:
        update = update + wd * w
    ratio = 1.0
    if kind == "lamb" and adapt:
        w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
        ratio = w_norm / u_norm if (w_norm > 0 and u_norm > 0) else 1.0
    return w - ratio * lr * update, m, v


def _tiny_model():
    cfg = an.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=24, max_position_embeddings=16)
    return an.AlbertForPretraining(cfg)


@pytest.mark.parametrize("kind", ["lamb", "adamw"])
def test_update_math_matches_numpy_reference(kind):
    model = _tiny_model()
    variables = model.trainable_variables
    rng = np.random.default_rng(0)
    lr = 0.01
    cls = optimization.Lamb if kind == "lamb" else optimization.AdamWeightDecay
    opt = cls(learning_rate=lr, global_clipnorm=None)
    opt.build(variables)
    state = {v.path: (v.numpy().astype(np.float64), 0.0, 0.0) for v in variables}
    for _ in range(3):
        grads = [rng.normal(size=v.shape).astype("float32") for v in variables]
        opt.apply(grads, variables)
        for v, g in zip(variables, grads):
            w, m, s = state[v.path]
            excluded = any(p in v.path for p in EXCLUDE)
            state[v.path] = _reference_step(w, g.astype(np.float64), m, s, lr, kind,
                                            decay=not excluded, adapt=not excluded)
    for v in variables:
        np.testing.assert_allclose(v.numpy(), state[v.path][0], rtol=2e-5, atol=2e-6,
                                   err_msg=v.path)


def test_exclusions_on_albert_paths():
    model = _tiny_model()
    opt = optimization.Lamb(learning_rate=0.01)
    opt.build(model.trainable_variables)
    by_path = {v.path: v for v in model.trainable_variables}
    excluded = [p for p, v in by_path.items() if not opt.decays(v)]
    assert not any(opt.adapts(by_path[p]) for p in excluded)
    # Every LayerNorm (embeddings, attention, LayerNorm_1, MLM head) and every bias is excluded.
    for path in ("embeddings/LayerNorm/gamma", "embeddings/LayerNorm/beta",
                 "encoder/group_0_inner_group_0/attention/LayerNorm/gamma",
                 "encoder/group_0_inner_group_0/LayerNorm_1/beta",
                 "encoder/group_0_inner_group_0/attention/query/bias",
                 "encoder/group_0_inner_group_0/ffn/bias", "predictions/output_bias",
                 "predictions/LayerNorm/gamma", "seq_relationship/bias", "pooler/dense/bias"):
        assert path in by_path and path in excluded, path
    for path in ("embeddings/word_embeddings", "encoder/embedding_hidden_mapping_in/kernel",
                 "encoder/group_0_inner_group_0/ffn/kernel", "seq_relationship/kernel"):
        assert opt.decays(by_path[path]) and opt.adapts(by_path[path]), path
    # Kernels, embeddings and biases/norms: the only split, counted both ways.
    assert len(excluded) == sum(v.path.endswith(("bias", "gamma", "beta")) for v in by_path.values())


def test_zero_gradient_still_decays_only_included_weights():
    model = _tiny_model()
    opt = optimization.AdamWeightDecay(learning_rate=0.1, global_clipnorm=None)
    variables = model.trainable_variables
    opt.build(variables)
    before = {v.path: v.numpy().copy() for v in variables}
    opt.apply([np.zeros(v.shape, "float32") for v in variables], variables)
    for v in variables:
        if opt.decays(v):
            np.testing.assert_allclose(v.numpy(), before[v.path] * (1 - 0.1 * 0.01), rtol=1e-6)
        else:
            np.testing.assert_array_equal(v.numpy(), before[v.path])


def test_schedule_warmup_then_polynomial_on_raw_step():
    s = optimization.WarmupPolynomialDecay(1.0, num_train_steps=100, num_warmup_steps=10,
                                           poly_power=2.0)
    lr = lambda step: float(s(step))  # noqa: E731
    assert lr(0) == 0.0
    assert lr(5) == pytest.approx(0.5)
    # After warm-up the decay uses the raw step (not step - warmup), as the original.
    assert lr(10) == pytest.approx((1 - 10 / 100) ** 2)
    assert lr(60) == pytest.approx(0.4 ** 2)
    assert lr(100) == 0.0 and lr(150) == 0.0
    shifted = optimization.WarmupPolynomialDecay(1.0, 100, 10, start_warmup_step=20)
    assert float(shifted(25)) == pytest.approx(0.5)
    assert float(shifted(31)) == pytest.approx(1 - 31 / 100)
    assert float(optimization.WarmupPolynomialDecay(2.0, 10, 0)(0)) == 2.0


def test_global_norm_clipping_and_factory():
    opt = optimization.create_optimizer(0.1, 100, 0, optimizer="adamw")
    assert isinstance(opt, optimization.AdamWeightDecay) and opt.global_clipnorm == 1.0
    assert isinstance(optimization.create_optimizer(0.1, 100, 0, optimizer="LAMB"), optimization.Lamb)
    import keras

    w = keras.Variable(np.ones(4, "float32"), name="kernel")
    opt = optimization.AdamWeightDecay(learning_rate=1.0, weight_decay_rate=0.0)
    opt.build([w])
    opt.apply([np.full(4, 100.0, "float32")], [w])
    # Clipped gradient is g/||g|| = 0.5 each; m = 0.05, v = 0.00025 -> step m/sqrt(v) = 3.162...
    np.testing.assert_allclose(w.numpy(), 1.0 - 0.05 / (np.sqrt(0.00025) + 1e-6), rtol=1e-5)
    with pytest.raises(InputError, match="--optimizer='sgd'"):
        optimization.create_optimizer(0.1, 100, 0, optimizer="sgd")

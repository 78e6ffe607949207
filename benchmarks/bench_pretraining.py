"""Time one pretraining step of ours against Hugging Face's PyTorch `AlbertForPreTraining`.

    python benchmarks/bench_pretraining.py                 # ALBERT-base, B8 T128 P20, fp32
    python benchmarks/bench_pretraining.py --precision bf16 --clock cpu

Both sides do the same work on the same batch: ALBERT-base (12 layers, dropout 0), masked LM
and sentence-order losses, one LAMB update of every weight.
* Ours: `AlbertForPretraining` in a `tf.function`, the MLM head at the P masked positions only
  (as the original), `pretraining_losses`, `create_optimizer(..., "lamb")` (global-norm
  clipping included).
* Peer: `transformers.AlbertForPreTraining` in eager torch (its normal mode), which scores all T
  positions (labels -100 where nothing is masked), and a LAMB step written here with the same
  formula as ours (torch has no LAMB), also after global-norm clipping.
Timing is as `bench_model.py`: the median of --reps runs after --warmup, torch in a child process
with OMP_WAIT_POLICY=PASSIVE, rounds interleaved where the two share a process; with `--clock
cpu` process CPU seconds (robust when other jobs share the cores).

It prints `pretraining_vs_hf_torch` (their step time / ours; > 1 means ours is faster) and our
step's FLOP/s (matmul FLOPs counted analytically, `params.pretraining_step_flops`) as a fraction
of a square matmul's FLOP/s measured in the same process and at the same precision.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_model import SHORT, interleaved_medians, make_inputs, matmul_runner, precisions  # noqa: E402

LEARNING_RATE, WEIGHT_DECAY, EPSILON = 1e-4, 0.01, 1e-6


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--predictions", type=int, default=20, help="masked positions per sequence (P)")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="float32", help="Keras policy for ours (bf16, auto, ...)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--jit_compile", action="store_true", help="XLA for our step")
    parser.add_argument("--matmul_size", type=int, default=2048)
    parser.add_argument("--skip_hf", action="store_true", help="time ours and the matmul only")
    args = parser.parse_args(argv)
    for name in ("batch", "seq", "predictions", "layers", "reps", "threads", "matmul_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)}: expected a positive integer")
    if args.predictions > args.seq:
        parser.error(f"--predictions = {args.predictions} exceeds --seq = {args.seq}")
    try:
        (args.policy,) = precisions(args.precision)
    except ValueError as err:
        parser.error(str(err))
    return args


def make_batch(config, batch: int, seq: int, predictions: int, seed: int = 0) -> dict:
    """Random ids with padding, P distinct masked positions per row inside the tokens, labels."""
    import numpy as np

    ids, mask, seg = make_inputs(batch, seq, config.vocab_size, seed)
    rng = np.random.default_rng(seed + 1)
    lengths = mask.sum(axis=1)
    positions = np.stack([np.sort(rng.choice(np.arange(1, n - 1), predictions, replace=False))
                          for n in lengths]).astype("int32")                      # [batch, P]
    return {"input_ids": ids, "input_mask": mask, "segment_ids": seg,
            "masked_lm_positions": positions,
            "masked_lm_ids": np.take_along_axis(ids, positions, axis=1),           # [batch, P]
            "masked_lm_weights": np.ones(positions.shape, "float32"),
            "next_sentence_labels": rng.integers(0, 2, size=(batch, 1)).astype("int32")}


def ours(config, batch: dict, policy: str, jit_compile: bool):
    import keras
    import tensorflow as tf

    from albert_nb.model.heads import AlbertForPretraining
    from albert_nb.pretraining.objectives import model_inputs, pretraining_losses
    from albert_nb.training.optimization import create_optimizer

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = AlbertForPretraining(config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    optimizer = create_optimizer(LEARNING_RATE, 10 ** 6, 0, "lamb", weight_decay_rate=WEIGHT_DECAY)
    variables = model.trainable_variables
    optimizer.build(variables)
    x = {k: tf.constant(v) for k, v in batch.items()}

    @tf.function(jit_compile=jit_compile)
    def step(b):
        with tf.GradientTape() as tape:
            loss = pretraining_losses(model(model_inputs(b), training=True), b)["loss"]
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return lambda: step(x).numpy()


def torch_lamb_step(params, state):
    """LAMB as ours (no bias correction, decoupled decay, per-tensor trust ratio)."""
    import torch

    with torch.no_grad():
        for p in params:
            m, v = state.setdefault(p, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            update = m / (v.sqrt() + EPSILON) + WEIGHT_DECAY * p
            w_norm, u_norm = p.norm(), update.norm()
            ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
            p.sub_(LEARNING_RATE * ratio * update)


def hf_torch_timing(config_dict, batch, threads, reps, warmup, clock):
    """Runs in a fresh process (see bench_model.torch_in_subprocess)."""
    import torch
    import transformers

    import albert_nb as an

    torch.set_num_threads(threads)
    config = an.AlbertConfig.from_dict(config_dict)
    model = transformers.AlbertForPreTraining(transformers.AlbertConfig(**config.to_hf_dict()))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    labels = torch.full(batch["input_ids"].shape, -100, dtype=torch.long)
    rows = torch.arange(labels.shape[0])[:, None]
    positions = torch.tensor(batch["masked_lm_positions"], dtype=torch.long)
    labels[rows, positions] = torch.tensor(batch["masked_lm_ids"], dtype=torch.long)
    x = dict(input_ids=torch.tensor(batch["input_ids"], dtype=torch.long),
             attention_mask=torch.tensor(batch["input_mask"], dtype=torch.long),
             token_type_ids=torch.tensor(batch["segment_ids"], dtype=torch.long),
             labels=labels,
             sentence_order_label=torch.tensor(batch["next_sentence_labels"][:, 0], dtype=torch.long))
    state = {}

    def step():
        for p in params:
            p.grad = None
        loss = model(**x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        torch_lamb_step(params, state)
        return loss.item()

    return interleaved_medians({"hf": {"step_s": step}}, reps, warmup, clock)["hf"]["step_s"]


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import albert_nb as an
    from albert_nb.model.params import pretraining_step_flops

    config = an.AlbertConfig.from_preset("albert_base_v2").replace(num_hidden_layers=args.layers)
    batch = make_batch(config, args.batch, args.seq, args.predictions)
    low = args.policy != "float32"
    dtype = tf.bfloat16 if args.policy == "mixed_bfloat16" else tf.float16 if low else tf.float32
    print(f"pretraining step, ALBERT-base widths, {args.layers} layers, B{args.batch} T{args.seq} "
          f"P{args.predictions}, ours in {SHORT[args.policy]}, HF in fp32, {args.threads} threads; "
          f"median {args.clock} time of {args.reps} after {args.warmup} warm-up", flush=True)
    runners = {"ours": {"step_s": ours(config, batch, args.policy, args.jit_compile)}}
    sizes = sorted({args.matmul_size // 2, args.matmul_size})
    for n in sizes:
        runners[f"matmul {n}"] = {"step_s": matmul_runner(n, dtype)}
    results = interleaved_medians(runners, args.reps, args.warmup, args.clock)
    ours_s = results["ours"]["step_s"]
    peak = max(2 * n ** 3 / results[f"matmul {n}"]["step_s"] for n in sizes)
    if args.clock == "cpu":  # CPU seconds of `threads` busy threads: per wall second, x threads
        ours_s, peak = ours_s / args.threads, peak * args.threads
    flops = pretraining_step_flops(config, args.batch, args.seq, args.predictions)
    rate = flops / ours_s
    print(f"  ours      step {ours_s * 1e3:9.1f} ms   {rate / 1e9:7.1f} GFLOP/s "
          f"({flops / 1e9:.1f} GFLOP, matmuls, analytic)")
    print(f"  matmul    {SHORT[args.policy]} peak {peak / 1e9:7.1f} GFLOP/s (best of {sizes} square)")
    if not args.skip_hf:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            hf_s = pool.apply(hf_torch_timing, (config.to_dict(), batch, args.threads, args.reps,
                                                args.warmup, args.clock))
        if args.clock == "cpu":
            hf_s /= args.threads
        print(f"  hf_torch  step {hf_s * 1e3:9.1f} ms")
        print(f"pretraining_vs_hf_torch {hf_s / ours_s:6.2f}x")
    print(f"step_flops_vs_matmul_peak {rate / peak:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time our ALBERT-base against keras-hub's AlbertBackbone and Hugging Face's PyTorch AlbertModel.

    python benchmarks/bench_model.py            # batch 8, seq 128, fp32, 2 threads each
    python benchmarks/bench_model.py --quick    # a short run (fewer reps, smaller batch)
    python benchmarks/bench_model.py --precision float32,mixed_bfloat16 --skip keras_hub,hf_torch
                                                # our model in fp32 and bf16: bf16_vs_fp32_train

All three models get the same configuration (vocab 30000, E=128, H=768, 12 layers, 12 heads,
I=3072, dropout 0), the same random inputs with some padding, the same loss (mean squares of the
sequence and pooled outputs) and the same optimizer (AdamW, lr 1e-5). Keras models run inside
`tf.function` (optionally XLA via --jit_compile); torch runs eagerly (its normal mode) with
`torch.inference_mode` for inference, in a child process of the same run (so torch's spinning
OpenMP threads cannot slow TF down). TensorFlow and torch both get --threads intra-op threads.
Each measurement is the median of --reps timed runs after --warmup untimed ones, taken in
interleaved rounds (each model once per round) so background load hits every model alike.

`--precision` (a comma list) runs our model under each Keras dtype policy in the same rounds
(peers stay float32); with float32 and a low precision both listed it prints
`bf16_vs_fp32_train` / `bf16_vs_fp32_inference` (fp16 likewise). `--clock cpu` times process CPU
seconds instead of wall seconds: on a machine shared with other jobs the wall clock mostly
measures the queue for the cores, CPU seconds measure the work (both are medians).

Finally our forward FLOP/s (FLOPs counted analytically, `albert_nb.model.params.forward_flops`) is
compared with a large square matmul's FLOP/s in the same process: the fraction is how close the
model runs to the machine's practical peak.
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Run from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGETS = {"train_vs_keras_hub": 1.0, "train_vs_hf_torch": 2.0, "forward_vs_matmul": 0.75}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run: batch 4, seq 64, 2 reps")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for TF and torch")
    parser.add_argument("--jit_compile", choices=("auto", "true", "false"), default="auto",
                        help="XLA for both Keras models; auto = time both ways and keep each one's best")
    parser.add_argument("--matmul_size", type=int, default=2048,
                        help="reference matmul: the best of n/2 and n square float32 matmuls")
    parser.add_argument("--torch_omp_wait_policy", choices=("PASSIVE", "ACTIVE"), default="PASSIVE",
                        help="OMP_WAIT_POLICY for the torch child process (see torch_in_subprocess)")
    parser.add_argument("--precision", default="float32",
                        help="comma list of Keras policies for our model: float32, mixed_bfloat16, "
                             "mixed_float16 (or bf16/fp16, or auto)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall seconds, or this process's CPU seconds (robust on a shared machine)")
    parser.add_argument("--skip", default="", help="comma list of peers to skip: keras_hub,hf_torch")
    parser.add_argument("--output", default="", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.seq, args.reps, args.warmup = 4, 64, 2, 1
    for name in ("batch", "seq", "layers", "reps", "threads", "matmul_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)}: expected a positive integer")
    try:
        args.precisions = precisions(args.precision)
    except ValueError as err:
        parser.error(str(err))
    if args.seq > 512:
        parser.error(f"--seq = {args.seq}: expected at most 512 (max_position_embeddings)")
    return args


def precisions(text: str) -> list[str]:
    """"float32,bf16" -> ["float32", "mixed_bfloat16"] (the names `distribute.set_precision` takes)."""
    from albert_nb.training.distribute import PRECISIONS, resolve_precision

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            out.append(resolve_precision(item))
        except Exception:
            raise ValueError(f"--precision: {item!r} is not one of {PRECISIONS + ('auto',)}") from None
    if not out:
        raise ValueError("--precision: expected at least one policy")
    return list(dict.fromkeys(out))


SHORT = {"float32": "fp32", "mixed_bfloat16": "bf16", "mixed_float16": "fp16"}


def make_inputs(batch: int, seq: int, vocab: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(batch, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[batch // 2:, seq - seq // 4:] = 0           # half the batch padded by a quarter
    seg = np.zeros_like(ids)
    seg[:, seq // 2:] = 1
    return ids, mask, seg


# ---------------------------------------------------------------------------- Keras side
def runner_name(name: str, precision: str) -> str:
    """ "ours" for float32 (the name earlier results used), "ours bf16" etc. otherwise."""
    return name if precision == "float32" else f"{name} {SHORT[precision]}"


def keras_runners(model, inputs, jit_compile: bool, sequence_key: str):
    """A compiled inference step and a compiled train step for any Keras model returning a dict."""
    import keras
    import tensorflow as tf

    optimizer = keras.optimizers.AdamW(learning_rate=1e-5)
    optimizer.build(model.trainable_variables)
    variables = model.trainable_variables

    @tf.function(jit_compile=jit_compile)
    def infer(x):
        return model(x, training=False)[sequence_key]

    @tf.function(jit_compile=jit_compile)
    def train(x):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            # [batch, seq, hidden] and [batch, hidden]: every weight, pooler included, gets a gradient.
            loss = tf.reduce_mean(tf.square(out[sequence_key])) + tf.reduce_mean(tf.square(out["pooled_output"]))
        grads = tape.gradient(loss, variables)
        optimizer.apply(grads, variables)
        return loss

    return (lambda: infer(inputs).numpy()), (lambda: train(inputs).numpy())


def ours(config, ids, mask, seg, jit_compile, precision: str = "float32"):
    """Our AlbertModel built (and later run) under the Keras dtype policy `precision`."""
    import keras
    import tensorflow as tf

    import albert_nb as an

    keras.mixed_precision.set_global_policy(precision)
    try:
        model = an.AlbertModel(config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    x = {"input_ids": tf.constant(ids), "input_mask": tf.constant(mask), "segment_ids": tf.constant(seg)}
    return keras_runners(model, x, jit_compile, "sequence_output")


def keras_hub_backbone(config, ids, mask, seg, jit_compile):
    import tensorflow as tf
    from keras_hub.models import AlbertBackbone

    model = AlbertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads, embedding_dim=config.embedding_size,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        num_groups=config.num_hidden_groups, num_inner_repetitions=config.inner_group_num,
        dropout=0.0, max_sequence_length=config.max_position_embeddings)
    x = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask), "segment_ids": tf.constant(seg)}
    return keras_runners(model, x, jit_compile, "sequence_output")


# ---------------------------------------------------------------------------- torch side
def hf_torch(config, ids, mask, seg):
    import torch
    import transformers

    model = transformers.AlbertModel(transformers.AlbertConfig(**config.to_hf_dict()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    x = dict(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask, dtype=torch.long),
             token_type_ids=torch.tensor(seg, dtype=torch.long))

    def infer():
        model.eval()
        with torch.inference_mode():
            return model(**x).last_hidden_state

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        out = model(**x)
        loss = out.last_hidden_state.square().mean() + out.pooler_output.square().mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return infer, train


def hf_torch_timings(config_dict, ids, mask, seg, threads, reps, warmup, clock="wall"):
    """Runs in a fresh process: torch's OpenMP threads keep spinning for a while after each op,
    which would steal cores from whatever TF runs next if both shared one process."""
    import torch

    import albert_nb as an

    torch.set_num_threads(threads)
    infer, train = hf_torch(an.AlbertConfig.from_dict(config_dict), ids, mask, seg)
    return interleaved_medians({"hf_torch": {"inference_s": infer, "train_step_s": train}},
                               reps, warmup, clock)["hf_torch"]


def torch_in_subprocess(config, ids, mask, seg, args):
    import multiprocessing

    # libgomp reads this when torch loads in the child. With the default (spin-wait) policy,
    # torch's 2 OpenMP threads run up to 5x slower on a 2-core machine that has any other load
    # (measured: HF forward 2.6 s vs 0.5 s), which would flatter us; PASSIVE removes that.
    os.environ["OMP_WAIT_POLICY"] = args.torch_omp_wait_policy
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(hf_torch_timings, (config.to_dict(), ids, mask, seg, args.threads,
                                             args.reps, args.warmup, args.clock))


def matmul_runner(n: int, dtype=None):
    """One [n, n] x [n, n] matmul (float32 unless `dtype`) in a tf.function: the practical peak."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype or tf.float32)
    b = tf.cast(tf.random.normal((n, n)), dtype or tf.float32)

    @tf.function
    def mm():
        return tf.matmul(a, b)

    return lambda: mm().numpy()


def interleaved_medians(runners: dict[str, dict], reps: int, warmup: int,
                        clock: str = "wall") -> dict[str, dict[str, float]]:
    """Median seconds per (runner, measurement), timing every runner once per round.

    clock "cpu" counts this process's CPU seconds (all threads): on a shared machine that is the
    work done, where the wall clock adds the time spent waiting for a core.
    """
    now = time.process_time if clock == "cpu" else time.perf_counter
    times = {name: {key: [] for key in fns} for name, fns in runners.items()}
    for round_index in range(warmup + reps):
        for name, fns in runners.items():
            for key, fn in fns.items():
                start = now()
                fn()
                if round_index >= warmup:
                    times[name][key].append(now() - start)
    return {name: {key: statistics.median(v) for key, v in keys.items()} for name, keys in times.items()}


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from importlib.metadata import version

    import albert_nb as an
    from albert_nb.io_utils import atomic_write_json
    from albert_nb.model.params import forward_flops, training_step_flops

    config = an.AlbertConfig.from_preset("albert_base_v2").replace(num_hidden_layers=args.layers)
    ids, mask, seg = make_inputs(args.batch, args.seq, config.vocab_size)
    skip = {s for s in args.skip.split(",") if s}
    jit_modes = {"auto": (False, True), "true": (True,), "false": (False,)}[args.jit_compile]
    print(f"ALBERT-base widths, {args.layers} layers, batch {args.batch}, seq {args.seq}, ours in "
          f"{'/'.join(SHORT[p] for p in args.precisions)} (peers fp32), {args.threads} threads; "
          f"TF {tf.__version__}, torch {version('torch')}; median {args.clock} time of {args.reps} "
          f"after {args.warmup} warm-up", flush=True)

    # Build everything first, then time in interleaved rounds (every runner once per round), so
    # load from other processes on a shared machine slows all of them alike.
    runners: dict[str, dict] = {}
    peers = [(runner_name("ours", p), functools.partial(ours, precision=p)) for p in args.precisions]
    peers += [] if "keras_hub" in skip else [("keras_hub", keras_hub_backbone)]
    for name, build in peers:
        for jit in jit_modes:
            infer, train = build(config, ids, mask, seg, jit)
            runners[f"{name}{' (xla)' if jit else ''}"] = {"inference_s": infer, "train_step_s": train}
    matmul_sizes = sorted({args.matmul_size // 2, args.matmul_size})
    for n in matmul_sizes:
        runners[f"matmul {n}"] = {"inference_s": matmul_runner(n)}
    results = interleaved_medians(runners, args.reps, args.warmup, args.clock)
    if "hf_torch" not in skip:
        results["hf_torch"] = torch_in_subprocess(config, ids, mask, seg, args)
    for name, timings in results.items():
        if not name.startswith("matmul"):
            print(f"  {name:<22} inference {timings['inference_s'] * 1e3:9.1f} ms   "
                  f"train step {timings['train_step_s'] * 1e3:9.1f} ms", flush=True)
    # The reference is the better of two square sizes (the larger one can fall out of cache).
    matmul_rates = {n: 2 * n ** 3 / results.pop(f"matmul {n}")["inference_s"] for n in matmul_sizes}
    matmul_rate = max(matmul_rates.values())

    def best(name, key):
        """The better of a runner's modes (plain graph, XLA)."""
        return min(v[key] for k, v in results.items() if k in (name, name + " (xla)"))

    flops = forward_flops(config, args.batch, args.seq)["total"]
    # Peers run in float32, so they are compared with our float32 run when there is one.
    ours_name = runner_name("ours", "float32" if "float32" in args.precisions else args.precisions[0])
    ours_infer, ours_train = best(ours_name, "inference_s"), best(ours_name, "train_step_s")
    summary = {
        "forward_gflop": flops / 1e9,
        "ours_forward_gflops_per_s": flops / ours_infer / 1e9,
        "ours_train_gflops_per_s": training_step_flops(config, args.batch, args.seq) / ours_train / 1e9,
        "matmul_gflops_per_s": matmul_rate / 1e9,
        "forward_vs_matmul": flops / ours_infer / matmul_rate,
    }
    for peer in ("keras_hub", "hf_torch"):
        if peer in results or peer + " (xla)" in results:
            summary[f"inference_vs_{peer}"] = best(peer, "inference_s") / ours_infer
            summary[f"train_vs_{peer}"] = best(peer, "train_step_s") / ours_train
    if "float32" in args.precisions:
        for low in (p for p in args.precisions if p != "float32"):
            low_name = runner_name("ours", low)
            for key, label in (("train_step_s", "train"), ("inference_s", "inference")):
                summary[f"{SHORT[low]}_vs_fp32_{label}"] = best("ours", key) / best(low_name, key)

    print(f"\nforward: {summary['forward_gflop']:.1f} GFLOP (matmuls, analytic); ours "
          f"{summary['ours_forward_gflops_per_s']:.1f} GFLOP/s; square matmul "
          + ", ".join(f"{n}: {r / 1e9:.1f}" for n, r in matmul_rates.items()) + " GFLOP/s")
    print("speed-ups (peer time / our time; > 1 means we are faster), best of each one's modes:")
    for key, value in summary.items():
        if key.startswith(("inference_vs", "train_vs", "forward_vs")) or "_vs_fp32_" in key:
            target = TARGETS.get(key)
            mark = "" if target is None else f"   target >= {target:g}: {'met' if value >= target else 'MISSED'}"
            print(f"  {key:<22} {value:6.2f}x{mark}")
    if args.output:
        atomic_write_json(args.output, {"args": vars(args), "results": results, "summary": summary})
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

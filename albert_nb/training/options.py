"""Options every trainer shares, and `option()`: a dataclass field that carries its flag's help.

Each CLI's absl flags are generated from its options dataclass (`albert_nb.cli.define_flags`),
so a flag's name, type, default and help are written once, here or in the task's options module.
No TensorFlow is imported by any options module: `--help` and bad flags answer at once.
"""
from __future__ import annotations

import dataclasses

from albert_nb.errors import InputError


def option(default=dataclasses.MISSING, help: str = "", *, enum: tuple | None = None):
    """A dataclass field with the help text (and allowed values) of its command-line flag."""
    return dataclasses.field(default=default, metadata={"help": help, "enum": enum})


@dataclasses.dataclass(kw_only=True)
class TrainingOptions:
    """Flags of the original's training scripts that every trainer has, plus a few of ours."""

    iterations_per_loop: int = option(1000, "Steps per compiled loop call (the TPU loop size).")
    keep_checkpoint_max: int = option(5, "Checkpoints to keep; 0 keeps all (model.ckpt-best is "
                                         "a copy and always kept).")
    use_tpu: bool = option(False, "Run on a TPU.")
    tpu_name: str | None = option(None, "Cloud TPU name or grpc:// address.")
    tpu_zone: str | None = option(None, "GCE zone of the Cloud TPU.")
    gcp_project: str | None = option(None, "GCP project of the Cloud TPU.")
    master: str | None = option(None, "TensorFlow master URL (TPU).")
    num_tpu_cores: int = option(8, "TPU cores (TPUStrategy uses every core it finds).")
    # Ours.
    mixed_precision: str | None = option(None, "mixed_float16 or mixed_bfloat16 (default float32).")
    jit_compile: bool = option(False, "XLA-compile the training step.")
    seed: int = option(12345, "Seed of weight init, dropout and data shuffling.")
    log_every_steps: int = option(100, "Log training metrics every this many steps.")

    def tpu_settings(self) -> dict:
        return {k: getattr(self, k) for k in ("use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master")}


def check_positive(opts, names) -> None:
    """Each named option must be an integer >= 1 (one InputError naming the flag otherwise)."""
    for name in names:
        value = getattr(opts, name)
        if value is None or int(value) < 1:
            raise InputError(f"--{name}={value}: expected a positive integer")

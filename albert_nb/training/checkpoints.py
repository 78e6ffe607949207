"""Checkpoint files every trainer writes and reads: names, steps, copies, init from another model.

A run's `--output_dir` holds `model.ckpt-<step>.*` (one per save, resumable: model, optimizer,
step, data iterator) and `model.ckpt-best.*` (a *copy* of the selected one, so retention never
deletes it), as the original's scripts name them.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil

import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.interop import checkpoints as interop_checkpoints
from albert_nb.interop import releases
from albert_nb.io_utils import atomic_path
from albert_nb.paths import CHECKPOINT_NAME
from albert_nb.training.resume import damaged_error, is_damage


def checkpoint_steps(output_dir: str) -> dict[int, str]:
    """{step: prefix} of every `model.ckpt-<step>` in output_dir (best excluded), oldest first."""
    out = {}
    for index in glob.glob(os.path.join(output_dir, CHECKPOINT_NAME + "-*.index")):
        prefix = index[: -len(".index")]
        match = re.fullmatch(r".*-(\d+)", prefix)
        if match:
            out[int(match.group(1))] = prefix
    return dict(sorted(out.items()))


def copy_checkpoint(prefix: str, new_prefix: str) -> None:
    """Copy a checkpoint's data shards and then its .index under a new prefix, each file
    atomically. The .index is what makes a checkpoint exist (TensorFlow and `checkpoint_steps`
    look for it), so it is removed first and written last: a kill mid-copy leaves no checkpoint
    under `new_prefix`, never an index over another checkpoint's data."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(new_prefix + ".index")
    for old in glob.glob(new_prefix + ".*"):
        os.unlink(old)
    paths = sorted(glob.glob(prefix + ".*"), key=lambda p: p.endswith(".index"))
    for path in paths:
        if path.endswith(".index"):
            fault_point("checkpoint.copy")           # data shards copied, index not yet
        with atomic_path(new_prefix + path[len(prefix):]) as tmp:
            shutil.copyfile(path, tmp)


def same_checkpoint(a: str, b: str) -> bool:
    """Whether two prefixes hold the same checkpoint: equal .index bytes (it records every
    tensor's offset, size and CRC) and data shards of equal names and sizes."""
    def files(prefix):
        return {p[len(prefix):]: os.path.getsize(p) for p in glob.glob(prefix + ".*")}

    if not (os.path.isfile(a + ".index") and os.path.isfile(b + ".index")) or files(a) != files(b):
        return False
    with open(a + ".index", "rb") as x, open(b + ".index", "rb") as y:
        return x.read() == y.read()


def variables_by_path(model) -> dict:
    """{path: variable} of the trainable weights: the checkpoint section other heads read.

    Paths (`embeddings/word_embeddings`, `encoder/group_0_inner_group_0/attention/query/kernel`,
    `predictions/output_bias`) do not include the model's name, so a classifier finds the
    encoder weights a pretraining run saved. (Keras 3's object graph does not reach the
    encoder's nested block lists, so restoring by object graph alone would miss them.)
    """
    return {v.path: v for v in model.trainable_variables}


def read_weights(model, prefix: str, global_step=None) -> None:
    """Load the model weights (and the step, when given) of one of our checkpoints, nothing else."""
    state = {"variables": variables_by_path(model)}
    if global_step is not None:
        state["global_step"] = global_step
    try:
        tf.train.Checkpoint(**state).read(prefix).expect_partial()
    except Exception as err:
        if is_damage(err):
            raise damaged_error(prefix, err) from None
        raise


def resolve_init_checkpoint(path: str | None, flag: str = "--init_checkpoint") -> str | None:
    """The local checkpoint (prefix or folder) a `--init_checkpoint` value names.

    A release name from the table (`albert_base_v2`), a release tarball's path or URL becomes
    its unpacked folder in the cache (`albert_nb.interop.releases.resolve_checkpoint`:
    downloaded once, then reused with no request; `ALBERT_NB_MODELS_URL` names a mirror); a
    prefix or folder that exists is returned as it is. Anything else is refused in one line.
    """
    if not path:
        return None
    try:
        local = os.fspath(releases.resolve_checkpoint(path))
    except InputError as err:
        raise InputError(f"{flag}={path!r}: {err}") from None
    if not (os.path.exists(local + ".index") or os.path.isdir(local)):
        raise InputError(f"{flag}={path!r}: checkpoint not found (expected {path}.index, a "
                         "directory, or a release name: python -m albert_nb.download --list)")
    return local


def load_init_checkpoint(model, path: str, init_from_group0: bool = False) -> str:
    """Initialise `model` from `path`: the one hook every --init_checkpoint goes through.

    `path` is anything `resolve_init_checkpoint` takes (a prefix, a folder, a release name).

    `albert_nb.interop.checkpoints` reads both our checkpoints and Google's TF1 ones (and
    TF-Hub's), checking names and shapes; with `init_from_group0` each weight loads from its own
    name when the checkpoint has it, else from group 0's, as the original's assignment map did.
    Returns what was loaded.
    """
    report = interop_checkpoints.load_init_checkpoint(model, resolve_init_checkpoint(path),
                                                      init_from_group0=init_from_group0)
    return report.summary()

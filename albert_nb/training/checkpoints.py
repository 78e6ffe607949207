"""Checkpoint files every trainer writes and reads: names, steps, copies, init from another model.

A run's `--output_dir` holds `model.ckpt-<step>.*` (one per save, resumable: model, optimizer,
step, data iterator) and `model.ckpt-best.*` (a *copy* of the selected one, so retention never
deletes it), as the original's scripts name them.
"""
from __future__ import annotations

import glob
import os
import re
import shutil

import tensorflow as tf

from albert_nb.interop import checkpoints as interop_checkpoints
from albert_nb.io_utils import atomic_path
from albert_nb.paths import CHECKPOINT_NAME



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
    """Copy a checkpoint's .index and data shards under a new prefix, each file atomically."""
    for old in glob.glob(new_prefix + ".*"):
        os.unlink(old)
    for path in glob.glob(prefix + ".*"):
        suffix = path[len(prefix):]
        with atomic_path(new_prefix + suffix) as tmp:
            shutil.copyfile(path, tmp)


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
    tf.train.Checkpoint(**state).read(prefix).expect_partial()


def load_init_checkpoint(model, path: str, init_from_group0: bool = False) -> str:
    """Initialise `model` from `path`: the one hook every --init_checkpoint goes through.

    `albert_nb.interop.checkpoints` reads both our checkpoints and Google's TF1 ones (and
    TF-Hub's), checking names and shapes; with `init_from_group0` each weight loads from its own
    name when the checkpoint has it, else from group 0's, as the original's assignment map did.
    Returns what was loaded.
    """
    report = interop_checkpoints.load_init_checkpoint(model, path, init_from_group0=init_from_group0)
    return report.summary()

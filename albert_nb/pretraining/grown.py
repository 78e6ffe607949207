"""The tiny pretrained ALBERT grown into more parameter groups and heads, for comparisons.

The workbench's tiny model shares one block across all its layers, so "do two applications of
the same block attend alike, more than two different blocks do?" has nothing to compare with.
This builds its sibling the way the original grew checkpoints: a config with G groups (and as
many heads as asked), every group initialised from the tiny model's one block
(`--init_from_group0`), then a short continued pretraining on the same data, so the groups drift
apart. Splitting the same Q/K/V projections into more heads is a re-reading of the same weights
(head_size shrinks), which the continued training adapts to.

The directory has the tiny model's layout (albert_config.json, 30k-clean.*, model.ckpt-best.*,
eval_results.txt) and `COMPLETE.json`, written last, with the held-out metrics of both models on
the same batches: the grown model's numbers always sit beside the tiny model's.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from albert_nb.interop import release_files
from albert_nb.io_utils import atomic_write_json
from albert_nb.model.config import AlbertConfig
from albert_nb.paths import artifact_dir
from albert_nb.pretraining import tiny
from albert_nb.pretraining import trainer as pretraining

MARKER = tiny.MARKER
FORMAT_VERSION = 1
# 4 layers in 2 groups: layers 0-1 run group 0, layers 2-3 group 1 (the original's
# group_of_layer rule), so the model has same-block and different-block pairs at depth distance 1.
# The tiny model may be shallower (2 layers): a shared block runs at any depth, so the grown one
# is also deeper.
DEFAULT = {"num_hidden_layers": 4, "num_hidden_groups": 2, "num_attention_heads": 4,
           "num_train_steps": 150,
           "num_warmup_steps": 15, "learning_rate": 0.005, "max_eval_steps": 10}
SMOKE = {**DEFAULT, "num_train_steps": 10, "num_warmup_steps": 1, "max_eval_steps": 2}


def settings(smoke: bool = False) -> dict:
    return dict(SMOKE if smoke else DEFAULT)


def artifact_directory(smoke: bool = False) -> Path:
    # Named after both versions: a new tiny recipe means a new grown model.
    name = f"tiny_grown_v{FORMAT_VERSION}_of_v{tiny.FORMAT_VERSION}"
    return artifact_dir(name + ("_smoke" if smoke else ""))


def grown_config(config, smoke: bool = False):
    """The tiny config with more layers, groups and heads (heads must divide hidden_size)."""
    s = settings(smoke)
    heads = max(config.num_attention_heads, s["num_attention_heads"])
    while config.hidden_size % heads:
        heads += 1
    return config.replace(num_hidden_layers=max(config.num_hidden_layers, s["num_hidden_layers"]),
                          num_hidden_groups=max(config.num_hidden_groups, s["num_hidden_groups"]),
                          num_attention_heads=heads)


def options(directory, source, smoke: bool = False):
    """The tiny build's own PretrainingOptions, pointed at a new directory, initialised from
    the tiny model's best checkpoint with --init_from_group0, and run for a few steps."""
    s = settings(smoke)
    steps = s["num_train_steps"]
    return dataclasses.replace(
        tiny.options(source, smoke), output_dir=str(directory),
        albert_config_file=str(Path(directory) / "albert_config.json"),
        init_checkpoint=str(source), init_from_group0=True,     # its model.ckpt-best
        num_train_steps=steps, num_warmup_steps=s["num_warmup_steps"],
        learning_rate=s["learning_rate"], save_checkpoints_steps=steps,
        log_every_steps=min(25, steps), max_eval_steps=s["max_eval_steps"])


def build_grown(smoke: bool = False, show_progress: bool = False) -> Path:
    """Build (or reuse) the grown model next to the tiny one; returns its directory.

    Builds the tiny pretrained model first if it is missing. Interrupted builds resume (the
    trainer restores the newest checkpoint; the marker is written last).
    """

    directory = artifact_directory(smoke)
    if tiny.is_complete(directory):
        return directory
    started = time.time()
    source = tiny.build_tiny_pretrained(smoke=smoke, show_progress=show_progress)
    config = grown_config(AlbertConfig.from_json_file(str(source / "albert_config.json")), smoke)
    release_files.copy_release_files(source, directory)             # tokenizer (and tiny's config)
    config.to_json_file(str(directory / "albert_config.json"))      # ... replaced by the grown one
    opts = options(directory, source, smoke)
    trained = pretraining.run(opts, show_progress=show_progress, show=None)
    # The tiny model on the very same held-out batches: the baseline of every number above.
    baseline = pretraining.run(dataclasses.replace(
        tiny.options(source, smoke), output_dir=str(directory / "baseline"), do_train=False,
        init_checkpoint=str(source), max_eval_steps=opts.max_eval_steps),
        show_progress=False, show=None)
    summary = {"format_version": FORMAT_VERSION, "source": str(source), "settings": settings(smoke),
               "config": {k: getattr(config, k) for k in ("num_hidden_layers", "num_hidden_groups",
                                                          "num_attention_heads", "hidden_size")},
               "held_out": trained["eval"], "tiny_held_out": baseline["eval"], "smoke": smoke,
               "wall_seconds": time.time() - started}
    atomic_write_json(directory / MARKER, summary, sort_keys=False)
    return directory


def summary(directory) -> dict:
    return tiny.summary(directory)

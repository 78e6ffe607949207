"""Google's TF1 checkpoints (`model.ckpt-best.*` of the released tarballs) <-> our Keras models.

One table drives both directions: `tf1_names.tf1_name_map(model)` lists, for every weight of a
model, the TF1 variable name the original graph gives it and whether the stored array is the
transpose of our kernel. `load_tf1_checkpoint` reads through the table
and `save_tf1_checkpoint` writes through it, so load -> save -> load is the identity by
construction, and a test checks that it is.

What a released checkpoint also holds, and what we do with it:
* optimizer slots (`<var>/adam_m`, `<var>/adam_v`, `lamb_m`/`lamb_v`) and `global_step`:
  skipped, and counted in the report;
* variables our model does not have (e.g. a fine-tuned classifier's `output_weights` when
  loading into a pretraining model): listed as `unused`;
* variables the checkpoint lacks (e.g. a classifier head when loading a pretrained encoder):
  listed as `missing`; the model keeps its fresh initialisation there.
A shape disagreement is never skipped: it fails naming the variable and both shapes.

brightmart/albert_zh's own checkpoints ("brightmart version") use another graph (a `layer_shared`
scope, the E->H projection applied before position embeddings) and cannot be mapped onto
Google's architecture; they are refused with a message saying so. Its "Google version"
checkpoints use Google's names and load normally.

Our own training checkpoints (`tf.train.Checkpoint` with `variables=<path>`, written by
`albert_nb.pretraining.trainer` / `albert_nb.finetuning.trainer`) load through the same entry points, so a CLI's
`--init_checkpoint` accepts either format.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from albert_nb.errors import InputError
from albert_nb.interop.tf1_names import (
    ENCODER_SCOPE,
    HUB_SCOPE,
    Entry,
    encoder_entries,
    encoder_of,
    is_slot_or_step,
    tf1_name_map,
)
from albert_nb.model.config import AlbertConfig
from albert_nb.model.heads import AlbertForPretraining
from albert_nb.model.modeling import AlbertModel
from albert_nb.paths import BEST_NAME
from albert_nb.tokenizers.tokenization import release_tokenizer

_OUR_KEY_PREFIX = "variables/"
_OUR_KEY_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


# ------------------------------------------------------------------------- reading
@dataclasses.dataclass
class LoadReport:
    """What a load did. `missing` weights kept their initial values; `unused` were ignored."""

    path: str
    format: str                       # "google_tf1", "tfhub_tf1" or "albert_nb"
    loaded: list = dataclasses.field(default_factory=list)
    missing: list = dataclasses.field(default_factory=list)
    unused: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)   # optimizer slots, global_step
    global_step: int | None = None

    def summary(self) -> str:
        lines = [f"{self.path} ({self.format}): loaded {len(self.loaded)} weights, "
                 f"skipped {len(self.skipped)} optimizer/training-state entries"
                 + ("" if self.global_step is None else f", global_step={self.global_step}")]
        if self.missing:
            lines.append(f"  missing from checkpoint (left as initialised): {len(self.missing)}: "
                         + ", ".join(self.missing[:6]) + (" ..." if len(self.missing) > 6 else ""))
        if self.unused:
            lines.append(f"  in checkpoint but not in this model (ignored): {len(self.unused)}: "
                         + ", ".join(self.unused[:6]) + (" ..." if len(self.unused) > 6 else ""))
        return "\n".join(lines)

    __str__ = summary


def resolve_checkpoint(path, checkpoint_name: str | None = None) -> str:
    """A checkpoint prefix from a prefix, or from a directory (checkpoint_name, else
    model.ckpt-best, else the `checkpoint` file's latest, else the only *.index there)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if checkpoint_name:
            prefix = os.path.join(path, checkpoint_name)
            if not os.path.exists(prefix + ".index"):
                raise InputError(f"checkpoint {checkpoint_name!r} not found in {path!r} "
                                 f"(expected {prefix}.index); found: {_index_files(path)}")
            return prefix
        best = os.path.join(path, BEST_NAME)
        if os.path.exists(best + ".index"):
            return best
        latest = tf.train.latest_checkpoint(path)
        if latest:
            return latest
        found = _index_files(path)
        if len(found) == 1:
            return os.path.join(path, found[0][: -len(".index")])
        raise InputError(f"no checkpoint in {path!r}: expected {BEST_NAME}.index (or one *.index "
                         f"file); found: {found or 'no .index files'}")
    if not os.path.exists(path + ".index"):
        raise InputError(f"checkpoint not found: {path!r} (expected {path}.index next to its "
                         ".data-* files)")
    return path


def _index_files(directory: str) -> list[str]:
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(directory, "*.index")))


def read_variable_shapes(prefix: str) -> dict[str, tuple]:
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as err:  # DataLossError, NotFoundError, ... : say which file and why
        raise InputError(f"cannot read checkpoint {prefix!r}: {type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}") from None
    return {k: tuple(v) for k, v in reader.get_variable_to_shape_map().items()}


def read_tensor(reader, prefix: str, key: str) -> np.ndarray:
    """One stored tensor; a truncated or damaged `.data` file is an InputError naming it."""
    try:
        return reader.get_tensor(key)
    except Exception as err:   # DataLossError, OutOfRangeError, ...
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise InputError(f"checkpoint {prefix!r} is damaged: variable {key!r} cannot be read "
                         f"({type(err).__name__}: {message[:200]})") from None


def verify_checkpoint(prefix: str) -> None:
    """Read every tensor of a checkpoint once (a resume checks this before trusting it)."""
    read_variable_shapes(prefix)
    reader = tf.train.load_checkpoint(prefix)
    for key in reader.get_variable_to_shape_map():
        read_tensor(reader, prefix, key)


def detect_format(names) -> str:
    """"albert_nb" (our tf.train.Checkpoint), "tfhub_tf1" (module/bert/...), "google_tf1"
    (bert/...); raises InputError for brightmart's layout or anything else."""
    names = list(names)
    if any(n.startswith(_OUR_KEY_PREFIX) and n.endswith(_OUR_KEY_SUFFIX) for n in names):
        return "albert_nb"
    if any("layer_shared" in n or n.endswith("word_embeddings_2") for n in names):
        raise InputError(
            "this is a brightmart/albert_zh checkpoint in brightmart's own layout (variables under "
            "'bert/encoder/layer_shared', a second embedding table 'word_embeddings_2'); that graph "
            "projects embeddings before adding positions, so it cannot be mapped onto Google's "
            "ALBERT. Use brightmart's 'Google version' checkpoints (albert_*_google_zh) or "
            "Google's albert_*_zh release instead")
    if any(n.startswith(HUB_SCOPE + ENCODER_SCOPE) for n in names):
        return "tfhub_tf1"
    if any(n.startswith(ENCODER_SCOPE) for n in names):
        return "google_tf1"
    sample = sorted(n for n in names if not is_slot_or_step(n))[:5]
    raise InputError("not an ALBERT checkpoint: expected Google's TF1 names (bert/embeddings/..., "
                     f"bert/encoder/transformer/group_0/...) or albert_nb's; found e.g. {sample}")


def _shape_error(prefix: str, name: str, got: tuple, want: tuple, model) -> InputError:
    hint = ""
    cfg = encoder_of(model).config
    vocab_tables = ("word_embeddings", "predictions/output_bias")
    if name.endswith(vocab_tables) and got[:1] != want[:1]:
        hint = (f"; the checkpoint's vocabulary has {got[0]} entries but the config's vocab_size "
                f"is {cfg.vocab_size} (does albert_config.json belong to this checkpoint?)")
    elif name.endswith("position_embeddings"):
        hint = f"; config max_position_embeddings = {cfg.max_position_embeddings}"
    elif got != want:
        hint = (f"; config has hidden_size={cfg.hidden_size}, embedding_size={cfg.embedding_size}, "
                f"intermediate_size={cfg.intermediate_size} (does the config match the checkpoint?)")
    return InputError(f"{prefix}: variable {name!r} has shape {list(got)} in the checkpoint but the "
                      f"model expects {list(want)}{hint}")


def our_checkpoint_key(variable_path: str) -> str:
    """How `tf.train.Checkpoint(variables={path: var})` names an entry ('/'->'.S', '.'->'..')."""
    return _OUR_KEY_PREFIX + variable_path.replace(".", "..").replace("/", ".S") + _OUR_KEY_SUFFIX


def _our_entries(model) -> list[Entry]:
    return [Entry(our_checkpoint_key(v.path), v) for v in model.trainable_variables]


def group0_name(name: str) -> str:
    """The same weight in group 0: TF1 `.../transform/group_3/inner_group_1/...` or ours
    `...encoder.Sgroup_3_inner_group_1.S...` (the original's `--init_from_group0` map)."""
    name = re.sub(r"/group_\d+/", "/group_0/", name)
    return re.sub(r"(?<!inner_)group_\d+(?=_inner_group_)", "group_0", name)


def load_checkpoint(model, path, checkpoint_name: str | None = None,
                    init_from_group0: bool = False, require_encoder: bool = True,
                    allow_missing_groups: bool = False) -> LoadReport:
    """Load a Google TF1, TF-Hub TF1 or albert_nb checkpoint into `model` (any albert_nb model).

    require_encoder: fail if a weight of the encoder (`bert/...`) is absent from the checkpoint
    (a wrong pairing of config and checkpoint); heads may always be missing.
    init_from_group0: the original's pretraining option: each weight loads from its own name
    when the checkpoint has it, else (groups > 0 absent from the checkpoint) from group 0's.
    allow_missing_groups: tolerate (and report) absent blocks of groups > 0, for callers that
    copy group 0 themselves afterwards.
    """
    prefix = resolve_checkpoint(path, checkpoint_name)
    shapes = read_variable_shapes(prefix)
    fmt = detect_format(shapes)
    scope = HUB_SCOPE if fmt == "tfhub_tf1" else ""
    entries = _our_entries(model) if fmt == "albert_nb" else tf1_name_map(model)
    encoder_names = ({e.name for e in _our_entries(encoder_of(model))} if fmt == "albert_nb"
                     else {e.name for e in encoder_entries(encoder_of(model))})
    reader = tf.train.load_checkpoint(prefix)
    report = LoadReport(path=prefix, format=fmt)
    for step_key in ("global_step", "global_step" + _OUR_KEY_SUFFIX):
        if step_key in shapes:
            report.global_step = int(read_tensor(reader, prefix, step_key))
    used = set()
    assignments = []
    for entry in entries:
        key = scope + entry.name
        if key not in shapes and init_from_group0:  # the original: own name first, then group 0
            key = scope + group0_name(entry.name)
        if key not in shapes:
            report.missing.append(entry.name)
            continue
        if shapes[key] != entry.checkpoint_shape:
            raise _shape_error(prefix, key, shapes[key], entry.checkpoint_shape, model)
        assignments.append((entry, key))
        used.add(key)
    missing_encoder = [n for n in report.missing if n in encoder_names
                       and not (allow_missing_groups and re.search(r"(?<!inner_)group_[1-9]\d*", n))]
    if require_encoder and missing_encoder:
        raise InputError(
            f"{prefix}: {len(missing_encoder)} encoder weight(s) of this model are not in the "
            f"checkpoint, e.g. {missing_encoder[0]!r}; does the config (num_hidden_groups, "
            "inner_group_num, embedding_size) belong to this checkpoint? (To grow a one-group "
            "checkpoint into more groups, pass --init_from_group0.)")
    for entry, key in assignments:
        value = read_tensor(reader, prefix, key)
        entry.variable.assign(entry.from_checkpoint(value).astype(entry.variable.dtype))
        report.loaded.append(entry.name)
    for name in sorted(shapes):
        if name in used or name == "_CHECKPOINTABLE_OBJECT_GRAPH":
            continue
        if fmt == "albert_nb":   # optimizer, iterator, step and RNG state of a training run
            skip = not name.startswith(_OUR_KEY_PREFIX)
        else:
            skip = is_slot_or_step(name)
        (report.skipped if skip else report.unused).append(name)
    return report


def load_tf1_checkpoint(model, path, checkpoint_name: str | None = None, **kwargs) -> LoadReport:
    """`load_checkpoint` for Google's layout only (refuses albert_nb checkpoints)."""
    report_format = detect_format(read_variable_shapes(resolve_checkpoint(path, checkpoint_name)))
    if report_format == "albert_nb":
        raise InputError(f"{path!r} is an albert_nb checkpoint, not Google's TF1 layout; "
                         "use albert_nb.interop.checkpoints.load_checkpoint")
    return load_checkpoint(model, path, checkpoint_name, **kwargs)


def load_init_checkpoint(model, path, init_from_group0: bool = False) -> LoadReport:
    """The hook `albert_nb.pretraining.trainer.load_init_checkpoint` (and so every CLI's
    `--init_checkpoint`) calls: either format; heads may be missing (a classifier starting from a
    pretrained encoder). Blocks of groups > 0 may be missing only with --init_from_group0, which
    loads group 0's weights into them (groups the checkpoint has keep their own); the original silently left them at their random initialisation,
    which hides a config/checkpoint mismatch, so without the flag that is an error."""
    report = load_checkpoint(model, path, init_from_group0=init_from_group0,
                             allow_missing_groups=init_from_group0)
    logging.info("init_checkpoint: %s", report.summary())
    return report


# ------------------------------------------------------------------------- writing
def tf1_arrays(model) -> dict[str, np.ndarray]:
    """{TF1 name: float32 array} of `model`, in the original's orientation."""
    return {e.name: e.to_checkpoint(np.asarray(e.variable.numpy(), dtype=np.float32))
            for e in tf1_name_map(model)}


def write_tf1_arrays(arrays: dict[str, np.ndarray], prefix) -> str:
    """Write a name-based (TF1-style) checkpoint holding exactly `arrays`' names, atomically.

    `tf.raw_ops.SaveV2` writes tensors under the names given, the same on-disk format TF1's
    Saver produced, with no object graph. The files are written in a temporary folder next to
    the target and renamed into place, data first and `.index` last, so a reader that finds the
    index finds a complete checkpoint.
    """
    prefix = os.fspath(prefix)
    directory = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(directory, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".ckpt-", dir=directory)
    try:
        tmp_prefix = os.path.join(tmp_dir, os.path.basename(prefix))
        names = sorted(arrays)
        tf.raw_ops.SaveV2(prefix=tmp_prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                          tensors=[tf.constant(arrays[n]) for n in names])
        written = sorted(os.listdir(tmp_dir), key=lambda f: f.endswith(".index"))
        for name in written:
            os.replace(os.path.join(tmp_dir, name), os.path.join(directory, name))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return prefix


def save_tf1_checkpoint(model, prefix, global_step: int | None = None) -> str:
    """Write `model`'s weights under Google's TF1 names (no optimizer slots), atomically."""
    arrays = tf1_arrays(model)
    if global_step is not None:
        arrays["global_step"] = np.asarray(global_step, dtype=np.int64)
    return write_tf1_arrays(arrays, prefix)


# ------------------------------------------------------------------ release directories
@dataclasses.dataclass
class Pretrained:
    """A loaded model directory: the model, its tokenizer, config and the load report."""

    model: object
    tokenizer: object
    config: object
    report: LoadReport
    directory: str


HEADS = ("pretraining", "encoder")


def check_vocabulary(config, tokenizer, source: str) -> None:
    """The tokenizer may not produce ids the embedding table lacks."""
    if tokenizer.vocab_size > config.vocab_size:
        source_file = tokenizer.spm_model_file or tokenizer.vocab_file
        raise InputError(f"{source_file}: the tokenizer has {tokenizer.vocab_size} entries but "
                         f"{source} says vocab_size={config.vocab_size}; the vocabulary file and the "
                         "config do not belong together")


def load_pretrained(directory, checkpoint_name: str | None = None, head: str = "pretraining",
                    do_lower_case: bool = True, config=None, vocab_file=None,
                    spm_model_file=None) -> Pretrained:
    """Load a model directory as Google ships it (or as albert_nb writes it).

    Expects `albert_config.json`, a checkpoint (`model.ckpt-best.*` unless `checkpoint_name`),
    and `30k-clean.model` (English) or `vocab_chinese.txt` (Chinese, Google's `albert_*_zh`:
    BERT WordPiece, relu); `vocab_file` / `spm_model_file` override the tokenizer found there,
    and a SentencePiece model given for a Chinese release is refused. Returns the model
    (`AlbertForPretraining` with the `cls/*` heads loaded, or a bare `AlbertModel` for
    head="encoder"), the `FullTokenizer`, the config and the load report.
    """
    if head not in HEADS:
        raise InputError(f"head={head!r}: expected one of {HEADS}")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise InputError(f"model directory not found: {directory!r} (expected the unpacked "
                         "release, e.g. albert_base/ from albert_base_v2.tar.gz)")
    config_path = os.path.join(directory, "albert_config.json")
    if config is None:
        config = AlbertConfig.from_json_file(config_path)
    tokenizer = release_tokenizer(directory, vocab_file, spm_model_file, do_lower_case, config)
    check_vocabulary(config, tokenizer, config_path)
    model = AlbertForPretraining(config) if head == "pretraining" else AlbertModel(config)
    report = load_checkpoint(model, directory, checkpoint_name)
    return Pretrained(model=model, tokenizer=tokenizer, config=config, report=report,
                      directory=directory)

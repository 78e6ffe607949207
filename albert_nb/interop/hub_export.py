"""Writing TF-Hub modules: our model as a TF2 SavedModel with the released modules' signatures
(see albert_nb.interop.tfhub for what a module holds), published without ever destroying
anything: the target must be new, empty, or a module we wrote (never the release directory
it is made from); the module is staged beside the target and put in place with one rename
(an atomic exchange when it replaces a module), and a killed export's leftovers are removed,
or a parked module restored, by the next export to the same path.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import tempfile

import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.interop.checkpoints import load_pretrained
from albert_nb.io_utils import make_temp_dir, remove_stale
from albert_nb.model.heads import AlbertForPretraining
from albert_nb.model.inputs import input_signature
from albert_nb.paths import BEST_NAME

SIGNATURES = ("tokens", "mlm", "sop", "tokenization_info")
CONFIG_ASSET = "albert_config.json"


def build_hub_root(model, tokenizer_files, do_lower_case: bool = True, asset_dir=None):
    """The object `tf.saved_model.save` writes: variables, functions, signatures and assets.

    `model` is an `AlbertForPretraining` (the `mlm` and `sop` signatures need its heads);
    `tokenizer_files` are paths, the first being what `tokenization_info` reports
    (the SentencePiece `.model`, or the WordPiece vocab). `albert_config.json` is written into
    `asset_dir` (a new temporary folder when None); the caller removes it after saving.
    """
    if not isinstance(model, AlbertForPretraining):
        raise InputError(f"export_hub_module needs an AlbertForPretraining (for the mlm and sop "
                         f"signatures), got {type(model).__name__}")
    if not tokenizer_files:
        raise InputError("export_hub_module needs the tokenizer file (30k-clean.model or a vocab)")
    tmp = asset_dir or tempfile.mkdtemp(prefix="albert_hub_assets_")
    config_path = os.path.join(tmp, CONFIG_ASSET)
    model.config.to_json_file(config_path)

    # tf.train.Checkpoint is a plain trackable container: whatever is assigned to it is saved.
    root = tf.train.Checkpoint()
    root.variables = list(model.albert.weights) + [v for v in model.weights
                                                  if not any(v is w for w in model.albert.weights)]
    root.trainable_variables = list(model.albert.trainable_weights)   # what fine-tuning updates
    # Dropout's random-seed states: captured by the training trace, so they must be saved too.
    weight_ids = {id(v) for v in model.weights}
    root.dropout_states = [v for v in model.variables if id(v) not in weight_ids]
    root.regularization_losses = []
    root.config_asset = tf.saved_model.Asset(config_path)
    root.vocab_asset = tf.saved_model.Asset(os.fspath(tokenizer_files[0]))
    root.other_assets = [tf.saved_model.Asset(os.fspath(p)) for p in tokenizer_files[1:]]
    lower = bool(do_lower_case)
    spec = input_signature()
    encoder = model.albert

    @tf.function(input_signature=[spec])
    def tokens(inputs):
        out = encoder(inputs, training=False)
        return {"pooled_output": out["pooled_output"],          # [batch, hidden]
                "sequence_output": out["sequence_output"]}      # [batch, seq, hidden]

    mlm_spec = dict(spec, mlm_positions=tf.TensorSpec([None, None], tf.int32, name="mlm_positions"))

    @tf.function(input_signature=[mlm_spec])
    def mlm(inputs):
        feed = {k: inputs[k] for k in spec}
        feed["masked_lm_positions"] = inputs["mlm_positions"]
        out = model(feed, training=False)
        vocab = tf.shape(out["mlm_logits"])[-1]
        return {"pooled_output": out["pooled_output"], "sequence_output": out["sequence_output"],
                "mlm_logits": tf.reshape(out["mlm_logits"], [-1, vocab])}   # [batch * P, V]

    @tf.function(input_signature=[spec])
    def sop(inputs):
        out = model(inputs, training=False)
        return {"pooled_output": out["pooled_output"], "sequence_output": out["sequence_output"],
                "sop_log_probs": tf.nn.log_softmax(out["sop_logits"], axis=-1)}   # [batch, 2]

    @tf.function(input_signature=[])
    def tokenization_info():
        return {"vocab_file": root.vocab_asset.asset_path,
                "do_lower_case": tf.constant(lower)}

    @tf.function
    def call(inputs, training=False):
        out = encoder(inputs, training=training)
        return {"pooled_output": out["pooled_output"], "sequence_output": out["sequence_output"],
                "embedding_output": out["embedding_output"]}

    # Trace both modes now: a restored tf.function only has the traces saved with it.
    call.get_concrete_function(spec, training=True)
    call.get_concrete_function(spec, training=False)
    root.__call__ = call
    root.tokens, root.mlm, root.sop, root.tokenization_info = tokens, mlm, sop, tokenization_info
    signatures = {"tokens": tokens.get_concrete_function(), "mlm": mlm.get_concrete_function(),
                  "sop": sop.get_concrete_function(),
                  "tokenization_info": tokenization_info.get_concrete_function()}
    return root, signatures, tmp


# Our module's top level: anything else in a directory means it is not (only) a module of ours.
_MODULE_ENTRIES = {"saved_model.pb", "variables", "assets", "fingerprint.pb", "assets.extra"}


def is_our_module(path) -> bool:
    """A TF2 SavedModel with our config asset and nothing else at its top level."""
    path = os.fspath(path)
    return (os.path.isfile(os.path.join(path, "saved_model.pb"))
            and os.path.isfile(os.path.join(path, "assets", CONFIG_ASSET))
            and set(os.listdir(path)) <= _MODULE_ENTRIES)


def check_export_path(export_path, source_dir=None) -> str:
    """Where a module may be written: a new path, an empty folder, or a module we wrote.

    Replacing is how a re-export works, so it is allowed for our own modules only: a file, a
    release directory or any folder of the user's is refused, as is the source directory (or a
    folder holding it), which the replacement would delete.
    """
    export_path = os.path.abspath(os.fspath(export_path))
    if source_dir is not None:
        source = os.path.realpath(os.fspath(source_dir))
        target = os.path.realpath(export_path)
        if source == target or source.startswith(target.rstrip(os.sep) + os.sep):
            raise InputError(f"--export_path={export_path!r} is (or holds) --albert_directory "
                             f"{os.fspath(source_dir)!r}; writing the module there would delete the "
                             "release: expected a new path")
    if os.path.lexists(export_path):
        if not os.path.isdir(export_path) or os.path.islink(export_path):
            raise InputError(f"--export_path={export_path!r} exists and is not a directory; "
                             "expected a new path or a hub module written by export_to_tfhub")
        if os.listdir(export_path) and not is_our_module(export_path):
            raise InputError(f"--export_path={export_path!r} is a directory that is not a hub module "
                             f"written by export_to_tfhub (holds {sorted(os.listdir(export_path))[:5]}); "
                             "refusing to replace it: expected a new path")
    return export_path


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one atomic rename (Linux renameat2 RENAME_EXCHANGE); False if the
    system or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _temp_names(export_path: str) -> dict:
    name = os.path.basename(export_path)
    return {kind: f".{name}.hub-{kind}-" for kind in ("new", "assets", "old")}


def clean_export_leftovers(export_path: str) -> None:
    """Remove what a killed export left beside `export_path` (staging and asset folders of
    processes that are gone, and the earlier layout's `.hub-*` / /tmp/albert_hub_assets_*).
    A replaced module parked as `.<name>.hub-old-*` by the two-rename fallback is put back if
    the kill fell between the two renames, so `export_path` never ends up missing."""
    parent = os.path.dirname(export_path)
    names = _temp_names(export_path)
    if not os.path.lexists(export_path):
        for entry in sorted(os.listdir(parent)):
            if entry.startswith(names["old"]):
                os.replace(os.path.join(parent, entry), export_path)
                break
    for prefix in names.values():
        remove_stale(parent, prefix)
    for entry in os.listdir(parent):   # the earlier layout: .hub-XXXX staging, no owner recorded
        if entry.startswith(".hub-") and not entry.startswith(".hub-old-"):
            remove_stale(parent, ".hub-")
            break
    remove_stale(tempfile.gettempdir(), "albert_hub_assets_")


def publish_module(staging: str, export_path: str) -> None:
    """Put a finished module at `export_path`: one rename, or one exchange with the old module."""
    names = _temp_names(export_path)
    if not os.path.lexists(export_path):
        os.replace(staging, export_path)
        return
    if not os.listdir(export_path):
        os.rmdir(export_path)
        os.replace(staging, export_path)
        return
    if _exchange(staging, export_path):   # staging now holds the old module
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = make_temp_dir(os.path.dirname(export_path), names["old"])
    os.rmdir(old)
    os.replace(export_path, old)           # a kill here: clean_export_leftovers restores it
    os.replace(staging, export_path)
    shutil.rmtree(old, ignore_errors=True)


def export_hub_module(model, export_path, tokenizer_files, do_lower_case: bool = True,
                      use_einsum: bool = True, source_dir=None) -> str:
    """Write `model` as a TF2 hub module at `export_path`, atomically (staging folder, then one
    rename). Refuses to replace anything but one of our modules (see `check_export_path`).

    use_einsum: the original's flag (False removed tf.einsum for TFLite and old TF). Our graph
    never uses einsum (attention is reshape + matmul), so both values give the same module; the
    flag is accepted so the original's command lines run unchanged.
    """
    del use_einsum  # see docstring: the exported graph has no Einsum op either way
    export_path = check_export_path(export_path, source_dir)
    parent = os.path.dirname(export_path)
    os.makedirs(parent, exist_ok=True)
    clean_export_leftovers(export_path)
    names = _temp_names(export_path)
    asset_dir = make_temp_dir(parent, names["assets"])
    staging = None
    try:
        root, signatures, _ = build_hub_root(model, list(tokenizer_files), do_lower_case, asset_dir)
        staging = make_temp_dir(parent, names["new"])
        tf.saved_model.save(root, staging, signatures=signatures)
        fault_point("export_to_tfhub.before_publish")
        publish_module(staging, export_path)
    finally:
        for folder in (staging, asset_dir):
            if folder and os.path.exists(folder):
                shutil.rmtree(folder, ignore_errors=True)
    return export_path


def tokenizer_file_list(tokenizer) -> list[str]:
    """The files a tokenizer needs: [spm .model (+ its .vocab when present)] or [vocab.txt]."""
    if tokenizer.spm_model_file:
        files = [tokenizer.spm_model_file]
        vocab = os.path.splitext(tokenizer.spm_model_file)[0] + ".vocab"
        return files + ([vocab] if os.path.isfile(vocab) else [])
    return [tokenizer.vocab_file]


def export_directory(albert_directory, export_path, checkpoint_name: str = BEST_NAME,
                     do_lower_case: bool = True, use_einsum: bool = True) -> str:
    """What `python -m albert_nb.export_to_tfhub` does: release directory -> hub module."""
    check_export_path(export_path, albert_directory)   # before the (slow) load
    loaded = load_pretrained(albert_directory, checkpoint_name=checkpoint_name,
                             do_lower_case=do_lower_case)
    return export_hub_module(loaded.model, export_path, tokenizer_file_list(loaded.tokenizer),
                             do_lower_case=do_lower_case, use_einsum=use_einsum,
                             source_dir=albert_directory)

"""TF-Hub modules: export our model as a reusable TF2 SavedModel, and load hub modules back.

**What we export** (`export_hub_module`): a TF2 SavedModel with the released ALBERT modules'
signatures, so code written for `tfhub.dev/google/albert_base/3` works on it:

* `tokens`: input_ids, input_mask, segment_ids (int32 [batch, seq]) -> pooled_output [B, H],
  sequence_output [B, T, H];
* `mlm`: the same plus mlm_positions [B, P] -> mlm_logits [B*P, V] (flattened, as the original);
* `sop`: -> sop_log_probs [B, 2] (log-softmax of the sentence-order classifier);
* `tokenization_info`: no inputs -> vocab_file (path of the SentencePiece model asset, or of
  the WordPiece vocab for Chinese models), do_lower_case;
* assets: `albert_config.json` and the tokenizer files;
* the reusable-SavedModel attributes `variables`, `trainable_variables` and a `__call__(inputs,
  training)` with dropout when training, which is what `hub.KerasLayer(..., trainable=True)`
  fine-tunes through.

**The released modules** are in the older TF1 Hub format (`hub.Module`, graph tags {"train"}
and default). TF2 can run their signatures but cannot train them. Their weights are a plain TF1
checkpoint (`variables/variables`) with the `bert/...` names, so `load_module` reads those weights
into our native Keras model, which then fine-tunes like any other.

**Keras 3 vs tf_keras.** `tensorflow_hub.KerasLayer` is a tf_keras (Keras 2) layer; since
TF 2.16 `import keras` is Keras 3 and mixing the two fails (tensorflow/hub#903). Use it in a
process started with `TF_USE_LEGACY_KERAS=1` (tf_keras installed), or use `HubEncoder` here,
a Keras 3 layer over the same SavedModel whose weights are the module's own variables.
Note that tensorflow_hub refuses `trainable=True` together with `signature=...` (signatures
have no training mode); fine-tune through `hub.KerasLayer(path, trainable=True)` (no signature:
it calls `__call__`, which returns the same dict), or through `HubEncoder`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile

import keras

from albert_nb.errors import InputError
from albert_nb.model.inputs import input_signature
from albert_nb.paths import BEST_NAME

SIGNATURES = ("tokens", "mlm", "sop", "tokenization_info")
CONFIG_ASSET = "albert_config.json"
TF1_HUB_MARKER = "tfhub_module.pb"


# ------------------------------------------------------------------------------ export
def build_hub_root(model, tokenizer_files, do_lower_case: bool = True):
    """The object `tf.saved_model.save` writes: variables, functions, signatures and assets.

    `model` is an `AlbertForPretraining` (the `mlm` and `sop` signatures need its heads);
    `tokenizer_files` are paths, the first being what `tokenization_info` reports
    (the SentencePiece `.model`, or the WordPiece vocab).
    """
    import tensorflow as tf

    from albert_nb.model.heads import AlbertForPretraining

    if not isinstance(model, AlbertForPretraining):
        raise InputError(f"export_hub_module needs an AlbertForPretraining (for the mlm and sop "
                         f"signatures), got {type(model).__name__}")
    if not tokenizer_files:
        raise InputError("export_hub_module needs the tokenizer file (30k-clean.model or a vocab)")
    tmp = tempfile.mkdtemp(prefix="albert_hub_assets_")
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


def export_hub_module(model, export_path, tokenizer_files, do_lower_case: bool = True,
                      use_einsum: bool = True) -> str:
    """Write `model` as a TF2 hub module at `export_path`, atomically (temp dir, then rename).

    use_einsum: the original's flag (False removed tf.einsum for TFLite and old TF). Our graph
    never uses einsum (attention is reshape + matmul), so both values give the same module; the
    flag is accepted so the original's command lines run unchanged.
    """
    import tensorflow as tf

    del use_einsum  # see docstring: the exported graph has no Einsum op either way
    export_path = os.path.abspath(os.fspath(export_path))
    parent = os.path.dirname(export_path)
    os.makedirs(parent, exist_ok=True)
    root, signatures, asset_tmp = build_hub_root(model, list(tokenizer_files), do_lower_case)
    staging = tempfile.mkdtemp(prefix=".hub-", dir=parent)
    try:
        tf.saved_model.save(root, staging, signatures=signatures)
        old = None
        if os.path.exists(export_path):
            old = tempfile.mkdtemp(prefix=".hub-old-", dir=parent)
            os.replace(export_path, os.path.join(old, "module"))
        os.replace(staging, export_path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(asset_tmp, ignore_errors=True)
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
    from albert_nb.interop.checkpoints import load_pretrained

    loaded = load_pretrained(albert_directory, checkpoint_name=checkpoint_name,
                             do_lower_case=do_lower_case)
    return export_hub_module(loaded.model, export_path, tokenizer_file_list(loaded.tokenizer),
                             do_lower_case=do_lower_case, use_einsum=use_einsum)


# ------------------------------------------------------------------------------- loading
def resolve_handle(handle) -> str:
    """A local module directory, or a URL/handle that tensorflow_hub downloads (needs network)."""
    handle = os.fspath(handle)
    if os.path.isdir(handle):
        path = handle
    elif re.match(r"^(https?|gs)://", handle) or handle.startswith("@"):
        import tensorflow_hub as hub

        try:
            path = hub.resolve(handle)
        except Exception as err:  # network errors, 404s, bad archives
            raise InputError(f"--albert_hub_module_handle={handle!r}: tensorflow_hub could not fetch "
                             f"it ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
                             "offline, download the module once and pass its local directory") from None
    else:
        raise InputError(f"--albert_hub_module_handle={handle!r}: no such directory, and not a URL")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise InputError(f"--albert_hub_module_handle={handle!r}: {path!r} holds no saved_model.pb "
                         "(expected a TF-Hub module directory)")
    return path


def is_tf1_hub_module(path) -> bool:
    return os.path.isfile(os.path.join(os.fspath(path), TF1_HUB_MARKER))


def _asset(path: str, name: str) -> str | None:
    candidate = os.path.join(path, "assets", name)
    return candidate if os.path.isfile(candidate) else None


def _config_from_assets(path: str):
    from albert_nb.model.config import AlbertConfig

    config_file = _asset(path, CONFIG_ASSET)
    if config_file is None:
        raise InputError(f"hub module {path!r} has no assets/{CONFIG_ASSET}; the model shape is "
                         "unknown (the earliest v1 modules lacked it: google-research/albert#71)")
    return AlbertConfig.from_json_file(config_file)


def tokenizer_from_hub(handle, do_lower_case: bool | None = None):
    """The FullTokenizer a hub module was exported with (the original's `from_hub_module`).

    TF2 modules answer through the `tokenization_info` signature; for TF1-format modules the
    asset folder is read directly (`30k-clean.model`), with do_lower_case defaulting to True.
    """
    from albert_nb.tokenizers.tokenization import FullTokenizer

    path = resolve_handle(handle)
    if is_tf1_hub_module(path):
        vocab = _asset(path, "30k-clean.model") or _asset(path, "vocab_chinese.txt")
        if vocab is None:
            raise InputError(f"TF1 hub module {path!r}: no assets/30k-clean.model or vocab_chinese.txt")
        lower = True if do_lower_case is None else do_lower_case
    else:
        import tensorflow as tf

        obj = tf.saved_model.load(path)
        if "tokenization_info" not in obj.signatures:
            raise InputError(f"hub module {path!r} has no 'tokenization_info' signature "
                             f"(has {sorted(obj.signatures)})")
        info = obj.signatures["tokenization_info"]()
        vocab = info["vocab_file"].numpy().decode("utf-8")
        lower = bool(info["do_lower_case"].numpy()) if do_lower_case is None else do_lower_case
    if vocab.endswith(".model"):
        return FullTokenizer(spm_model_file=vocab, do_lower_case=lower)
    return FullTokenizer(vocab_file=vocab, do_lower_case=lower)


def _variable_name(variable) -> str:
    # "encoder/group_0_inner_group_0/ffn/kernel:0" -> Keras names may not contain "/".
    return variable.name.split(":")[0].replace("/", ".")


class HubEncoder(keras.layers.Layer):
    """A Keras 3 layer over an exported albert_nb hub module, usable wherever an `AlbertModel`
    is (`AlbertForSequenceClassification(config, n, albert=HubEncoder(path))`).

    The module's variables become this layer's weights *as the same objects* (a Keras variable
    wrapping an existing tf.Variable shares its storage), so optimizer updates change exactly
    what the module's functions read, and gradients reach them. Returns the AlbertModel dict
    (sequence_output, pooled_output, embedding_output); dropout follows `training`.
    """

    def __init__(self, handle, trainable: bool = True, name: str = "albert_hub", **kwargs):
        import tensorflow as tf

        super().__init__(trainable=trainable, name=name, **kwargs)
        self.handle = os.fspath(handle)
        path = resolve_handle(handle)
        if is_tf1_hub_module(path):
            raise InputError(f"{handle!r} is a TF1 Hub format module: TF2 cannot train through it. "
                             "Use albert_nb.interop.tfhub.load_module(handle).encoder, which loads its "
                             "weights into a native AlbertModel")
        self.module = tf.saved_model.load(path)
        for attr in ("__call__", "trainable_variables", "variables"):
            if not hasattr(self.module, attr):
                raise InputError(f"hub module {path!r} has no `{attr}`: not a reusable TF2 SavedModel "
                                 "(export it with albert_nb.interop.tfhub.export_hub_module)")
        self.config = _config_from_assets(path)
        trainable_ids = {id(v) for v in self.module.trainable_variables}
        # Keras tracks variables found in list attributes; these wrap, not copy, the module's.
        self.module_weights = [
            keras.Variable(initializer=v, trainable=trainable and id(v) in trainable_ids,
                           name=_variable_name(v), dtype=v.dtype.name)
            for v in self.module.variables if v.dtype.is_floating]
        self.built = True

    def call(self, inputs, training=None):
        import tensorflow as tf

        ids = tf.cast(inputs["input_ids"], tf.int32)                      # [batch, seq]
        feed = {"input_ids": ids,
                "input_mask": tf.cast(inputs["input_mask"], tf.int32) if "input_mask" in inputs
                else tf.ones_like(ids),
                "segment_ids": tf.cast(inputs["segment_ids"], tf.int32) if "segment_ids" in inputs
                else tf.zeros_like(ids)}
        if isinstance(training, tf.Tensor):
            return tf.cond(training, lambda: self.module(feed, training=True),
                           lambda: self.module(feed, training=False))
        return dict(self.module(feed, training=bool(training)))

    @property
    def word_embeddings(self):
        for v in self.module_weights:
            if v.name.endswith("word_embeddings"):
                return v
        return None


@dataclasses.dataclass
class HubModule:
    """A loaded hub handle: `config`, `tokenizer`, and `encoder` (a Keras 3 layer producing the
    AlbertModel dict; a `HubEncoder` for our TF2 modules, a native `AlbertModel` holding the
    weights of a TF1-format released module). `format` is "tf2" or "tf1_hub"."""

    handle: str
    path: str
    format: str
    config: object
    tokenizer: object
    trainable: bool = True
    _encoder: object = None

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = build_encoder(self.path, self.trainable, self.config)
        return self._encoder

    @property
    def signatures(self):
        import tensorflow as tf

        return tf.saved_model.load(self.path).signatures


def build_encoder(path: str, trainable: bool = True, config=None):
    if not is_tf1_hub_module(path):
        return HubEncoder(path, trainable=trainable)
    from albert_nb.interop.checkpoints import load_checkpoint
    from albert_nb.model.modeling import AlbertModel

    config = config or _config_from_assets(path)
    model = AlbertModel(config)
    load_checkpoint(model, os.path.join(path, "variables", "variables"))
    model.trainable = trainable
    return model


def load_module(handle, trainable: bool = True, do_lower_case: bool | None = None) -> HubModule:
    """Resolve and inspect a hub handle (what `--albert_hub_module_handle` does).

    A hub module is code: a TF2 SavedModel's functions run when called and can read and write
    files; load modules only from publishers you trust. (Of a TF1-format module, as Google
    released them, only the variables checkpoint and the assets are read.)
    """
    path = resolve_handle(handle)
    fmt = "tf1_hub" if is_tf1_hub_module(path) else "tf2"
    config = _config_from_assets(path)
    tokenizer = tokenizer_from_hub(path, do_lower_case)
    if tokenizer.vocab_size > config.vocab_size:
        raise InputError(f"hub module {path!r}: tokenizer has {tokenizer.vocab_size} entries but "
                         f"{CONFIG_ASSET} says vocab_size={config.vocab_size}")
    return HubModule(handle=os.fspath(handle), path=path, format=fmt, config=config,
                     tokenizer=tokenizer, trainable=trainable)


def load_hub_encoder(handle, trainable: bool = True):
    """(encoder, tokenizer): the encoder is a Keras 3 layer returning AlbertModel's dict."""
    module = load_module(handle, trainable=trainable)
    return module.encoder, module.tokenizer


def graph_op_types(path) -> set[str]:
    """Every op type in a module's signatures (e.g. to check that no Einsum op is present)."""
    import tensorflow as tf

    obj = tf.saved_model.load(os.fspath(path))
    types = set()
    for fn in obj.signatures.values():
        graph_def = fn.graph.as_graph_def()
        types.update(node.op for node in graph_def.node)
        for function in graph_def.library.function:
            types.update(node.op for node in function.node_def)
    return types


def describe(path) -> dict:
    """Signatures with their input/output specs, for notebooks."""
    import tensorflow as tf

    obj = tf.saved_model.load(os.fspath(path))
    out = {}
    for name, fn in obj.signatures.items():
        inputs = {k: (v.dtype.name, v.shape.as_list()) for k, v in fn.structured_input_signature[1].items()}
        outputs = {k: (v.dtype.name, v.shape.as_list()) for k, v in fn.structured_outputs.items()}
        out[name] = {"inputs": inputs, "outputs": outputs}
    assets = sorted(os.listdir(os.path.join(os.fspath(path), "assets")))
    return {"signatures": out, "assets": assets, "num_variables": len(obj.variables),
            "num_trainable_variables": len(obj.trainable_variables)}


def config_json(path) -> dict:
    with open(os.path.join(os.fspath(path), "assets", CONFIG_ASSET), encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------- tf_keras (Keras 2)
_TF_KERAS_SCRIPT = """
import json, sys, numpy as np, tensorflow as tf, tensorflow_hub as hub
path, inputs_file = sys.argv[1], sys.argv[2]
x = {k: v.astype("int32") for k, v in np.load(inputs_file).items()}
import tf_keras
report = {"keras_version": tf_keras.__version__, "tf_keras_active": tf.keras.__name__.startswith("tf_keras")}
# Feature extraction through the signature, as the original's users wrote it.
layer = hub.KerasLayer(path, signature="tokens", signature_outputs_as_dict=True)
report["pooled_output"] = layer(x)["pooled_output"].numpy().tolist()
try:
    hub.KerasLayer(path, signature="tokens", signature_outputs_as_dict=True, trainable=True)(x)
    report["signature_trainable"] = "allowed"
except ValueError as err:
    report["signature_trainable"] = str(err)
# Fine-tuning: no signature, so KerasLayer calls the module's __call__ (dropout when training).
tuned = hub.KerasLayer(path, trainable=True)
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tuned(x, training=True)["pooled_output"])
grads = tape.gradient(loss, tuned.trainable_weights)
report["trainable_weights"] = len(tuned.trainable_weights)
report["weights_with_gradient"] = sum(g is not None for g in grads)
print("REPORT" + json.dumps(report))
"""


def check_with_tf_keras(module_path, inputs: dict, timeout: int = 300) -> dict:
    """Use the module the tf_keras way (`hub.KerasLayer`) in a child process started with
    TF_USE_LEGACY_KERAS=1, because this process already imported Keras 3 and the two cannot be
    mixed. Returns pooled_output (signature "tokens"), whether trainable=True was accepted with a
    signature, and how many trainable weights got gradients through `__call__`."""
    import subprocess
    import sys

    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        inputs_file = os.path.join(tmp, "inputs.npz")
        np.savez(inputs_file, **{k: np.asarray(v) for k, v in inputs.items()})
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
        result = subprocess.run([sys.executable, "-c", _TF_KERAS_SCRIPT, os.fspath(module_path), inputs_file],
                                capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0 or "REPORT" not in result.stdout:
        raise RuntimeError(f"tf_keras check failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.split("REPORT")[-1])
    report["pooled_output"] = np.asarray(report["pooled_output"], dtype=np.float32)
    return report

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
import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from albert_nb.errors import InputError
from albert_nb.interop.checkpoints import load_checkpoint
from albert_nb.interop.hub_export import (  # noqa: F401
    CONFIG_ASSET,
    SIGNATURES,
    build_hub_root,
    check_export_path,
    clean_export_leftovers,
    export_directory,
    export_hub_module,
    is_our_module,
    publish_module,
    tokenizer_file_list,
)
from albert_nb.interop.hub_inspect import (  # noqa: F401
    TF1_HUB_MARKER,
    TRUST_NOTE,
    _asset,
    _config_from_assets,
    check_weights_match_config,
    is_tf1_hub_module,
    load_saved_model,
    read_saved_model_proto,
    resolve_handle,
    static_tokenization_info,
)
from albert_nb.model.modeling import AlbertModel
from albert_nb.tokenizers.tokenization import FullTokenizer


# ------------------------------------------------------------------------------- loading
def tokenizer_from_hub(handle, do_lower_case: bool | None = None):
    """The FullTokenizer a hub module was exported with (the original's `from_hub_module`).

    Our TF2 modules: the `tokenization_info` answer is read from saved_model.pb (see
    `static_tokenization_info`); a module laid out otherwise is asked through its signature,
    which runs its code. TF1-format modules: the asset folder is read directly
    (`30k-clean.model`), with do_lower_case defaulting to True.
    """
    path = resolve_handle(handle)
    if is_tf1_hub_module(path):
        vocab = _asset(path, "30k-clean.model") or _asset(path, "vocab_chinese.txt")
        if vocab is None:
            raise InputError(f"TF1 hub module {path!r}: no assets/30k-clean.model or vocab_chinese.txt")
        lower = True if do_lower_case is None else do_lower_case
    else:
        static = static_tokenization_info(path)
        if static is not None:
            vocab, lower = static
        else:
            obj = load_saved_model(path)
            if "tokenization_info" not in obj.signatures:
                raise InputError(f"hub module {path!r} has no 'tokenization_info' signature "
                                 f"(has {sorted(obj.signatures)})")
            info = obj.signatures["tokenization_info"]()
            vocab = info["vocab_file"].numpy().decode("utf-8")
            lower = bool(info["do_lower_case"].numpy())
        lower = lower if do_lower_case is None else do_lower_case
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

    A hub handle is code: this loads and runs the module's graph (see TRUST_NOTE).
    """

    def __init__(self, handle, trainable: bool = True, name: str = "albert_hub", **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.handle = os.fspath(handle)
        path = resolve_handle(handle)
        if is_tf1_hub_module(path):
            raise InputError(f"{handle!r} is a TF1 Hub format module: TF2 cannot train through it. "
                             "Use albert_nb.interop.tfhub.load_module(handle).encoder, which loads its "
                             "weights into a native AlbertModel")
        self.module = load_saved_model(path)
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
        """The module's signatures (loading them runs the module's code)."""
        return load_saved_model(self.path).signatures


def build_encoder(path: str, trainable: bool = True, config=None):
    if not is_tf1_hub_module(path):
        return HubEncoder(path, trainable=trainable)

    config = config or _config_from_assets(path)
    model = AlbertModel(config)
    load_checkpoint(model, os.path.join(path, "variables", "variables"))
    model.trainable = trainable
    return model


def load_module(handle, trainable: bool = True, do_lower_case: bool | None = None) -> HubModule:
    """Resolve and inspect a hub handle (what `--albert_hub_module_handle` does).

    A hub handle is code (see TRUST_NOTE): this reads the module's files as data and runs none
    of its functions; `.encoder` loads its graph, which fine-tuning needs.
    """
    path = resolve_handle(handle)
    fmt = "tf1_hub" if is_tf1_hub_module(path) else "tf2"
    config = _config_from_assets(path)
    check_weights_match_config(path, config)
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
    obj = load_saved_model(path)
    types = set()
    for fn in obj.signatures.values():
        graph_def = fn.graph.as_graph_def()
        types.update(node.op for node in graph_def.node)
        for function in graph_def.library.function:
            types.update(node.op for node in function.node_def)
    return types


def describe(path) -> dict:
    """Signatures with their input/output specs, for notebooks."""
    obj = load_saved_model(path)
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

"""Hugging Face ALBERT directories (`config.json` + `model.safetensors`) <-> our Keras models.

Only safetensors are read or written: a `pytorch_model.bin` is a pickle, and unpickling a
downloaded file can run arbitrary code, so directories holding only that are refused with the
one-line conversion recipe.

As in `albert_nb.interop.checkpoints`, one table (`hf_name_map`) serves both directions. Hugging Face
stores every Linear weight as [out, in]; a Keras Dense kernel is [in, out], so dense weights are
transposed on the way in and out. Embedding tables and LayerNorm vectors copy as they are. The
MLM decoder is tied to the word embeddings on both sides, so `predictions.decoder.*` is not
stored (Hugging Face omits it too) and `predictions.bias` is our `output_bias`.

Activation names differ: our "gelu" (the original's tanh approximation) is Hugging Face's
"gelu_new"; `AlbertConfig.from_hf_dict` / `to_hf_dict` translate.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from albert_nb.errors import InputError
from albert_nb.interop.tf1_names import Entry, encoder_of
from albert_nb.io_utils import atomic_path, atomic_write_bytes, atomic_write_json
from albert_nb.model import heads
from albert_nb.model.config import AlbertConfig, read_json_object
from albert_nb.model.heads import AlbertForPretraining
from albert_nb.model.modeling import AlbertModel
from albert_nb.tokenizers.tokenization import FullTokenizer

# safetensors is imported where weights are read or written (deliberately lazy): a Google release
# loads through `from_pretrained` without it, as on a Colab that lacks it.

WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
CONFIG_NAME = "config.json"
SPM_NAME = "spiece.model"
BASE_PREFIX = "albert."


def _linear(prefix: str, layer) -> list[Entry]:
    return [Entry(f"{prefix}.weight", layer.kernel, True), Entry(f"{prefix}.bias", layer.bias)]


def _norm(prefix: str, layer) -> list[Entry]:
    return [Entry(f"{prefix}.weight", layer.gamma), Entry(f"{prefix}.bias", layer.beta)]


def hf_encoder_entries(albert, prefix: str = BASE_PREFIX) -> list[Entry]:
    """Hugging Face state-dict keys of the encoder (`albert.` prefix as in every HF head model)."""
    emb, enc = albert.embeddings, albert.encoder
    p = prefix
    e = [Entry(f"{p}embeddings.word_embeddings.weight", emb.word_embeddings),
         Entry(f"{p}embeddings.position_embeddings.weight", emb.position_embeddings),
         Entry(f"{p}embeddings.token_type_embeddings.weight", emb.token_type_embeddings)]
    e += _norm(f"{p}embeddings.LayerNorm", emb.LayerNorm)
    if enc.embedding_hidden_mapping_in is not None:
        e += _linear(f"{p}encoder.embedding_hidden_mapping_in", enc.embedding_hidden_mapping_in)
    for g, group in enumerate(enc.groups):
        for i, block in enumerate(group):
            b = f"{p}encoder.albert_layer_groups.{g}.albert_layers.{i}"
            for part in ("query", "key", "value", "dense"):
                e += _linear(f"{b}.attention.{part}", getattr(block.attention, part))
            e += _norm(f"{b}.attention.LayerNorm", block.attention.LayerNorm)
            e += _linear(f"{b}.ffn", block.ffn)
            e += _linear(f"{b}.ffn_output", block.ffn_output)
            e += _norm(f"{b}.full_layer_layer_norm", block.full_layer_layer_norm)
    e += _linear(f"{p}pooler", albert.pooler.dense)
    return e


# Our head class -> (Hugging Face class name, its head entries)
def _hf_head(model) -> tuple[str, list[Entry]]:

    if isinstance(model, AlbertModel):
        return "AlbertModel", []
    if isinstance(model, heads.AlbertForPretraining):
        mlm = model.mlm_head
        return "AlbertForPreTraining", (
            [Entry("predictions.bias", mlm.output_bias)]
            + _linear("predictions.dense", mlm.dense) + _norm("predictions.LayerNorm", mlm.LayerNorm)
            + _linear("sop_classifier.classifier", model.sop_head))
    if isinstance(model, heads.AlbertForSequenceClassification):
        return "AlbertForSequenceClassification", _linear("classifier", model.classifier)
    if isinstance(model, heads.AlbertForTokenClassification):
        return "AlbertForTokenClassification", _linear("classifier", model.classifier)
    if isinstance(model, heads.AlbertForMultipleChoice):
        return "AlbertForMultipleChoice", _linear("classifier", model.classifier)
    if isinstance(model, heads.AlbertForQuestionAnswering):
        return "AlbertForQuestionAnswering", _linear("qa_outputs", model.qa_outputs)
    raise InputError(f"{type(model).__name__} has no Hugging Face counterpart (SQuAD 2.0's "
                     "answer-verification head exists only in the original); save its encoder "
                     "(`model.albert`) instead")


def hf_name_map(model) -> tuple[str, list[Entry]]:
    """(Hugging Face architecture name, [Entry(hf_key, variable, transpose)]) for `model`."""
    architecture, head = _hf_head(model)
    prefix = "" if architecture == "AlbertModel" else BASE_PREFIX
    return architecture, hf_encoder_entries(encoder_of(model), prefix) + head


# ------------------------------------------------------------------------- reading
def read_safetensors(directory) -> dict[str, np.ndarray]:
    """All tensors of a HF directory (single file or sharded with an index), as numpy."""
    from safetensors.numpy import load_file

    directory = os.fspath(directory)
    single = os.path.join(directory, WEIGHTS_NAME)
    index = os.path.join(directory, INDEX_NAME)
    if os.path.isfile(single):
        files = [single]
    elif os.path.isfile(index):
        weight_map = read_json_object(index, INDEX_NAME).get("weight_map")
        if (not isinstance(weight_map, dict) or not weight_map
                or not all(isinstance(f, str) and f for f in weight_map.values())):
            raise InputError(f"{index}: expected a non-empty 'weight_map' object of tensor name -> "
                             f"shard file name, got {str(weight_map)[:80]!r}")
        files = [os.path.join(directory, f) for f in sorted(set(weight_map.values()))]
        for shard in files:
            if os.path.dirname(os.path.abspath(shard)) != os.path.abspath(directory):
                raise InputError(f"{index}: shard {os.path.basename(shard)!r} points outside the "
                                 "directory; expected file names beside the index")
            if not os.path.isfile(shard):
                raise InputError(f"{index}: shard {os.path.basename(shard)!r} is missing")
    else:
        pickles = [f for f in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
                   if os.path.isfile(os.path.join(directory, f))]
        hint = (f"; it holds {pickles}, which albert_nb does not read (a .bin is a pickle). Convert "
                "once with transformers: AlbertForPreTraining.from_pretrained(dir)"
                ".save_pretrained(dir, safe_serialization=True)") if pickles else ""
        raise InputError(f"{directory!r}: no {WEIGHTS_NAME} (or {INDEX_NAME}){hint}")
    tensors: dict[str, np.ndarray] = {}
    for path in files:
        try:
            tensors.update(load_file(path))
        except Exception as err:  # safetensors raises SafetensorError / OSError on bad files
            raise InputError(f"{path}: not a readable safetensors file ({type(err).__name__}: {err})") from None
    return tensors


def read_hf_config(directory):
    path = os.path.join(os.fspath(directory), CONFIG_NAME)
    if not os.path.isfile(path):
        raise InputError(f"Hugging Face config not found: {path!r} (expected config.json)")
    data = read_json_object(path, CONFIG_NAME)
    if data.get("model_type", "albert") != "albert":
        raise InputError(f"{path}: model_type is {data.get('model_type')!r}, expected 'albert'")
    return AlbertConfig.from_hf_dict(data, source=path)


@dataclasses.dataclass
class HFLoadReport:
    directory: str
    architecture: str
    loaded: list = dataclasses.field(default_factory=list)
    missing: list = dataclasses.field(default_factory=list)
    unused: list = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.directory} (Hugging Face {self.architecture}): loaded {len(self.loaded)} tensors"
        if self.missing:
            text += f"; missing (left as initialised): {self.missing}"
        if self.unused:
            text += f"; unused: {self.unused}"
        return text

    __str__ = summary


# Keys Hugging Face may store that carry nothing we need: the tied decoder and buffers.
_IGNORED = ("predictions.decoder.weight", "predictions.decoder.bias", "embeddings.position_ids")


def load_hf_weights(model, directory, tensors: dict | None = None) -> HFLoadReport:
    """Copy a HF directory's safetensors into `model`; encoder weights are required, heads not."""
    directory = os.fspath(directory)
    tensors = read_safetensors(directory) if tensors is None else tensors
    architecture, entries = hf_name_map(model)
    # A bare HF AlbertModel stores keys without "albert."; head models with it. Accept both.
    if not any(k.startswith(BASE_PREFIX) for k in tensors):
        tensors = {BASE_PREFIX + k if not k.startswith(("predictions.", "sop_classifier.",
                                                        "classifier.", "qa_outputs."))
                   else k: v for k, v in tensors.items()}
    if architecture == "AlbertModel":
        tensors = {k[len(BASE_PREFIX):] if k.startswith(BASE_PREFIX) else k: v for k, v in tensors.items()}
    report = HFLoadReport(directory=directory, architecture=architecture)
    encoder_keys = {e.name for e in entries[: len(hf_encoder_entries(encoder_of(model)))]}
    pending = []
    for entry in entries:
        if entry.name not in tensors:
            if entry.name in encoder_keys:
                raise InputError(f"{directory}/{WEIGHTS_NAME}: tensor {entry.name!r} is missing; "
                                 "does config.json (num_hidden_groups, inner_group_num) belong to "
                                 "these weights?")
            report.missing.append(entry.name)
            continue
        value = entry.from_checkpoint(np.asarray(tensors[entry.name]))
        want = tuple(int(d) for d in entry.variable.shape)
        if value.shape != want:
            raise InputError(f"{directory}/{WEIGHTS_NAME}: tensor {entry.name!r} has shape "
                             f"{list(np.asarray(tensors[entry.name]).shape)} but the model expects "
                             f"{list(entry.checkpoint_shape)} (config.json vocab_size="
                             f"{encoder_of(model).config.vocab_size}, hidden_size="
                             f"{encoder_of(model).config.hidden_size})")
        pending.append((entry, value))
    for entry, value in pending:
        entry.variable.assign(value.astype(np.float32))
        report.loaded.append(entry.name)
    used = {e.name for e in entries}
    report.unused = sorted(k for k in tensors if k not in used and not k.endswith(_IGNORED))
    return report


@dataclasses.dataclass
class HFPretrained:
    model: object
    tokenizer: object
    config: object
    report: HFLoadReport


_HEAD_CHOICES = ("pretraining", "encoder")


def load_hf_directory(directory, head: str = "pretraining", do_lower_case: bool = True) -> HFPretrained:
    """A Hugging Face ALBERT directory -> our model (`AlbertForPretraining` or, with
    head="encoder", `AlbertModel`), tokenizer (from `spiece.model` if present, else None)."""

    if head not in _HEAD_CHOICES:
        raise InputError(f"head={head!r}: expected one of {_HEAD_CHOICES}")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise InputError(f"Hugging Face model directory not found: {directory!r}")
    config = read_hf_config(directory)
    tensors = read_safetensors(directory)
    model = AlbertForPretraining(config) if head == "pretraining" else AlbertModel(config)
    report = load_hf_weights(model, directory, tensors)
    spm = os.path.join(directory, SPM_NAME)
    tokenizer = FullTokenizer(spm_model_file=spm, do_lower_case=do_lower_case) if os.path.isfile(spm) else None
    if tokenizer is not None and tokenizer.vocab_size > config.vocab_size:
        raise InputError(f"{spm}: {tokenizer.vocab_size} pieces but config.json vocab_size="
                         f"{config.vocab_size}")
    return HFPretrained(model=model, tokenizer=tokenizer, config=config, report=report)


# ------------------------------------------------------------------------- writing
def hf_tensors(model) -> tuple[str, dict[str, np.ndarray]]:
    """(architecture, {hf_key: float32 array}) in Hugging Face's orientation."""
    architecture, entries = hf_name_map(model)
    return architecture, {e.name: e.to_checkpoint(np.asarray(e.variable.numpy(), dtype=np.float32))
                          for e in entries}


def save_hf_directory(model, directory, tokenizer=None) -> str:
    """Write `config.json` + `model.safetensors` (+ `spiece.model` when the tokenizer is a
    SentencePiece one) so `transformers.Albert*.from_pretrained(directory)` loads it."""
    from safetensors.numpy import save_file

    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    architecture, tensors = hf_tensors(model)
    config = encoder_of(model).config.to_hf_dict()
    config["architectures"] = [architecture]
    config.setdefault("tie_word_embeddings", True)
    num_labels = getattr(model, "num_labels", None)
    if num_labels is not None and architecture != "AlbertForMultipleChoice":
        config["num_labels"] = int(num_labels)
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(int(num_labels))}
        config["label2id"] = {f"LABEL_{i}": i for i in range(int(num_labels))}
    with atomic_path(os.path.join(directory, WEIGHTS_NAME)) as tmp:
        save_file(tensors, tmp, metadata={"format": "pt"})
    atomic_write_json(os.path.join(directory, CONFIG_NAME), config)
    spm = getattr(tokenizer, "spm_model_file", None)
    if spm:
        with open(spm, "rb") as handle:
            atomic_write_bytes(os.path.join(directory, SPM_NAME), handle.read())
    return directory

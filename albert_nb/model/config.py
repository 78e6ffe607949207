"""`AlbertConfig`: the original `albert_config.json`, as a small dataclass.

Field names and defaults are the original's (defaults describe xxlarge, except the vocabulary),
so a released `albert_config.json` loads without translation. Keys we do not model
(`net_structure_type`, `gap_size`, `layers_to_keep`, ...) are kept in `extra` and written back,
so a load -> save round trip never loses anything. Hugging Face `config.json` files are read and
written by `from_hf_dict` / `to_hf_dict`, which translate the activation names (see ACTIVATIONS).
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
from typing import Any

from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_write_text
from albert_nb.model.presets import PRESETS

# Our activation names. "gelu" is the tanh approximation, because that is what the original's
# "gelu" computes (Hugging Face calls it "gelu_new"); "gelu_exact" is the erf form.
ACTIVATIONS = ("gelu", "gelu_exact", "relu", "tanh", "linear")
# Hugging Face's name for each of ours (its "gelu" is the erf form), and back, with HF's other
# names of the tanh form.
_OURS_TO_HF = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu", "tanh": "tanh", "linear": "linear"}
_HF_TO_OURS = {hf: ours for ours, hf in _OURS_TO_HF.items()} | {"gelu_pytorch_tanh": "gelu",
                                                                 "gelu_fast": "gelu"}
SHARED_SUBLAYERS = ("", "attention", "ffn")
_INT_FIELDS = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
               "num_hidden_groups", "num_attention_heads", "intermediate_size", "inner_group_num",
               "down_scale_factor", "max_position_embeddings", "type_vocab_size")
_FLOAT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range",
                 "layer_norm_eps", "classifier_dropout_prob")
# A key this close to one of ours is a typo, not a key of another tool: "hiden_size" would
# otherwise leave hidden_size at the xxlarge default of 4096 without a word.
_TYPO_CUTOFF = 0.85
# Largest model we agree to build: 2**33 parameters (32 GiB of float32 weights) is ~40 times
# xxlarge; beyond it a config is a typo (vocab_size=300000000) that would exhaust memory.
MAX_PARAMETERS = 2 ** 33


def _near_miss(key: str, known) -> str | None:
    match = difflib.get_close_matches(key, known, n=1, cutoff=_TYPO_CUTOFF)
    return match[0] if match else None


def _typed(source: str, key: str, value):
    """A JSON value as the field's type, or InputError naming the key and what was expected."""
    if key in _INT_FIELDS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"{source}: {key!r} = {value!r}: expected a positive integer")
    elif key in _FLOAT_FIELDS:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise InputError(f"{source}: {key!r} = {value!r}: expected a number")
        value = float(value)
    return value


def read_json_object(path, what: str = "JSON file") -> dict:
    """A UTF-8 JSON file holding an object; anything else is an InputError naming the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except IsADirectoryError:
        raise InputError(f"{what} {path!r} is a directory; expected a JSON file") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object {{...}}, got {type(data).__name__}")
    return data


@dataclasses.dataclass
class AlbertConfig:
    vocab_size: int
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    down_scale_factor: int = 1
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    # Not in the original JSON (the original hard-codes these); written only when non-default.
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float = 0.1
    # Ours, for the paper's Table 4 ablation: "attention" or "ffn" makes every group reuse
    # group 0's attention (or feed-forward) sub-layers while the other sub-layer stays per group;
    # "" (default) shares whole blocks by groups, as the original does.
    shared_sublayer: str = ""
    # Unknown keys from the file, preserved verbatim for round trips.
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.hidden_act, str):  # the original lower-cases it: "GELU" is gelu
            self.hidden_act = self.hidden_act.lower()
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        for name in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
                     "num_hidden_groups", "num_attention_heads", "intermediate_size",
                     "inner_group_num", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"AlbertConfig.{name} = {value!r}: expected a positive integer")
        if self.hidden_size % self.num_attention_heads:
            raise InputError(
                f"AlbertConfig.hidden_size = {self.hidden_size} is not divisible by "
                f"num_attention_heads = {self.num_attention_heads}")
        if self.num_hidden_groups > self.num_hidden_layers:
            raise InputError(
                f"AlbertConfig.num_hidden_groups = {self.num_hidden_groups} exceeds "
                f"num_hidden_layers = {self.num_hidden_layers}")
        if self.shared_sublayer not in SHARED_SUBLAYERS:
            raise InputError(f"AlbertConfig.shared_sublayer = {self.shared_sublayer!r}: expected "
                             f"one of {SHARED_SUBLAYERS}")
        parameters = self._approximate_parameters()
        if parameters > MAX_PARAMETERS:
            raise InputError(
                f"AlbertConfig describes about {parameters:.3g} parameters (vocab_size="
                f"{self.vocab_size}, embedding_size={self.embedding_size}, hidden_size="
                f"{self.hidden_size}, intermediate_size={self.intermediate_size}); more than "
                f"{MAX_PARAMETERS:.3g} would not fit in memory: is a value mistyped?")
        if self.hidden_act not in ACTIVATIONS:
            raise InputError(f"AlbertConfig.hidden_act = {self.hidden_act!r}: expected one of {ACTIVATIONS}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise InputError(f"AlbertConfig.{name} = {value!r}: expected a probability in [0, 1)")

    def _approximate_parameters(self) -> int:
        """Embeddings + distinct blocks (4H^2 + 2HI) + pooler, before anything is allocated."""
        h, i = self.hidden_size, self.intermediate_size
        embeddings = (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) \
            * self.embedding_size
        return embeddings + self.num_distinct_blocks * (4 * h * h + 2 * h * i) + h * h

    # ------------------------------------------------------------ derived sizes
    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def num_distinct_blocks(self) -> int:
        """How many transformer blocks own parameters (the rest of the depth reuses them)."""
        return self.num_hidden_groups * self.inner_group_num

    def group_of_layer(self, layer_index: int) -> int:
        """The original's rule: layer l runs group int(l * G / L)."""
        return int(layer_index / self.num_hidden_layers * self.num_hidden_groups)

    # ------------------------------------------------------------- conversion
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "AlbertConfig":
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if "vocab_size" not in data:
            raise InputError(f"{source}: missing required key 'vocab_size'")
        known = cls.field_names()
        for key in data:
            if key not in known and key != "extra":
                close = _near_miss(key, known)
                if close is not None and close not in data:
                    raise InputError(f"{source}: unknown key {key!r}; did you mean {close!r}?")
        kwargs = {k: _typed(source, k, v) for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k != "extra"}
        if kwargs.get("hidden_act") is None or kwargs.get("hidden_act") == "":
            kwargs["hidden_act"] = "linear" if "hidden_act" in data else "gelu"
        if not isinstance(kwargs["hidden_act"], str):
            raise InputError(f"{source}: 'hidden_act' = {kwargs['hidden_act']!r}: expected one of "
                             f"{ACTIVATIONS}")
        try:
            return cls(**kwargs, extra=extra)
        except InputError as err:
            raise InputError(f"{source}: {err}") from None
        except TypeError as err:
            raise InputError(f"{source}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        """The original JSON's keys (plus preserved extras); our additions only when changed."""
        data = {name: getattr(self, name) for name in self.field_names()}
        if data["layer_norm_eps"] == 1e-12:
            del data["layer_norm_eps"]
        if data["classifier_dropout_prob"] == 0.1:
            del data["classifier_dropout_prob"]
        if not data["shared_sublayer"]:
            del data["shared_sublayer"]
        data.update(self.extra)
        return data

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json_file(cls, path) -> "AlbertConfig":
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "albert_config.json")
        if not os.path.isfile(path):
            raise InputError(f"config file not found: {path!r} (expected an albert_config.json)")
        data = read_json_object(path, "config")
        if data.get("model_type") == "albert" or "architectures" in data:
            return cls.from_hf_dict(data, source=path)
        return cls.from_dict(data, source=path)

    def to_json_file(self, path) -> None:
        atomic_write_text(path, self.to_json_string())

    def replace(self, **changes) -> "AlbertConfig":
        """A copy with some fields changed (e.g. a smaller vocabulary, dropout off)."""
        unknown = set(changes) - set(self.field_names())
        if unknown:
            raise InputError(f"AlbertConfig.replace: unknown field(s) {sorted(unknown)}")
        return dataclasses.replace(self, **changes, extra=dict(self.extra))

    # ----------------------------------------------------------- Hugging Face
    @classmethod
    def from_hf_dict(cls, data: dict[str, Any], source: str = "config.json") -> "AlbertConfig":
        data = dict(data)
        act = data.get("hidden_act", "gelu_new")
        if not isinstance(act, str) or act not in _HF_TO_OURS:
            raise InputError(f"{source}: hidden_act {act!r} is not an activation ALBERT uses "
                             f"(expected one of {sorted(_HF_TO_OURS)})")
        data["hidden_act"] = _HF_TO_OURS[act]
        return cls.from_dict(data, source=source)

    def to_hf_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.field_names()}
        data.update({k: v for k, v in self.extra.items() if k not in ("architectures", "model_type")})
        data["hidden_act"] = _OURS_TO_HF[self.hidden_act]
        data["model_type"] = "albert"
        data.setdefault("architectures", self.extra.get("architectures", ["AlbertForPreTraining"]))
        data.setdefault("pad_token_id", 0)
        data.setdefault("bos_token_id", 2)
        data.setdefault("eos_token_id", 3)
        return data

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(cls, name: str) -> "AlbertConfig":
        key = name.lower().replace("-", "_")
        if key not in PRESETS:
            raise InputError(f"unknown preset {name!r}: expected one of {sorted(PRESETS)}")
        return cls.from_dict(dict(PRESETS[key]), source=f"preset {name!r}")

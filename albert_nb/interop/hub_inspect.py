"""Reading a TF-Hub module as data: its layout, saved_model.pb as a protocol buffer, its stored
variables' shapes, and the answer of `tokenization_info` where it can be read without running it.

A hub handle is code: a SavedModel's functions are TensorFlow graphs, and graphs can read and
write files (tf.io.write_file, ReadFile, ...). So loading calls no function of the module that
is not needed: the config and the tokenizer come from its assets and its saved_model.pb read
as data; only `load_saved_model` (the encoder, the signatures; asked for explicitly) runs it.
"""
from __future__ import annotations

import os
import re
import warnings

import numpy as np

from albert_nb.errors import InputError
from albert_nb.interop.hub_export import CONFIG_ASSET
from albert_nb.model.config import AlbertConfig
from albert_nb.model.params import count_parameters

# TensorFlow and tensorflow_hub are imported where a module is read (deliberately lazy): handles
# are checked as text first, and tensorflow_hub only under a filter for its pkg_resources warning.

TF1_HUB_MARKER = "tfhub_module.pb"

TRUST_NOTE = ("a hub module is code: its TensorFlow graph runs with your permissions and can "
              "read and write files, so pass only modules you trust")


def resolve_handle(handle) -> str:
    """A local module directory, or a URL/handle that tensorflow_hub downloads (needs network).

    Checks the layout (saved_model.pb, variables/) so a damaged module fails here, in one line.
    """
    handle = os.fspath(handle)
    if os.path.isdir(handle):
        path = handle
    elif re.match(r"^(https?|gs)://", handle) or handle.startswith("@"):
        with warnings.catch_warnings():   # tensorflow_hub's resolver imports pkg_resources
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*pkg_resources.*")
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
    if not os.path.isfile(os.path.join(path, "variables", "variables.index")):
        raise InputError(f"hub module {path!r} has no variables/variables.index: its weights are "
                         "missing (expected saved_model.pb, variables/ and assets/)")
    return path


def is_tf1_hub_module(path) -> bool:
    return os.path.isfile(os.path.join(os.fspath(path), TF1_HUB_MARKER))


def load_saved_model(path):
    """`tf.saved_model.load`, with a damaged module (corrupt saved_model.pb, truncated or
    missing variables) reported in one line naming it. This runs the module's restore graph."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(os.fspath(path))
    except Exception as err:   # DecodeError, DataLossError, NotFoundError, ValueError, ...
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise InputError(f"hub module {os.fspath(path)!r} cannot be loaded: {type(err).__name__}: "
                         f"{message[:300]} (is it damaged or incomplete?)") from None


def read_saved_model_proto(path):
    """The module's saved_model.pb as data (nothing of it runs)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    file = os.path.join(os.fspath(path), "saved_model.pb")
    try:
        with open(file, "rb") as handle:
            proto.ParseFromString(handle.read())
    except Exception as err:   # google.protobuf.message.DecodeError
        raise InputError(f"hub module {os.fspath(path)!r}: saved_model.pb is not a SavedModel "
                         f"({type(err).__name__}: {str(err)[:200]}); is it damaged?") from None
    if not proto.meta_graphs:
        raise InputError(f"hub module {os.fspath(path)!r}: saved_model.pb holds no graph")
    return proto


def static_tokenization_info(path):
    """(vocab file, do_lower_case) of one of our modules, read from saved_model.pb without
    running its `tokenization_info` function: the asset behind the root's `vocab_asset`, and
    the boolean constant of the function's graph. None if the module is not laid out so."""
    meta = read_saved_model_proto(path).meta_graphs[0]
    nodes = meta.object_graph_def.nodes
    children = {c.local_name: c.node_id for c in nodes[0].children} if nodes else {}
    if "vocab_asset" not in children or not nodes[children["vocab_asset"]].HasField("asset"):
        return None
    index = nodes[children["vocab_asset"]].asset.asset_file_def_index
    vocab = os.path.join(os.fspath(path), "assets", meta.asset_file_def[index].filename)
    lower = None
    for function in meta.graph_def.library.function:
        if "tokenization_info" not in function.signature.name:
            continue
        for node in function.node_def:
            value = node.attr["value"].tensor if node.op == "Const" else None
            if value is not None and value.dtype == 10 and value.bool_val:   # DT_BOOL
                lower = bool(value.bool_val[0])
    if lower is None or not os.path.isfile(vocab):
        return None
    return vocab, lower


def _asset(path: str, name: str) -> str | None:
    candidate = os.path.join(path, "assets", name)
    return candidate if os.path.isfile(candidate) else None


def _config_from_assets(path: str):
    config_file = _asset(path, CONFIG_ASSET)
    if config_file is None:
        raise InputError(f"hub module {path!r} has no assets/{CONFIG_ASSET}; the model shape is "
                         "unknown (the earliest v1 modules lacked it: google-research/albert#71)")
    return AlbertConfig.from_json_file(config_file)


def check_weights_match_config(path: str, config) -> None:
    """The module's stored weights must have the shapes `assets/albert_config.json` implies:
    the embedding table [vocab_size, embedding_size], an FFN kernel [hidden, intermediate], and
    as many floats in all as the config's encoder (+ pooler, + pretraining heads for ours)."""
    import tensorflow as tf

    from albert_nb.interop.tf1_names import HUB_SCOPE, is_slot_or_step

    prefix = os.path.join(path, "variables", "variables")
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except Exception as err:
        raise InputError(f"hub module {path!r}: variables/ cannot be read ({type(err).__name__}: "
                         f"{str(err).strip().splitlines()[0][:200] if str(err).strip() else ''})") from None
    if is_tf1_hub_module(path):
        weights = [tuple(v) for k, v in shapes.items()   # the encoder and pooler, bert/...
                   if k.startswith((HUB_SCOPE + "bert/", "bert/")) and not is_slot_or_step(k)]
        expected = count_parameters(config)["total"]
    else:
        weights = [tuple(v) for k, v in shapes.items() if k.startswith("variables/")
                   and k.endswith("VARIABLE_VALUE") and dtypes[k].is_floating]
        expected = count_parameters(config, include_pretraining_heads=True)["total"]
    found = int(sum(np.prod(s, dtype=np.int64) for s in weights))
    wanted = [((config.vocab_size, config.embedding_size), "vocab_size x embedding_size"),
              ((config.hidden_size, config.intermediate_size), "hidden_size x intermediate_size")]
    for shape, what in wanted:
        if shape not in weights:
            raise InputError(f"hub module {path!r}: assets/{CONFIG_ASSET} implies a weight of shape "
                             f"{list(shape)} ({what}) but the module has none; the config does not "
                             "belong to these weights")
    if found != expected:
        raise InputError(f"hub module {path!r}: its weights hold {found} values but "
                         f"assets/{CONFIG_ASSET} implies {expected}; the config does not belong to "
                         "these weights")

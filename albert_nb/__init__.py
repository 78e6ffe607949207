"""albert-nb: a notebook-centric teaching workbench for ALBERT (A Lite BERT) in Keras 3.

The public names below load on first use, so `python -m albert_nb.<tool> --help` and the
walkthrough runner start without importing TensorFlow.
"""
import importlib as _importlib
import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_EXPORTS = {
    "AlbertConfig": "albert_nb.config",
    "InputError": "albert_nb.errors",
    "AlbertModel": "albert_nb.modeling",
    "AlbertForPretraining": "albert_nb.heads",
    "AlbertForSequenceClassification": "albert_nb.heads",
    "AlbertForTokenClassification": "albert_nb.heads",
    "AlbertForQuestionAnswering": "albert_nb.heads",
    "AlbertForQuestionAnsweringV2": "albert_nb.heads",
    "AlbertForMultipleChoice": "albert_nb.heads",
    "FullTokenizer": "albert_nb.tokenization",
    "InputExample": "albert_nb.glue",
    "get_task": "albert_nb.tasks",
    "write_submission": "albert_nb.tasks",
}
_PACKAGE_DIR = _os.path.dirname(__file__)
_SUBMODULES = tuple(sorted(
    name[:-3] for name in _os.listdir(_PACKAGE_DIR) if name.endswith(".py") and not name.startswith("_")))
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"albert_nb.{name}")
    else:
        raise AttributeError(f"module 'albert_nb' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))

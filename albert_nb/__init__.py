"""albert-nb: a notebook-centric teaching workbench for ALBERT (A Lite BERT) in Keras 3.

The public names below load on first use, so `python -m albert_nb.<tool> --help` and the
walkthrough runner start without importing TensorFlow.
"""
import importlib as _importlib

from albert_nb import _quiet  # noqa: E402

_quiet.install()   # log levels and the start-up banner filter, before TensorFlow can load

from albert_nb._lazy import lazy_submodules  # noqa: E402  (after the environment is set)

__version__ = "0.1.0"

_EXPORTS = {
    "AlbertConfig": "albert_nb.model.config",
    "InputError": "albert_nb.errors",
    "AlbertModel": "albert_nb.model.modeling",
    "AlbertForPretraining": "albert_nb.model.heads",
    "AlbertForSequenceClassification": "albert_nb.model.heads",
    "AlbertForTokenClassification": "albert_nb.model.heads",
    "AlbertForQuestionAnswering": "albert_nb.model.heads",
    "AlbertForQuestionAnsweringV2": "albert_nb.model.heads",
    "AlbertForMultipleChoice": "albert_nb.model.heads",
    "FullTokenizer": "albert_nb.tokenizers.tokenization",
    "InputExample": "albert_nb.tasks.glue",
    "get_task": "albert_nb.tasks.registry",
    "write_submission": "albert_nb.tasks.registry",
    "from_pretrained": "albert_nb.interop.pretrained",
}
__all__ = sorted(_EXPORTS)
_submodule, _submodules = lazy_submodules(__name__, __file__)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
    else:
        value = _submodule(name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_submodules()))

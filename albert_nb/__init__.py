"""albert-nb: a notebook-centric teaching workbench for ALBERT (A Lite BERT) in Keras 3."""
import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from albert_nb.config import AlbertConfig  # noqa: E402
from albert_nb.errors import InputError  # noqa: E402
from albert_nb.heads import (  # noqa: E402
    AlbertForMultipleChoice,
    AlbertForPretraining,
    AlbertForQuestionAnswering,
    AlbertForQuestionAnsweringV2,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
)
from albert_nb.modeling import AlbertModel  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "AlbertConfig", "AlbertModel", "InputError", "AlbertForPretraining",
    "AlbertForSequenceClassification", "AlbertForTokenClassification",
    "AlbertForQuestionAnswering", "AlbertForQuestionAnsweringV2", "AlbertForMultipleChoice",
]

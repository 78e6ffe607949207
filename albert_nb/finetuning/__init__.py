"""Fine-tuning on labelled tasks: options, feature caches with dynamic padding, the classifier trainer."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

"""Other people's files: Google's TF1 checkpoints, TF-Hub modules, Hugging Face directories."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

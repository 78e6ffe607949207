"""The model: config, presets, layers, the encoder, every head, exact parameter counts."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

"""Task knowledge: the registry, GLUE/CLUE readers, metrics, real sentiment data."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

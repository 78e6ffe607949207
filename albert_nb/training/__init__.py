"""What every trainer shares: the loop, optimizers, distribution and precision."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

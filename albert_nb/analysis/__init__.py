"""Reading a trained model: attention statistics that know ALBERT's shared blocks."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

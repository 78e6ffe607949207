"""Real text that installs from packages (CPython docs, Wikipedia slice, Jane Austen, Chinese classics) and its sentence splitting."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

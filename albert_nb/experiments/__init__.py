"""Experiments that test a claim by training: learning curves (05), the paper's claims (09)."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

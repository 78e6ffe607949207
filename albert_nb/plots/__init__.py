"""Figures (plotly) for the notebooks. Only notebooks and plots/ itself import from here."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

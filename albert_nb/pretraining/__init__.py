"""Pretraining: masking, instances, TFRecords, create_pretraining_data, objectives, trainer, the tiny model."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

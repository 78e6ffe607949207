"""Tokenizers: SentencePiece (the original's FullTokenizer), Chinese WordPiece, vocabulary training."""
from albert_nb._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __file__)

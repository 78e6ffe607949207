"""The files of a release directory besides the checkpoint: albert_config.json and the
tokenizer (SentencePiece `30k-clean.*` for English, WordPiece `vocab_chinese.txt` for Chinese).
No TensorFlow: the download and export paths use this before any model is built.
"""
from __future__ import annotations

import os

from albert_nb.io_utils import atomic_write_bytes

TOKENIZER_FILES = ("30k-clean.model", "30k-clean.vocab", "vocab_chinese.txt", "vocab.txt")


def copy_release_files(source_dir, target_dir, tokenizer=None, overwrite: bool = True,
                       kept: list | None = None) -> list[str]:
    """Copy albert_config.json and the tokenizer files, atomically; returns the names copied.

    overwrite=False leaves a *different* file of the same name in target_dir alone (its name is
    appended to `kept`); an identical one counts as copied.
    """
    copied = []
    names = ["albert_config.json", *TOKENIZER_FILES]
    extra = [p for p in (getattr(tokenizer, "spm_model_file", None),
                         getattr(tokenizer, "vocab_file", None)) if p]
    sources = [os.path.join(source_dir, n) for n in names] + extra
    for src in sources:
        dst = os.path.join(target_dir, os.path.basename(src))
        if os.path.isfile(src) and os.path.basename(src) not in copied:
            if os.path.abspath(src) != os.path.abspath(dst):
                with open(src, "rb") as handle:
                    data = handle.read()
                if not overwrite and os.path.isfile(dst):
                    with open(dst, "rb") as handle:
                        if handle.read() != data:
                            if kept is not None:
                                kept.append(os.path.basename(dst))
                            continue
                atomic_write_bytes(dst, data)
            copied.append(os.path.basename(src))
    return copied

"""Where the workbench keeps what it builds (corpora, vocabularies, checkpoints).

Nothing derived from third-party text is committed, so every artifact lives under one
home folder that notebooks share: `$ALBERT_NB_HOME`, else `build/` of a source checkout,
else `~/.cache/albert_nb`.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The original's checkpoint names: model.ckpt-<step> per save, model.ckpt-best for the release.
CHECKPOINT_NAME = "model.ckpt"
BEST_NAME = "model.ckpt-best"
REPO_ROOT = PACKAGE_DIR.parent


def home() -> Path:
    env = os.environ.get("ALBERT_NB_HOME")
    if env:
        root = Path(env)
    elif (REPO_ROOT / "pyproject.toml").is_file():
        root = REPO_ROOT / "build"
    else:
        root = Path.home() / ".cache" / "albert_nb"
    root.mkdir(parents=True, exist_ok=True)
    return root


def artifact_dir(name: str) -> Path:
    """A named sub-folder of home(), created on demand (e.g. "tiny_pretrained")."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The repository's small, project-written data (fixtures in official layouts)."""
    return REPO_ROOT / "data"

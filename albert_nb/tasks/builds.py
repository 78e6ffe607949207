"""Task folders built at run time from installed real text: rebuilt only when the request changes.

Every builder (`albert_nb.tasks.sentiment`, `.peoples_daily_ner`, `.idioms`) writes its files
into a temporary sibling folder, then `manifest.json` (the request that made it, the source,
the counts), then swaps the folder into place, so a reader never sees half a data set and an
interrupted build leaves the previous one. A folder whose manifest holds the same request is
reused as it is.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from albert_nb.io_utils import atomic_write_json


def is_current(folder: Path, request: dict) -> bool:
    try:
        with open(folder / "manifest.json", encoding="utf-8") as handle:
            return json.load(handle).get("request") == request
    except (OSError, ValueError):
        return False


def publish(tmp: Path, folder: Path) -> None:
    """Swap the finished temporary folder in place of `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


def build_folder(data_dir, task_folder: str, request: dict, write) -> Path:
    """`data_dir/task_folder`, reused when current, else made by `write(tmp_folder) -> dict`
    (what the manifest records besides the request). Returns the task folder."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = data_dir / task_folder
    if is_current(folder, request):
        return folder
    tmp = Path(tempfile.mkdtemp(prefix=f".{task_folder}.", dir=data_dir))
    os.chmod(tmp, 0o755)                                   # mkdtemp makes it private (0700)
    try:
        info = write(tmp)
        atomic_write_json(tmp / "manifest.json", {"request": request, **info})
        publish(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder

"""Atomic file output: write to a temporary sibling, then rename.

A crash or kill -9 mid-write leaves the previous file (or nothing), never half a file. The
temporary sibling is named `.<name>.<pid>-<random>.tmp`, so the next write of the same output
can tell a leftover of a killed process (its pid is gone) from a concurrent writer's file and
removes it (`remove_stale`); kill -9 cannot run cleanup code, so the next run has to.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile

from albert_nb.errors import InputError

# mkstemp creates 0600 files; outputs should get the usual permissions (0666 minus the umask).
_UMASK = os.umask(0)
os.umask(_UMASK)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's live process
        return True
    return True


def temp_prefix(prefix: str) -> str:
    """`prefix` plus this process's id, for names `remove_stale` can judge."""
    return f"{prefix}{os.getpid()}-"


def remove_stale(directory, prefix: str, suffix: str = "") -> list[str]:
    """Delete `<prefix><pid>-*<suffix>` entries of `directory` whose process is gone.

    Entries with no pid after the prefix (written before names carried one) count as stale.
    Returns the removed paths. Only names of our own making are touched.
    """
    directory = os.fspath(directory)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(suffix)) or name == prefix:
            continue
        match = re.match(r"(\d+)-", name[len(prefix):])
        if match and _pid_alive(int(match.group(1))):
            continue
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
    return removed


def _temp_sibling(path: str) -> tuple[int, str]:
    """A new temp file beside `path`, after removing killed processes' temps of the same name."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    if os.path.isdir(path):
        raise InputError(f"{path!r} is a directory; expected a file path to write")
    prefix = f".{os.path.basename(path)}."
    remove_stale(directory, prefix, ".tmp")
    return tempfile.mkstemp(prefix=temp_prefix(prefix), suffix=".tmp", dir=directory)


def _publish(tmp: str, path: str) -> None:
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)


@contextlib.contextmanager
def _staged(path):
    """(fd, name) of a temp file beside `path`: renamed over `path` when the block ends cleanly,
    removed when it raises (a kill leaves it for the next writer's `remove_stale`)."""
    path = os.fspath(path)
    fd, tmp = _temp_sibling(path)
    try:
        yield fd, tmp
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temp file next to `path`; on clean exit fsync and rename it over `path`."""
    binary = "b" in mode
    with _staged(path) as (fd, _), os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path, obj, indent: int = 2, sort_keys: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path for tools that insist on writing by filename; rename on success."""
    with _staged(path) as (fd, tmp):
        os.close(fd)
        yield tmp


def make_temp_dir(parent, prefix: str) -> str:
    """A staging folder `<parent>/<prefix><pid>-XXXX` with normal permissions (mkdtemp's 0700
    would be renamed into place with it), after removing killed processes' leftovers."""
    parent = os.fspath(parent)
    os.makedirs(parent, exist_ok=True)
    remove_stale(parent, prefix)
    path = tempfile.mkdtemp(prefix=temp_prefix(prefix), dir=parent)
    os.chmod(path, 0o777 & ~_UMASK)
    return path

"""Unpacking a release tarball without trusting it.

A tarball names its own paths, so a hostile (or just broken) one can try to write outside the
folder it is unpacked into: an absolute name (`/etc/...`), a `..` component, a symbolic or hard
link that points out, a device node. Google's releases hold only regular files and folders, so
anything else is refused *before* a single byte is written, with one line naming the member.
Python's `tarfile` "data" filter (PEP 706) then checks every member again while extracting
(and drops set-uid bits and the like): two independent guards.

Unpacking goes into a temporary folder next to the target and is renamed into place only once
complete, so the cache never holds half an archive; a failure (a refused member, a truncated
file, a full disk) removes the temporary folder.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import os
import shutil
import tarfile
import tempfile
import zlib

from albert_nb.errors import InputError
from albert_nb.interop.release_files import TOKENIZER_FILES
from albert_nb.io_utils import atomic_path
from albert_nb.paths import BEST_NAME

CONFIG_NAME = "albert_config.json"


def _refusal(member: tarfile.TarInfo) -> str | None:
    """Why `member` may not be unpacked, or None when it is a plain file or folder inside."""
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return f"absolute path {member.name!r}"
    if ".." in name.split("/"):
        return f"path {member.name!r} leaves the target folder ('..')"
    if member.issym() or member.islnk():
        return f"link {member.name!r} -> {member.linkname!r} (releases hold only files and folders)"
    if not (member.isfile() or member.isdir()):
        return f"special member {member.name!r} (device, fifo or other non-file)"
    return None


def check_members(archive: str, members) -> list[tarfile.TarInfo]:
    """Raise InputError for the first member that is not a plain file or folder inside."""
    members = list(members)
    for member in members:
        why = _refusal(member)
        if why:
            raise InputError(f"{archive}: refusing to unpack {why}; nothing was extracted")
    return members


def _open(archive: str) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise InputError(f"{archive}: not a readable tar archive ({type(err).__name__}: {err}); "
                         "download it again (--force)") from None


def find_model_folder(root: str, expected: str | None = None) -> str:
    """The folder of an unpacked release that holds `albert_config.json`.

    Google's tarballs hold one folder (`albert_base/` for albert_base_v2.tar.gz); `expected`
    names it. A mirror that re-packed the files flat, or under another name, is accepted when
    exactly one folder (or the root itself) holds the config. A hub module keeps the config in
    `assets/`; its folder is the one with `saved_model.pb`.
    """
    if expected and os.path.isfile(os.path.join(root, expected, CONFIG_NAME)):
        return os.path.join(root, expected)
    found = set()
    for dirpath, _, files in os.walk(root):
        if CONFIG_NAME in files:
            parent = os.path.dirname(dirpath)
            module = os.path.basename(dirpath) == "assets" and os.path.isfile(
                os.path.join(parent, "saved_model.pb"))
            found.add(parent if module else dirpath)
    if len(found) == 1:
        return found.pop()
    what = "several" if found else "no"
    raise InputError(f"the archive holds {what} {CONFIG_NAME} "
                     f"({sorted(os.path.relpath(f, root) for f in found)}); expected one release "
                     "folder" + (f" ({expected}/)" if expected else ""))


def safe_extract(archive, target_dir, expected_folder: str | None = None,
                 before_publish=None) -> str:
    """Unpack `archive` and move its model folder to `target_dir`, atomically.

    Returns `target_dir`. `before_publish(folder)` runs on the complete folder just before the
    rename (to stamp it). An existing `target_dir` is replaced only after the new one is
    complete (so a reader sees the old or the new release, never a mix).
    """
    archive, target_dir = os.fspath(archive), os.path.abspath(os.fspath(target_dir))
    parent = os.path.dirname(target_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target_dir)}.unpack-", dir=parent)
    try:
        with _open(archive) as tar:
            try:
                members = check_members(archive, tar.getmembers())
                tar.extractall(staging, members=members, filter="data")
            except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:  # truncated
                raise InputError(f"{archive}: the archive is damaged ({type(err).__name__}: "
                                 f"{err}); download it again (--force)") from None
        folder = find_model_folder(staging, expected_folder)
        if before_publish is not None:
            before_publish(folder)
        _replace_dir(folder, target_dir)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InputError(f"disk full while unpacking {archive} into {parent}; free space or "
                             "pass another --cache_dir (nothing was kept)") from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target_dir


def _replace_dir(source: str, target: str) -> None:
    """Rename `source` onto `target`; an old `target` is moved aside first and then removed."""
    old = None
    if os.path.exists(target):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
        os.replace(target, os.path.join(old, "release"))
    try:
        os.replace(source, target)
    except BaseException:
        if old:   # put the previous release back
            with contextlib.suppress(OSError):
                os.replace(os.path.join(old, "release"), target)
        raise
    finally:
        if old:
            shutil.rmtree(old, ignore_errors=True)


def release_files(folder) -> list[str]:
    """The files of a release folder that a tarball carries: config, checkpoint, tokenizer."""
    names = sorted(os.listdir(folder))
    keep = {CONFIG_NAME, *TOKENIZER_FILES}
    return [n for n in names if n in keep or n.startswith(BEST_NAME + ".")]


def pack_release(folder, archive, folder_name: str) -> str:
    """Write `archive` (.tar.gz) in Google's layout: `folder_name/` holding the release files of
    `folder` (albert_config.json, model.ckpt-best.*, the tokenizer), atomically."""
    folder, archive = os.fspath(folder), os.fspath(archive)
    names = release_files(folder)
    if CONFIG_NAME not in names:
        raise InputError(f"{folder!r} holds no {CONFIG_NAME}: not a release folder")
    with atomic_path(archive) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for name in names:
            tar.add(os.path.join(folder, name), arcname=f"{folder_name}/{name}")
    return archive

"""Downloading a release the way a well-kept library does: streamed, resumable, verified, locked.

`fetch(url, path)` leaves either the complete, verified file at `path` or nothing there:

* the bytes stream into `<path>.part` with a tqdm bar; an interrupted transfer is resumed with an
  HTTP `Range` request (guarded by `If-Range`, so a file that changed on the server restarts
  from zero instead of being spliced), automatically up to `retries` times, and again on the
  next call;
* the result is checked against the server's length, the size and sha256 the release table
  knows, and otherwise its sha256 is recorded in `<path>.json` and checked whenever the file is
  reused;
* only then is it renamed onto `path`; a checksum mismatch deletes the partial file;
* a lock file serialises two processes fetching the same file (the second waits, then finds
  it done).

`unpack_release` adds the cache: the unpacked folder carries a stamp (`.albert_nb_release.json`,
written before the folder is renamed into place) listing every file and its size; when the
stamp checks out, the release is reused without a single network request.

Failures raise `DownloadError`, an `InputError`, so the CLIs print one line and exit 2: offline,
DNS failure, HTTP errors such as 404, a transfer cut short, a checksum mismatch, a full disk.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from albert_nb.errors import InputError
from albert_nb.interop import archives
from albert_nb.io_utils import atomic_write_json

# fcntl / msvcrt are imported where the lock is taken: which one exists depends on the platform.

CHUNK = 1 << 20
STAMP = ".albert_nb_release.json"
OFFLINE_HINT = "download it once where there is network and pass the directory"


class DownloadError(InputError):
    """A download or unpack that could not complete; the message says what to do next."""


def default_cache_dir() -> Path:
    """`$ALBERT_NB_HOME/models`, else `~/.cache/albert_nb/models` (shared by every checkout)."""
    home = os.environ.get("ALBERT_NB_HOME")
    root = Path(home) if home else Path.home() / ".cache" / "albert_nb"
    return root / "models"


# ------------------------------------------------------------------------------ locking
@contextlib.contextmanager
def file_lock(path, what: str = ""):
    """Hold an exclusive lock on `path` (created if missing) for the duration of the block."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:   # Windows: msvcrt locks a byte range of the same file
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process to finish {what or path}", flush=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ------------------------------------------------------------------------------ helpers
def sha256_of(path, chunk: int = CHUNK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _remove(*paths) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f} MB"


def network_error(url: str, err: BaseException) -> DownloadError:
    """One line for a failed request: what happened to which URL, and what to do."""
    host = urllib.parse.urlsplit(url).hostname or url
    if isinstance(err, urllib.error.HTTPError):
        hint = ("check the name (python -m albert_nb.download --list) and the mirror "
                "(ALBERT_NB_MODELS_URL / --base_url)") if err.code in (403, 404, 410) else "try again later"
        return DownloadError(f"{url}: HTTP {err.code} {err.reason}; {hint}")
    reason = getattr(err, "reason", err)
    if isinstance(reason, socket.gaierror):
        return DownloadError(f"{url}: cannot resolve host {host!r} (offline or DNS failure); "
                             f"{OFFLINE_HINT}, or point ALBERT_NB_MODELS_URL at a mirror")
    if isinstance(reason, ssl.SSLError):
        return DownloadError(f"{url}: TLS error talking to {host!r} ({reason}); check the clock, "
                             "proxy and certificates, or use a mirror")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return DownloadError(f"{url}: no answer from {host!r} (timed out); {OFFLINE_HINT}")
    if isinstance(reason, OSError):
        return DownloadError(f"{url}: cannot connect to {host!r} ({reason.strerror or reason}; "
                             f"offline?); {OFFLINE_HINT}")
    return DownloadError(f"{url}: {type(err).__name__}: {err}; {OFFLINE_HINT}")


def _disk_full(url: str, path: str, needed: int | None) -> DownloadError:
    return DownloadError(f"disk full while downloading {url} into {os.path.dirname(path)} "
                         f"({_mb(needed)} needed); free space or pass --cache_dir on another disk "
                         "(the partial file was removed)")


# ------------------------------------------------------------------------------ fetch
def _open(url: str, offset: int, validator: str | None, timeout: float):
    headers = {"User-Agent": "albert-nb (python urllib)", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _plan(response, offset: int) -> tuple[int, int | None] | None:
    """(where this response's body starts, total size or None) from its status and headers;
    None for a partial answer that does not start where our file ends (then we restart)."""
    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")   # bytes 100-999/1000
        try:
            span, total = content_range.split(" ", 1)[1].split("/")
            start = int(span.split("-")[0])
        except (IndexError, ValueError):
            return None
        if start != offset:
            return None
        return offset, None if total.strip() == "*" else int(total)
    length = response.headers.get("Content-Length")
    return 0, None if length is None else int(length)   # 200: the whole file, from byte 0


def _stream(url: str, part: str, response, start: int, total: int | None, progress: bool,
            digest) -> int:
    """Append the body to `part` (truncated first when start == 0); returns bytes on disk."""
    mode = "ab" if start else "wb"
    done = start
    with open(part, mode) as out, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                       unit_divisor=1024, desc=os.path.basename(url.split("?")[0]),
                                       disable=not progress, leave=False) as bar:
        while True:
            block = response.read(CHUNK)
            if not block:
                break
            try:
                out.write(block)
            except OSError as err:
                if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise _disk_full(url, part, total) from None
                raise
            digest.update(block)
            done += len(block)
            bar.update(len(block))
        out.flush()
        os.fsync(out.fileno())
    return done


def _verify(url: str, path: str, got_size: int, got_sha: str, size: int | None,
            sha256: str | None) -> None:
    if size is not None and got_size != size:
        raise DownloadError(f"{url}: got {got_size} bytes but the release table says {size}; "
                            "the file on the server is not the release (a proxy or a wrong mirror?); "
                            "nothing was kept")
    if sha256 is not None and got_sha != sha256.lower():
        raise DownloadError(f"{url}: checksum mismatch (sha256 {got_sha[:16]}..., expected "
                            f"{sha256[:16]}...); the file is not the release (a proxy or a wrong "
                            "mirror?); nothing was kept")


def _reuse(url: str, path: str, meta_path: str, size: int | None, sha256: str | None) -> dict | None:
    """The record of a finished download at `path` if it still checks out, else None."""
    if not os.path.isfile(path):
        return None
    meta = _read_json(meta_path) or {}
    got_size, got_sha = os.path.getsize(path), sha256_of(path)
    recorded = meta.get("sha256")
    if recorded and recorded != got_sha:
        raise DownloadError(f"{path}: the cached download changed since it was fetched from "
                            f"{meta.get('url', url)} (sha256 {got_sha[:16]}... != recorded "
                            f"{recorded[:16]}...); pass --force to fetch it again")
    _verify(url, path, got_size, got_sha, size, sha256)
    record = {"url": meta.get("url", url), "size": got_size, "sha256": got_sha}
    if meta != record:
        atomic_write_json(meta_path, record)
    return record


def fetch(url: str, path, *, sha256: str | None = None, size: int | None = None,
          force: bool = False, progress: bool = True, retries: int = 2,
          timeout: float = 60.0) -> dict:
    """Download `url` to `path` (see the module docstring); returns {url, size, sha256, path}."""
    path = os.path.abspath(os.fspath(path))
    part, part_meta, meta_path = path + ".part", path + ".part.json", path + ".json"
    with file_lock(path + ".lock", what=f"downloading {url}"):
        if force:
            _remove(path, meta_path, part, part_meta)
        record = _reuse(url, path, meta_path, size, sha256)
        if record:
            return dict(record, path=path)
        info = _read_json(part_meta) or {}
        if info.get("url") != url:   # a partial file from another URL is useless
            _remove(part, part_meta)
            info = {}
        cut = None
        for _ in range(retries + 1):
            offset = os.path.getsize(part) if os.path.exists(part) else 0
            try:
                response = _open(url, offset, info.get("validator"), timeout)
            except urllib.error.HTTPError as err:
                if err.code == 416 and offset:   # our partial file no longer fits: restart
                    _remove(part, part_meta)
                    info = {}
                    continue
                raise network_error(url, err) from None
            except (urllib.error.URLError, OSError) as err:
                raise network_error(url, err) from None
            with response:
                plan = _plan(response, offset)
                if plan is None:
                    _remove(part, part_meta)
                    info = {}
                    continue
                start, total = plan
                digest = hashlib.sha256()
                if start:   # resuming: the hash covers the bytes already on disk too
                    with open(part, "rb") as handle:
                        for block in iter(lambda: handle.read(CHUNK), b""):
                            digest.update(block)
                validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                info = {"url": url, "validator": validator, "total": total or info.get("total")}
                atomic_write_json(part_meta, info)
                try:
                    done = _stream(url, part, response, start, total, progress, digest)
                except DownloadError:
                    _remove(part, part_meta)
                    raise
                except (http.client.IncompleteRead, ConnectionError, TimeoutError, socket.timeout,
                        ssl.SSLError, OSError) as err:
                    done = os.path.getsize(part) if os.path.exists(part) else 0
                    cut = f"{type(err).__name__}"
                    continue
            expected_total = total if total is not None else info.get("total")
            if expected_total is not None and done < expected_total:
                cut = "connection closed early"
                continue
            got_sha = digest.hexdigest()
            try:
                _verify(url, path, done, got_sha, size, sha256)
            except DownloadError:
                _remove(part, part_meta)
                raise
            os.replace(part, path)
            record = {"url": url, "size": done, "sha256": got_sha}
            atomic_write_json(meta_path, record)
            _remove(part_meta)
            return dict(record, path=path)
        have = os.path.getsize(part) if os.path.exists(part) else 0
        raise DownloadError(f"{url}: transfer cut short at {_mb(have)} of {_mb(info.get('total'))} "
                            f"({cut}, {retries + 1} attempts); run the same command again to resume "
                            f"(the partial file {part} is kept for that, nothing else was written)")


# ----------------------------------------------------------------------- unpacked cache
def read_stamp(directory) -> dict | None:
    """The stamp of a complete unpacked release, or None if missing or if a file changed size."""
    directory = os.fspath(directory)
    stamp = _read_json(os.path.join(directory, STAMP))
    if not stamp or not isinstance(stamp.get("files"), dict):
        return None
    for name, file_size in stamp["files"].items():
        full = os.path.join(directory, name)
        if not os.path.isfile(full) or os.path.getsize(full) != file_size:
            return None
    return stamp


def _write_stamp(folder: str, source: dict) -> None:
    files = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            full = os.path.join(dirpath, name)
            files[os.path.relpath(full, folder).replace(os.sep, "/")] = os.path.getsize(full)
    atomic_write_json(os.path.join(folder, STAMP), dict(source, files=files))


def unpack_release(archive, target_dir, folder: str | None, source: dict) -> str:
    """Safely unpack `archive` into `target_dir`, stamped with `source` (where it came from)."""
    return archives.safe_extract(archive, target_dir, folder,
                                 before_publish=lambda path: _write_stamp(path, source))


def fetch_and_unpack(url: str, name: str, *, folder: str | None = None, sha256: str | None = None,
                     size: int | None = None, cache_dir=None, force: bool = False,
                     progress: bool = True) -> str:
    """`<cache_dir>/<name>`: the unpacked release from `url`; no network when already there."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / name
    if not force and read_stamp(target):
        return str(target)
    archive = cache / "downloads" / os.path.basename(urllib.parse.urlsplit(url).path)
    with file_lock(cache / "downloads" / f"{name}.unpack.lock", what=f"unpacking {name}"):
        if not force and read_stamp(target):   # another process finished it meanwhile
            return str(target)
        record = fetch(url, archive, sha256=sha256, size=size, force=force, progress=progress)
        if progress:
            print(f"{name}: {_mb(record['size'])} from {url} (sha256 {record['sha256'][:16]}...), "
                  f"unpacking into {target}", file=sys.stderr, flush=True)
        return unpack_release(record["path"], target, folder,
                              {"source": url, "archive_sha256": record["sha256"],
                               "archive_size": record["size"]})

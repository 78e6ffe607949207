"""Every released ALBERT in one table, and `from_pretrained`: one call from a name to a model.

Google published each model three ways (google-research/albert README):

* a tarball in the `albert_models` storage bucket, e.g.
  `https://storage.googleapis.com/albert_models/albert_base_v2.tar.gz`: 4 sizes x v1, v2 and
  the Chinese `zh` models, 12 in all, each unpacking to one folder (`albert_base/` for every
  base model) with `albert_config.json`, `model.ckpt-best.*` and `30k-clean.model`/`.vocab`
  (English) or `vocab_chinese.txt` (Chinese);
* a TF-Hub module `https://tfhub.dev/google/albert_{size}/{1,2,3}` (tfhub.dev now redirects to
  Kaggle Models; `tensorflow_hub` follows). v1 is `/1`; v2 is `/3`, which replaced `/2` whose
  graph held raw Einsum ops that TF 1.x could not differentiate;
* (by Hugging Face) `albert/albert-{size}-v{1,2}`; there is no official Chinese one.

`ALBERT_NB_MODELS_URL` (or `base_url=` / `--base_url`) replaces the bucket's base URL, for a
mirror behind a firewall or offline: the mirror must hold the same file names.

The table knows no sizes or checksums of the bucket's files (they were never published), so
the first download records its sha256 and every reuse checks it (see
`albert_nb.interop.download`). Facts marked "seen in users' scripts" were not read from
Google's own files.

**Trust.** A tarball is data: `from_pretrained` reads only tensors (through the checkpoint
reader, never the `.meta` graph), JSON and vocabulary files, and executes nothing from it.
A hub module is code: a SavedModel's graph can read and write files and run any TensorFlow
op when it is called, so load hub modules only from publishers you trust.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import urllib.parse

from albert_nb.errors import InputError
from albert_nb.interop import download

# tensorflow_hub (via interop.tfhub) and the optional huggingface_hub are imported only when a
# handle or id of theirs is resolved (deliberately lazy): the download CLI needs neither.

BUCKET_URL = "https://storage.googleapis.com/albert_models"
MODELS_URL_ENV = "ALBERT_NB_MODELS_URL"
SIZES = ("base", "large", "xlarge", "xxlarge")
VERSIONS = ("v1", "v2", "zh")
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
# The hub module version that carries each tarball's weights (v2's /2 was replaced by /3).
HUB_VERSION = {"v1": 1, "v2": 3}
HUB_HOSTS = ("tfhub.dev", "www.kaggle.com", "kaggle.com")


@dataclasses.dataclass(frozen=True)
class Release:
    """One released model: where to get it and what is inside."""

    name: str                 # albert_base_v2
    size: str                 # base | large | xlarge | xxlarge
    version: str              # v1 | v2 | zh
    language: str             # en | zh
    tokenizer: str            # the tokenizer file inside the folder
    folder: str               # the folder inside the tarball
    hub_handle: str | None    # the TF-Hub module with the same weights
    hf_id: str | None         # the Hugging Face repository
    num_bytes: int | None = None   # size of the tarball, where known
    sha256: str | None = None      # checksum of the tarball, where known

    @property
    def filename(self) -> str:
        return f"{self.name}.tar.gz"

    def url(self, base_url: str | None = None) -> str:
        return f"{models_base_url(base_url).rstrip('/')}/{self.filename}"


def _table() -> dict[str, Release]:
    table = {}
    for version in VERSIONS:
        for size in SIZES:
            english = version != "zh"
            release = Release(
                name=f"albert_{size}_{version}", size=size, version=version,
                language="en" if english else "zh",
                tokenizer="30k-clean.model" if english else "vocab_chinese.txt",
                # English: README/notebooks of the original; Chinese: seen in users' scripts.
                folder=f"albert_{size}",
                hub_handle=f"https://tfhub.dev/google/albert_{size}/{HUB_VERSION[version]}"
                if english else None,
                hf_id=f"albert/albert-{size}-{version}" if english else None)
            table[release.name] = release
    return table


RELEASES = _table()
HUB_HANDLES = tuple(f"https://tfhub.dev/google/albert_{size}/{v}" for size in SIZES for v in (1, 2, 3))


def models_base_url(base_url: str | None = None) -> str:
    """`base_url`, else $ALBERT_NB_MODELS_URL, else Google's bucket."""
    return base_url or os.environ.get(MODELS_URL_ENV) or BUCKET_URL


def get_release(name: str) -> Release:
    if name in RELEASES:
        return RELEASES[name]
    close = difflib.get_close_matches(name, list(RELEASES), n=3)
    raise InputError(f"unknown release {name!r}" + (f"; did you mean {', '.join(close)}?" if close
                     else f"; known: {', '.join(RELEASES)}"))


def table_text(base_url: str | None = None) -> str:
    """The table as aligned text (`python -m albert_nb.download --list`)."""
    rows = [("name", "language", "tokenizer", "folder", "tarball", "TF-Hub", "Hugging Face")]
    for r in RELEASES.values():
        rows.append((r.name, r.language, r.tokenizer, r.folder + "/", r.url(base_url),
                     r.hub_handle or "-", r.hf_id or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


# ------------------------------------------------------------------------ classifying
def _is_url(value: str) -> bool:
    return bool(re.match(r"^(https?|gs)://", value))


def _is_tarball_name(value: str) -> bool:
    return urllib.parse.urlsplit(value).path.endswith(TAR_SUFFIXES)


def _stem(value: str) -> str:
    base = os.path.basename(urllib.parse.urlsplit(value).path)
    for suffix in TAR_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


HF_ID = re.compile(r"^(hf://)?[A-Za-z0-9][\w.-]*/[\w.-]+$")


def classify(value) -> str:
    """What `value` names: directory | tarball | release | tarball_url | hub | hf."""
    value = os.fspath(value)
    if os.path.isdir(value):
        return "directory"
    if os.path.isfile(value):
        if value.endswith(TAR_SUFFIXES):
            return "tarball"
        raise InputError(f"{value!r} is a file, not a model directory or a tarball "
                         f"({', '.join(TAR_SUFFIXES)})")
    if value in RELEASES:
        return "release"
    if _is_url(value):
        host = urllib.parse.urlsplit(value).hostname or ""
        if _is_tarball_name(value) and host not in HUB_HOSTS:
            return "tarball_url"
        return "hub"
    parent = os.path.dirname(value)
    if parent and os.path.isdir(parent) and not value.startswith("hf://"):
        raise InputError(f"{value!r}: no such file or directory (expected a release folder or a "
                         f"tarball; for a Hugging Face id write hf://{value})")
    if value.startswith("@") or value.startswith("hf://") or HF_ID.match(value):
        return "hub" if value.startswith("@") else "hf"
    close = difflib.get_close_matches(value, list(RELEASES), n=3)
    raise InputError(f"{value!r}: no such directory or tarball, and not a release name"
                     + (f" (did you mean {', '.join(close)}?)" if close else "")
                     + ", URL, TF-Hub handle or Hugging Face id; python -m albert_nb.download "
                     "--list shows the releases")


# ---------------------------------------------------------------------------- locating
def _cache(cache_dir):
    return os.fspath(cache_dir) if cache_dir else str(download.default_cache_dir())


def _local_tarball(path: str, cache_dir, force: bool, progress: bool) -> str:
    stat = os.stat(path)
    key = hashlib.sha256(f"{os.path.realpath(path)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    target = os.path.join(_cache(cache_dir), "local", f"{_stem(path)}-{key.hexdigest()[:10]}")
    if not force and download.read_stamp(target):
        return target
    with download.file_lock(target + ".lock", what=f"unpacking {path}"):
        if not force and download.read_stamp(target):
            return target
        return download.unpack_release(path, target, None, {
            "source": os.path.abspath(path), "archive_sha256": download.sha256_of(path),
            "archive_size": stat.st_size})


def _hub_path(handle: str, cache_dir) -> str:
    """A hub module's local folder; tensorflow_hub downloads it (into our cache unless
    TFHUB_CACHE_DIR says otherwise)."""
    from albert_nb.interop import tfhub

    if os.environ.get("TFHUB_CACHE_DIR") or not _is_url(handle):
        return tfhub.resolve_handle(handle)
    os.environ["TFHUB_CACHE_DIR"] = os.path.join(_cache(cache_dir), "tfhub")
    try:
        return tfhub.resolve_handle(handle)
    finally:
        del os.environ["TFHUB_CACHE_DIR"]


HF_FILES = ["config.json", "model.safetensors", "model.safetensors.index.json",
            "model-*.safetensors", "spiece.model"]


def _hf_path(repo_id: str, cache_dir) -> str:
    """Only config, safetensors and the SentencePiece model are fetched (never a pickle)."""
    try:
        import huggingface_hub
    except ImportError:
        raise InputError(f"{repo_id!r} is a Hugging Face id: pip install 'albert-nb[hf]' "
                         "(huggingface_hub), or pass a downloaded directory") from None
    repo_id = repo_id.removeprefix("hf://")
    kwargs = {"allow_patterns": HF_FILES}
    if cache_dir:
        kwargs["cache_dir"] = os.path.join(os.fspath(cache_dir), "huggingface")
    try:   # reuse without a request when the files are already there
        return huggingface_hub.snapshot_download(repo_id, local_files_only=True, **kwargs)
    except Exception:  # noqa: BLE001  (not cached yet: any of hub's "not found locally" errors)
        pass
    try:
        return huggingface_hub.snapshot_download(repo_id, **kwargs)
    except Exception as err:  # noqa: BLE001  (hub's HTTP, offline and not-found errors)
        first = str(err).splitlines()[0] if str(err) else ""
        raise InputError(f"Hugging Face {repo_id!r}: {type(err).__name__}: {first}; offline, "
                         "download it once where there is network and pass the directory") from None


def alternative(release: Release, source: str) -> str:
    """The same weights from another publisher: source = bucket | tfhub | hf."""
    if source == "bucket":
        return release.name
    value = {"tfhub": release.hub_handle, "hf": release.hf_id}.get(source, "")
    if value is None:
        raise InputError(f"{release.name} has no {source} copy (only the bucket's tarball)")
    if not value:
        raise InputError(f"source={source!r}: expected 'bucket', 'tfhub' or 'hf'")
    return value


def locate(value, *, cache_dir=None, force: bool = False, base_url: str | None = None,
           progress: bool = True, source: str | None = None) -> tuple[str, str]:
    """(kind, local directory) for any model source; downloads and unpacks when needed."""
    value = os.fspath(value)
    kind = classify(value)
    if kind == "release" and source not in (None, "bucket"):
        value = alternative(RELEASES[value], source)
        kind = classify(value)
    if kind == "directory":
        return kind, value
    if kind == "tarball":
        return kind, _local_tarball(value, cache_dir, force, progress)
    if kind == "release":
        r = RELEASES[value]
        return kind, download.fetch_and_unpack(
            r.url(base_url), r.name, folder=r.folder, sha256=r.sha256, size=r.num_bytes,
            cache_dir=_cache(cache_dir), force=force, progress=progress)
    if kind == "tarball_url":
        name = f"{_stem(value)}-{hashlib.sha256(value.encode()).hexdigest()[:10]}"
        return kind, download.fetch_and_unpack(value, os.path.join("url", name),
                                               cache_dir=_cache(cache_dir), force=force,
                                               progress=progress)
    if kind == "hub":
        return kind, _hub_path(value, cache_dir)
    return kind, _hf_path(value, cache_dir)


def resolve_checkpoint(value, **kwargs):
    """For a CLI flag that takes a model directory (`--init_checkpoint`, `--albert_directory`):
    a release name, a tarball path or a tarball URL becomes the unpacked directory (downloaded
    once, then reused with no request); anything else is returned unchanged, so the flag's own
    checks report it."""
    if not value:
        return value
    text = os.fspath(value)
    if os.path.exists(text) and not text.endswith(TAR_SUFFIXES) or os.path.exists(text + ".index"):
        return value
    if text in RELEASES or (os.path.isfile(text) and text.endswith(TAR_SUFFIXES)) or (
            _is_url(text) and classify(text) == "tarball_url"):
        return locate(text, **kwargs)[1]
    return value

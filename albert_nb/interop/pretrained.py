"""`albert_nb.from_pretrained(...)`: any released ALBERT, by name, path, URL, hub handle or id.

It finds the files with `albert_nb.interop.releases.locate` (downloading and unpacking them into
the cache when needed) and loads them with the loader that already reads that format:
`checkpoints.load_pretrained` for Google's release folders (and ours), `hf.load_hf_directory`
for Hugging Face folders, `tfhub.load_module` for hub modules. Every path returns the same
`checkpoints.Pretrained(model, tokenizer, config, report, directory)`.

**Trust.** A tarball, a release folder and a Hugging Face folder are data: only tensors (the
checkpoint reader or safetensors; never the `.meta` graph, never a pickle), JSON and vocabulary
files are read, and nothing in them is executed. **A hub module is code**: a TF2 SavedModel's
functions run when called and can read and write files; load hub modules only from publishers
you trust. (For the TF1-format modules Google released, we read only their variables checkpoint
and assets, but the handle still points at someone else's SavedModel.)
"""
from __future__ import annotations

import os

from albert_nb.errors import InputError
from albert_nb.interop import checkpoints, hf, releases, tfhub
from albert_nb.model.heads import AlbertForPretraining
from albert_nb.model.modeling import AlbertModel

HEADS = checkpoints.HEADS   # ("pretraining", "encoder")


def _hub(path: str, head: str | None, trainable: bool, do_lower_case) -> checkpoints.Pretrained:
    module = tfhub.load_module(path, trainable=trainable, do_lower_case=do_lower_case)
    if module.format == "tf1_hub":   # Google's modules: the weights are a plain TF1 checkpoint
        head = head or "pretraining"
        model = AlbertForPretraining(module.config) if head == "pretraining" else AlbertModel(module.config)
        report = checkpoints.load_checkpoint(model, os.path.join(path, "variables", "variables"))
        model.trainable = trainable
    else:
        if head not in (None, "encoder"):
            raise InputError(f"{path!r} is a TF2 hub module: it carries the encoder only; "
                             "pass head='encoder'")
        model = module.encoder
        report = checkpoints.LoadReport(path=path, format="tfhub_tf2",
                                        loaded=[v.name for v in model.module_weights])
    return checkpoints.Pretrained(model=model, tokenizer=module.tokenizer, config=module.config,
                                  report=report, directory=path)


def _is_hf_directory(path: str) -> bool:
    return os.path.isfile(os.path.join(path, hf.CONFIG_NAME)) and not os.path.isfile(
        os.path.join(path, "albert_config.json"))


def load_directory(path: str, head: str | None = None, checkpoint_name: str | None = None,
                   do_lower_case: bool | None = None, trainable: bool = True) -> checkpoints.Pretrained:
    """Load a local folder in whichever layout it has (Google release, Hugging Face, hub)."""
    if head is not None and head not in HEADS:
        raise InputError(f"head={head!r}: expected one of {HEADS}")
    lower = True if do_lower_case is None else do_lower_case
    if os.path.isfile(os.path.join(path, "saved_model.pb")) or tfhub.is_tf1_hub_module(path):
        return _hub(path, head, trainable, do_lower_case)
    if _is_hf_directory(path):
        hf_loaded = hf.load_hf_directory(path, head=head or "pretraining", do_lower_case=lower)
        loaded = checkpoints.Pretrained(model=hf_loaded.model, tokenizer=hf_loaded.tokenizer,
                                        config=hf_loaded.config, report=hf_loaded.report,
                                        directory=path)
    else:
        loaded = checkpoints.load_pretrained(path, checkpoint_name=checkpoint_name,
                                             head=head or "pretraining", do_lower_case=lower)
    loaded.model.trainable = trainable
    return loaded


def from_pretrained(name_or_path, head: str | None = None, *, cache_dir=None, force: bool = False,
                    base_url: str | None = None, source: str | None = None,
                    checkpoint_name: str | None = None, do_lower_case: bool | None = None,
                    trainable: bool = True, progress: bool = True) -> checkpoints.Pretrained:
    """Load a released ALBERT and return (`model`, `tokenizer`, `config`, `report`, `directory`).

    name_or_path: a release name from the table (`albert_base_v2`, `albert_large_zh`; see
        `python -m albert_nb.download --list`), a local release folder, a tarball path or URL,
        a TF-Hub handle (`https://tfhub.dev/google/albert_base/3`, resolved by tensorflow_hub),
        or a Hugging Face id (`albert/albert-base-v2`, needs the `hf` extra).
    head: "pretraining" (`AlbertForPretraining`, MLM and SOP heads loaded) or "encoder" (a bare
        `AlbertModel`); default "pretraining", except "encoder" for TF2 hub modules, which
        carry no heads.
    source: for a release name, take the same weights from "bucket" (default), "tfhub" or "hf".
    cache_dir, force, base_url, progress: see `albert_nb.interop.download` (default cache
        `$ALBERT_NB_HOME/models` or `~/.cache/albert_nb/models`; `base_url` or
        $ALBERT_NB_MODELS_URL replaces the bucket for a mirror). A second call finds the
        unpacked release in the cache and makes no network request.

    Trust: a tarball or release folder is only read (tensors, JSON, vocabulary); nothing in it
    runs. A hub module is code (a SavedModel graph can read and write files): load one only
    from a publisher you trust.
    """
    if head is not None and head not in HEADS:
        raise InputError(f"head={head!r}: expected one of {HEADS}")
    _, path = releases.locate(name_or_path, cache_dir=cache_dir, force=force,
                                 base_url=base_url, progress=progress, source=source)
    return load_directory(path, head=head, checkpoint_name=checkpoint_name,
                          do_lower_case=do_lower_case, trainable=trainable)

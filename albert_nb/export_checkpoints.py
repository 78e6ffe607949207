"""Write a model directory's weights as a clean Google-layout checkpoint (the original's
export_checkpoints.py).

    python -m albert_nb.export_checkpoints --albert_directory=albert_base \
        --export_path=release/model.ckpt-best --checkpoint_name=model.ckpt-best

Reads `albert_config.json` and the checkpoint (Google's TF1 names, or one of our training
checkpoints). `--export_path` is a checkpoint *prefix*, as the original's `Saver.save` takes it:
the output is `<export_path>.index`, `<export_path>.data-00000-of-00001` and a `checkpoint` file
in the prefix's folder naming it, with Google's TF1 variable names, model weights only (no
adam_m/adam_v/lamb slots, which triple a training checkpoint's size) and a `global_step` of 0
(the original saves a fresh step variable). The original also writes a `.meta` graph; a
TF2 program has no TF1 graph to write, and nothing reads it for a checkpoint.

Ours: `--copy_release_files` (default on) also puts `albert_config.json` and the tokenizer files
next to the prefix, so the folder is a complete release that `load_pretrained` and the original's
scripts read; a different file of the same name already there is left alone (and reported).
`--nocopy_release_files` writes exactly what the original writes. `--do_lower_case` is accepted
as in the original (unused there too).
"""
from __future__ import annotations

import os
import shutil

from absl import flags

from albert_nb.cli import command, define_export_flags, run_command
from albert_nb.errors import InputError
from albert_nb.faults import fault_point
from albert_nb.interop import release_files, releases
from albert_nb.io_utils import atomic_write_text, make_temp_dir
from albert_nb.paths import BEST_NAME

# TensorFlow and the checkpoint code load inside `export` (deliberately lazy): --help and a bad
# flag answer at once, with no TensorFlow start-up.

FLAGS = flags.FLAGS


def define_flags() -> None:
    define_export_flags("Checkpoint prefix to write, e.g. release/model.ckpt-best (-> .index, "
                        ".data-*, and a `checkpoint` file).",
                        "Accepted for compatibility (unused, as the original).")
    flags.DEFINE_bool("copy_release_files", True, "Ours: also copy albert_config.json and the "
                      "tokenizer next to the prefix (never over a different file).")


def write_checkpoint_state(prefix: str, path: str | None = None) -> str:
    """The `checkpoint` file TF1's Saver writes beside a save: it names `prefix` (relative to its
    folder) as the latest; checkpoints it already listed stay listed. Written atomically, to
    `path` when given (a staging copy), else beside the prefix."""
    import tensorflow as tf
    from google.protobuf import text_format

    directory = os.path.dirname(os.path.abspath(prefix))
    name = os.path.basename(prefix)
    state = tf.train.get_checkpoint_state(directory)
    listed = [os.path.relpath(p, directory) if os.path.isabs(p) else p
              for p in (state.all_model_checkpoint_paths if state else [])]
    proto = tf.compat.v1.train.generate_checkpoint_state_proto(  # TF2 keeps it under v1 only
        directory, name, all_model_checkpoint_paths=[p for p in listed if p != name] + [name])
    path = path or os.path.join(directory, "checkpoint")
    atomic_write_text(path, text_format.MessageToString(proto))
    return path


def _same_bytes(a: str, b: str) -> bool:
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()


def export(albert_directory, export_path, checkpoint_name: str = BEST_NAME,
           copy_release_files: bool = True) -> dict:
    """Load `albert_directory` and write its weights in Google's layout under the prefix
    `export_path`; returns a summary.

    Everything (checkpoint, release files, the `checkpoint` state) is first written to a
    staging folder beside the prefix and then renamed into place, `.index` and the state last,
    so a full disk or a kill leaves the complete export or nothing new (never a checkpoint
    without its tokenizer); a killed export's staging folder is removed by the next one.
    """
    from albert_nb.interop import checkpoints

    prefix = os.fspath(export_path)
    if os.path.isdir(prefix) or prefix.endswith(os.sep) or not os.path.basename(prefix):
        raise InputError(f"--export_path={prefix!r} is a directory; it is a checkpoint prefix, as "
                         f"in the original: e.g. {os.path.join(prefix, BEST_NAME)}")
    folder = os.path.dirname(os.path.abspath(prefix))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise InputError(f"--export_path={prefix!r}: {folder!r} is a file, not a directory")
    loaded = checkpoints.load_pretrained(albert_directory, checkpoint_name=checkpoint_name)
    if os.path.realpath(prefix) == os.path.realpath(loaded.report.path):
        raise InputError(f"--export_path={prefix!r} is the checkpoint being read; the export "
                         "would replace it: expected another prefix")
    staging = make_temp_dir(folder, ".export-")
    try:
        checkpoints.save_tf1_checkpoint(loaded.model, os.path.join(staging, os.path.basename(prefix)),
                                        global_step=0)
        release = os.path.join(staging, "release")
        os.mkdir(release)
        copied = (release_files.copy_release_files(albert_directory, release, loaded.tokenizer)
                  if copy_release_files else [])
        staged_state = write_checkpoint_state(prefix, os.path.join(staging, "checkpoint"))
        fault_point("export_checkpoints.before_publish")
        kept = [n for n in copied if os.path.isfile(os.path.join(folder, n))
                and not _same_bytes(os.path.join(release, n), os.path.join(folder, n))]
        copied = [n for n in copied if n not in kept]
        for name in copied:
            os.replace(os.path.join(release, name), os.path.join(folder, name))
        weights = sorted((n for n in os.listdir(staging) if n.startswith(os.path.basename(prefix) + ".")),
                         key=lambda n: n.endswith(".index"))
        for name in weights:
            os.replace(os.path.join(staging, name), os.path.join(folder, name))
        state = os.path.join(folder, "checkpoint")
        os.replace(staged_state, state)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"prefix": prefix, "checkpoint_state": state, "weights": len(loaded.report.loaded),
            "dropped": len(loaded.report.skipped), "copied": copied, "kept": kept}


@command("export_checkpoints", required=("albert_directory", "export_path"))
def main(argv) -> None:
    albert_directory = releases.resolve_checkpoint(FLAGS.albert_directory)   # a release name works too
    out = export(albert_directory, FLAGS.export_path, FLAGS.checkpoint_name,
                 FLAGS.copy_release_files)
    print(f"wrote {out['prefix']}.index/.data-* and {out['checkpoint_state']} ({out['weights']} "
          f"weights; dropped {out['dropped']} optimizer/step entries)"
          + (f"; copied {', '.join(out['copied'])}" if out["copied"] else "")
          + (f"; kept the different {', '.join(out['kept'])} already there" if out["kept"] else ""))


if __name__ == "__main__":
    run_command(main, define_flags)

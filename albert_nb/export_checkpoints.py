"""Write a model directory's weights as a clean Google-layout checkpoint (the original's
export_checkpoints.py).

    python -m albert_nb.export_checkpoints --albert_directory=albert_base \
        --export_path=/tmp/albert_base_clean --checkpoint_name=model.ckpt-best

Reads `albert_config.json` and the checkpoint (Google's TF1 names, or one of our training
checkpoints) and writes `<export_path>/model.ckpt-best.*` with Google's TF1 variable names,
model weights only (no adam_m/adam_v/lamb slots, which triple a training checkpoint's size),
plus a copy of `albert_config.json` and the tokenizer files so the output is a complete release
directory that `albert_nb.interop.checkpoints.load_pretrained` and the original's scripts both read.
`--do_lower_case` is accepted as in the original (unused there too).
"""
from __future__ import annotations

import os

from absl import app, flags

from albert_nb.cli import command

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("albert_directory", None, "The config, checkpoint and vocab directory.")
    flags.DEFINE_string("export_path", None, "Directory the clean checkpoint is written to.")
    flags.DEFINE_string("checkpoint_name", "model.ckpt-best", "Checkpoint name inside albert_directory.")
    flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility (unused, as the original).")


def export(albert_directory, export_path, checkpoint_name: str = "model.ckpt-best") -> dict:
    """Load `albert_directory` and write its weights in Google's layout; returns a summary."""
    from albert_nb.interop import checkpoints

    loaded = checkpoints.load_pretrained(albert_directory, checkpoint_name=checkpoint_name)
    prefix = os.path.join(os.fspath(export_path), checkpoints.BEST_NAME)
    checkpoints.save_tf1_checkpoint(loaded.model, prefix, global_step=loaded.report.global_step)
    copied = checkpoints.copy_release_files(albert_directory, export_path, loaded.tokenizer)
    return {"prefix": prefix, "weights": len(loaded.report.loaded),
            "dropped": len(loaded.report.skipped), "copied": copied}


@command("export_checkpoints", required=("albert_directory", "export_path"))
def main(argv) -> None:
    out = export(FLAGS.albert_directory, FLAGS.export_path, FLAGS.checkpoint_name)
    print(f"wrote {out['prefix']} ({out['weights']} weights; dropped {out['dropped']} optimizer/"
          f"step entries); copied {', '.join(out['copied'])}")


def cli() -> None:
    define_flags()
    app.run(main)


if __name__ == "__main__":
    cli()

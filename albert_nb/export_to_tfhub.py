"""Export an ALBERT model directory as a TF-Hub module (the original's export_to_tfhub.py).

    python -m albert_nb.export_to_tfhub --albert_directory=albert_base \
        --export_path=/tmp/albert_base_hub --checkpoint_name=model.ckpt-best

`--albert_directory` (a folder, or a release name such as `albert_base_v2`, downloaded once by
`albert_nb.interop.releases`) holds `albert_config.json`, the checkpoint (Google's TF1 names, or one of
ours) and the tokenizer (`30k-clean.model`/`.vocab`, or `vocab_chinese.txt`). The module is a TF2
SavedModel with the signatures tokens / mlm / sop / tokenization_info (see albert_nb.interop.tfhub);
it is written to a temporary folder and renamed into place, so --export_path is never half
written. `--use_einsum` is accepted for compatibility: our graph has no Einsum op either way.
"""
from __future__ import annotations

from absl import flags

from albert_nb.cli import command, define_export_flags, run_command
from albert_nb.interop import releases

# TensorFlow loads inside `main` (deliberately lazy): --help and a bad flag answer at once.

FLAGS = flags.FLAGS


def define_flags() -> None:
    define_export_flags("Where the hub module is written.", "Whether the tokenizer lower-cases "
                        "(reported by the tokenization_info signature).")
    flags.DEFINE_bool("use_einsum", True, "Accepted for compatibility; the exported graph never "
                      "contains Einsum ops.")


@command("export_to_tfhub", required=("albert_directory", "export_path"))
def main(argv) -> None:
    from albert_nb.interop import tfhub

    albert_directory = releases.resolve_checkpoint(FLAGS.albert_directory)   # a release name works too
    path = tfhub.export_directory(albert_directory, FLAGS.export_path,
                                  checkpoint_name=FLAGS.checkpoint_name,
                                  do_lower_case=FLAGS.do_lower_case, use_einsum=FLAGS.use_einsum)
    print(f"hub module written to {path}")


if __name__ == "__main__":
    run_command(main, define_flags)

"""Resuming from --output_dir: which checkpoint to trust, and what to say when none fits.

* A damaged newest checkpoint (a truncated `.data` file after a full disk, a half-copied
  directory) is not a reason to stop: the previous checkpoint is restored instead, with a
  one-line warning naming both, as a user who kept `keep_checkpoint_max` checkpoints expects.
* A checkpoint of another model (a pretraining directory given to run_classifier, or one
  trained with another config) is refused in one line that says what is there.
* A step count at or below the checkpoint's step means there is nothing to train; that is said
  in one line instead of silently doing nothing.
"""
from __future__ import annotations

import os

import tensorflow as tf

from albert_nb.errors import InputError, warn

# TensorFlow's errors for a checkpoint whose files are damaged or missing (not a mismatch); a
# truncated `.data` file reads short, which TensorFlow's reader reports as an IndexError.
_DAMAGE = ("DataLossError", "OutOfRangeError", "NotFoundError", "InternalError", "UnknownError",
           "IndexError")


def is_damage(err: BaseException) -> bool:
    """Whether `err` (from reading a checkpoint) means its files are damaged or missing."""
    return type(err).__name__ in _DAMAGE


def damage_detail(err: BaseException) -> str:
    """`Type: first line` of a checkpoint read error (TF messages carry stack dumps)."""
    lines = str(getattr(err, "message", err)).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:160] if lines else ''}"


def damaged_error(prefix: str, err: BaseException) -> InputError:
    """The one line that refuses a damaged checkpoint, naming it."""
    return InputError(f"checkpoint {prefix!r} is damaged ({damage_detail(err)}); expected its "
                      ".index and .data files as training wrote them (a full disk or an "
                      "interrupted copy truncates them)")


def checkpoint_candidates(output_dir: str) -> list[str]:
    """The checkpoints listed in output_dir's `checkpoint` file, newest first."""
    state = tf.train.get_checkpoint_state(output_dir)
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    return [p if os.path.isabs(p) else os.path.join(output_dir, p) for p in reversed(paths)]


def describe_checkpoint(prefix: str) -> str:
    """What a checkpoint holds, in words: the model kind (by its heads) and the embedding table."""
    try:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except Exception:   # unreadable: say only that
        return "an unreadable checkpoint"
    keys = " ".join(shapes)
    kind = ("a pretraining model (masked-LM and sentence-order heads)"
            if "mlm_head" in keys or "sop_head" in keys else
            "a classifier" if "classifier" in keys else "a model")
    tables = [shape for key, shape in shapes.items()
              if "word_embeddings" in key and key.endswith("VARIABLE_VALUE")]
    return kind + (f" with word embeddings {list(tables[0])}" if tables else "")


def mismatch_error(output_dir: str, prefix: str, err: BaseException, wanted: str) -> InputError:
    detail = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
    return InputError(f"--output_dir={output_dir!r} holds {os.path.basename(prefix)}, "
                      f"{describe_checkpoint(prefix)}, which does not fit {wanted} ({detail}); "
                      "expected a checkpoint this command wrote with this config: use a new "
                      "--output_dir")


def restore_newest(checkpoint, output_dir: str, wanted: str = "this model",
                   show=warn) -> str | None:
    """Restore `checkpoint` (a tf.train.Checkpoint) from the newest usable checkpoint in
    `output_dir`; returns its prefix, or None when there is none (a fresh start).

    A damaged checkpoint is skipped with a warning when an earlier one exists (restoring that
    one overwrites every variable the damaged one had partly assigned); when none does, it is
    refused in one line (`damaged_error`), since a fresh start would begin from half-restored
    weights. A checkpoint of another model raises the one-line InputError of `mismatch_error`.
    """
    candidates = checkpoint_candidates(output_dir)
    damaged = []        # (prefix, error), newest first; said once a usable one is found
    for prefix in candidates:
        try:
            checkpoint.restore(prefix).assert_existing_objects_matched()
        except (AssertionError, ValueError) as err:
            raise mismatch_error(output_dir, prefix, err, wanted) from None
        except Exception as err:
            if not is_damage(err):
                raise
            damaged.append((prefix, err))
            continue
        if damaged:
            names = ", ".join(os.path.basename(p) for p, _ in damaged)
            show(f"checkpoint {damaged[0][0]} is damaged ({damage_detail(damaged[0][1])})"
                 + (f", and so are the earlier {names.split(', ', 1)[1]}" if len(damaged) > 1 else "")
                 + f"; resuming from {prefix} instead")
        return prefix
    if len(damaged) == 1:
        raise damaged_error(*damaged[0])
    if damaged:
        raise InputError(f"every checkpoint in --output_dir={output_dir!r} is damaged "
                         f"({', '.join(os.path.basename(p) for p, _ in damaged)}; the newest: "
                         f"{damage_detail(damaged[0][1])}): nothing to resume from; use a new "
                         "--output_dir")
    return None


def nothing_to_train(step: int, target: int, flag: str, output_dir: str) -> str | None:
    """The one line to show when `output_dir` is already at or past the requested step.

    `flag` names what set the target, e.g. "--train_step=6" or "--num_train_epochs=2.0"."""
    if step >= target > 0 or (step > 0 and target == 0):
        name = flag.split("=")[0]
        return (f"{flag} ({target} steps) is at or below the step of the checkpoint in "
                f"{output_dir} (step {step}): nothing to train; raise {name} to train further")
    return None

"""Best-checkpoint selection, as the published ALBERT numbers were made (google-research/albert#56):
evaluate every saved checkpoint on dev and keep the best.

`Selection` remembers each evaluated step in `eval_history.json` (so a resumed run or a later
`--do_eval` sweep skips them), *copies* a new best to `model.ckpt-best` (retention never deletes
it) and rewrites the original's result files: `eval_results.txt` (one block per checkpoint,
oldest first, each followed by the best value so far) and `best_trial.txt`
("global_step:best_step:best_value").

One committed state, whatever the moment of a kill: a step's record is committed by the
history write, and everything that belongs to it comes first (the copy to model.ckpt-best,
then the task's files of the new best, such as its dev predictions); the result files are
derived from the history afterwards. A kill before the history write leaves the step
unevaluated (it is evaluated again); `reconcile()`, on the next start, re-derives the result
files and re-copies model.ckpt-best when it does not hold the recorded best step.
"""
from __future__ import annotations

import json
import math
import os
from typing import Callable

import tensorflow as tf

from albert_nb.errors import warn
from albert_nb.faults import fault_point
from albert_nb.io_utils import atomic_write_json, atomic_write_text
from albert_nb.paths import BEST_NAME, CHECKPOINT_NAME
from albert_nb.training.checkpoints import copy_checkpoint, same_checkpoint

HISTORY_FILE = "eval_history.json"


def format_eval_block(results: dict, best_so_far: float) -> str:
    """One block of the original's eval_results.txt: sorted `key = value`, `best = ...`, a rule."""
    lines = [f"{key} = {results[key]}" for key in sorted(results)]
    lines.append(f"best = {best_so_far}")
    lines.append("=" * 50)
    return "\n".join(lines) + "\n"


def format_results(title: str, metrics: dict | None) -> str:
    """The original's log block `***** <title> *****` then `  key = value` lines ("" if none)."""
    if not metrics:
        return ""
    return "\n".join([f"***** {title} *****", *(f"  {k} = {metrics[k]}" for k in sorted(metrics))])


def read_best_trial(path) -> tuple[int, int, float]:
    """best_trial.txt "global_step:best_step:best_value" -> (global_step, best_step, best_value)."""
    text = open(path, encoding="utf-8").read().strip()
    step, best_step, best = text.split(":")
    return int(step), int(best_step), float(best)


def intact_step(prefix: str) -> int | None:
    """The global_step of a checkpoint whose every tensor reads (CRCs checked), else None."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
        return int(reader.get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE"))
    except Exception:   # missing, truncated or not ours
        return None


class Selection:
    """The evaluated checkpoints of one output_dir and the best of them by `key` (higher wins)."""

    def __init__(self, output_dir: str, key: str):
        self.output_dir, self.key = output_dir, key
        path = os.path.join(output_dir, HISTORY_FILE)
        self.history = []
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                self.history = json.load(handle)

    def score(self, record: dict) -> float:
        """The selection metric of an eval record; NaN (e.g. Pearson of constant predictions)
        ranks below everything."""
        value = float(record[self.key])
        return -math.inf if math.isnan(value) else value

    def best(self) -> dict | None:
        """The evaluated checkpoint with the highest selection metric (earliest on ties)."""
        return self._best_of(self.history)

    def evaluated_steps(self) -> set[int]:
        return {r["global_step"] for r in self.history}

    def record(self, step: int, results: dict, prefix: str | None,
               on_best: Callable[[], None] | None = None) -> bool:
        """Add the results of checkpoint `prefix` (at `step`); when it is the new best, copy it
        to model.ckpt-best and call `on_best` (the task's files of the best) *before* the
        history is written. Returns whether it is the best."""
        results = {"global_step": int(step), **results}
        history = sorted([r for r in self.history if r["global_step"] != step] + [results],
                         key=lambda r: r["global_step"])
        # The best of the new history (earliest on ties), so out-of-order evaluation (a step
        # evaluated on resume) selects what an uninterrupted run would.
        is_best = self._best_of(history)["global_step"] == step
        if is_best:
            if prefix is not None:
                copy_checkpoint(prefix, self.best_prefix)
            if on_best is not None:
                on_best()
        fault_point("selection.history")
        self.history = history
        atomic_write_json(os.path.join(self.output_dir, HISTORY_FILE), history, sort_keys=False)
        fault_point("selection.results")
        self.write_result_files()
        return is_best

    @property
    def best_prefix(self) -> str:
        return os.path.join(self.output_dir, BEST_NAME)

    def _best_of(self, history: list) -> dict | None:
        best = None
        for record in history:
            if best is None or self.score(record) > self.score(best):
                best = record
        return best

    def result_texts(self) -> dict[str, str]:
        """{file name: text} of eval_results.txt and best_trial.txt in the original's format."""
        # The original starts from best = -1 (its _best_trial_info without a best_trial.txt)
        # and keeps the first checkpoint on ties.
        best, best_step, blocks = -1, None, []
        for record in self.history:
            blocks.append(format_eval_block(record, best))
            if best_step is None or self.score(record) > best:
                best, best_step = self.score(record), record["global_step"]
        last = self.history[-1]["global_step"]
        return {"eval_results.txt": "".join(blocks), "best_trial.txt": f"{last}:{best_step}:{best}"}

    def write_result_files(self) -> None:
        """eval_results.txt and best_trial.txt, from the history."""
        for name, text in self.result_texts().items():
            atomic_write_text(os.path.join(self.output_dir, name), text)

    def _best_holds(self, step: int) -> bool:
        """Whether model.ckpt-best is a complete copy of the checkpoint of `step`."""
        source = os.path.join(self.output_dir, f"{CHECKPOINT_NAME}-{step}")
        if same_checkpoint(source, self.best_prefix):
            return True
        # The source is gone (retention) or damaged: the copy's own step and every tensor's CRC.
        return intact_step(self.best_prefix) == step

    def reconcile(self, show: Callable[[str], None] = warn) -> None:
        """Make the selection one consistent state again after a kill (see the module
        docstring): model.ckpt-best holds the best recorded step, and the result files say so.

        A best step whose checkpoint is gone (or damaged) and whose copy is missing or damaged
        cannot be selected any more: it leaves the history, with a warning naming it."""
        while self.history:
            best = self.best()
            step = best["global_step"]
            source = os.path.join(self.output_dir, f"{CHECKPOINT_NAME}-{step}")
            if step == 0 and not os.path.isfile(source + ".index"):
                break       # the --init_checkpoint evaluated as step 0: nothing was copied
            if self._best_holds(step):
                break
            if intact_step(source) == step:
                show(f"{self.best_prefix} does not hold step {step}, the best in {HISTORY_FILE} "
                     f"(an interrupted copy); copying {source} to it again")
                copy_checkpoint(source, self.best_prefix)
                break
            show(f"step {step}, the best in {HISTORY_FILE}, can no longer be selected: "
                 f"{source} is gone or damaged and {self.best_prefix} does not hold it; dropping it")
            self.history = [r for r in self.history if r["global_step"] != step]
            atomic_write_json(os.path.join(self.output_dir, HISTORY_FILE), self.history,
                              sort_keys=False)
        if not self.history:
            return
        for name, text in self.result_texts().items():
            path = os.path.join(self.output_dir, name)
            current = open(path, encoding="utf-8").read() if os.path.isfile(path) else None
            if current != text:
                atomic_write_text(path, text)

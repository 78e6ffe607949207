"""Best-checkpoint selection, as the published ALBERT numbers were made (google-research/albert#56):
evaluate every saved checkpoint on dev and keep the best.

`Selection` remembers each evaluated step in `eval_history.json` (so a resumed run or a later
`--do_eval` sweep skips them), *copies* a new best to `model.ckpt-best` (retention never deletes
it) and rewrites the original's result files: `eval_results.txt` (one block per checkpoint,
oldest first, each followed by the best value so far) and `best_trial.txt`
("global_step:best_step:best_value").
"""
from __future__ import annotations

import json
import math
import os

from albert_nb.io_utils import atomic_write_json, atomic_write_text
from albert_nb.paths import BEST_NAME
from albert_nb.training.checkpoints import copy_checkpoint

HISTORY_FILE = "eval_history.json"


def format_eval_block(results: dict, best_so_far: float) -> str:
    """One block of the original's eval_results.txt: sorted `key = value`, `best = ...`, a rule."""
    lines = [f"{key} = {results[key]}" for key in sorted(results)]
    lines.append(f"best = {best_so_far}")
    lines.append("=" * 50)
    return "\n".join(lines) + "\n"


def read_best_trial(path) -> tuple[int, int, float]:
    """best_trial.txt "global_step:best_step:best_value" -> (global_step, best_step, best_value)."""
    text = open(path, encoding="utf-8").read().strip()
    step, best_step, best = text.split(":")
    return int(step), int(best_step), float(best)


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
        best = None
        for record in self.history:
            if best is None or self.score(record) > self.score(best):
                best = record
        return best

    def evaluated_steps(self) -> set[int]:
        return {r["global_step"] for r in self.history}

    def record(self, step: int, results: dict, prefix: str | None) -> bool:
        """Add the results of checkpoint `prefix` (at `step`); copy it to model.ckpt-best when it
        is the new best. Returns whether it is."""
        results = {"global_step": int(step), **results}
        previous = self.best()
        self.history = [r for r in self.history if r["global_step"] != step] + [results]
        self.history.sort(key=lambda r: r["global_step"])
        atomic_write_json(os.path.join(self.output_dir, HISTORY_FILE), self.history, sort_keys=False)
        is_best = previous is None or self.score(results) > self.score(previous)
        if is_best and prefix is not None:
            copy_checkpoint(prefix, os.path.join(self.output_dir, BEST_NAME))
        self.write_result_files()
        return is_best

    def write_result_files(self) -> None:
        """eval_results.txt and best_trial.txt in the original's format."""
        # The original starts from best = -1 (its _best_trial_info without a best_trial.txt)
        # and keeps the first checkpoint on ties.
        best, best_step, blocks = -1, None, []
        for record in self.history:
            blocks.append(format_eval_block(record, best))
            if best_step is None or self.score(record) > best:
                best, best_step = self.score(record), record["global_step"]
        atomic_write_text(os.path.join(self.output_dir, "eval_results.txt"), "".join(blocks))
        last = self.history[-1]["global_step"]
        atomic_write_text(os.path.join(self.output_dir, "best_trial.txt"), f"{last}:{best_step}:{best}")

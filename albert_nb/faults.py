"""Named fault points: where a command publishes an output, a test can kill it.

`fault_point("create_pretraining_data.before_publish")` does nothing unless the environment
variable `ALBERT_NB_FAULT` names that point; then the process sends itself SIGKILL there, as a
power cut or an out-of-memory kill would, so no `finally` block or atexit handler runs.
`ALBERT_NB_FAULT=<point>:<n>` kills at the n-th time the point is reached (1-based), e.g. at the
second checkpoint. tests/test_faults.py kills every CLI at each of its points and checks that a
rerun ends with the same outputs as an uninterrupted run and leaves no temporary files;
scripts/sweep_bad_inputs.py does it one point at a time.

The points: `create_pretraining_data.pass` / `.before_publish`, `export_checkpoints.before_publish`,
`export_to_tfhub.before_publish`; in every trainer (the shared loop) `train.checkpoint` (before a
checkpoint is saved), `checkpoint.copy` (model.ckpt-best's data copied, its .index not yet),
`selection.history` / `selection.results` (before eval_history.json / the result files),
`train.history` (fine-tuning's train_history.json), `predict.outputs` (prediction files) and
`pretraining.eval_results`.
"""
from __future__ import annotations

import os
import signal

ENV = "ALBERT_NB_FAULT"
_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)

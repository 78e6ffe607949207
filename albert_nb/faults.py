"""Named fault points: where a command publishes an output, a test can kill it.

`fault_point("create_pretraining_data.before_publish")` does nothing unless the environment
variable `ALBERT_NB_FAULT` names that point; then the process sends itself SIGKILL there, as a
power cut or an out-of-memory kill would, so no `finally` block or atexit handler runs.
`ALBERT_NB_FAULT=<point>:<n>` kills at the n-th time the point is reached (1-based), e.g. at the
second checkpoint. tests/test_faults.py kills every CLI at each of its points and checks that a
rerun ends with the same outputs as an uninterrupted run and leaves no temporary files.
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

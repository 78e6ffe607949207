"""Run the whole notebook series headless, in order, and print one line per notebook.

    python -m albert_nb.walkthrough                 # the real thing (minutes on a CPU)
    python -m albert_nb.walkthrough --smoke         # the CI-sized run
    python -m albert_nb.walkthrough --only 00,03    # a subset, by number prefix
    python -m albert_nb.walkthrough --jobs 1        # one notebook at a time

Executed copies go to build/notebooks/ (never committed). Each line shows the status, the time
and the notebook's result: the last line its final code cell printed.

Two notebooks run at a time by default (`--jobs`), each in its own process: one kernel keeps
only 1.3 to 1.6 of 2 cores busy (small tensors, Python between steps), so a second one fills the
gap, and each then runs TensorFlow on its share of the cores inside ops (one each on 2 cores)
and one thread between them (`concurrent_threads`). A notebook that reads the tiny model waits
for 03, which builds it (`NEEDS`).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from albert_nb import notebook
from albert_nb.paths import REPO_ROOT

# nbformat and papermill load inside `run_notebook` (deliberately lazy): --help and --list answer at once.

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# A kernel copies what the C++ libraries write to descriptor 2 into the notebook's outputs by
# default; those lines are TensorFlow's start-up banner, not the lesson's. Without the copy they
# go to this process's descriptor 2, which `stderr_to` sends to a log beside the notebook.
# The kernel inherits our environment, so TF's log level (albert_nb._quiet) is set before it loads.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]


# Notebooks that load what an earlier one builds: everything from 04 on but 08 (which builds its
# own Chinese model) reads the tiny English ALBERT of 03 (building it themselves if it is missing,
# which two processes must not do at once).
NEEDS = {"04": "03", "05": "03", "06": "03", "07": "03", "09": "03"}
# Start order when several run at a time: 03 (the others wait for it), then longest first
# (measured alone on 2 cores: 08 484 s, 09 468, 05 407, 07 205, 06 159), so that no long
# notebook is left running alone at the end.
PRIORITY = ("03", "08", "09", "05", "07", "06")
# Kernels side by side: each gets its share of the cores as TensorFlow threads inside an op and
# one thread for running ops side by side. TF's defaults (a pool of each as large as the
# machine) make the kernels fight over the cores: measured on 2 cores, two pretraining runs
# together made 2.96 steps/s each with one thread each way against 2.16 with the defaults, and
# two processes of two fine-tuning runs each took 58 s against 76 s. (Alone, a kernel is faster
# with the defaults: 3.59 steps/s against 2.71.) On more cores the share grows (4 each for 2
# kernels on 8 cores), so a bigger machine is not held to one core a kernel; that split is
# reasoned, measured only on 2 cores. A value the user set is kept.


def available_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # macOS, Windows
        return os.cpu_count() or 1


def concurrent_threads(jobs: int, cores: int) -> dict:
    """The TensorFlow thread settings of each of `jobs` kernels sharing `cores`."""
    return {"TF_NUM_INTRAOP_THREADS": str(max(1, cores // max(1, jobs))),
            "TF_NUM_INTEROP_THREADS": "1"}


def notebooks(only: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(prefix) for prefix in only)]
    return found


def result_line(executed: dict) -> str:
    """The last non-empty stdout line of the last code cell that printed anything."""
    for cell in reversed(executed.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for output in reversed(cell.get("outputs", [])):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = "".join(output.get("text", "")).strip()
                if text:
                    return text.splitlines()[-1]
    return ""


@contextlib.contextmanager
def stderr_to(path: Path):
    """Send this process's (and so the kernel's) file descriptor 2 to a log file.

    TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL in this release; they belong in
    a log next to the executed notebook, not between the one-line results.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def headless_kernels():
    """Kernels started inside inherit ALBERT_NB_HEADLESS=1 (text progress bars, see notebook.setup)."""
    saved = os.environ.get(notebook.HEADLESS_ENV)
    os.environ[notebook.HEADLESS_ENV] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(notebook.HEADLESS_ENV, None)
        else:
            os.environ[notebook.HEADLESS_ENV] = saved


def run_notebook(path: Path, output_dir: Path, parameters: dict, timeout: int | None = None) -> dict:
    """Execute one notebook with papermill; returns {"ok", "seconds", "result", "output"}."""
    import nbformat
    import papermill as pm

    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / path.name
    start = time.perf_counter()
    error = None
    try:
        with stderr_to(output_dir / f"{path.stem}.stderr.log"), headless_kernels():
            pm.execute_notebook(str(path), str(out), parameters=parameters, cwd=str(path.parent),
                                kernel_name="python3", progress_bar=False, execution_timeout=timeout,
                                store_widget_state=False, extra_arguments=KERNEL_ARGUMENTS)
    except pm.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue}".splitlines()[0] if err.evalue else err.ename
    if out.exists():   # text progress bars: keep each one's last line, not every redraw
        executed = nbformat.read(out, as_version=4)
        nbformat.write(notebook.tidy_streams(executed), out)
    seconds = time.perf_counter() - start
    result = result_line(nbformat.read(out, as_version=4)) if out.exists() else ""
    return {"ok": error is None, "seconds": seconds, "result": error or result, "output": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="run every notebook with SMOKE=True")
    parser.add_argument("--only", default="", help="comma-separated number prefixes, e.g. 00,03")
    parser.add_argument("--output_dir", default=str(REPO_ROOT / "build" / "notebooks"))
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    parser.add_argument("--jobs", type=int, default=min(2, available_cores()),
                        help="notebooks run at a time (default 2, or 1 on a 1-core machine)")
    args = parser.parse_args(argv)

    selected = notebooks([s for s in args.only.split(",") if s])
    if not selected:
        print(f"no notebooks matched --only={args.only!r} in {NOTEBOOK_DIR}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"--jobs={args.jobs}: expected a whole number >= 1", file=sys.stderr)
        return 2
    parameters = {"SMOKE": True} if args.smoke else {}
    start = time.perf_counter()
    if args.jobs == 1 or len(selected) == 1:
        failures = 0
        for path in selected:
            outcome = run_notebook(path, Path(args.output_dir), parameters, args.timeout)
            failures += not outcome["ok"]
            print(line(path, outcome), flush=True)
    else:
        failures = run_concurrently(selected, args)
    print(f"{len(selected) - failures} passed, {failures} failed in {time.perf_counter() - start:.0f} s; "
          f"executed notebooks in {args.output_dir}")
    return 1 if failures else 0


def line(path: Path, outcome: dict) -> str:
    status = "ok  " if outcome["ok"] else "FAIL"
    return f"{status} {path.stem:<28} {outcome['seconds']:7.1f}s  {outcome['result']}"


def schedule(selected: list[Path]) -> list[Path]:
    """Start order: PRIORITY, then the rest in number order (NEEDS still holds each back)."""
    def key(path: Path):
        prefix = path.name[:2]
        return (PRIORITY.index(prefix), "") if prefix in PRIORITY else (len(PRIORITY), path.name)

    return sorted(selected, key=key)


def concurrent_environment(environ, jobs: int = 2, cores: int | None = None) -> dict:
    """The environment of a notebook run beside others: `concurrent_threads`, unless set."""
    cores = available_cores() if cores is None else cores
    return {**concurrent_threads(jobs, cores), **environ}


def run_concurrently(selected: list[Path], args) -> int:
    """Run up to --jobs notebooks at once, each as `walkthrough --only NN --jobs 1` in a child
    process (its own descriptor 2 and kernel); print each one's line as it finishes."""
    pending, running, done, failed, failures = schedule(selected), {}, set(), set(), 0
    chosen = {p.name[:2] for p in selected}
    while pending or running:
        for path in list(pending):
            need = NEEDS.get(path.name[:2])
            if need in failed:   # it would build 03's model itself, maybe beside another one doing so
                pending.remove(path)
                failures += 1
                print(f"FAIL {path.stem:<28} not run: it needs {need}, which failed", flush=True)
            elif len(running) < args.jobs and (need is None or need not in chosen or need in done):
                pending.remove(path)
                command = [sys.executable, "-m", "albert_nb.walkthrough", "--only", path.name[:2],
                           "--jobs", "1", "--output_dir", args.output_dir]
                command += ["--smoke"] if args.smoke else []
                command += ["--timeout", str(args.timeout)] if args.timeout else []
                running[path] = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                                 env=concurrent_environment(os.environ, args.jobs))
        time.sleep(0.5)
        for path, child in list(running.items()):
            if child.poll() is None:
                continue
            del running[path]
            done.add(path.name[:2])
            if child.returncode != 0:
                failed.add(path.name[:2])
            lines = [t for t in child.stdout.read().splitlines() if t.strip()]
            failures += child.returncode != 0
            print(lines[0] if lines and child.returncode in (0, 1) else
                  f"FAIL {path.stem:<28} exited {child.returncode}", flush=True)
    return failures


if __name__ == "__main__":
    sys.exit(main())

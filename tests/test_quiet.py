"""TensorFlow's start-up noise stays off the user's stderr: in a CLI (a flag error is the only
line), and in the walkthrough's notebook kernels (even for a notebook that imports TensorFlow
before albert_nb)."""
import json
import os
import subprocess
import sys

import nbformat

from albert_nb import _quiet, walkthrough

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
ENV["PYTHONPATH"] = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")
BANNER = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796194816.568187    9158 port.cc:153] oneDNN custom operations are on. You may see",
    b"I0000 00:00:1796194816.568581    9158 cudart_stub.cc:31] Could not find cuda drivers on your machine",
    b"E0000 00:00:1796194825.221330    9158 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
]


def test_filter_keeps_everything_but_the_banner():
    ours = b"InputError: --x: expected y\nTraceback (most recent call last):\n"
    assert _quiet.filter_banner(b"\n".join(BANNER) + b"\n" + ours) == ours
    assert all(_quiet.is_banner(line) for line in BANNER)


def test_importing_tensorflow_through_albert_nb_prints_nothing():
    code = ("import sys, albert_nb, tensorflow as tf, tensorflow_hub\n"
            "tf.constant(1) + 1\nprint('ours', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.splitlines() == ["ours"]


def test_walkthrough_kernel_outputs_hold_only_the_lessons_lines(tmp_path):
    """A notebook importing TensorFlow first: its outputs show only what its cells print."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("SMOKE: bool = False", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import tensorflow as tf\nimport albert_nb\n"
                                          "print(int(tf.constant(2) + 3))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "00_probe.ipynb"
    nbformat.write(nb, str(source))
    outcome = walkthrough.run_notebook(source, tmp_path / "out", {"SMOKE": True}, timeout=300)
    assert outcome["ok"], outcome
    executed = json.loads(outcome["output"].read_text())
    streams = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert [(o["name"], "".join(o["text"]).strip()) for o in streams] == [("stdout", "5")]

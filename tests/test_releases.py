"""The release table, the download engine and `from_pretrained`, against a real HTTP server on
127.0.0.1 (tests/release_server.py) that serves project-made tarballs in Google's release layout
(`albert_base/` with albert_config.json, model.ckpt-best.*, 30k-clean.model/.vocab) and counts
every request: fetch, resume, cut transfers, checksum mismatches, 404s, path traversal, cache
reuse with zero requests, the lock, a full disk, and the CLI's one-line errors.
"""
import io
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import albert_nb as an
from albert_nb.errors import InputError
from albert_nb.interop import archives, checkpoints, download, releases
from albert_nb.tokenizers.vocab_training import train_sentencepiece
from release_server import ReleaseServer

ROOT = Path(__file__).resolve().parents[1]
TARBALL = "/albert_models/albert_base_v2.tar.gz"
# Project-written text for a tiny SentencePiece model (no third-party text).
SENTENCES = [f"the model number {i} reads sentence {i % 7} and writes a short answer" for i in range(60)] + [
    "a lite bert shares one block across every layer",
    "factorized embeddings keep the vocabulary table narrow",
    "sentence order prediction swaps two segments of text",
]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A tiny release folder, its tarball bytes and the model's reference outputs."""
    root = tmp_path_factory.mktemp("release")
    folder = root / "albert_base"
    folder.mkdir()
    train_sentencepiece(SENTENCES, folder / "30k-clean", vocab_size=60, hard_vocab_limit=False)
    tokenizer = an.FullTokenizer(spm_model_file=folder / "30k-clean.model")
    config = an.AlbertConfig(vocab_size=tokenizer.vocab_size, embedding_size=8, hidden_size=16,
                             num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                             max_position_embeddings=32)
    config.to_json_file(folder / "albert_config.json")
    model = an.AlbertForPretraining(config)
    checkpoints.save_tf1_checkpoint(model, folder / "model.ckpt-best", global_step=5)
    batch = {"input_ids": np.array([[2, 7, 9, 11, 3]], np.int32)}
    reference = model.albert(batch)["pooled_output"].numpy()
    return {"folder": folder, "tarball": make_tarball(folder), "batch": batch,
            "reference": reference}


def make_tarball(folder: Path, extra=()) -> bytes:
    """Google's layout: one folder (`albert_base/`) holding the files; `extra` members added."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"albert_base/{path.name}")
        for member, data in extra:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


@pytest.fixture()
def server(release):
    with ReleaseServer() as srv:
        srv.files[TARBALL] = release["tarball"]
        yield srv


def base_url(srv) -> str:
    return srv.url + "/albert_models"


def cache_listing(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))


# ------------------------------------------------------------------------- the table
def test_table_lists_every_release_of_the_original():
    assert len(releases.RELEASES) == 12
    base = releases.get_release("albert_base_v2")
    assert base.url() == "https://storage.googleapis.com/albert_models/albert_base_v2.tar.gz"
    assert (base.folder, base.tokenizer, base.language) == ("albert_base", "30k-clean.model", "en")
    assert base.hub_handle == "https://tfhub.dev/google/albert_base/3"
    assert base.hf_id == "albert/albert-base-v2"
    zh = releases.get_release("albert_xxlarge_zh")
    assert (zh.tokenizer, zh.language, zh.hub_handle, zh.hf_id) == ("vocab_chinese.txt", "zh", None, None)
    assert releases.get_release("albert_large_v1").hub_handle.endswith("/albert_large/1")
    with pytest.raises(InputError, match="did you mean albert_base_v2"):
        releases.get_release("albert_base_v3")


def test_models_url_environment_variable_replaces_the_bucket(monkeypatch):
    monkeypatch.setenv("ALBERT_NB_MODELS_URL", "http://mirror.example/albert/")
    assert releases.get_release("albert_base_zh").url() == "http://mirror.example/albert/albert_base_zh.tar.gz"
    assert releases.get_release("albert_base_zh").url("http://other") == "http://other/albert_base_zh.tar.gz"


def test_classify_names_every_kind_of_source(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"")
    assert releases.classify(tmp_path) == "directory"
    assert releases.classify(tmp_path / "x.tar.gz") == "tarball"
    assert releases.classify("albert_large_zh") == "release"
    assert releases.classify("http://127.0.0.1:1/a/albert_base_v2.tar.gz") == "tarball_url"
    assert releases.classify("https://tfhub.dev/google/albert_base/3") == "hub"
    assert releases.classify("albert/albert-base-v2") == "hf"
    with pytest.raises(InputError, match="albert_base_v1"):
        releases.classify("albert_base_v11")
    with pytest.raises(InputError, match="no such file or directory"):
        releases.classify(str(tmp_path / "model.ckpt-best"))


# ------------------------------------------------------------- fetch, load and reuse
def test_cli_downloads_unpacks_and_reuses_with_zero_requests(server, tmp_path, capsys):
    from albert_nb import download as cli

    cache = tmp_path / "cache"
    assert cli.main(["albert_base_v2", "--cache_dir", str(cache), "--base_url", base_url(server),
                     "--no_progress"]) == 0
    folder = capsys.readouterr().out.strip().splitlines()[-1]
    assert folder == str(cache / "albert_base_v2")
    assert sorted(os.listdir(folder)) == sorted([download.STAMP, "30k-clean.model", "30k-clean.vocab",
                                                 "albert_config.json", "model.ckpt-best.data-00000-of-00001",
                                                 "model.ckpt-best.index"])
    assert server.count() == 1 and server.requests[0][1] is None
    record = download._read_json(cache / "downloads" / "albert_base_v2.tar.gz.json")
    assert record["size"] == len(server.files[TARBALL])        # sha256 recorded on first download
    assert cli.main(["albert_base_v2", "--cache_dir", str(cache), "--base_url", base_url(server)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == folder
    assert server.count() == 1, "reuse must not touch the network"


def test_from_pretrained_by_name_through_the_mirror_variable(server, release, tmp_path, monkeypatch):
    monkeypatch.setenv("ALBERT_NB_MODELS_URL", base_url(server))
    loaded = an.from_pretrained("albert_base_v2", cache_dir=tmp_path, progress=False)
    assert isinstance(loaded.model, an.AlbertForPretraining)
    assert loaded.report.format == "google_tf1" and loaded.report.global_step == 5
    out = loaded.model.albert(release["batch"])["pooled_output"].numpy()
    np.testing.assert_array_equal(out, release["reference"])
    assert loaded.tokenizer.vocab_size == loaded.config.vocab_size
    encoder = an.from_pretrained("albert_base_v2", head="encoder", cache_dir=tmp_path)
    assert isinstance(encoder.model, an.AlbertModel)
    assert server.count() == 1
    # The same call on a local tarball and on the unpacked folder.
    tar_path = tmp_path / "mine.tar.gz"
    tar_path.write_bytes(release["tarball"])
    again = an.from_pretrained(tar_path, cache_dir=tmp_path / "c2")
    np.testing.assert_array_equal(again.model.albert(release["batch"])["pooled_output"].numpy(),
                                  release["reference"])
    assert an.from_pretrained(release["folder"]).directory == str(release["folder"])


def test_resolve_checkpoint_turns_release_names_into_folders(server, release, tmp_path):
    got = releases.resolve_checkpoint("albert_base_v2", cache_dir=tmp_path, base_url=base_url(server),
                                      progress=False)
    assert checkpoints.resolve_checkpoint(got).endswith("model.ckpt-best")
    prefix = str(release["folder"] / "model.ckpt-best")
    assert releases.resolve_checkpoint(prefix) == prefix
    assert releases.resolve_checkpoint(str(release["folder"])) == str(release["folder"])
    assert releases.resolve_checkpoint("no/such/ckpt") == "no/such/ckpt"   # the flag's own check reports it
    assert releases.resolve_checkpoint(None) is None


def test_init_checkpoint_takes_a_release_name_in_every_trainer(server, release, tmp_path, monkeypatch):
    """--init_checkpoint=albert_base_v2: fetched from the mirror once, its folder's config and
    tokenizer stand in for the flags; the pretraining hook and a later run reuse the cache."""
    from albert_nb.finetuning import classifier
    from albert_nb.finetuning.options import ClassifierOptions
    from albert_nb.pretraining import trainer as pretraining
    from albert_nb.pretraining.options import PretrainingOptions
    from albert_nb.training.checkpoints import load_init_checkpoint, resolve_init_checkpoint

    monkeypatch.setenv(releases.MODELS_URL_ENV, base_url(server))
    monkeypatch.setenv("ALBERT_NB_HOME", str(tmp_path / "home"))
    opts = ClassifierOptions(data_dir=str(ROOT / "data" / "glue"), task_name="RTE",
                             output_dir=str(tmp_path / "rte"), init_checkpoint="albert_base_v2",
                             max_seq_length=32, do_train=True, train_step=1,
                             save_checkpoints_steps=1, train_batch_size=2)
    messages = []
    result = classifier.run(opts, show=messages.append, show_progress=False)
    cached = tmp_path / "home" / "models" / "albert_base_v2"
    assert any(m.startswith("encoder from") and str(cached) in m for m in messages), messages
    assert result["tuner"].tokenizer.spm_model_file == str(cached / "30k-clean.model")
    assert server.count() == 1
    model = an.AlbertForPretraining(an.AlbertConfig.from_json_file(cached / "albert_config.json"))
    model(release["batch"])
    load_init_checkpoint(model, "albert_base_v2")              # the pretraining trainers' hook
    np.testing.assert_array_equal(model.albert(release["batch"])["pooled_output"].numpy(),
                                  release["reference"])
    assert server.count() == 1                                  # reused: no request
    assert resolve_init_checkpoint(str(cached)) == str(cached)
    with pytest.raises(InputError, match=r"--init_checkpoint='albert_base_v3': checkpoint not found"):
        resolve_init_checkpoint("albert_base_v3")
    bad = PretrainingOptions(input_file=str(tmp_path / "none.tfrecord"), output_dir=str(tmp_path / "p"),
                             albert_config_file=str(cached / "albert_config.json"),
                             init_checkpoint="albert_large_v2")     # in the table, not on the mirror
    with pytest.raises(InputError, match=r"^--init_checkpoint='albert_large_v2': .*HTTP 404"):
        pretraining.validate(bad)
    assert not (tmp_path / "home" / "models" / "albert_large_v2").exists()


# --------------------------------------------------------------------- cut and resume
def test_cut_transfer_is_refused_cleanly_then_resumed_with_range(server, tmp_path):
    data = server.files[TARBALL]
    server.cut[TARBALL] = (1, len(data) // 3)
    target = tmp_path / "albert_base_v2.tar.gz"
    url = server.url + TARBALL
    with pytest.raises(download.DownloadError, match="transfer cut short.*run the same command again") as err:
        download.fetch(url, target, retries=0, progress=False)
    assert "\n" not in str(err.value)
    assert not target.exists() and (tmp_path / "albert_base_v2.tar.gz.part").stat().st_size == len(data) // 3
    record = download.fetch(url, target, progress=False)
    assert server.requests[-1] == (TARBALL, f"bytes={len(data) // 3}-")
    assert target.read_bytes() == data and record["sha256"] == download.sha256_of(target)
    assert not (tmp_path / "albert_base_v2.tar.gz.part").exists()
    assert server.count() == 2


def test_a_cut_is_resumed_automatically_within_one_call(server, tmp_path):
    data = server.files[TARBALL]
    server.cut[TARBALL] = (2, 1000)
    folder = download.fetch_and_unpack(base_url(server) + "/albert_base_v2.tar.gz", "albert_base_v2",
                                       folder="albert_base", cache_dir=tmp_path, progress=False)
    assert download.read_stamp(folder)["archive_size"] == len(data)
    assert [r for _, r in server.requests] == [None, "bytes=1000-", "bytes=2000-"]


def test_a_changed_file_restarts_instead_of_splicing(server, tmp_path):
    url = server.url + TARBALL
    old = server.files[TARBALL]
    server.cut[TARBALL] = (1, 500)
    with pytest.raises(download.DownloadError):
        download.fetch(url, tmp_path / "f.tar.gz", retries=0, progress=False)
    server.files[TARBALL] = new = old[::-1]          # the server now has other bytes (new ETag)
    download.fetch(url, tmp_path / "f.tar.gz", progress=False)
    assert (tmp_path / "f.tar.gz").read_bytes() == new


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    url = server.url + TARBALL
    with pytest.raises(download.DownloadError, match="checksum mismatch.*nothing was kept"):
        download.fetch(url, tmp_path / "f.tar.gz", sha256="0" * 64, progress=False)
    with pytest.raises(download.DownloadError, match="release table says 12 bytes|got .* bytes"):
        download.fetch(url, tmp_path / "f.tar.gz", size=12, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["f.tar.gz.lock"]


def test_a_cached_download_that_changed_is_refused(server, tmp_path):
    url = server.url + TARBALL
    target = tmp_path / "f.tar.gz"
    download.fetch(url, target, progress=False)
    target.write_bytes(target.read_bytes()[:-1] + b"x")
    with pytest.raises(download.DownloadError, match="changed since it was fetched.*--force"):
        download.fetch(url, target, progress=False)
    assert download.fetch(url, target, force=True, progress=False)["sha256"] == download.sha256_of(target)
    assert server.count() == 2


def test_two_processes_fetching_one_release_download_it_once(server, tmp_path):
    server.delay = 0.3
    results, errors = [], []

    def worker():
        try:
            results.append(releases.locate("albert_base_v2", cache_dir=tmp_path,
                                           base_url=base_url(server), progress=False)[1])
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(set(results)) == 1
    assert server.count() == 1


# ----------------------------------------------------------------------------- errors
def test_404_offline_and_dns_failures_are_one_line(server, tmp_path):
    with pytest.raises(download.DownloadError, match=r"albert_large_v2\.tar\.gz: HTTP 404.*--list"):
        releases.locate("albert_large_v2", cache_dir=tmp_path, base_url=base_url(server))
    closed = ReleaseServer()
    port = closed.httpd.server_address[1]
    closed.httpd.server_close()                                # nothing listens there now
    with pytest.raises(download.DownloadError, match="cannot connect.*download it once where there is network"):
        releases.locate("albert_base_v1", cache_dir=tmp_path, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(download.DownloadError, match="cannot resolve host.*download it once"):
        releases.locate("albert_base_v1", cache_dir=tmp_path, base_url="http://albert-nb-test.invalid/m")
    assert not (tmp_path / "albert_large_v2").exists() and not (tmp_path / "albert_base_v1").exists()
    assert not list((tmp_path / "downloads").glob("*.tar.gz"))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_disk_full_removes_the_partial_file(server, tmp_path):
    url = server.url + TARBALL
    target = tmp_path / "f.tar.gz"
    # The partial file is /dev/full, whose every write fails with ENOSPC, as on a full disk.
    os.symlink("/dev/full", tmp_path / "f.tar.gz.part")
    download.atomic_write_json(tmp_path / "f.tar.gz.part.json", {"url": url})
    with pytest.raises(download.DownloadError, match="disk full.*free space or pass --cache_dir"):
        download.fetch(url, target, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["f.tar.gz.lock"]


def cli_run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "albert_nb.download", *args], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
                          timeout=120)


def test_a_cli_takes_a_release_name_for_its_model_directory(server, tmp_path):
    env = {"ALBERT_NB_MODELS_URL": base_url(server), "ALBERT_NB_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "albert_nb.export_checkpoints",
                             "--albert_directory=albert_base_v2", f"--export_path={tmp_path / 'out' / 'model.ckpt-best'}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), **env))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / "model.ckpt-best.index").is_file()
    assert (tmp_path / "home" / "models" / "albert_base_v2" / "albert_config.json").is_file()
    assert server.count() == 1


def test_cli_errors_are_one_line_and_exit_2(server, tmp_path):
    result = cli_run("albert_huge_v2", "--cache_dir", str(tmp_path))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "unknown release" in result.stderr or "not a release name" in result.stderr
    result = cli_run("albert_xlarge_v2", "--cache_dir", str(tmp_path), "--base_url", base_url(server))
    assert result.returncode == 2 and "HTTP 404" in result.stderr and "Traceback" not in result.stderr
    listing = cli_run("--list")
    assert listing.returncode == 0 and "albert_xxlarge_zh" in listing.stdout and "vocab_chinese.txt" in listing.stdout


# ----------------------------------------------------------------- unpacking safely
def _member(name, kind=tarfile.REGTYPE, link="", size=0):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


@pytest.mark.parametrize("member, data, why", [
    (_member("../evil.txt", size=4), b"evil", r"leaves the target folder"),
    (_member("albert_base/../../evil.txt", size=4), b"evil", r"leaves the target folder"),
    (_member("/tmp/albert_nb_evil.txt", size=4), b"evil", r"absolute path"),
    (_member("albert_base/passwd", tarfile.SYMTYPE, "/etc/passwd"), None, r"link"),
    (_member("albert_base/up", tarfile.SYMTYPE, "../../.."), None, r"link"),
    (_member("albert_base/hard", tarfile.LNKTYPE, "/etc/passwd"), None, r"link"),
    (_member("albert_base/dev", tarfile.CHRTYPE), None, r"special member"),
], ids=["dotdot", "nested-dotdot", "absolute", "symlink-abs", "symlink-up", "hardlink", "device"])
def test_traversal_and_links_are_refused_before_anything_is_written(server, release, tmp_path,
                                                                   member, data, why):
    bad = make_tarball(release["folder"], extra=[(member, data)])
    server.files["/albert_models/albert_base_v1.tar.gz"] = bad
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match=why + ".*nothing was extracted"):
        releases.locate("albert_base_v1", cache_dir=cache, base_url=base_url(server), progress=False)
    assert not (tmp_path / "evil.txt").exists() and not os.path.exists("/tmp/albert_nb_evil.txt")
    assert not (cache / "albert_base_v1").exists()
    assert not [p for p in cache_listing(cache) if "unpack-" in p]     # no staging left behind


def test_an_archive_without_a_release_folder_is_refused(release, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(_member("readme.txt", size=2), io.BytesIO(b"hi"))
    (tmp_path / "x.tar.gz").write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match="no albert_config.json"):
        archives.safe_extract(tmp_path / "x.tar.gz", tmp_path / "out")
    for cut in (40, len(release["tarball"]) // 2):
        (tmp_path / "broken.tar.gz").write_bytes(release["tarball"][:cut])
        with pytest.raises(InputError, match="damaged|not a readable tar"):
            archives.safe_extract(tmp_path / "broken.tar.gz", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["broken.tar.gz", "x.tar.gz"]


def test_a_damaged_unpacked_release_is_fetched_again(server, tmp_path):
    folder = Path(releases.locate("albert_base_v2", cache_dir=tmp_path, base_url=base_url(server),
                                  progress=False)[1])
    (folder / "model.ckpt-best.index").write_bytes(b"truncated")
    assert download.read_stamp(folder) is None
    again = releases.locate("albert_base_v2", cache_dir=tmp_path, base_url=base_url(server), progress=False)[1]
    assert download.read_stamp(again) and server.count() == 1   # re-unpacked from the kept tarball


# ------------------------------------------------------ hub modules and Hugging Face
def tf1_hub_module(release, root: Path) -> Path:
    """A module in the TF1 Hub format of Google's releases: tfhub_module.pb, saved_model.pb,
    variables/variables.* (the bert/... names) and assets/. Its saved_model.pb here is junk on
    purpose: loading reads only the variables and assets, so it must never be parsed."""
    module = root / "module"
    (module / "assets").mkdir(parents=True)
    (module / "tfhub_module.pb").write_bytes(b"\x08\x03")
    (module / "saved_model.pb").write_bytes(b"not a graph: never parsed")
    for name in ("albert_config.json", "30k-clean.model"):
        (module / "assets" / name).write_bytes((release["folder"] / name).read_bytes())
    loaded = checkpoints.load_pretrained(release["folder"])
    checkpoints.save_tf1_checkpoint(loaded.model, module / "variables" / "variables")
    return module


def test_a_tf1_hub_handle_resolves_through_tensorflow_hub(server, release, tmp_path):
    module = tf1_hub_module(release, tmp_path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(module, arcname=".")
    handle = server.url + "/google/albert_tiny/1"
    server.files["/google/albert_tiny/1?tf-hub-format=compressed"] = buffer.getvalue()
    loaded = an.from_pretrained(handle, cache_dir=tmp_path / "cache")
    assert loaded.report.format == "google_tf1" and not loaded.report.missing
    np.testing.assert_array_equal(loaded.model.albert(release["batch"])["pooled_output"].numpy(),
                                  release["reference"])
    encoder = an.from_pretrained(handle, head="encoder", cache_dir=tmp_path / "cache")
    assert isinstance(encoder.model, an.AlbertModel)
    assert server.count() == 1                              # tensorflow_hub's cache is reused
    assert (tmp_path / "cache" / "tfhub").is_dir()


def test_hugging_face_folders_and_cached_ids_load_through_the_same_call(release, tmp_path):
    from albert_nb.interop import hf

    loaded = checkpoints.load_pretrained(release["folder"])
    hf.save_hf_directory(loaded.model, tmp_path / "hf", loaded.tokenizer)
    again = an.from_pretrained(tmp_path / "hf")
    assert again.report.architecture == "AlbertForPreTraining"
    np.testing.assert_allclose(again.model.albert(release["batch"])["pooled_output"].numpy(),
                               release["reference"], atol=1e-6)
    # An id already in huggingface_hub's cache (its on-disk layout, made here) loads with no
    # request: the tests never reach the real hub.
    repo = tmp_path / "cache" / "huggingface" / "models--albert--albert-tiny-test"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in os.listdir(tmp_path / "hf"):
        (snapshot / name).write_bytes((tmp_path / "hf" / name).read_bytes())
    by_id = an.from_pretrained("albert/albert-tiny-test", cache_dir=tmp_path / "cache")
    assert by_id.directory == str(snapshot)
    np.testing.assert_allclose(by_id.model.albert(release["batch"])["pooled_output"].numpy(),
                               release["reference"], atol=1e-6)

"""The bad-input sweep's classes (issue 12), one test each: every one ends in one clear line
(an InputError naming the file, flag or value), never in a traceback, a silent wrong result
or a destroyed file of the user's."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import albert_nb as an
from albert_nb.pretraining import create as cpd
from albert_nb.errors import InputError
from albert_nb.interop import tfhub
from test_checkpoints import CONFIG, make_release, tf1_arrays

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ALBERT_NB_FAULT")}
ENV["PYTHONPATH"] = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")


def cli(module, *args, prefix=(), timeout=600):
    return subprocess.run([*prefix, sys.executable, "-m", f"albert_nb.{module}", *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def one_line(result, *needles):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("bad") / "albert_tiny", tf1_arrays(seed=2))


# ------------------------------------------------------------------------------- configs
def _config_file(tmp_path, data, raw=None):
    path = tmp_path / "albert_config.json"
    path.write_bytes(raw if raw is not None else json.dumps(data).encode())
    return path


def test_near_miss_config_key_is_refused_with_did_you_mean(tmp_path):
    data = dict(CONFIG)
    data["hiden_size"] = data.pop("hidden_size")
    with pytest.raises(InputError, match=r"unknown key 'hiden_size'; did you mean 'hidden_size'"):
        an.AlbertConfig.from_json_file(_config_file(tmp_path, data))
    kept = an.AlbertConfig.from_json_file(_config_file(tmp_path, dict(CONFIG, gap_size=0,
                                                                     net_structure_type=0)))
    assert kept.extra == {"gap_size": 0, "net_structure_type": 0}   # truly unknown keys: kept


def test_transformers_config_keys_are_not_mistaken_for_typos():
    transformers = pytest.importorskip("transformers")
    data = transformers.AlbertConfig(**CONFIG).to_dict()
    config = an.AlbertConfig.from_hf_dict(data)
    assert config.hidden_size == CONFIG["hidden_size"]


@pytest.mark.parametrize("data, raw, needle", [
    ([1, 2], None, "expected a JSON object"),
    (dict(CONFIG, hidden_dropout_prob="abc"), None, "'hidden_dropout_prob' = 'abc': expected a number"),
    (dict(CONFIG, hidden_size=None), None, "'hidden_size' = None: expected a positive integer"),
    (dict(CONFIG, num_hidden_layers=[12]), None, "'num_hidden_layers' = [12]"),
    (dict(CONFIG, hidden_act=["gelu"]), None, "'hidden_act'"),
    (None, b'{"vocab_size": 30000, "x": "\xff\xfe"}', "not UTF-8"),
    (dict(CONFIG, vocab_size=300_000_000_000), None, "would not fit in memory"),
])
def test_config_values_of_the_wrong_type(tmp_path, data, raw, needle):
    with pytest.raises(InputError, match=None) as info:
        an.AlbertConfig.from_json_file(_config_file(tmp_path, data, raw))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_hf_config_and_safetensors_index(tmp_path):
    from albert_nb.interop import hf

    (tmp_path / "config.json").write_text("[]")
    with pytest.raises(InputError, match="expected a JSON object"):
        hf.read_hf_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(CONFIG, model_type="albert",
                                                          hidden_size="big")))
    with pytest.raises(InputError, match="'hidden_size' = 'big'"):
        hf.read_hf_config(tmp_path)
    for index, needle in (("[1]", "expected a JSON object"), ('{"weight_map": 3}', "weight_map"),
                          ('{"weight_map": {"a": "../x.safetensors"}}', "outside the directory"),
                          ('{"weight_map": {"a": "m-1.safetensors"}}', "is missing"),
                          (b"\xff", "not UTF-8")):
        (tmp_path / hf.INDEX_NAME).write_bytes(index if isinstance(index, bytes) else index.encode())
        with pytest.raises(InputError, match=needle):
            hf.read_safetensors(tmp_path)


# ------------------------------------------------------------------ create_pretraining_data
@pytest.fixture(scope="module")
def tokenizer(release):
    from albert_nb.tokenizers.tokenization import FullTokenizer

    return FullTokenizer(spm_model_file=os.path.join(release, "30k-clean.model"))


def test_outputs_named_twice_or_equal_to_an_input_are_refused(tmp_path, tokenizer):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one sentence here.\nanother one.\n\nsecond document.\nand more.\n")
    original = corpus.read_bytes()
    out = tmp_path / "a.tfrecord"
    with pytest.raises(InputError, match="names .* twice"):
        cpd.run(str(corpus), f"{out},{tmp_path}/./a.tfrecord", tokenizer, show_progress=False)
    with pytest.raises(InputError, match="is also an --input_file"):
        cpd.run(str(corpus), str(corpus), tokenizer, show_progress=False)
    with pytest.raises(InputError, match="is also an --input_file"):
        cpd.run(str(tmp_path / "*.txt"), f"{out},{corpus}", tokenizer, show_progress=False)
    assert corpus.read_bytes() == original and not out.exists()


def test_unwritable_outputs_are_refused_before_the_corpus_is_read(tmp_path, tokenizer, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("nul \x00 here.\nanother line.\n")       # reading it would warn
    with pytest.raises(InputError, match="is a directory"):
        cpd.run(str(corpus), str(tmp_path), tokenizer, show_progress=False)
    with pytest.raises(InputError, match="is a file, not a directory"):
        cpd.run(str(corpus), f"{corpus}/sub/x.tfrecord", tokenizer, show_progress=False)
    assert not capsys.readouterr().err                           # the error is the only line


def test_control_characters_are_counted_in_one_warning(tmp_path, tokenizer, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a clean line.\nnul \x00 and bell \x07 here.\n\nthird\x01 line.\n")
    cpd.read_documents(str(corpus), tokenizer)
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Warning:")]
    assert len(warnings) == 1 and "3 NUL/control character(s), the first on line 2" in warnings[0]


def test_over_long_sentences_are_cut_while_reading(tmp_path, tokenizer, capsys, monkeypatch):
    """A one-line corpus: cut into sentences that fit, with one warning, read in pieces."""
    monkeypatch.setattr(cpd, "READ_LIMIT", 4096)     # pieces of 4 KB instead of 1 MB
    words = "the model reads one very long line of text without any break "
    corpus = tmp_path / "one_line.txt"
    corpus.write_text(words * 2000 + "\n")            # ~130 KB, one line
    docs = cpd.read_documents(str(corpus), tokenizer, max_sentence_tokens=29)
    assert len(docs) == 1 and all(len(ids) <= 29 for ids, _ in docs[0])
    total = sum(len(ids) for ids, _ in docs[0])
    pieces = len(tokenizer.tokenize(tokenizer.preprocess(words))) * 2000
    assert abs(total - pieces) <= 2000 * 0.05 + 40    # nothing lost but the cuts' re-tokenising
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Warning:")]
    assert len(warnings) == 1 and "longer than 232) was cut into sentences of 29 tokens" in warnings[0]
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text(words * 3 + "\n")            # longer than 29 tokens, but prose: whole
    assert [len(ids) for ids, _ in cpd.read_documents(str(ordinary), tokenizer,
                                                      max_sentence_tokens=29)[0]] == [
        len(tokenizer.tokenize(tokenizer.preprocess(words * 3)))]
    assert not capsys.readouterr().err
    stats = cpd.run(str(corpus), str(tmp_path / "o.tfrecord"), tokenizer, max_seq_length=32,
                    max_predictions_per_seq=5, dupe_factor=1, show_progress=False)
    assert stats["num_instances"] > 0


def test_os_errors_give_one_line(tmp_path, release):
    corpus = tmp_path / "c.txt"
    corpus.write_text("one sentence.\ntwo sentences.\n")
    spm = os.path.join(release, "30k-clean.model")
    base = [f"--input_file={corpus}", f"--spm_model_file={spm}", "--noprogress",
            "--max_seq_length=32", "--max_predictions_per_seq=5", "--dupe_factor=1"]
    one_line(cli("create_pretraining_data", *base, f"--output_file={tmp_path}"), "is a directory")
    one_line(cli("create_pretraining_data", *base, f"--output_file={corpus}/x.tfrecord"),
             "Error", str(corpus))
    one_line(cli("create_pretraining_data", f"--input_file={tmp_path}", f"--spm_model_file={spm}",
                 f"--output_file={tmp_path / 'o.tfrecord'}"), "IsADirectoryError")


def _world_readable_copy(release, corpus_text):
    work = tempfile.mkdtemp(prefix="albert_nb_perm_")
    os.chmod(work, 0o755)
    shutil.copy(os.path.join(release, "30k-clean.model"), work)
    with open(os.path.join(work, "c.txt"), "w") as handle:
        handle.write(corpus_text)
    locked = os.path.join(work, "locked")
    os.mkdir(locked)
    os.chmod(locked, 0o555)
    for name in ("30k-clean.model", "c.txt"):
        os.chmod(os.path.join(work, name), 0o644)
    return work, locked


def test_no_permission_as_a_user_without_capabilities(release):
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs setpriv and root to drop to an unprivileged user")
    work, locked = _world_readable_copy(release, "one sentence.\ntwo sentences.\n")
    try:
        nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        result = cli("create_pretraining_data", f"--input_file={work}/c.txt",
                     f"--spm_model_file={work}/30k-clean.model", f"--output_file={locked}/o.tfrecord",
                     "--noprogress", prefix=nobody)
        one_line(result, "PermissionError", locked)
        assert os.listdir(locked) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_disk_full_leaves_nothing_half_written(tmp_path, release):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs user namespaces or root)")
    full = tmp_path / "full"
    full.mkdir()
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"sentence number {i} of a corpus that fills a disk.\n"
                              for i in range(3000)))
    mount = ("unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs {full} && "$0" "$@"')
    result = cli("create_pretraining_data", f"--input_file={corpus}",
                 f"--spm_model_file={os.path.join(release, '30k-clean.model')}",
                 f"--output_file={full}/o.tfrecord", "--noprogress", "--max_seq_length=64",
                 "--dupe_factor=2", prefix=mount)
    one_line(result, "No space left on device")
    result = cli("export_checkpoints", f"--albert_directory={release}",
                 f"--export_path={full}/model.ckpt-best", prefix=mount)
    one_line(result, "No space left on device")


# ----------------------------------------------------------------------------- flags
@pytest.mark.parametrize("flag, needle", [
    ("--albert_directry=x", "Did you mean: albert_directory"),
    ("--do_lower_case=maybe", "--do_lower_case"),
])
def test_flag_errors_exit_2_in_one_line(flag, needle):
    one_line(cli("export_checkpoints", flag, "--export_path=/tmp/x"), "flag error", needle)


def test_bad_enum_value_exits_2():
    one_line(cli("run_pretraining", "--optimizer=sgd"), "flag error", "--optimizer=sgd")


# ------------------------------------------------------------------------ export_to_tfhub
def test_export_to_tfhub_never_replaces_what_it_did_not_write(tmp_path, release):
    before = sorted(os.listdir(release))
    one_line(cli("export_to_tfhub", f"--albert_directory={release}", f"--export_path={release}"),
             "would delete the release")
    assert sorted(os.listdir(release)) == before
    for target, needle in ((os.path.dirname(release), "would delete the release"),
                           (os.path.join(release, "albert_config.json"), "is not a directory")):
        with pytest.raises(InputError, match=needle):
            tfhub.check_export_path(target, release)
    users = tmp_path / "user_folder"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a hub module written by export_to_tfhub"):
        tfhub.check_export_path(users, release)
    (tmp_path / "empty").mkdir()
    assert tfhub.check_export_path(tmp_path / "empty", release) == str(tmp_path / "empty")


def test_stale_export_leftovers_are_cleaned_and_a_parked_module_restored(tmp_path):
    target = tmp_path / "module"
    dead = 2 ** 22 + 12345   # above the default pid_max: no such process
    parked = tmp_path / f".module.hub-old-{dead}-abc"
    parked.mkdir()
    (parked / "saved_model.pb").write_bytes(b"x")
    staging = tmp_path / f".module.hub-new-{dead}-def"
    staging.mkdir()
    legacy = tmp_path / ".hub-k2j3h4"
    legacy.mkdir()
    tfhub.clean_export_leftovers(str(target))
    assert (target / "saved_model.pb").read_bytes() == b"x"      # kill between the two renames
    assert sorted(os.listdir(tmp_path)) == ["module"]


# --------------------------------------------------------------------- hub modules, trust
@pytest.fixture(scope="module")
def hostile_module(tmp_path_factory, release):
    """One of our modules whose tokenization_info also writes a file when it runs."""
    import tensorflow as tf

    from albert_nb.interop import checkpoints

    root_dir = tmp_path_factory.mktemp("hub")
    marker = root_dir / "the_module_ran.txt"
    loaded = checkpoints.load_pretrained(release)
    root, signatures, assets = tfhub.build_hub_root(loaded.model, tfhub.tokenizer_file_list(
        loaded.tokenizer), True, tempfile.mkdtemp(dir=root_dir))

    @tf.function(input_signature=[])
    def tokenization_info():
        tf.io.write_file(str(marker), "written by the module's graph")
        return {"vocab_file": root.vocab_asset.asset_path, "do_lower_case": tf.constant(True)}

    root.tokenization_info = tokenization_info
    signatures["tokenization_info"] = tokenization_info.get_concrete_function()
    module = root_dir / "module"
    tf.saved_model.save(root, str(module), signatures=signatures)
    return str(module), marker


def test_loading_a_hub_module_runs_none_of_its_code(hostile_module):
    module, marker = hostile_module
    loaded = tfhub.load_module(module)
    assert loaded.tokenizer.is_sentencepiece and loaded.tokenizer.vocab_size <= loaded.config.vocab_size
    assert not marker.exists()
    assert "a hub module is code" in tfhub.TRUST_NOTE
    help_text = " ".join(cli("run_classifier", "--helpfull").stdout.split())
    assert "a hub module is code" in help_text


def _damaged_copy(module, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(module, copy)
    return copy


def test_damaged_hub_modules(hostile_module, tmp_path):
    module, _ = hostile_module
    wrong = _damaged_copy(module, tmp_path, "wrong_config")
    config = json.loads((wrong / "assets" / "albert_config.json").read_text())
    config["intermediate_size"] *= 2
    (wrong / "assets" / "albert_config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="does not belong to these weights"):
        tfhub.load_module(wrong)
    corrupt = _damaged_copy(module, tmp_path, "corrupt_pb")
    (corrupt / "saved_model.pb").write_bytes(b"\x00garbage" * 50)
    with pytest.raises(InputError, match="saved_model.pb is not a SavedModel"):
        tfhub.load_module(corrupt)
    missing = _damaged_copy(module, tmp_path, "no_variables")
    shutil.rmtree(missing / "variables")
    with pytest.raises(InputError, match="no variables/variables.index"):
        tfhub.load_module(missing)
    truncated = _damaged_copy(module, tmp_path, "truncated")
    data = next((truncated / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(InputError, match="cannot be loaded"):
        tfhub.HubEncoder(truncated)


def test_truncated_checkpoint_is_named(tmp_path, release):
    from albert_nb.interop import checkpoints

    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    data = copy / "model.ckpt-best.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(InputError, match=r"checkpoint .*model.ckpt-best' is damaged"):
        checkpoints.load_pretrained(copy)


# ------------------------------------------------------------------ damaged TFRecords
def _make_records(directory, tokenizer, max_seq_length, max_predictions_per_seq):
    from test_create_pretraining_data import _python_docs_corpus

    corpus = directory / "corpus.txt"
    corpus.write_text(_python_docs_corpus(), encoding="utf-8")
    out = directory / "good.tfrecord"
    cpd.run(str(corpus), str(out), tokenizer, max_seq_length=max_seq_length,
            max_predictions_per_seq=max_predictions_per_seq, dupe_factor=1, show_progress=False)
    return out


@pytest.fixture(scope="module")
def records(tmp_path_factory, tokenizer):
    return _make_records(tmp_path_factory.mktemp("records"), tokenizer, 32, 5)


def _drain(path, vocab_size=None, is_training=False):
    from albert_nb.pretraining import records as pretraining_records

    ds = pretraining_records.make_dataset(str(path), 32, 5, 4, is_training=is_training, seed=0,
                                          repeat=False, vocab_size=vocab_size)
    try:
        return sum(1 for _ in ds)
    except Exception as err:
        error = pretraining_records.record_error(err)
        if error is None:
            raise
        raise error from None


def _rewrite(source, target, change):
    """Copy a TFRecord file, passing each record (index, tf.train.Example) through `change`."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(target)) as writer:
        for index, raw in enumerate(tf.data.TFRecordDataset(str(source))):
            example = tf.train.Example.FromString(raw.numpy())
            change(index, example)
            writer.write(example.SerializeToString())


def test_records_are_checked_as_they_are_read(records, tmp_path, tokenizer):
    assert _drain(records, vocab_size=tokenizer.vocab_size) > 0

    def shorter_from_5(index, example):
        if index >= 5:
            del example.features.feature["input_ids"].int64_list.value[-1]

    mid = tmp_path / "mid.tfrecord"
    _rewrite(records, mid, shorter_from_5)
    with pytest.raises(InputError, match=r"mid.tfrecord', record 5 .*input_ids length \(expected 32\), found 31"):
        _drain(mid)

    def big_id(index, example):
        if index == 7:
            example.features.feature["masked_lm_ids"].int64_list.value[0] = 10 ** 6

    ids = tmp_path / "ids.tfrecord"
    _rewrite(records, ids, big_id)
    with pytest.raises(InputError, match=r"record 7 .*masked_lm_ids id outside \[0, vocab_size="):
        _drain(ids, vocab_size=tokenizer.vocab_size, is_training=False)


def test_truncated_tfrecords_are_named(records, tmp_path, capsys):
    """Cut anywhere (inside a record's data, or inside a header, which TensorFlow's reader would
    take for the end of the file): one line naming the file, through the CLI's error contract."""
    from albert_nb import cli as cli_module

    raw = records.read_bytes()
    first = 12 + int.from_bytes(raw[:8], "little") + 4       # the end of record 0
    for cut in (first + 5, first + 12 + 40, len(raw) - 3):
        truncated = tmp_path / f"truncated_{cut}.tfrecord"
        truncated.write_bytes(raw[:cut])

        @cli_module.command("probe")
        def main(argv):
            _drain(truncated)

        with pytest.raises(SystemExit) as info:
            main(["probe"])
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert info.value.code == 2 and len(lines) == 1, lines
        assert f"truncated_{cut}.tfrecord" in lines[0] and "is truncated" in lines[0], lines
        assert cut == len(raw) - 3 or "record 1 " in lines[0], lines


def test_truncated_feature_cache_with_matching_fingerprint_is_rebuilt(tmp_path, tokenizer):
    from albert_nb.finetuning import features
    from albert_nb.tasks.glue import InputExample

    examples = [InputExample(guid=str(i), text_a=f"sentence number {i}", label="0")
                for i in range(20)]
    path = str(tmp_path / "sst-2_train.tf_record")
    args = (examples, ["0", "1"], 32, tokenizer, "sst-2", "train")
    assert features.cached_features(path, *args, show=None)[2] is False
    assert features.cached_features(path, *args, show=None)[2] is True
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    messages = []
    assert features.cached_features(path, *args, show=messages.append)[2] is False
    assert "damaged" in messages[0]
    assert sum(1 for _ in features.read_features(path, False)) == 20


# ------------------------------------------------- best-checkpoint selection: one committed state
def _fake_checkpoint(directory, step, value):
    """A checkpoint in the trainers' layout (global_step + variables), small and fast to write."""
    import tensorflow as tf

    state = tf.train.Checkpoint(global_step=tf.Variable(step, dtype=tf.int64),
                                variables={"w": tf.Variable(tf.fill([64], float(value)))})
    return state.write(os.path.join(directory, f"model.ckpt-{step}"))


def test_selection_commits_best_copy_and_files_before_the_history(tmp_path):
    from albert_nb.training.selection import HISTORY_FILE, Selection

    out = str(tmp_path)
    prefixes = {step: _fake_checkpoint(out, step, step) for step in (2, 4)}
    selection = Selection(out, "eval_accuracy")
    seen = []

    def on_best(step):
        # the task's files of the new best come after the copy and before the history names it
        assert os.path.isfile(os.path.join(out, "model.ckpt-best.index"))
        history = tmp_path / HISTORY_FILE
        assert not history.exists() or step not in [r["global_step"] for r in
                                                     json.loads(history.read_text())]
        seen.append(step)

    assert selection.record(2, {"eval_accuracy": 0.5}, prefixes[2], on_best=lambda: on_best(2))
    assert not selection.record(4, {"eval_accuracy": 0.5}, prefixes[4], on_best=lambda: on_best(4))
    assert seen == [2]                                   # a tie keeps the earlier checkpoint
    # evaluated out of order (a step evaluated on resume): the best is what an in-order run picks
    _fake_checkpoint(out, 6, 6)
    again = Selection(str(tmp_path / "other"), "eval_accuracy")
    os.makedirs(again.output_dir)
    for step in (4, 2):
        again.record(step, {"eval_accuracy": 0.5}, prefixes[step])
    assert again.best()["global_step"] == 2
    assert (tmp_path / "other" / "best_trial.txt").read_text() == "4:2:0.5"


def test_reconcile_redoes_an_interrupted_best_copy(tmp_path, capsys):
    from albert_nb.training.checkpoints import copy_checkpoint, same_checkpoint
    from albert_nb.training.selection import Selection, intact_step

    out = str(tmp_path)
    prefixes = {step: _fake_checkpoint(out, step, step) for step in (2, 4)}
    selection = Selection(out, "eval_accuracy")
    selection.record(2, {"eval_accuracy": 0.75}, prefixes[2])
    selection.record(4, {"eval_accuracy": 0.5}, prefixes[4])
    best = os.path.join(out, "model.ckpt-best")
    best_trial = (tmp_path / "best_trial.txt").read_text()
    assert best_trial == "4:2:0.75"

    os.unlink(best + ".index")                          # killed mid-copy: no model.ckpt-best
    (tmp_path / "best_trial.txt").write_text("4:4:0.5")  # and a stale result file
    Selection(out, "eval_accuracy").reconcile()
    assert same_checkpoint(prefixes[2], best)
    assert (tmp_path / "best_trial.txt").read_text() == best_trial
    copy_checkpoint(prefixes[4], best)                   # model.ckpt-best holds another step
    Selection(out, "eval_accuracy").reconcile()
    assert same_checkpoint(prefixes[2], best)
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Warning:")]
    assert len(warnings) == 2 and all("does not hold step 2" in w for w in warnings), warnings

    # the best step's checkpoint is gone (retention) and its copy damaged: it cannot be selected
    for path in [p for p in os.listdir(out) if p.startswith("model.ckpt-2.")]:
        os.unlink(os.path.join(out, path))
    data = best + ".data-00000-of-00001"
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)
    selection = Selection(out, "eval_accuracy")
    selection.reconcile()
    assert [r["global_step"] for r in selection.history] == [4]
    assert same_checkpoint(prefixes[4], best)
    assert (tmp_path / "best_trial.txt").read_text() == "4:4:0.5"
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Warning:")]
    assert "step 2, the best in eval_history.json, can no longer be selected" in warnings[0]
    # a damaged source is never copied over an intact best
    with open(prefixes[4] + ".data-00000-of-00001", "r+b") as handle:
        handle.truncate(10)
    Selection(out, "eval_accuracy").reconcile()
    assert not capsys.readouterr().err
    assert intact_step(best) == 4


# --------------------------------------------------- resuming: damaged checkpoints, step counts, ids
@pytest.fixture(scope="module")
def short_records(tmp_path_factory, tokenizer):
    """Records of the release's 24 positions, for in-process training runs."""
    return _make_records(tmp_path_factory.mktemp("short_records"), tokenizer, 24, 4)


def _pretrainer(release, records, out, steps):
    from albert_nb.pretraining.options import PretrainingOptions
    from albert_nb.pretraining.trainer import Pretrainer

    return Pretrainer(PretrainingOptions(
        input_file=str(records), output_dir=str(out),
        albert_config_file=os.path.join(release, "albert_config.json"), max_seq_length=24,
        max_predictions_per_seq=4, train_batch_size=4, num_train_steps=steps,
        num_warmup_steps=1, save_checkpoints_steps=2, log_every_steps=2, seed=3))


def _truncate(prefix):
    data = f"{prefix}.data-00000-of-00001"
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)


def test_resume_falls_back_from_a_damaged_checkpoint(tmp_path, release, short_records, capsys):
    from albert_nb.training.checkpoints import read_weights

    out = tmp_path / "out"
    _pretrainer(release, short_records, out, 4).train(show_progress=False)
    _truncate(out / "model.ckpt-4")                                   # a full disk, say
    capsys.readouterr()
    trainer = _pretrainer(release, short_records, out, 6)
    trainer.train(show_progress=False)
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Warning:")]
    assert len(warnings) == 1 and f"checkpoint {out / 'model.ckpt-4'} is damaged" in warnings[0]
    assert f"resuming from {out / 'model.ckpt-2'} instead" in warnings[0]
    assert trainer.restored == str(out / "model.ckpt-2") and int(trainer.global_step.numpy()) == 6

    # A step count at or below the checkpoint's: one line, nothing trained.
    again = _pretrainer(release, short_records, out, 6)
    again.train(show_progress=False)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert lines == [f"Warning: --num_train_steps=6 (6 steps) is at or below the step of the "
                     f"checkpoint in {out} (step 6): nothing to train; raise --num_train_steps "
                     "to train further"]

    # Every checkpoint damaged: refused in one line naming them (no fresh start from
    # half-restored weights); read directly, a damaged checkpoint is refused the same way.
    for step in (2, 4, 6):
        _truncate(out / f"model.ckpt-{step}")
    with pytest.raises(InputError, match=r"every checkpoint in --output_dir=.* is damaged "
                                         r"\(model.ckpt-6, model.ckpt-4, model.ckpt-2;") as info:
        _pretrainer(release, short_records, out, 8).train(show_progress=False)
    assert "\n" not in str(info.value) and not capsys.readouterr().err   # no warning before it
    with pytest.raises(InputError, match="model.ckpt-6' is damaged"):
        read_weights(trainer.model, str(out / "model.ckpt-6"))


def test_ids_beyond_vocab_size_stop_training_before_a_checkpoint(tmp_path, release, short_records):
    from albert_nb.pretraining import records as pretraining_records

    bad = tmp_path / "bad_ids.tfrecord"

    def big_id(index, example):
        example.features.feature["input_ids"].int64_list.value[1] = 10 ** 6

    _rewrite(short_records, bad, big_id)
    out = tmp_path / "out"
    trainer = _pretrainer(release, bad, out, 4)
    with pytest.raises(Exception) as info:
        trainer.train(show_progress=False)
    error = pretraining_records.record_error(info.value)
    assert error is not None, info.value
    assert f"TFRecord '{bad}', record " in str(error) and "input_ids id outside [0, vocab_size=" in str(error)
    assert not [n for n in os.listdir(out) if n.startswith("model.ckpt")]

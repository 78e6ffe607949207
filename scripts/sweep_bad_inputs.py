"""Sweep of bad inputs and faults across the CLIs, as a new user would make them (issue 12).

    python scripts/sweep_bad_inputs.py [--keep DIR] [--no-faults] [--faults-only]

Builds a tiny release (config, SentencePiece model, TF1 checkpoint), a corpus and TFRecords,
damages them in the ways the issue lists, and runs every CLI on each case in one child process
per CLI (the CLI's `main` is called in-process per case, through the same absl flag parser and
error wrapper as on the command line). Each case is classified:

    one-line   exit 2 with exactly one stderr line (what every bad input must give)
    warned     exit 0 with exactly one "Warning:" line (where the input is usable, e.g. NUL bytes,
               or a resume that falls back from a damaged checkpoint)
    ok         exit 0 and a quiet stderr where the input is fine to use (a damaged feature
               cache is rebuilt)
    traceback  an exception escaped; exit-N: another exit status; silent: exit 0, no word;
    noisy      the right status but more than one stderr line; hang: over CASE_TIMEOUT seconds

Then the faults: each CLI is killed (SIGKILL, `albert_nb.faults`) at each of its write points,
one fresh output directory per point, and the same command is run again. The rerun is

    recovered  exit 0, outputs identical to an uninterrupted run, no temp file, quiet stderr
    partial    an output missing or a temp file left; silent-wrong: outputs differ;
    missed     the fault point was never reached (not killed); traceback / exit-N / hang

and the counts are printed, grouped as the issue counts them. The commands, outputs and
comparisons are tests/test_faults.py's, so the suite and the sweep check the same thing.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
CASE_TIMEOUT = 300   # seconds; a case past it is a hang


def _truncate(path, keep: float = 0.5) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(int(os.path.getsize(path) * keep))


def _trained_copies(f: dict, root: str) -> None:
    """Finished run_pretraining / run_classifier output directories (the faults' references
    too), and copies damaged as the issue lists: the newest or every checkpoint truncated, a
    feature cache truncated under a matching fingerprint."""
    import test_faults as faults

    f["pre_trained"] = os.path.join(root, "trained_pre")
    f["cls_trained"] = os.path.join(root, "trained_cls")
    for module, args in (("run_pretraining", faults._pretraining_args(f["records"], f["release"],
                                                                      f["pre_trained"])),
                         ("run_classifier", faults._classifier_args(f["release"], f["cls_trained"]))):
        done = faults.cli(module, *args)
        if done.returncode != 0:
            raise SystemExit(f"{module} reference run failed:\n{done.stderr[-2000:]}")

    def copy(source, name, *truncated):
        target = os.path.join(root, name)
        shutil.copytree(source, target)
        for relative in truncated:
            _truncate(os.path.join(target, relative))
        f[name] = target

    data = "model.ckpt-{}.data-00000-of-00001"
    copy(f["pre_trained"], "pre_done")
    copy(f["pre_trained"], "pre_damaged_newest", data.format(4))
    copy(f["pre_trained"], "pre_damaged_all", data.format(2), data.format(4))
    copy(f["pre_trained"], "pre_for_classifier")
    copy(f["cls_trained"], "cls_done")
    copy(f["cls_trained"], "cls_damaged_newest", data.format(4))
    copy(f["cls_trained"], "cls_cache_truncated", "albert_nb_mnli_eval.tf_record")


def build_fixtures(root: str) -> dict:
    import albert_nb as an
    from albert_nb.pretraining import create as cpd
    from albert_nb.tokenizers.tokenization import FullTokenizer
    from test_checkpoints import CONFIG, make_release, tf1_arrays
    from test_create_pretraining_data import _python_docs_corpus

    release = make_release(os.path.join(root, "release"), tf1_arrays(seed=1))
    corpus = os.path.join(root, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as handle:
        handle.write(_python_docs_corpus())
    tok = FullTokenizer(spm_model_file=os.path.join(release, "30k-clean.model"))
    records = os.path.join(root, "train.tfrecord")
    cpd.run(corpus, records, tok, max_seq_length=24, max_predictions_per_seq=4, dupe_factor=1,
            show_progress=False)
    f = {"root": root, "release": release, "corpus": corpus, "records": records,
         "spm": os.path.join(release, "30k-clean.model"),
         "config": os.path.join(release, "albert_config.json")}

    def write(name, data: bytes):
        path = os.path.join(root, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def config(name, **changes):
        data = dict(CONFIG, **changes)
        return write(name, json.dumps(data).encode())

    typo = dict(CONFIG)
    typo["hiden_size"] = typo.pop("hidden_size")
    f["cfg_typo"] = write("typo.json", json.dumps(typo).encode())
    f["cfg_array"] = write("array.json", b"[1, 2, 3]")
    f["cfg_str"] = config("str.json", hidden_dropout_prob="abc")
    f["cfg_null"] = config("null.json", hidden_size=None)
    f["cfg_list"] = config("list.json", num_hidden_layers=[3])
    f["cfg_bytes"] = write("bytes.json", b'{"vocab_size": 30, "x": "\xff"}')
    f["cfg_huge"] = config("huge.json", vocab_size=10 ** 12)
    f["cfg_malformed"] = write("malformed.json", b'{"vocab_size": 30,')
    f["cfg_hf"] = write("hf.json", json.dumps(dict(CONFIG, model_type="albert",
                                                    hidden_act=["gelu"])).encode())
    from test_bad_inputs import _rewrite

    def big_id(index, example):
        if index >= 3:
            example.features.feature["input_ids"].int64_list.value[1] = 10 ** 6

    def shorter_from_5(index, example):
        if index >= 5:
            del example.features.feature["input_ids"].int64_list.value[-1]

    for name, change in (("rec_big_id", big_id), ("rec_mid_length", shorter_from_5)):
        f[name] = os.path.join(root, f"{name}.tfrecord")
        _rewrite(records, f[name], change)
    _trained_copies(f, root)
    with open(records, "rb") as handle:
        raw = handle.read()
    # Cut inside a record: a cut at a record boundary (these records are all of one size) is a
    # valid shorter file that no reader can tell apart.
    f["rec_truncated"] = write("truncated.tfrecord", raw[: len(raw) * 2 // 3 + 7])
    f["rec_garbage"] = write("garbage.tfrecord", b"\x00not a tfrecord" * 10)
    f["corpus_nul"] = write("nul.txt", b"one \x00 sentence.\nand \x07 two.\n\nthird doc.\n")
    f["corpus_latin1"] = write("latin1.txt", "caf\xe9 au lait.\n".encode("latin-1"))
    f["corpus_empty"] = write("empty.txt", b"\n\n")
    f["corpus_long"] = write("long.txt", b"word " * 60000 + b"\n")
    damaged = os.path.join(root, "damaged_release")
    shutil.copytree(release, damaged)
    data = os.path.join(damaged, "model.ckpt-best.data-00000-of-00001")
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)
    f["rel_damaged"] = damaged
    wrong = os.path.join(root, "wrong_vocab_release")
    shutil.copytree(release, wrong)
    an.AlbertConfig(**dict(CONFIG, vocab_size=CONFIG["vocab_size"] + 7)).to_json_file(
        os.path.join(wrong, "albert_config.json"))
    f["rel_wrong"] = wrong
    f["a_file"] = write("a_file.txt", b"mine\n")
    f["user_dir"] = os.path.join(root, "user_dir")
    os.makedirs(f["user_dir"], exist_ok=True)
    write("user_dir/notes.txt", b"mine\n")
    f["hub_dir_no_pb"] = os.path.join(root, "not_a_module")
    os.makedirs(f["hub_dir_no_pb"], exist_ok=True)
    return f


def cases(f: dict) -> dict[str, list[tuple[str, list[str], str]]]:
    """{cli: [(name, argv, expectation)]}; expectation "error" or "warn"."""
    out = lambda name: os.path.join(f["root"], "out", name)   # noqa: E731
    cpd_base = [f"--spm_model_file={f['spm']}", "--noprogress", "--max_seq_length=24",
                "--max_predictions_per_seq=4", "--dupe_factor=1"]
    cpd = [
        ("missing input", [f"--input_file={f['root']}/nope.txt", f"--output_file={out('a')}"], "error"),
        ("input is a directory", [f"--input_file={f['root']}", f"--output_file={out('b')}"], "error"),
        ("output is a directory", [f"--input_file={f['corpus']}", f"--output_file={f['root']}"], "error"),
        ("output under a file", [f"--input_file={f['corpus']}", f"--output_file={f['a_file']}/x"], "error"),
        ("output == input", [f"--input_file={f['corpus']}", f"--output_file={f['corpus']}"], "error"),
        ("output named twice", [f"--input_file={f['corpus']}", f"--output_file={out('c')},{out('c')}"], "error"),
        ("latin-1 input", [f"--input_file={f['corpus_latin1']}", f"--output_file={out('d')}"], "error"),
        ("empty corpus", [f"--input_file={f['corpus_empty']}", f"--output_file={out('e')}"], "error"),
        ("NUL bytes", [f"--input_file={f['corpus_nul']}", f"--output_file={out('f')}"], "warn"),
        ("one huge line", [f"--input_file={f['corpus_long']}", f"--output_file={out('g')}"], "warn"),
        ("missing spm", [f"--input_file={f['corpus']}", f"--output_file={out('h')}",
                         f"--spm_model_file={f['root']}/nope.model"], "error"),
        ("max_seq_length 3", [f"--input_file={f['corpus']}", f"--output_file={out('i')}",
                              "--max_seq_length=3"], "error"),
        ("unknown flag", [f"--input_file={f['corpus']}", "--ouput_file=x"], "error"),
        ("bad int", [f"--input_file={f['corpus']}", f"--output_file={out('j')}", "--dupe_factor=two"], "error"),
    ]
    cpd = [(n, argv + [a for a in cpd_base if a.split("=")[0] not in {x.split("=")[0] for x in argv}], e)
           for n, argv, e in cpd]
    rel = f["release"]
    exp_ck = [
        ("missing directory", [f"--albert_directory={f['root']}/nope", f"--export_path={out('k')}/m"], "error"),
        ("damaged checkpoint", [f"--albert_directory={f['rel_damaged']}", f"--export_path={out('l')}/m"], "error"),
        ("config/vocab mismatch", [f"--albert_directory={f['rel_wrong']}", f"--export_path={out('m')}/m"], "error"),
        ("export over the source checkpoint", [f"--albert_directory={rel}",
                                               f"--export_path={rel}/model.ckpt-best"], "error"),
        ("export_path is a directory", [f"--albert_directory={rel}", f"--export_path={rel}"], "error"),
        ("export_path under a file", [f"--albert_directory={rel}", f"--export_path={f['a_file']}/m"], "error"),
        ("unknown checkpoint name", [f"--albert_directory={rel}", f"--export_path={out('n')}/m",
                                     "--checkpoint_name=model.ckpt-9"], "error"),
        ("misspelt flag", [f"--albert_directry={rel}"], "error"),
        ("bad bool", [f"--albert_directory={rel}", f"--export_path={out('o')}/m", "--do_lower_case=maybe"], "error"),
    ]
    exp_hub = [
        ("export_path == albert_directory", [f"--albert_directory={rel}", f"--export_path={rel}"], "error"),
        ("export_path holds the release", [f"--albert_directory={rel}", f"--export_path={f['root']}"], "error"),
        ("export_path is a file", [f"--albert_directory={rel}", f"--export_path={f['a_file']}"], "error"),
        ("export_path is a user's folder", [f"--albert_directory={rel}", f"--export_path={f['user_dir']}"], "error"),
        ("damaged checkpoint", [f"--albert_directory={f['rel_damaged']}", f"--export_path={out('p')}"], "error"),
        ("unknown flag", ["--albert_dir=x"], "error"),
    ]
    pre_base = [f"--output_dir={out('pre')}", "--max_seq_length=24", "--max_predictions_per_seq=4",
                "--num_train_steps=2", "--train_batch_size=2", "--noprogress"]
    pre = [(name, [f"--albert_config_file={cfg}", f"--input_file={f['records']}", *pre_base], "error")
           for name, cfg in (("config typo", f["cfg_typo"]), ("config array", f["cfg_array"]),
                             ("config string float", f["cfg_str"]), ("config null", f["cfg_null"]),
                             ("config list", f["cfg_list"]), ("config not UTF-8", f["cfg_bytes"]),
                             ("config vocab 1e12", f["cfg_huge"]), ("config malformed", f["cfg_malformed"]),
                             ("HF config bad act", f["cfg_hf"]), ("config is a directory", f["root"]))]
    pre += [
        ("truncated TFRecord", [f"--albert_config_file={f['config']}", f"--input_file={f['rec_truncated']}",
                                *pre_base[:-1], f"--output_dir={out('pre2')}", "--do_train"], "error"),
        ("garbage TFRecord", [f"--albert_config_file={f['config']}", f"--input_file={f['rec_garbage']}",
                              *pre_base, "--do_train"], "error"),
        ("wrong max_seq_length", [f"--albert_config_file={f['config']}", f"--input_file={f['records']}",
                                  f"--output_dir={out('pre3')}", "--max_seq_length=32",
                                  "--max_predictions_per_seq=4", "--do_train", "--noprogress"], "error"),
        ("bad enum", ["--optimizer=sgd"], "error"),
        ("unknown flag", ["--num_train_step=3"], "error"),
        ("ids >= vocab_size from record 3", [f"--albert_config_file={f['config']}",
                                          f"--input_file={f['rec_big_id']}", *pre_base[:-1],
                                          f"--output_dir={out('pre4')}", "--do_train", "--noprogress"], "error"),
        ("lengths change mid-file", [f"--albert_config_file={f['config']}",
                                     f"--input_file={f['rec_mid_length']}", *pre_base[:-1],
                                     f"--output_dir={out('pre5')}", "--do_train", "--noprogress"], "error"),
    ]
    import test_faults as faults

    def trained(name, **changes):
        args = faults._pretraining_args(f["records"], f["release"], f[name])
        return [a.split("=")[0] + "=" + changes[a.split("=")[0][2:]] if a.split("=")[0][2:] in changes
                else a for a in args]

    pre += [
        ("num_train_steps at the checkpoint's step", trained("pre_done"), "warn"),
        ("newest checkpoint truncated", trained("pre_damaged_newest", num_train_steps="6"), "warn"),
        ("every checkpoint truncated", trained("pre_damaged_all", num_train_steps="6"), "error"),
    ]
    glue = os.path.join(REPO, "data", "glue")
    cls_base = [f"--data_dir={glue}", f"--output_dir={out('cls')}", f"--albert_config_file={f['config']}",
                f"--spm_model_file={f['spm']}", "--max_seq_length=24", "--train_step=2", "--noprogress",
                "--do_train"]
    cls = [
        ("unknown task", ["--task_name=MNLX", *cls_base], "error"),
        ("missing data_dir", ["--task_name=MNLI", *cls_base, f"--data_dir={f['root']}/nope"], "error"),
        ("config typo", ["--task_name=MNLI", *cls_base, f"--albert_config_file={f['cfg_typo']}"], "error"),
        ("hub handle: not a module", ["--task_name=MNLI", *cls_base[:2], "--do_train", "--noprogress",
                                      f"--albert_hub_module_handle={f['hub_dir_no_pb']}"], "error"),
        ("bad enum", ["--padding=none"], "error"),
        ("misspelt flag", ["--tran_step=3"], "error"),
        ("train_step at the checkpoint's step", faults._classifier_args(f["release"], f["cls_done"]), "warn"),
        ("newest checkpoint truncated", [a.replace("--train_step=4", "--train_step=6") for a in
                                         faults._classifier_args(f["release"], f["cls_damaged_newest"])], "warn"),
        ("feature cache truncated, fingerprint matching",
         [a for a in faults._classifier_args(f["release"], f["cls_cache_truncated"]) if a != "--do_train"], "ok"),
        ("a pretraining --output_dir", faults._classifier_args(f["release"], f["pre_for_classifier"]), "error"),
    ]
    return {"create_pretraining_data": cpd, "export_checkpoints": exp_ck,
            "export_to_tfhub": exp_hub, "run_pretraining": pre, "run_classifier": cls}


def classify(code, stderr: str, error, expectation: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    if error == "hang":
        return "hang"
    if error is not None:
        return "traceback"
    if expectation == "ok":
        return ("ok" if not lines else "noisy") if code in (0, None) else f"exit-{code}"
    if expectation == "warn":
        if code in (0, None) and len(lines) == 1 and lines[0].startswith("Warning:"):
            return "warned"
        return "silent" if code in (0, None) and not lines else f"exit-{code}" if code else "noisy"
    if code in (0, None):
        return "silent"
    if code != 2:
        return f"exit-{code}"
    return "one-line" if len(lines) == 1 else "noisy"


def run_cli(module_name: str, fixtures_file: str) -> list[dict]:
    """In the child: define the CLI's flags once, run each case through parse + main."""
    import importlib

    from absl import flags

    from albert_nb import cli

    with open(fixtures_file, encoding="utf-8") as handle:
        f = json.load(handle)
    module = importlib.import_module(f"albert_nb.{module_name}")
    (getattr(module, "define_flags", None) or module._define_flags)()
    results = []

    def hang(signum, frame):
        raise TimeoutError("hang")

    signal.signal(signal.SIGALRM, hang)
    for name, argv, expectation in cases(f)[module_name]:
        flags.FLAGS.unparse_flags()
        stderr, code, error = io.StringIO(), None, None
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            signal.alarm(CASE_TIMEOUT)
            try:
                cli.parse_flags(module_name)([module_name, *argv])
                module.main([module_name])
                code = 0
            except SystemExit as exit_:
                code = exit_.code
            except TimeoutError as err:
                error = "hang" if str(err) == "hang" else f"TimeoutError: {err}"
            except BaseException as err:   # noqa: BLE001  (what escaped is what we count)
                error = f"{type(err).__name__}: {str(err)[:200]}"
            finally:
                signal.alarm(0)
        results.append({"cli": module_name, "case": name, "code": code, "error": error,
                        "stderr": stderr.getvalue()[-400:],
                        "verdict": classify(code, stderr.getvalue(), error, expectation)})
    return results


# ------------------------------------------------------------------------------------ faults
CLASSIFIER_POINTS = ("train.checkpoint:1", "train.checkpoint:2", "train.history", "checkpoint.copy",
                     "selection.history", "selection.results", "predict.outputs")
PRETRAINING_POINTS = ("train.checkpoint:1", "train.checkpoint:2", "checkpoint.copy",
                      "pretraining.eval_results")


def fault_specs(f: dict) -> list[tuple]:
    """(cli, args(out), points, reference directory or None, compare(reference, out))."""
    import test_faults as faults

    def tree(reference, out):
        faults.same_tree(reference, out)

    def pretraining(reference, out):
        assert open(os.path.join(out, "eval_results.txt"), "rb").read() == open(
            os.path.join(reference, "eval_results.txt"), "rb").read(), "eval_results.txt"
        faults._same_checkpoints(Path(reference), Path(out), ("model.ckpt-best", "model.ckpt-2",
                                                              "model.ckpt-4"))

    def classifier(reference, out):
        for name in faults.CLASSIFIER_OUTPUTS:
            assert open(os.path.join(out, name), "rb").read() == open(
                os.path.join(reference, name), "rb").read(), name
        faults._same_checkpoints(Path(reference), Path(out), ("model.ckpt-best", "model.ckpt-2",
                                                              "model.ckpt-4"))

    def module(reference, out):
        import numpy as np

        a, b = faults._module_values(reference), faults._module_values(out)
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])

    release = f["release"]
    return [
        ("create_pretraining_data", lambda out: faults._cpd_args(
            f["corpus"], release, f"{out}/a.tfrecord,{out}/b.tfrecord"),
         ("create_pretraining_data.pass", "create_pretraining_data.before_publish"), None, tree),
        ("export_checkpoints", lambda out: [f"--albert_directory={release}",
                                            f"--export_path={out}/model.ckpt-best"],
         ("export_checkpoints.before_publish",), None, tree),
        ("export_to_tfhub", lambda out: [f"--albert_directory={release}", f"--export_path={out}/m"],
         ("export_to_tfhub.before_publish",), None, lambda a, b: module(f"{a}/m", f"{b}/m")),
        ("run_pretraining", lambda out: faults._pretraining_args(f["records"], release, out),
         PRETRAINING_POINTS, f["pre_trained"], pretraining),
        ("run_classifier", lambda out: faults._classifier_args(release, out), CLASSIFIER_POINTS,
         f["cls_trained"], classifier),
    ]


def run_faults(f: dict) -> list[dict]:
    import test_faults as faults

    results = []
    for module, args, points, reference, compare in fault_specs(f):
        if reference is None:
            reference = os.path.join(f["root"], "faults", module, "reference")
            os.makedirs(reference)
            done = faults.cli(module, *args(reference))
            if done.returncode != 0:
                results.append({"cli": module, "case": "reference run", "verdict": "traceback",
                                "error": done.stderr[-300:], "stderr": ""})
                continue
        for point in points:
            out = os.path.join(f["root"], "faults", module, point.replace(":", "_"))
            os.makedirs(out)
            verdict, detail = fault_case(module, args(out), point, reference, out, compare)
            results.append({"cli": module, "case": f"killed at {point}", "verdict": verdict,
                            "error": detail, "stderr": ""})
    return results


def fault_case(module, args, point, reference, out, compare) -> tuple[str, str | None]:
    import test_faults as faults

    try:
        first = faults.cli(module, *args, fault=point, timeout=CASE_TIMEOUT)
        if not faults.killed(first):
            return "missed", f"exit {first.returncode}: the point was not reached"
        rerun = faults.cli(module, *args, timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "hang", None
    if rerun.returncode != 0:
        kind = "traceback" if "Traceback" in rerun.stderr else f"exit-{rerun.returncode}"
        return kind, rerun.stderr.strip()[-300:]
    if faults.temp_leftovers(out):
        return "partial", f"left {faults.temp_leftovers(out)}"
    try:
        compare(reference, out)
    except FileNotFoundError as err:
        return "partial", str(err)[:300]
    except AssertionError as err:
        return "silent-wrong", str(err)[:300]
    try:
        faults.assert_quiet(rerun)
    except AssertionError:
        return "noisy", rerun.stderr[-300:]
    return "recovered", None


GROUPS = (("one clear line (or recovered)", ("one-line", "warned", "ok", "recovered")),
          ("traceback", ("traceback",)), ("wrong exit code", ("exit-",)),
          ("silently wrong", ("silent", "silent-wrong")), ("partial output", ("partial",)),
          ("hang", ("hang",)), ("noisy or point missed", ("noisy", "missed")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="build the fixtures here and keep them")
    parser.add_argument("--no-faults", action="store_true", help="bad inputs only")
    parser.add_argument("--faults-only", action="store_true", help="faults only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULTS" + json.dumps(run_cli(*args.child)))
        return
    root = args.keep or tempfile.mkdtemp(prefix="albert_nb_sweep_")
    os.makedirs(root, exist_ok=True)
    fixtures = build_fixtures(root)
    fixtures_file = os.path.join(root, "fixtures.json")
    with open(fixtures_file, "w", encoding="utf-8") as handle:
        json.dump(fixtures, handle)
    results = []
    for module_name in ([] if args.faults_only else cases(fixtures)):
        child = subprocess.run([sys.executable, __file__, "--child", module_name, fixtures_file],
                               capture_output=True, text=True)
        if "RESULTS" not in child.stdout:
            print(f"{module_name}: child failed\n{child.stderr[-2000:]}")
            continue
        results.extend(json.loads(child.stdout.split("RESULTS")[-1]))
    if not args.no_faults:
        results.extend(run_faults(fixtures))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        flag = ("" if r["verdict"] in GROUPS[0][1] else
                "   <-- " + (r["error"] or r["stderr"].strip()[-200:] or ""))
        print(f"{r['verdict']:12s} {r['cli']:24s} {r['case']}{flag}")
    grouped = {name: sum(v for k, v in counts.items() if k.startswith(verdicts) or k in verdicts)
               for name, verdicts in GROUPS}
    print(f"\n{len(results)} cases: " + ", ".join(f"{v} {k}" for k, v in grouped.items()))
    print("by verdict: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

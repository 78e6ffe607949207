"""GLUE readers, the task registry and the submission writer, on the project's fixtures.

Expected values were read off the fixture files by hand (data/glue/<TASK>/...).
"""
import json
import logging
import os

import numpy as np
import pytest

from albert_nb import paths

from albert_nb.tasks import glue
from albert_nb.errors import InputError
from albert_nb.tasks.registry import TASK_NAMES, get_task, write_submission

GLUE = paths.data_dir() / "glue"


# (task, split, count, first guid, first text_a, first text_b, first label)
CASES = [
    # CoLA train/dev have no header: the first line is an example, guid "<split>-0"
    ("cola", "train", 5, "train-0", "The cat slept on the warm windowsill.", None, "1"),
    ("cola", "dev", 4, "dev-0", "She gave the letter to her brother.", None, "1"),
    ("cola", "test", 3, "0", "Nobody knew where the keys had gone.", None, None),
    # SST-2 has a header, so the first example is row 1; the trailing space is kept
    ("sst-2", "train", 5, "train-1", "a warm , funny film that never outstays its welcome ", None, "1"),
    ("sst-2", "test", 3, "0", "a bold , brave piece of filmmaking ", None, None),
    ("mrpc", "train", 4, "train-1", "The council approved the new budget on Tuesday.",
     "On Tuesday the council passed the new budget.", "1"),
    ("mrpc", "test", 2, "0", "The school added a new science wing.",
     "A new science wing was added to the school.", None),
    ("sts-b", "train", 4, "0", "A man is playing a guitar.", "A man plays the guitar.", 4.8),
    ("sts-b", "test", 2, "0", "A bird is flying.", "A bird flies over the lake.", None),
    # QQP train: 6 data lines, of which 2 are the halves of one broken row -> 4 examples
    ("qqp", "train", 4, "1", "How do I learn to cook rice?", "What is the best way to cook rice?", "1"),
    ("qqp", "dev", 3, "10", "How can I sleep better?", "What helps you fall asleep faster?", "1"),
    ("qqp", "test", 2, "0", "How do I fix a flat tyre?", "What should I do with a flat tyre?", None),
    ("mnli", "train", 4, "0", "The old man closed the shop early.", "The shop closed before its usual time.",
     "entailment"),
    ("mnli", "dev", 3, "0", "She left the lights on all night.", "The lights were off all night.",
     "contradiction"),
    ("mnli", "test", 2, "0", "The dog barked at the mailman.", "The dog was silent.", None),
    ("mismnli", "dev", 2, "0", "Thank you for your generous gift last year.", "Someone gave a gift last year.",
     "entailment"),
    ("mismnli", "test", 1, "0", "Children learn language quickly.",
     "Language learning is slow for all children.", None),
    ("qnli", "train", 3, "0", "When was the bridge finished?",
     "The bridge was finished in 1890 after eight years of work.", "entailment"),
    ("rte", "dev", 2, "0", "The orchestra performed without its conductor, who was ill.",
     "The conductor was ill.", "entailment"),
    ("wnli", "train", 3, "0", "The trophy did not fit in the case because it was too big.",
     "The trophy was too big.", "1"),
    ("ax", "test", 3, "0", "The cat sat on the mat.", "The mat was under the cat.", None),
    ("ax", "dev", 4, "dev-1", "The cat sat on the mat.", "The mat was under the cat.", "entailment"),
]


@pytest.mark.parametrize("task_name,split,count,guid,text_a,text_b,label", CASES)
def test_reader_fields(task_name, split, count, guid, text_a, text_b, label):
    examples = get_task(task_name).processor.get_examples(GLUE, split)
    assert len(examples) == count
    first = examples[0]
    assert (first.guid, first.text_a, first.text_b, first.label) == (guid, text_a, text_b, label)


def test_original_method_names_and_labels():
    mnli = get_task("MNLI").processor
    assert len(mnli.get_train_examples(str(GLUE))) == 4
    assert mnli.get_labels() == ["contradiction", "entailment", "neutral"]
    assert get_task("qnli").processor.get_labels() == ["entailment", "not_entailment"]
    assert get_task("rte").labels == ["entailment", "not_entailment"]
    for name in ("cola", "mrpc", "sst-2", "qqp", "wnli"):
        assert get_task(name).labels == ["0", "1"]
    stsb = get_task("sts-b")
    assert stsb.processor.get_labels() == [None]          # the original's one regression output
    assert stsb.labels is None and stsb.is_regression and stsb.num_labels == 1
    assert all(isinstance(ex.label, float) for ex in stsb.processor.get_dev_examples(GLUE))


def test_mnli_labels_all_rows_and_matched_vs_mismatched():
    dev_m = get_task("mnli").processor.get_dev_examples(GLUE)
    dev_mm = get_task("mismnli").processor.get_dev_examples(GLUE)
    # gold_label is the last column; row 2 of dev_matched has annotators split 4:1 -> entailment
    assert [ex.label for ex in dev_m] == ["contradiction", "entailment", "neutral"]
    assert [ex.label for ex in dev_mm] == ["entailment", "contradiction"]
    # mismnli trains on the same file as mnli
    assert get_task("mismnli").processor.get_train_examples(GLUE) == \
        get_task("mnli").processor.get_train_examples(GLUE)


def test_text_is_not_lowercased():
    cola = get_task("cola").processor.get_dev_examples(GLUE)
    assert cola[3].text_a == "Himself shaved John."
    sst = get_task("sst-2").processor.get_train_examples(GLUE)
    assert sst[2].text_a == 'an "instant classic" , if your idea of a classic is a nap '   # bare quotes kept


def test_qqp_skips_malformed_rows_and_logs_count(caplog):
    processor = get_task("qqp").processor
    with caplog.at_level(logging.WARNING, logger="albert_nb.tasks.glue"):
        train = processor.get_train_examples(GLUE)
    assert processor.last_skipped == 2
    assert "skipped 2 malformed rows" in caplog.text
    assert [ex.guid for ex in train] == ["1", "2", "3", "5"]


def test_data_dir_may_be_the_task_folder():
    assert len(get_task("rte").processor.get_train_examples(GLUE / "RTE")) == 3


def test_ax_has_no_training_set():
    with pytest.raises(InputError, match="no training set.*MNLI"):
        get_task("ax").processor.get_train_examples(GLUE)


def test_missing_data_dir_and_file_name_expected_files(tmp_path):
    with pytest.raises(InputError, match="is not a directory.*MNLI/dev_matched.tsv"):
        get_task("mnli").processor.get_dev_examples(tmp_path / "nope")
    (tmp_path / "MNLI").mkdir()
    with pytest.raises(InputError) as err:
        get_task("mismnli").processor.get_dev_examples(tmp_path)
    message = str(err.value)
    assert os.path.join(str(tmp_path), "MNLI", "dev_mismatched.tsv") in message
    assert "MNLI/test_mismatched.tsv" in message and "MNLI/train.tsv" in message


def test_malformed_row_names_file_and_line(tmp_path):
    folder = tmp_path / "RTE"
    folder.mkdir()
    (folder / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n"
                                      "0\tA dog runs.\tAn animal runs.\tentailment\n"
                                      "1\tonly two columns\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"RTE/train.tsv, line 3: 2 tab-separated columns, expected at least 4"):
        get_task("rte").processor.get_train_examples(tmp_path)


def test_unknown_label_and_bad_float(tmp_path):
    (tmp_path / "SST-2").mkdir()
    (tmp_path / "SST-2" / "dev.tsv").write_text("sentence\tlabel\ngood\t1\nbad\tnegative\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"dev.tsv, line 3: label 'negative' is not one of \['0', '1'\]"):
        get_task("sst-2").processor.get_dev_examples(tmp_path)
    (tmp_path / "STS-B").mkdir()
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    (tmp_path / "STS-B" / "train.tsv").write_text(header + "0\tg\tf\ty\to\ts\ts\tA\tB\tfive\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2: label 'five' is not a number"):
        get_task("sts-b").processor.get_train_examples(tmp_path)


# ------------------------------------------------------------------------------ registry
def test_get_task_names_are_case_insensitive_with_aliases():
    assert get_task("SST-2").name == "sst-2" and get_task("Sts-B").name == "sts-b"
    assert get_task("MNLI").name == "mnli" and get_task("MisMNLI").name == "mismnli"
    assert get_task("wsc").name == "cluewsc2020" and get_task("CLUEWSC2020").benchmark == "clue"
    for name in ("cola", "mrpc", "qqp", "qnli", "rte", "wnli", "ax"):
        assert get_task(name.upper()).name == name
    with pytest.raises(InputError) as err:
        get_task("squad")
    assert "'squad'" in str(err.value) and "cola" in str(err.value) and "afqmc" in str(err.value)
    assert len(TASK_NAMES) == len(set(TASK_NAMES)) == 19


def test_run_glue_settings_and_selection_keys():
    # run_glue.sh rows (reference section 3): warmup, lr, steps, save, batch
    expected = {"sst-2": (1256, 1e-5, 20935, 100, 32), "mnli": (1000, 3e-5, 10000, 100, 128),
                "cola": (320, 1e-5, 5336, 100, 16), "qnli": (1986, 1e-5, 33112, 200, 32),
                "qqp": (1000, 5e-5, 14000, 100, 128), "rte": (200, 3e-5, 800, 100, 32),
                "sts-b": (214, 2e-5, 3598, 100, 16), "mrpc": (200, 2e-5, 800, 100, 32)}
    for name, row in expected.items():
        s = get_task(name).settings
        assert (s.warmup_step, s.learning_rate, s.train_step, s.save_checkpoints_steps,
                s.train_batch_size) == row and s.max_seq_length == 512
    assert get_task("mismnli").settings == get_task("mnli").settings
    assert get_task("ax").settings is None
    assert get_task("sts-b").selection_key == "pearson"
    assert get_task("cola").selection_key == "matthew_corr"
    assert get_task("mrpc").selection_key == "eval_accuracy"
    assert get_task("cola").primary_metric == "mcc" and get_task("qqp").primary_metric == "acc_and_f1"


def test_clue_settings_steps_from_epochs():
    s = get_task("afqmc").settings     # seq 128, batch 16, lr 2e-5, 3 epochs
    assert (s.max_seq_length, s.train_batch_size, s.learning_rate, s.num_train_epochs) == (128, 16, 2e-5, 3)
    # 1000 examples x 3 epochs / 16 = 187.5 -> 188 steps; warmup 10% -> 18
    assert s.steps_for(1000) == (188, 18)
    assert get_task("mrpc").settings.steps_for(1) == (800, 200)
    assert get_task("ocnli").settings is None


def test_metric_through_task_and_label_ids():
    task = get_task("mrpc")
    dev = task.processor.get_dev_examples(GLUE)
    y = task.label_ids(dev)
    assert y.tolist() == [1, 0, 1]
    # predict [1, 1, 1]: accuracy 2/3; TP 2, FP 1, FN 0 -> F1 = 2*2/(2*2+1) = 0.8
    probs = np.array([[0.2, 0.8], [0.4, 0.6], [0.1, 0.9]])
    result = task.metric(y, probs)
    assert result["accuracy"] == pytest.approx(2 / 3) and result["f1"] == pytest.approx(0.8)
    stsb = get_task("sts-b")
    assert stsb.label_ids(stsb.processor.get_dev_examples(GLUE)).tolist() == pytest.approx([5.0, 0.5, 3.8])


# ------------------------------------------------------------------------------ submissions
def test_write_submission_glue_classification(tmp_path):
    task = get_task("rte")
    written = write_submission(tmp_path, task, ["7", "8"], [[0.9, 0.1], [0.25, 0.75]])
    assert (tmp_path / "submit_results.tsv").read_text() == "index\tprediction\n7\tentailment\n8\tnot_entailment\n"
    assert (tmp_path / "test_results.tsv").read_text() == "0.9\t0.1\n0.25\t0.75\n"
    assert set(written) == {"test_results", "submission"}
    assert sorted(os.listdir(tmp_path)) == ["submit_results.tsv", "test_results.tsv"]   # no temp files left


def test_write_submission_stsb_and_validation(tmp_path):
    write_submission(tmp_path, "sts-b", [0, 1], np.array([[3.5], [0.25]]))
    assert (tmp_path / "submit_results.tsv").read_text() == "index\tprediction\n0\t3.5\n1\t0.25\n"
    assert (tmp_path / "test_results.tsv").read_text() == "3.5\n0.25\n"
    with pytest.raises(InputError, match="softmax"):
        write_submission(tmp_path, "cola", ["0"], [[2.0, -1.0]])          # logits, not probabilities
    with pytest.raises(InputError, match=r"shape \[n, 3\]"):
        write_submission(tmp_path, "mnli", ["0"], [[0.5, 0.5]])
    with pytest.raises(InputError, match="2 guids but 1 predictions"):
        write_submission(tmp_path, "cola", ["0", "1"], [[0.5, 0.5]])


def test_write_submission_clue_json_lines(tmp_path):
    write_submission(tmp_path, "tnews", ["0", "x1"], np.eye(15)[[2, 14]])
    lines = (tmp_path / "tnews_predict.json").read_text(encoding="utf-8").splitlines()
    # class 2 of 100,101,102,... is "102"; class 14 is the last code, "116"
    assert [json.loads(l) for l in lines] == [{"id": 0, "label": "102"}, {"id": "x1", "label": "116"}]
    assert len((tmp_path / "test_results.tsv").read_text().splitlines()) == 2


def test_layout_min_columns():
    assert glue.MnliProcessor.layouts["train"].min_columns == 11    # sentence2 at 9, then a label
    assert glue.MnliProcessor.layouts["test"].min_columns == 10
    assert glue.ColaProcessor.layouts["train"].min_columns == 4
    assert glue.QqpProcessor.layouts["train"].min_columns == 6

"""CLUE JSON-lines readers on the project's fixtures (data/clue/<task>/...), values checked by hand."""
import json

import pytest

from albert_nb import paths

from albert_nb.tasks import clue
from albert_nb.errors import InputError
from albert_nb.tasks.registry import get_task

CLUE = paths.data_dir() / "clue"


CASES = [
    # (task, split, count, first guid, text_a, text_b, label)
    ("afqmc", "train", 3, "train-0", "花呗怎么还款", "花呗如何还钱", "1"),
    ("afqmc", "test", 2, "0", "花呗逾期会怎样", "花呗晚还一天有影响吗", None),
    ("tnews", "train", 4, "train-0", "主队在最后一分钟绝杀对手", None, "103"),
    ("iflytek", "train", 3, "train-0", "一款实时路况导航软件，支持语音播报和离线地图。", None, "11"),
    # the 4th CMNLI train row is labelled "-" and dropped
    ("cmnli", "train", 3, "train-0", "他昨天晚上很早就睡了。", "他昨晚睡得很早。", "entailment"),
    ("ocnli", "train", 3, "0", "这座桥建于上世纪五十年代。", "这座桥已经有几十年的历史。", "entailment"),
    ("csl", "dev", 1, "3", "遥感图像 农作物 降水", "利用遥感图像监测农作物长势，分析了降水对产量的影响。", "1"),
    ("cluewsc2020", "train", 3, "0", "小明把书借给了_小红_，因为[她]想看。", None, "true"),
    ("cluewsc2020", "test", 1, "0", "王老师表扬了_小李_，因为[他]考得很好。", None, None),
]


@pytest.mark.parametrize("task_name,split,count,guid,text_a,text_b,label", CASES)
def test_reader_fields(task_name, split, count, guid, text_a, text_b, label):
    examples = get_task(task_name).processor.get_examples(CLUE, split)
    assert len(examples) == count
    first = examples[0]
    assert (first.guid, first.text_a, first.text_b, first.label) == (guid, text_a, text_b, label)


def test_label_sets():
    tnews = get_task("tnews").labels
    assert len(tnews) == 15 and "105" not in tnews and "111" not in tnews
    assert tnews[0] == "100" and tnews[-1] == "116"
    assert get_task("iflytek").labels == [str(i) for i in range(119)]
    assert get_task("cmnli").labels == ["contradiction", "entailment", "neutral"] == get_task("ocnli").labels
    assert get_task("wsc").labels == ["true", "false"]
    assert get_task("afqmc").labels == ["0", "1"] == get_task("csl").labels


def test_nli_drops_dash_labels():
    processor = get_task("ocnli").processor
    train = processor.get_train_examples(CLUE)
    assert processor.last_dropped == 1 and "-" not in {ex.label for ex in train}


def test_wsc_markers_both_orders():
    # span1 before span2: "_" around the noun, "[...]" around the pronoun
    text = "小明把书借给了小红，因为她想看。"
    assert clue.mark_wsc_spans(text, 7, "小红", 12, "她") == "小明把书借给了_小红_，因为[她]想看。"
    # pronoun first: offsets still refer to the unmarked text
    assert clue.mark_wsc_spans("他说小李会来。", 2, "小李", 0, "他") == "[他]说_小李_会来。"
    # the third fixture row points at the second "他" (index 5)
    third = get_task("wsc").processor.get_train_examples(CLUE)[2]
    assert third.text_a == "他跟_老师_说[他]明天请假。" and third.label == "false"


def test_csl_joins_keywords_with_spaces():
    ex = get_task("csl").processor.get_train_examples(CLUE)[0]
    assert ex.text_a == "注意力机制 文本分类" and ex.text_b.startswith("本文提出")


def _write(tmp_path, task_folder, split, lines):
    folder = tmp_path / task_folder
    folder.mkdir(exist_ok=True)
    (folder / f"{split}.json").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_errors_name_file_and_line(tmp_path):
    _write(tmp_path, "afqmc", "train", ['{"sentence1": "a", "sentence2": "b", "label": "1"}', '{"sentence1": "a"'])
    with pytest.raises(InputError, match=r"afqmc/train.json, line 2: not a JSON object"):
        get_task("afqmc").processor.get_train_examples(tmp_path)
    _write(tmp_path, "afqmc", "dev", ['{"sentence1": "a", "sentence2": "b", "label": "2"}'])
    with pytest.raises(InputError, match=r"line 1: label '2' is not one of \['0', '1'\]"):
        get_task("afqmc").processor.get_dev_examples(tmp_path)
    _write(tmp_path, "tnews", "dev", ['{"label": "103", "label_desc": "news_sports"}'])
    with pytest.raises(InputError, match="line 1: missing field 'sentence'"):
        get_task("tnews").processor.get_dev_examples(tmp_path)
    bad_span = {"target": {"span1_index": 0, "span1_text": "小红", "span2_index": 3, "span2_text": "她"},
                "idx": 0, "label": "true", "text": "小明说她来。"}
    _write(tmp_path, "cluewsc2020", "dev", [json.dumps(bad_span, ensure_ascii=False)])
    with pytest.raises(InputError, match="span1_text '小红' is not at span1_index 0"):
        get_task("wsc").processor.get_dev_examples(tmp_path)


def test_missing_files_and_public_folder_name(tmp_path):
    with pytest.raises(InputError, match=r"CSL train file not found.*csl/train.json, csl/dev.json, csl/test.json"):
        get_task("csl").processor.get_train_examples(tmp_path)
    # the release zips unpack to "<task>_public"
    _write(tmp_path, "csl_public", "train", ['{"id": 5, "abst": "x", "keyword": ["k"], "label": "0"}'])
    assert get_task("csl").processor.get_train_examples(tmp_path)[0].guid == "5"


def test_generic_json_processor():
    processor = clue.JsonClassificationProcessor(name="demo", folder="afqmc", labels=["0", "1"],
                                                 text_a_key="sentence2")
    assert processor.get_dev_examples(CLUE)[1].text_a == "怎么开通信用卡"

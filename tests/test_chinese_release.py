"""Google's Chinese release layout (`albert_*_zh`): vocab_chinese.txt (BERT WordPiece, [CLS] 101),
albert_config.json (relu, vocab_size 21128) and model.ckpt-best load through `load_pretrained`;
the tokenizer traps fail with one line."""
import numpy as np
import pytest

import albert_nb as an
from albert_nb.errors import InputError
from albert_nb.interop import checkpoints
from albert_nb.tokenizers import tokenization
from chinese_helpers import GOOGLE_ZH_VOCAB_SIZE, google_zh_vocab, write_vocab
from test_checkpoints import CONFIG, assign_directly, tf1_arrays, write_spm, write_tf1_checkpoint

ZH_CONFIG = dict(CONFIG, vocab_size=GOOGLE_ZH_VOCAB_SIZE, hidden_act="relu")
TEXT = "中共中央总书记江泽民发表1998年新年讲话"


@pytest.fixture(scope="module")
def zh_release(tmp_path_factory):
    directory = tmp_path_factory.mktemp("albert_base_zh")
    write_vocab(directory / "vocab_chinese.txt", google_zh_vocab(TEXT))
    an.AlbertConfig(**ZH_CONFIG).to_json_file(directory / "albert_config.json")
    arrays = tf1_arrays(seed=3, vocab=GOOGLE_ZH_VOCAB_SIZE)
    write_tf1_checkpoint(directory / "model.ckpt-best", arrays)
    return directory, arrays


def test_google_zh_layout_loads_with_wordpiece(zh_release):
    directory, arrays = zh_release
    loaded = checkpoints.load_pretrained(directory)
    tok = loaded.tokenizer
    assert not tok.is_sentencepiece and tok.vocab_size == GOOGLE_ZH_VOCAB_SIZE
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 100, 101, 102, 103)
    assert loaded.config.hidden_act == "relu"
    pieces = tok.tokenize(TEXT)
    assert pieces[:4] == ["中", "共", "中", "央"] and "1998" not in tok.vocab
    ids = [tok.cls_id] + tok.convert_tokens_to_ids(pieces)[:20] + [tok.sep_id]
    batch = {"input_ids": np.array([ids], np.int32), "input_mask": np.ones((1, len(ids)), np.int32),
             "segment_ids": np.zeros((1, len(ids)), np.int32),
             "masked_lm_positions": np.array([[1, 2]], np.int32)}
    direct = an.AlbertForPretraining(an.AlbertConfig(**ZH_CONFIG))
    assign_directly(direct, arrays)
    np.testing.assert_array_equal(np.asarray(loaded.model(batch)["mlm_logits"]),
                                  np.asarray(direct(batch)["mlm_logits"]))


@pytest.mark.parametrize("corrupt, message", [
    (lambda t: t[:200] + [""] + t[201:], r"line 201 is blank"),
    (lambda t: t[:300] + ["中"] + t[301:], r"line 301: duplicate token '中' \(first seen on line \d+\)"),
])
def test_bad_vocab_chinese_is_one_line(zh_release, tmp_path, corrupt, message):
    directory, _ = zh_release
    bad = tmp_path / "zh_bad"
    bad.mkdir()
    for name in ("albert_config.json", "model.ckpt-best.index", "model.ckpt-best.data-00000-of-00001"):
        (bad / name).write_bytes((directory / name).read_bytes())
    write_vocab(bad / "vocab_chinese.txt", corrupt(google_zh_vocab(TEXT)))
    with pytest.raises(InputError, match=message) as err:
        checkpoints.load_pretrained(bad)
    assert "vocab_chinese.txt" in str(err.value) and "\n" not in str(err.value)


def test_chinese_release_with_sentencepiece_flag_is_refused(zh_release, tmp_path):
    directory, _ = zh_release
    spm = write_spm(tmp_path, vocab_size=60)
    with pytest.raises(InputError, match=r"is a Chinese release .*drop --spm_model_file and pass "
                                         r"--vocab_file=.*vocab_chinese.txt") as err:
        checkpoints.load_pretrained(directory, spm_model_file=spm)
    assert "\n" not in str(err.value)
    # Without the folder (only a config, as run_classifier's --albert_config_file): by vocab_size.
    with pytest.raises(InputError, match=r"vocab_size=21128"):
        tokenization.check_release_tokenizer(tmp_path, an.AlbertConfig(**ZH_CONFIG), spm)
    tokenization.check_release_tokenizer(tmp_path, an.AlbertConfig(**CONFIG), spm)   # English: fine
    explicit = checkpoints.load_pretrained(directory, vocab_file=directory / "vocab_chinese.txt")
    assert explicit.tokenizer.cls_id == 101

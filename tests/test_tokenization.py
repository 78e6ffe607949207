"""Tokenizers: preprocess_text, SentencePiece recipe + digit-comma rule, WordPiece, file lookup."""
import os

import pytest

from albert_nb.tokenizers import tokenization

from albert_nb.tokenizers import vocab_training

from albert_nb.tokenizers import wordpiece
from albert_nb.errors import InputError
from albert_nb.tokenizers.tokenization import FullTokenizer, preprocess_text


def _english_sentences():
    """Real English (CPython's reference docs) plus numbers with thousands separators."""
    from pydoc_data.topics import topics

    lines = []
    for text in topics.values():
        lines.extend(line for line in text.split("\n") if line.strip())
    for i in range(300):
        lines.append(f"In {1700 + i} the town counted {1000 + 4321 * i:,} people and "
                     f"{17 * i + 3:,} horses, {123456 + 98765 * i:,} in all.")
    return lines


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("spm")
    (directory / "albert_config.json").write_text("{}")
    vocab_training.train_sentencepiece(_english_sentences(), directory / "30k-clean",
                                       vocab_size=2000)
    return directory


@pytest.fixture(scope="module")
def sp_tok(spm_dir):
    return FullTokenizer(spm_model_file=spm_dir / "30k-clean.model")


BERT_TEST_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed",
                   "wa", "un", "runn", "##ing", ",", "low", "lowest", "中", "文", "##文"]


@pytest.fixture()
def wp_tok(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(BERT_TEST_VOCAB) + "\n", encoding="utf-8")
    return FullTokenizer(vocab_file=path, do_lower_case=True)


# ---------------------------------------------------------------- preprocess_text
@pytest.mark.parametrize("text,lower,expected", [
    ("  Hello \t\n  World  ", False, "Hello World"),
    ("Café Crème", True, "cafe creme"),
    ("Café", False, "Cafe"),
    ("ＡＢＣ１２３", False, "ABC123"),          # NFKD folds full-width forms
    ("``quoted''", False, "``quoted''"),       # no quote normalisation (unlike HF)
    ("naïve  résumé", True, "naive resume"),
    (b"bytes in", False, "bytes in"),
])
def test_preprocess_text(text, lower, expected):
    assert preprocess_text(text, lower=lower) == expected


def test_preprocess_text_keeps_spaces_when_asked():
    assert preprocess_text("a   b", remove_space=False) == "a   b"


# ---------------------------------------------------------------- SentencePiece recipe
def test_spm_recipe_special_ids(sp_tok, spm_dir):
    assert (sp_tok.pad_id, sp_tok.unk_id, sp_tok.cls_id, sp_tok.sep_id, sp_tok.mask_id) == (0, 1, 2, 3, 4)
    first = sp_tok.convert_ids_to_tokens(range(13))
    assert first[:5] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert first[5:13] == list(vocab_training.SPM_USER_DEFINED_SYMBOLS)
    assert sp_tok.sp_model.bos_id() == -1 and sp_tok.sp_model.eos_id() == -1
    assert sp_tok.vocab_size == 2000
    rows = (spm_dir / "30k-clean.vocab").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2000 and rows[2].split("\t")[0] == "[CLS]"


def test_user_defined_symbols_always_split(sp_tok):
    pieces = sp_tok.tokenize(preprocess_text("(hello) \"x\" a-b end.", lower=True))
    for symbol in '()"-.':
        assert symbol in pieces
    # control symbols are never produced from text
    assert "[MASK]" not in sp_tok.tokenize("[MASK]")


def test_encode_is_preprocess_then_tokenize(sp_tok):
    text = "  The  Café   is OPEN  "
    assert sp_tok.encode(text) == sp_tok.convert_tokens_to_ids(
        sp_tok.tokenize(preprocess_text(text, lower=True)))
    assert sp_tok.encode(text) == sp_tok.encode("the cafe is open")


def test_spm_unknown_piece_maps_to_unk(sp_tok):
    assert sp_tok.convert_tokens_to_ids(["not-a-piece-xyz"]) == [1]


# ---------------------------------------------------------------- digit-comma rule
def _find_digit_comma(sp_tok, continuation: bool):
    for n in range(1000, 400000, 997):
        text = preprocess_text(f"there were {n:,} people", lower=True)
        raw = sp_tok.sp_model.EncodeAsPieces(text)
        for piece in raw:
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                if continuation == (piece[0] != tokenization.SPIECE_UNDERLINE):
                    return text, raw, piece
    return None


def test_digit_comma_rule_splits_comma(sp_tok):
    found = _find_digit_comma(sp_tok, continuation=False) or _find_digit_comma(sp_tok, True)
    assert found is not None, "the trained model should glue some digits to commas"
    text, raw, piece = found
    ours = sp_tok.tokenize(text)
    assert ours != raw
    assert not any(len(p) > 1 and p.endswith(",") and p[-2].isdigit() for p in ours)
    assert "".join(ours) == "".join(raw)  # same characters, different cut


def test_digit_comma_rule_strips_added_underline(sp_tok):
    found = _find_digit_comma(sp_tok, continuation=True)
    assert found is not None, "expected a piece like '2,' that continues a number"
    text, raw, _ = found
    ours = tokenization.encode_pieces(sp_tok.sp_model, text)
    as_original_py3 = tokenization.encode_pieces(sp_tok.sp_model, text,
                                                 strip_added_underline=False)
    # Intended behaviour: the characters are unchanged, no fake word boundary appears.
    assert "".join(ours) == "".join(raw)
    # The original under Python 3 inserts an extra "▁" (a word boundary inside the number).
    assert "".join(as_original_py3).count("\u2581") > "".join(raw).count("\u2581")


# ---------------------------------------------------------------- WordPiece
def test_wordpiece_greedy_longest_match(wp_tok):
    assert wp_tok.tokenize("UNwant\u00e9d,running") == ["un", "##want", "##ed", ",", "runn", "##ing"]
    assert wp_tok.tokenize("lowest") == ["lowest"]  # longest match, not "low" + ...
    assert wp_tok.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"]
    assert wp_tok.tokenize("") == []


def test_basic_tokenizer_isolates_cjk():
    basic = wordpiece.BasicTokenizer(do_lower_case=True)
    assert basic.tokenize("中文abc，Hello!") == ["中", "文", "abc", "，", "hello", "!"]
    assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == ["hello", "!", "how", "are", "you", "?"]
    assert wordpiece.BasicTokenizer(do_lower_case=False).tokenize("HäLLo") == ["HäLLo"]


def test_wordpiece_cjk_chars_each_a_word(wp_tok):
    assert wp_tok.tokenize("中文") == ["中", "文"]
    assert wp_tok.convert_tokens_to_ids(["中", "文", "nope"]) == [15, 16, 1]


def test_two_column_vocab_and_bert_chinese_layout(tmp_path):
    rows = ["[PAD]\t0"] + [f"[unused{i}]\t0" for i in range(1, 100)]
    rows += ["[UNK]\t0", "[CLS]\t0", "[SEP]\t0", "[MASK]\t0", "中\t50", "国\t40", "##国\t3"]
    path = tmp_path / "vocab_chinese.txt"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tok = FullTokenizer(vocab_file=path)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 100, 101, 102, 103)
    assert tok.encode("中国人") == [104, 105, 100]
    assert tok.convert_ids_to_tokens([104]) == ["中"]


def test_build_wordpiece_vocab_covers_training_text(tmp_path):
    texts = ["话说天下大势，分久必合，合久必分。", "周末七国分争，并入于秦。", "ALBERT 2019年 发布"]
    out = vocab_training.build_wordpiece_vocab(texts, tmp_path / "vocab.txt", vocab_size=200,
                                               with_counts=True)
    lines = open(out, encoding="utf-8").read().splitlines()
    assert [line.split("\t")[0] for line in lines[:5]] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert all(len(line.split("\t")) == 2 for line in lines)
    tok = FullTokenizer(vocab_file=out)
    for text in texts:
        assert tok.unk_id not in tok.encode(text)
    assert tok.tokenize("分久必合") == ["分", "久", "必", "合"]
    small = vocab_training.build_wordpiece_vocab(texts, tmp_path / "small.txt", vocab_size=8)
    assert len(open(small, encoding="utf-8").read().splitlines()) == 8


# ---------------------------------------------------------------- files and errors
def test_from_directory_and_tokenizer_files(spm_dir, tmp_path):
    files = tokenization.tokenizer_files(spm_dir)
    assert files == {"spm_model_file": os.path.join(str(spm_dir), "30k-clean.model"), "vocab_file": None}
    assert FullTokenizer.from_directory(spm_dir).is_sentencepiece
    zh = tmp_path / "zh"
    zh.mkdir()
    (zh / "albert_config.json").write_text("{}")
    (zh / "vocab_chinese.txt").write_text("\n".join(BERT_TEST_VOCAB) + "\n", encoding="utf-8")
    tok = FullTokenizer.from_directory(zh)
    assert not tok.is_sentencepiece and tok.vocab_size == len(BERT_TEST_VOCAB)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no tokenizer file"):
        tokenization.tokenizer_files(empty)


def test_bad_files_raise_input_error_naming_file(tmp_path):
    bad_model = tmp_path / "bad.model"
    bad_model.write_bytes(b"this is not a protobuf")
    with pytest.raises(InputError, match="bad.model"):
        FullTokenizer(spm_model_file=bad_model)
    with pytest.raises(InputError, match="missing.model"):
        FullTokenizer(spm_model_file=tmp_path / "missing.model")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("[UNK]\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.txt"):
        FullTokenizer(vocab_file=latin1)
    no_unk = tmp_path / "no_unk.txt"
    no_unk.write_text("[PAD]\nhello\n")
    with pytest.raises(InputError, match=r"no_unk.txt.*\[UNK\]"):
        FullTokenizer(vocab_file=no_unk)
    dup = tmp_path / "dup.txt"
    dup.write_text("[UNK]\na\na\n")
    with pytest.raises(InputError, match="duplicate"):
        FullTokenizer(vocab_file=dup)
    with pytest.raises(InputError):
        FullTokenizer()


def test_start_piece_rules():
    sp = tokenization.is_start_piece_sp
    assert sp("\u2581the") and sp("<unk>") and sp(",") and sp("\u20ac") and sp("12") and sp("中")
    assert not sp("ing") and not sp("s")
    assert tokenization.is_start_piece_wordpiece("run")
    assert not tokenization.is_start_piece_wordpiece("##ing")


def test_unk_rates_count_sentences_and_tokens(tmp_path):
    from albert_nb.tokenizers.vocab_training import unk_rates

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat"]) + "\n")
    tok = FullTokenizer(vocab_file=vocab)
    # [the cat sat] [the [UNK] sat] [[UNK] [UNK]]: 2 of 3 sentences, 3 of 8 tokens
    assert unk_rates(tok, ["the cat sat", "the dog sat", "a dog"]) == (2 / 3, 3 / 8)
    assert unk_rates(tok, []) == (0.0, 0.0)

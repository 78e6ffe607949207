"""Chinese WordPiece tokenisation equals Hugging Face's `BertTokenizer` (the Rust `tokenizers`
backend) and `BertTokenizerLegacy` (the Python one) on the same vocabulary: Chinese, mixed
Chinese/English, full-width punctuation and numbers, accents, control and odd whitespace, and
600 real People's Daily / Three Kingdoms sentences. Pieces, ids and [CLS] a [SEP] b [SEP] pairs."""
import shutil

import pytest

try:
    from transformers import BertTokenizer
    from transformers.models.bert import BertTokenizerLegacy
except ImportError as err:  # pragma: no cover - depends on the environment
    pytest.skip(f"transformers not importable ({err})", allow_module_level=True)

from albert_nb.corpora import loaders
from albert_nb.finetuning.features import convert_example
from albert_nb.tasks.glue import InputExample
from albert_nb.tokenizers import vocab_training
from albert_nb.tokenizers.tokenization import FullTokenizer
from chinese_helpers import google_zh_vocab, write_vocab

SAMPLES = [
    "我爱北京天安门。",
    "ALBERT模型在CLUE上的F1是85.4%！",                       # mixed, half-width number
    "１９９８年１２月３１日，（新华社）“你好”——",              # full-width digits, punctuation
    "ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ：ｘ＝１",                      # full-width Latin
    "iPhone6s售价6888元?Albert's model",
    "《人民日报》：「引号」『双』…【括号】〔注〕",
    "Café naïve résumé 中文 ÉCOLE",                          # accents (stripped when lower-cased)
    "tab\there\u3000全角空格\u00a0不换行",                      # odd whitespace
    "\u200b零宽\ufeff字符\x00控制\x07",                        # format and control characters
    "한국어 日本語カタカナ ひらがな",                            # Hangul/kana are not isolated
    "e-mail: a.b@c.com 3.14 -5 +6 $7 ^_^ ~~",
    "分久必合，合久必分。周末七国分争，并入于秦。",
    "第一回　宴桃园豪杰三结义　斩黄巾英雄首立功",
    "",
]


def real_sentences(limit: int = 600) -> list[str]:
    docs = []
    for name in ("peoples_daily", "three_kingdoms"):
        if loaders.is_available(name):
            docs += loaders.load(name)[:150]
    return [s for d in docs for s in d][:limit]


@pytest.fixture(scope="module")
def vocab_dirs(tmp_path_factory):
    """(directory, vocab path) pairs: Google's vocab_chinese.txt layout, and a vocabulary built
    from real text with `build_wordpiece_vocab` (when the corpora are installed)."""
    root = tmp_path_factory.mktemp("zh_vocabs")
    sentences = real_sentences()
    out = []
    google = root / "google_layout"
    google.mkdir()
    write_vocab(google / "vocab.txt", google_zh_vocab("".join(SAMPLES[:-4]) + "".join(sentences)))
    out.append(google)
    if sentences:
        built = root / "built"
        built.mkdir()
        vocab_training.build_wordpiece_vocab(sentences, built / "vocab_chinese.txt", 3000)
        shutil.copy(built / "vocab_chinese.txt", built / "vocab.txt")
        out.append(built)
    return out, sentences


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_pieces_and_ids_equal_hugging_face(vocab_dirs, do_lower_case):
    directories, sentences = vocab_dirs
    assert len(directories) == 2, "real Chinese corpora missing: run scripts/install_data.sh"
    for directory in directories:
        vocab = directory / "vocab.txt"
        ours = FullTokenizer(vocab_file=vocab, do_lower_case=do_lower_case)
        fast = BertTokenizer.from_pretrained(str(directory), do_lower_case=do_lower_case)
        legacy = BertTokenizerLegacy(vocab_file=str(vocab), do_lower_case=do_lower_case)
        unknown = 0
        for text in SAMPLES + sentences:
            pieces = ours.tokenize(text)
            assert pieces == fast.tokenize(text) == legacy.tokenize(text), (directory.name, text)
            assert ours.convert_tokens_to_ids(pieces) == fast.convert_tokens_to_ids(pieces)
            unknown += pieces.count("[UNK]")
        total = sum(len(ours.tokenize(t)) for t in SAMPLES + sentences)
        assert unknown < 0.05 * total, f"{directory.name}: the comparison is mostly [UNK]"


def test_sentence_pair_features_equal_hugging_face(vocab_dirs):
    directories, sentences = vocab_dirs
    directory = directories[0]
    ours = FullTokenizer(vocab_file=directory / "vocab.txt")
    fast = BertTokenizer.from_pretrained(str(directory))
    pairs = list(zip(SAMPLES[:-1], SAMPLES[1:])) + list(zip(sentences[:200], sentences[1:201]))
    for a, b in pairs:
        features = convert_example(InputExample("g", a, b, None), None, 512, ours)
        encoded = fast(a, b)
        assert features.input_ids == encoded["input_ids"], (a, b)
        assert features.segment_ids == encoded["token_type_ids"], (a, b)
    assert (ours.cls_id, ours.sep_id) == (fast.cls_token_id, fast.sep_token_id) == (101, 102)

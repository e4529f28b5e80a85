"""Tokenising and small parsers for the planner: numbers with multipliers, plurals, names.

Kept apart from the planning rules so each can be tested alone, and so the planner reads as a
sequence of decisions rather than string surgery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"(?P<range>\d+\s*(?:-|–)\s*\d+)"
    r"|(?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<suffix>k|mm|m|bn|b)?(?![a-z0-9])"
    r"|(?P<pct>%)"
    r"|(?P<word>[a-z][a-z'\-]*)"
    r"|(?P<punct>[,;:.!?()~])"
)
MULTIPLIERS = {
    "k": 1_000, "thousand": 1_000, "m": 1_000_000, "mm": 1_000_000, "mio": 1_000_000, "million": 1_000_000,
    "millions": 1_000_000, "mn": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000, "billion": 1_000_000_000,
}
WORD_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "dozen": 12, "hundred": 100}


@dataclass(frozen=True)
class Token:
    kind: str  # range, num, pct, word, punct
    text: str
    value: float = 0.0
    high: float = 0.0


def tokenize(text: str) -> list[Token]:
    """Lower-cased tokens; numbers carry their value (``10k`` -> 10000), ranges their bounds."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text.lower()):
        if m.group("range"):
            lo, hi = re.split(r"\s*[-–]\s*", m.group("range"))
            out.append(Token("range", m.group("range"), float(lo), float(hi)))
        elif m.group("num"):
            value = float(m.group("num").replace(",", ""))
            suffix = m.group("suffix")
            out.append(Token("num", m.group(0), value * MULTIPLIERS[suffix] if suffix else value))
        elif m.group("pct"):
            out.append(Token("pct", "%"))
        elif m.group("word"):
            out.append(Token("word", m.group("word")))
        else:
            out.append(Token("punct", m.group("punct")))
    return _fold_multipliers(out)


def _fold_multipliers(tokens: list[Token]) -> list[Token]:
    """``1.5 million`` and ``a thousand`` become one number token; ``percent`` becomes ``%``."""
    out: list[Token] = []
    for tok in tokens:
        prev = out[-1] if out else None
        if tok.kind == "word" and tok.text in MULTIPLIERS and len(tok.text) > 2 and prev is not None:
            if prev.kind == "num":
                out[-1] = Token("num", f"{prev.text} {tok.text}", prev.value * MULTIPLIERS[tok.text])
                continue
            if prev.kind == "word" and prev.text in WORD_NUMBERS:
                out[-1] = Token("num", f"{prev.text} {tok.text}",
                                float(WORD_NUMBERS[prev.text] * MULTIPLIERS[tok.text]))
                continue
        if tok.kind == "word" and tok.text == "percent":
            tok = Token("pct", "%")
        out.append(tok)
    return out


def singular(word: str) -> str:
    """A good-enough English singular for entity and attribute nouns."""
    irregular = {"people": "person", "children": "child", "data": "data", "status": "status",
                 "series": "series", "news": "news", "address": "address", "addresses": "address",
                 "analyses": "analysis", "statuses": "status", "gas": "gas", "bus": "bus"}
    if word in irregular:
        return irregular[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def snake(phrase: str) -> str:
    """A column or table name from free text: ``Signup Date`` -> ``signup_date``."""
    name = re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")
    if not name:
        return "column"
    return f"c_{name}" if name[0].isdigit() else name[:64]

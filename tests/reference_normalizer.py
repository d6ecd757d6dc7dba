"""A slow, obviously-correct restatement of nearcopy's text normalizer and shingler in plain Python.

It follows the algorithm written in rust/nearcopy-core/src/text/mod.rs step by step, with the
standard library's `unicodedata` and `str.casefold`; the property tests check that the Rust
implementation gives the same tokens, spans and shingles for arbitrary text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Blocks of scripts written without spaces (same table as rust/nearcopy-core/src/text/classify.rs).
NO_SPACE_RANGES = [
    (0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF),
    (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3040, 0x309F), (0x30A0, 0x30FF),
    (0x3100, 0x312F), (0x31A0, 0x31BF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x1B000, 0x1B16F), (0x20000, 0x2FA1F),
    (0x30000, 0x323AF),
]  # fmt: skip


@dataclass(frozen=True)
class RefToken:
    text: str
    start: int
    end: int
    no_space: bool


def is_word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LMN"


def is_no_space_char(c: str) -> bool:
    return any(lo <= ord(c) <= hi for lo, hi in NO_SPACE_RANGES)


def utf8_len(c: str) -> int:
    return len(c.encode("utf-8", "surrogatepass"))


def clusters(text: str) -> list[tuple[int, int, str]]:
    """(start byte, end byte, characters): a character of combining class 0 and the marks after it."""
    out: list[tuple[int, int, str]] = []
    offset = 0
    for c in text:
        size = utf8_len(c)
        if out and unicodedata.combining(c) != 0:
            start, end, chars = out[-1]
            out[-1] = (start, end + size, chars + c)
        else:
            out.append((offset, offset + size, c))
        offset += size
    return out


def map_cluster(cluster: str, nfkc: bool, casefold: bool) -> str:
    if nfkc:
        cluster = unicodedata.normalize("NFKC", cluster)
    if casefold:
        cluster = cluster.casefold()
        if nfkc:
            cluster = unicodedata.normalize("NFKC", cluster)
    return cluster


def tokens(text: str, nfkc: bool = True, casefold: bool = True) -> list[RefToken]:
    out: list[RefToken] = []
    current: list[str] = []
    span = [0, 0]

    def close() -> None:
        if current:
            out.append(RefToken("".join(current), span[0], span[1], False))
            current.clear()

    for start, end, chars in clusters(text):
        for c in map_cluster(chars, nfkc, casefold):
            if not is_word_char(c):
                close()
            elif is_no_space_char(c):
                close()
                out.append(RefToken(c, start, end, True))
            else:
                if not current:
                    span[0] = start
                current.append(c)
                span[1] = end
    close()
    return out


def shingles(
    text: str, ngram: int = 5, unit: str = "word", nfkc: bool = True, casefold: bool = True
) -> list[str]:
    toks = tokens(text, nfkc, casefold)
    if unit == "word":
        words = [t.text for t in toks]
        if len(words) >= ngram:
            return [" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
        return [" ".join(words)] if words else []
    stream = ""
    for i, tok in enumerate(toks):
        if stream and not (toks[i - 1].no_space and tok.no_space):
            stream += " "
        stream += tok.text
    if len(stream) >= ngram:
        return [stream[i : i + ngram] for i in range(len(stream) - ngram + 1)]
    return [stream] if stream else []

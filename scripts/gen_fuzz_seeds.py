"""Writes the small seed inputs of the fuzz targets (fuzz/seeds/<target>/), committed to the repository.

Run from the repository root with nearcopy built (the segment seed is a real index segment).
Each seed's first byte chooses options, as the checks in rust/nearcopy-core/src/fuzzing read it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nearcopy

FENCE = "`" * 3
SEEDS: dict[str, dict[str, bytes]] = {
    "text_normalizer": {
        "ascii": b"\x00It was the best of times, it was the worst of times.",
        "unicode": "\x03Ｆｕｌｌwidth STRASSE Straße ﬁ é e\u0301 東京タワー ไทย \u200d".encode(),
        "invalid": b"\x15abc \xff\xfe \xed\xa0\x80 \xc3 def\x00ghi",
    },
    "code_normalizer": {
        "python": b"\x00def total(items):\n    acc = 0  # sum\n"
        b"    for it in items:\n        acc += it.price\n    return acc\n",
        "c": b"\x05int main(int argc, char **argv) { return argv[0][0] + 0x1f; }\n",
        "rust": b'\x28fn main() { let mut v = vec![1, 2]; v.push(3); println!("{}", v.len()); }\n',
        "php": b'\x4b<?php function f($a) { return $a->b + "s"; } ?>\n',
        "nested": b"\x00" + b"(" * 300 + b"1" + b")" * 300 + b"\n",
    },
    "answer_splitter": {
        "fenced": f"Here you go:\n\n{FENCE}python\ndef add(a, b):\n    return a + b\n{FENCE}\n\nDone.\n".encode(),  # noqa: E501
        "untagged": f"x\n{FENCE}\nfunc Add(a, b int) int {{ return a + b }}\n{FENCE}\n~~~\nopen".encode(),
        "unfenced": b"Try this:\n\nfor i in range(10):\n    print(i)\n\nIt prints ten numbers.\n",
    },
    "jsonl_reader": {
        "records": b'{"text": "a b c", "id": 1, "lang": "en", "keep": 2.5}\n\n{"text": "\\u00e9\\n", "id": "x"}\n'  # noqa: E501
        b'{"text": 1}\n[1]\n{"text": "dup", "text": "again"}\n{"text": "\\ud800"}\nnot json\n  \t\n{"id": null, "text": ""}',  # noqa: E501
    },
}


def segment_seed() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        docs = [
            {"id": str(i), "text": f"document {i} " + "some words repeated here " * (i + 5)}
            for i in range(30)
        ]
        nearcopy.ProtectedIndex.build(docs, Path(tmp) / "index")
        segment = next(p for p in sorted((Path(tmp) / "index").rglob("*")) if p.read_bytes()[:5] == b"NCSEG")
        return segment.read_bytes()


def main() -> None:
    root = Path("fuzz/seeds")
    segment = segment_seed()
    # An odd first byte reseals the checksums: "resealed" lets mutations of the body past them.
    SEEDS["segment_reader"] = {
        "valid": b"\x00" + segment,
        "fix-header": b"\x01" + segment[:200],
        "resealed": b"\x01" + segment,
    }
    for target, seeds in SEEDS.items():
        (root / target).mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (root / target / name).write_bytes(data)


if __name__ == "__main__":
    main()

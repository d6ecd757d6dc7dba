"""Ratios, pass/short targets and the markdown report for bench_minhash.

Kept apart from the timing code so the report can be re-rendered from a saved
JSON result: `report.render(json.load(open(path)))`.
"""

from __future__ import annotations

from typing import Any

from . import benchutil as bu
from .accuracy import ALL_SCHEMES, COMPAT_SCHEMES

X = "x"  # ratio suffix; ASCII so tables and JSON read the same everywhere
Row = dict[str, Any]


def find(rows: list[Row], method: str, threads: int = 1) -> Row | None:
    return next((r for r in rows if r["method"] == method and r["threads"] == threads), None)


def ratio(rows: list[Row], num: tuple[str, int], den: tuple[str, int]) -> float | None:
    a, b = find(rows, *num), find(rows, *den)
    return float(a["mb_per_s"] / b["mb_per_s"]) if a and b else None


def compute_ratios(e2e: list[Row], pre: list[Row], nthreads: int) -> list[Row]:
    out: list[Row] = []

    def add(section: str, rows: list[Row], label: str, num: tuple[str, int], den: tuple[str, int]) -> None:
        out.append({"section": section, "ratio": label, "value": ratio(rows, num, den)})

    for section, rows in (("end to end", e2e), ("pre-shingled", pre)):
        for s in COMPAT_SCHEMES:
            add(
                section,
                rows,
                f"nearcopy {s} 1 thr / datasketch {s}",
                (f"nearcopy {s}", 1),
                (f"datasketch {s}", 1),
            )
        add(
            section,
            rows,
            "nearcopy fast 1 thr / datasketch affine32",
            ("nearcopy fast", 1),
            ("datasketch affine32", 1),
        )
        add(section, rows, "nearcopy fast 1 thr / rensa", ("nearcopy fast", 1), ("rensa", 1))
        if section == "pre-shingled":
            add(
                section,
                rows,
                "nearcopy fast 1 thr / rensa batch matrix",
                ("nearcopy fast", 1),
                ("rensa batch matrix", 1),
            )
        if nthreads > 1:
            for s in ALL_SCHEMES:
                add(
                    section,
                    rows,
                    f"nearcopy {s} {nthreads} thr / 1 thr",
                    (f"nearcopy {s}", nthreads),
                    (f"nearcopy {s}", 1),
                )
    return out


def compute_targets(e2e: list[Row], ratios: list[Row], nthreads: int) -> list[Row]:
    def r(section: str, label: str) -> float | None:
        return next((x["value"] for x in ratios if x["section"] == section and x["ratio"] == label), None)

    fast1 = find(e2e, "nearcopy fast", 1)
    targets: list[tuple[str, float | None, float, str]] = [
        ("fast end to end, 1 thread", fast1["mb_per_s"] if fast1 else None, 150, "MB/s"),
        (
            "fast end to end 1 thr vs datasketch affine32",
            r("end to end", "nearcopy fast 1 thr / datasketch affine32"),
            30,
            X,
        ),
        ("fast pre-shingled 1 thr vs rensa", r("pre-shingled", "nearcopy fast 1 thr / rensa"), 1.2, X),
    ]
    targets += [
        (
            f"{s} end to end 1 thr vs datasketch {s}",
            r("end to end", f"nearcopy {s} 1 thr / datasketch {s}"),
            10,
            X,
        )
        for s in COMPAT_SCHEMES
    ]
    targets += [
        (
            f"{s} end to end {nthreads} thr vs 1 thr",
            r("end to end", f"nearcopy {s} {nthreads} thr / 1 thr") if nthreads > 1 else None,
            1.8,
            X,
        )
        for s in ALL_SCHEMES
    ]
    return [
        {"target": name, "measured": value, "threshold": thr, "unit": unit, "verdict": bu.verdict(value, thr)}
        for name, value, thr, unit in targets
    ]


def throughput_table(rows: list[Row], bytes_label: str) -> str:
    body = [
        [
            r["method"],
            r["threads"],
            r["subset"],
            r["docs"],
            bu.fmt(r["bytes"] / 1e6),
            bu.fmt(r["mb_per_s"]),
            f"{bu.fmt(r['mb_per_s_min'])} - {bu.fmt(r['mb_per_s_max'])}",
            bu.fmt(r["docs_per_s"], 0),
            bu.fmt(r["shingles_per_s"] / 1e6, 2),
        ]
        for r in rows
    ]
    return bu.md_table(
        [
            "method",
            "threads",
            "doc set",
            "docs",
            f"{bytes_label} MB",
            "MB/s (median)",
            "MB/s range",
            "docs/s",
            "M shingles/s",
        ],
        body,
    )


def _unit(value: float | None, unit: str) -> str:
    return f"{bu.fmt(value, 1)} MB/s" if unit == "MB/s" else f"{bu.fmt(value, 2)}{X}"


def _header(res: dict[str, Any]) -> list[str]:
    m, p, c = res["machine"], res["params"], res["corpus"]
    return [
        f"# MinHash benchmark ({res['date']})",
        "",
        (f"- machine: {m['cpu_model']}, {m['cpu_count']} CPUs, {m['memory_gb']} GB, Python {m['python']}"),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()),
        (
            f"- params: num_perm={p['num_perm']}, seed=1, median of repeat={p['repeat']} runs "
            f"(more if under 0.5 s in total) after one warm-up on {p['warmup_docs']} docs; "
            f"all threads={p['threads_all']}"
        ),
        (
            f"- corpus: {c['docs']} docs, {bu.fmt(c['bytes'] / 1e6)} MB text, "
            f"{c['shingles']:,} shingles (nearcopy.shingles), sha256 {c['sha256'][:12]}"
        ),
        (
            "- every method (nearcopy, datasketch, rensa) ran on the same documents."
            if c["peer_docs"] == c["docs"]
            else f"- peers (datasketch, rensa) ran on the first {c['peer_docs']} docs "
            f'({bu.fmt(c["peer_bytes"] / 1e6)} MB, doc set "peer"); '
            "ratios compare throughput (MB/s), not times on identical docs."
        ),
    ]


def _throughput_sections(res: dict[str, Any]) -> list[str]:
    return [
        "",
        "## End to end from raw text",
        "",
        (
            "MB/s = input text bytes / wall seconds. nearcopy normalizes and shingles in "
            'Rust; peers tokenize in Python (`re.findall(r"\\w+", text.lower())`, word '
            "5-grams), one MinHash object per doc."
        ),
        "",
        throughput_table(res["end_to_end"], "text"),
        "",
        "## From pre-shingled token lists",
        "",
        (
            "Shingles from `nearcopy.shingles`, computed (and for datasketch encoded) "
            "outside the timed region. MB/s = UTF-8 bytes of all shingles / wall seconds."
        ),
        "",
        throughput_table(res["pre_shingled"], "shingle"),
        "",
        "## Ratios (by MB/s)",
        "",
        bu.md_table(
            ["input", "ratio", "value"],
            [[x["section"], x["ratio"], _unit(x["value"], X)] for x in res["ratios"]],
        ),
    ]


def _accuracy_sections(res: dict[str, Any]) -> list[str]:
    acc, bc = res["accuracy"], res["bit_compat"]
    ej = acc["exact_jaccard"]
    return [
        "",
        "## Estimation error",
        "",
        (
            f"{acc['pairs']} near-duplicate pairs, exact Jaccard of shingle sets "
            f"{ej['min']:.2f}-{ej['max']:.2f} (median {ej['median']:.2f}); "
            f"k={acc['num_perm']}. Theory for k-permutation MinHash: mean SE "
            f"sqrt(J(1-J)/k) = {acc['theory_mean_se']:.4f}, expected RMSE = "
            f"{acc['theory_rmse']:.4f}."
        ),
        "",
        bu.md_table(
            ["method", "MAE", "RMSE", "bias", "max |err|"],
            [
                [name, f"{s['mae']:.4f}", f"{s['rmse']:.4f}", f"{s['bias']:+.4f}", f"{s['max_abs']:.4f}"]
                for name, s in acc["methods"].items()
            ],
        ),
        "",
        "## Bit compatibility",
        "",
        (
            f"{bc['docs']} docs, {bc['shingles']:,} shingles. "
            f"**identical: {'yes' if bc['identical'] else 'no'}**"
        ),
        "",
        bu.md_table(
            ["check", "seed", "identical", "docs differing", "dtype"],
            [
                [
                    x["check"],
                    x["seed"],
                    "yes" if x["identical"] else "no",
                    x["docs_differing"],
                    x["dtype"]
                    if x["dtype"] == x["expected_dtype"]
                    else f"{x['dtype']} (expected {x['expected_dtype']})",
                ]
                for x in bc["checks"]
            ],
        ),
    ]


def render(res: dict[str, Any]) -> str:
    targets = bu.md_table(
        ["target", "measured", "threshold", "verdict"],
        [
            [
                t["target"],
                _unit(t["measured"], t["unit"]),
                f">= {t['threshold']:g}{' MB/s' if t['unit'] == 'MB/s' else X}",
                t["verdict"],
            ]
            for t in res["targets"]
        ],
    )
    lines = [
        *_header(res),
        *_throughput_sections(res),
        *_accuracy_sections(res),
        "",
        "## Targets (reported, not asserted)",
        "",
        targets,
    ]
    return "\n".join(lines) + "\n"

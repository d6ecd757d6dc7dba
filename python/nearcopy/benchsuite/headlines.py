"""The figures of each benchmark's result that the suite compares between runs.

A benchmark's JSON holds everything it measured; these are the figures a regression shows up in,
flattened to one row each: a stable name, the value, its unit, which direction is better (so that
`--compare` can say "faster" or "worse" without knowing the benchmark), and the spread over repeated
runs where the benchmark repeated. Names stay stable between runs of the same size, so two
results.json files can be matched figure by figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Figure = dict[str, Any]


def figure(
    metric: str,
    value: float | None,
    unit: str,
    better: str,
    spread: tuple[float, float] | None = None,
    *,
    key: bool = False,
) -> Figure:
    """One figure; `key` marks the few the report's summary shows for the benchmark."""
    row: Figure = {"metric": metric, "value": value, "unit": unit, "better": better}
    if spread is not None:
        row["spread"] = [min(spread), max(spread)]
    if key:
        row["key"] = True
    return row


KEY_MINHASH = ("nearcopy fast 1 thr / datasketch affine32", "nearcopy fast 1 thr / rensa")


def _minhash(res: dict[str, Any]) -> list[Figure]:
    out = []
    for section, field in (("end to end", "end_to_end"), ("pre-shingled", "pre_shingled")):
        for row in res.get(field, []):
            name = f"{section}: {row['method']}, {row['threads']} thr"
            spread = (row["mb_per_s_min"], row["mb_per_s_max"])
            key = field == "end_to_end" and row["method"] == "nearcopy fast" and row["threads"] == 1
            out.append(figure(name, row["mb_per_s"], "MB/s", "higher", spread, key=key))
    for r in res["ratios"]:
        key = r["section"] == "end to end" and r["ratio"] in KEY_MINHASH
        out.append(figure(f"ratio {r['section']}: {r['ratio']}", r["value"], "x", "higher", key=key))
    for method, err in res.get("accuracy", {}).get("methods", {}).items():
        out.append(figure(f"estimation RMSE: {method}", err["rmse"], "", "lower"))
    identical = res.get("bit_compat", {}).get("identical")
    out.append(figure("bit-identical to datasketch", 1.0 if identical else 0.0, "bool", "higher"))
    return out


def _code_speed(res: dict[str, Any]) -> list[Figure]:
    out = []
    for row in res["rows"]:
        lang = row["language"]
        out.append(figure(f"{lang}: tree-sitter parse", row["raw_parse_mb_s"], "MB/s", "higher"))
        out.append(figure(f"{lang}: nearcopy 1 thread", row["nearcopy_1_thread_mb_s"], "MB/s", "higher"))
        out.append(
            figure(f"{lang}: nearcopy all threads", row["nearcopy_all_threads_mb_s"], "MB/s", "higher")
        )
        out.append(figure(f"{lang}: nearcopy 1 thr / parse", row["share_of_raw_parse"], "x", "higher"))
    return out


def _code_quality(res: dict[str, Any]) -> list[Figure]:
    out = []
    for mode, by_run in res["results"].items():
        for run, rates in by_run.items():
            for case, rate in rates.items():
                better = "lower" if case in ("false positives", "idioms") else "higher"
                key = mode == "placeholder" and run == "25" and case in ("all of them", "false positives")
                out.append(figure(f"{mode}, L={run}: {case}", rate, "rate", better, key=key))
    return out


def _code_detect(res: dict[str, Any]) -> list[Figure]:
    out = [figure("accuracy, all languages", res["overall"], "share", "higher", key=True)]
    for lang, row in res["languages"].items():
        out.append(figure(f"{lang}: accuracy", row["accuracy"], "share", "higher"))
        out.append(figure(f"{lang}: time per snippet", row["ms_per_snippet"], "ms", "lower"))
    return out


def _filter_quality(res: dict[str, Any]) -> list[Figure]:
    out = [
        figure("check p50", res["check_p50_ms"], "ms", "lower"),
        figure("check p99", res["check_p99_ms"], "ms", "lower", key=True),
        figure("index bytes per token", res["index"]["bytes_per_token"], "B", "lower"),
    ]
    for case, row in res["cases"].items():
        better = "lower" if "negative" in case else "higher"
        key = case in ("code renamed", "prose lightly edited", "code other projects (negative)")
        out.append(figure(f"flag rate: {case}", row["flag_rate"], "rate", better, key=key))
        if "plain_ngram_flag_rate" in row:
            out.append(figure(f"flag rate, plain n-gram filter: {case}", row["plain_ngram_flag_rate"], "rate",
                              better, key=case == "code renamed"))  # fmt: skip
    return out


KEY_FILTER_REAL = (
    "code verbatim, reformatted, renamed, with header: bare",
    "unrelated code: bare (negative)",
    "generated helpers: TypeScript, Babel (negative)",
)


def _filter_real(res: dict[str, Any]) -> list[Figure]:
    out = []
    for row in res["targets"]:
        # ("check p99 (ms)" alone: results written before the 2 KB bucket, over all answers.)
        if row["target"].startswith("check p99 (ms)"):
            label = "check p99, answers of 2 KB or less" if "2 KB" in row["target"] else "check p99"
            out.append(figure(label, row["value"], "ms", "lower", key=True))
        else:
            better = "higher" if row["op"] == ">=" else "lower"
            out.append(
                figure(row["target"], row["value"], "rate", better, key=row["target"] in KEY_FILTER_REAL)
            )
    everything = res.get("latency", {}).get("all answers")
    if everything is not None and "answers of 2 KB or less" in res["latency"]:
        out.append(figure("check p99", everything["p99_ms"], "ms", "lower", key=False))
    for shape in ("bare", "fenced"):
        cells = [c for c in res["cells"] if c["shape"] == shape and c["language"] != "prose"]
        answers = sum(c["answers"] for c in cells)
        correct = sum(c["split_correct"] * c["answers"] for c in cells) / answers if answers else None
        out.append(figure(f"splitter correct: {shape}", correct, "rate", "higher", key=shape == "bare"))
    return out


def _filter_speed(rows: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for row in rows:
        size = f"{row['mb']:g} MB index"
        out += [
            figure(f"{size}: build, all cores", row["build_mb_s"], "MB/s", "higher"),
            figure(f"{size}: build, 1 core", row.get("build_1core_mb_s"), "MB/s", "higher"),
            figure(f"{size}: check p50", row["check_p50_ms"], "ms", "lower"),
            figure(f"{size}: check p99", row["check_p99_ms"], "ms", "lower", key=True),
            figure(f"{size}: bytes per token", row["bytes_per_token"], "B", "lower"),
            figure(f"{size}: open", row["open_ms"], "ms", "lower"),
            figure(f"{size}: peak build memory", row["peak_build_mb"], "MB", "lower"),
        ]
        if peer := row.get("plain_ngram"):
            check_ratio = peer["check_p50_ms"] / row["check_p50_ms"]
            memory_ratio = peer["memory_mb"] / row["index_mb"]
            out += [
                figure(f"{size}: plain n-gram filter check p50", peer["check_p50_ms"], "ms", "lower"),
                figure(f"{size}: plain n-gram filter memory", peer["memory_mb"], "MB", "lower"),
                figure(f"{size}: check p50, plain n-gram / nearcopy", check_ratio, "x", "higher", key=True),
                figure(
                    f"{size}: memory, plain n-gram RAM / nearcopy file", memory_ratio, "x", "higher", key=True
                ),
            ]
    return out


def _dedup_quality(res: dict[str, Any]) -> list[Figure]:
    out = []
    for method, row in res["results"].items():
        out += [
            figure(f"{method}: precision", row["precision"], "share", "higher"),
            figure(f"{method}: recall", row["recall"], "share", "higher"),
            figure(f"{method}: F1", row["f1"], "share", "higher", key=method.endswith("affine32 14x9")),
            figure(f"{method}: docs/s", row["docs_per_s"], "docs/s", "higher"),
            figure(f"{method}: peak memory", row["peak_mb"], "MB", "lower"),
        ]
    return out


def _dedup_speed(res: dict[str, Any]) -> list[Figure]:
    out = []
    for method, row in res["results"].items():
        docs = row["docs_per_s"] * row["median_s"]
        spread = (docs / row["max_s"], docs / row["min_s"])
        out += [
            figure(
                f"{method}: docs/s",
                row["docs_per_s"],
                "docs/s",
                "higher",
                spread,
                key=method == "nearcopy 1 thread",
            ),
            figure(f"{method}: removal F1", row["f1"], "share", "higher"),
            figure(f"{method}: peak memory", row["peak_mb"], "MB", "lower"),
        ]
    for peer, ratio in res.get("ratios_per_core", {}).items():
        out.append(figure(f"nearcopy 1 thread / {peer} (per core)", ratio, "x", "higher"))
    return out


def _dedup_scale(res: dict[str, Any]) -> list[Figure]:
    out = [
        figure("whole run", res["run"]["seconds"], "s", "lower", key=True),
        figure("peak anonymous memory", res["run"]["peak_anon_mb"], "MB", "lower", key=True),
    ]
    for stage, seconds in res["report"].get("timings", {}).items():
        out.append(figure(f"stage {stage}", seconds, "s", "lower"))
    return out


def _lsh(res: dict[str, Any]) -> list[Figure]:
    out = []
    for size in res["sizes"]:
        docs = size["corpus"]["docs"]
        for t in size["thresholds"]:
            rows = {r["method"]: r for r in t["rows"]}
            at = f"{docs:,} docs, t={t['threshold']}"
            ours = rows["nearcopy"]
            key = docs == res["sizes"][-1]["corpus"]["docs"] and t is size["thresholds"][0]
            out += [
                figure(f"{at}: nearcopy query p99", ours["query_p99_us"], "us", "lower", key=key),
                figure(f"{at}: nearcopy query p50", ours["query_p50_us"], "us", "lower"),
                figure(f"{at}: nearcopy bytes per document", ours["bytes_per_doc"], "B", "lower", key=key),
                figure(f"{at}: nearcopy insert", ours["insert_docs_per_s"], "docs/s", "higher"),
            ]
            if "verified" in ours:
                out.append(figure(f"{at}: nearcopy recall", ours["verified"]["recall"], "", "higher"))
                out.append(figure(f"{at}: nearcopy precision", ours["verified"]["precision"], "", "higher"))
            for peer in ("datasketch", "rensa"):
                if peer in rows:
                    out.append(figure(f"{at}: {peer} query p99", rows[peer]["query_p99_us"], "us", "lower"))
            if "datasketch" in rows:
                ratio = ours["insert_docs_per_s"] / rows["datasketch"]["insert_docs_per_s"]
                out.append(figure(f"{at}: insert, nearcopy / datasketch", ratio, "x", "higher", key=key))
    return out


def _serve(res: dict[str, Any]) -> list[Figure]:
    out = []
    for row in res["rows"]:
        one = row["workers"] == 1
        w = f"{row['workers']} worker{'' if one else 's'}"
        whole, streamed = row["whole"]["added"]["p99_ms"], row["streamed"]["added_per_chunk_ms"]
        out += [
            figure(f"{w}: /v1/check", row["check"]["rps"], "req/s", "higher", key=one),
            figure(f"{w}: /v1/check p99", row["check"]["p99_ms"], "ms", "lower"),
            figure(f"{w}: proxy adds to whole answer, p99", whole, "ms", "lower", key=one),
            figure(f"{w}: proxy adds per streamed chunk", streamed, "ms", "lower", key=one),
        ]
        if "memory" in row:  # measured with one worker only
            out.append(figure(f"{w}: RSS after many checks", row["memory"]["rss_after_mb"], "MB", "lower"))
    return out


def _filter_popular(res: dict[str, Any]) -> list[Figure]:
    default = res["rows"][0]
    out = [
        figure(f"default: {case}", rate, "rate", "higher", key="verbatim" in case)
        for case, rate in default["popular"].items()
    ]
    out += [
        figure(f"default: FP {kind}", rate, "rate", "lower")
        for kind, rate in default["false_positives"].items()
    ]
    return out


def _filter_shards(res: dict[str, Any]) -> list[Figure]:
    out = []
    for row in res["rows"]:
        layout, key = row["layout"], row["shards"] == 4
        out += [
            figure(f"{layout}: check p50", row["check_p50_ms"], "ms", "lower"),
            figure(f"{layout}: check p99", row["check_p99_ms"], "ms", "lower", key=key),
            figure(f"{layout}: same verdicts as one index", row["same_verdicts"], "rate", "higher", key=key),
        ]
    return out


def _router(res: dict[str, Any]) -> list[Figure]:
    one, routed = res["rows"]
    return [
        figure("one service: check p99", one["check_p99_ms"], "ms", "lower"),
        figure("router: check p50", routed["check_p50_ms"], "ms", "lower"),
        figure("router: check p99", routed["check_p99_ms"], "ms", "lower", key=True),
        figure("router: same verdicts as one service", routed["same_verdicts"], "rate", "higher", key=True),
    ]


def _build_speed(res: dict[str, Any]) -> list[Figure]:
    out = []
    for row in res["rows"]:
        name = f"{row['kind']}, {row['mb']:.0f} MB"
        if row.get("engine", "local") != "local":
            name += f", {row['engine']}"
        out += [
            figure(f"{name}: build MB/s per core", row["mb_s_per_core"], "MB/s", "higher", key=True),
            figure(f"{name}: peak memory", row["peak_mb"], "MB", "lower"),
        ]
        if "share_of_raw_parse" in row:
            out.append(figure(f"{name}: share of the raw parse", row["share_of_raw_parse"], "rate", "higher"))
    return out


EXTRACTORS: dict[str, Callable[[Any], list[Figure]]] = {
    "minhash": _minhash,
    "code-speed": _code_speed,
    "code-quality": _code_quality,
    "code-detect": _code_detect,
    "filter-quality": _filter_quality,
    "filter-real": _filter_real,
    "filter-popular": _filter_popular,
    "filter-speed": _filter_speed,
    "filter-shards": _filter_shards,
    "router": _router,
    "build-speed": _build_speed,
    "dedup-quality": _dedup_quality,
    "dedup-speed": _dedup_speed,
    "dedup-scale": _dedup_scale,
    "lsh": _lsh,
    "serve": _serve,
}


def headline(name: str, result: Any) -> list[Figure]:
    """The figures of one benchmark's result; a result of an unexpected shape gives none (the full
    result is still in results.json), never an exception that would lose the whole run."""
    try:
        return [f for f in EXTRACTORS[name](result) if isinstance(f["value"], (int, float))]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return []

"""`nearcopy bench --compare OLD [NEW]`: what got faster or slower between two suite results.

Figures are matched by benchmark and name (the headline figures of results.json). A change counts
only when it is beyond the noise: for speed, time and memory figures a relative change of more than
`noise` (default 10%) *and*, where both runs give a slowest-fastest range, ranges that do not
overlap; for quality figures (shares and rates between 0 and 1) an absolute change of more than
0.01. Timings on a shared machine move by more than 10% from run to run, so compare runs taken on
the same quiet machine; a different CPU or size is pointed out first.

The exit status stays 0 whatever changed (a report, not a gate), unless `fail_on_regression` is set:
then it is 1 when any figure got worse, as `nearcopy check` exits 1 when it flags something.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUALITY_UNITS = ("share", "rate", "bool", "")
QUALITY_NOISE = 0.01
SPEED_UNITS = ("MB/s", "docs/s", "req/s", "ms", "s")


@dataclass
class Change:
    benchmark: str
    metric: str
    old: float
    new: float
    unit: str
    better: bool

    @property
    def word(self) -> str:
        if self.unit in SPEED_UNITS:
            return "faster" if self.better else "slower"
        return "better" if self.better else "worse"

    def line(self) -> str:
        unit = "" if self.unit in QUALITY_UNITS else "x" if self.unit == "x" else f" {self.unit}"
        relative = f" ({self.new / self.old - 1:+.0%})" if self.old else ""
        change = f"{self.old:.4g} -> {self.new:.4g}{unit}{relative}"
        return f"  {self.word:6} {self.benchmark}: {self.metric}: {change}"


def _figures(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for name, entry in results["benchmarks"].items():
        for fig in entry.get("headline", []):
            out[(name, fig["metric"])] = fig
    return out


def _beyond_noise(old: dict[str, Any], new: dict[str, Any], noise: float) -> bool:
    a, b = float(old["value"]), float(new["value"])
    if old["unit"] in QUALITY_UNITS:
        return abs(b - a) > QUALITY_NOISE
    if a == 0:
        return b != 0
    if abs(b / a - 1) <= noise:
        return False
    if "spread" in old and "spread" in new:
        (lo_a, hi_a), (lo_b, hi_b) = old["spread"], new["spread"]
        return bool(hi_a < lo_b or hi_b < lo_a)
    return True


def changes(
    old: dict[str, Any], new: dict[str, Any], noise: float = 0.10
) -> tuple[list[Change], int, list[str]]:
    """(changes beyond the noise, number of figures within it, figures present in one run only)."""
    before, after = _figures(old), _figures(new)
    found, steady = [], 0
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        if not _beyond_noise(a, b, noise):
            steady += 1
            continue
        improved = (float(b["value"]) > float(a["value"])) == (b["better"] == "higher")
        found.append(Change(key[0], key[1], float(a["value"]), float(b["value"]), b["unit"], improved))
    one_side = [f"{k[0]}: {k[1]}" for k in sorted(before.keys() ^ after.keys())]
    return found, steady, one_side


def render(old: dict[str, Any], new: dict[str, Any], noise: float = 0.10) -> tuple[str, bool]:
    """The comparison as text, and whether anything got worse."""
    found, steady, one_side = changes(old, new, noise)
    lines = []
    m_old, m_new = old["machine"], new["machine"]
    if m_old.get("cpu_model") != m_new.get("cpu_model") or m_old.get("cpu_affinity") != m_new.get(
        "cpu_affinity"
    ):
        lines.append(
            f"note: different machines ({m_old.get('cpu_model')} x{m_old.get('cpu_affinity')} -> "
            f"{m_new.get('cpu_model')} x{m_new.get('cpu_affinity')}): differences are not regressions"
        )
    if old["suite"]["size"] != new["suite"]["size"]:
        lines.append(f"note: different sizes ({old['suite']['size']} -> {new['suite']['size']})")
    worse = [c for c in found if not c.better]
    better = [c for c in found if c.better]
    lines.append(
        f"{len(better)} better, {len(worse)} worse, {steady} within noise "
        f"(speed {noise:.0%} relative and outside the run-to-run range; quality {QUALITY_NOISE} absolute)"
    )
    if worse:
        lines += ["worse:", *(c.line() for c in worse)]
    if better:
        lines += ["better:", *(c.line() for c in better)]
    if one_side:
        lines.append(f"{len(one_side)} figures in one run only (benchmark not run, skipped or failed)")
    for name in sorted(old["benchmarks"].keys() | new["benchmarks"].keys()):
        was = old["benchmarks"].get(name, {}).get("status", "not run")
        now = new["benchmarks"].get(name, {}).get("status", "not run")
        if was != now:
            lines.append(f"{name}: {was} -> {now}")
    return "\n".join(lines), bool(worse)

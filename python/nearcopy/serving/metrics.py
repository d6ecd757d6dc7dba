"""Prometheus metrics of one service process, in the text exposition format (no client library:
four families do not need one).

Counters and histograms are per worker process; each sample carries a ``pid`` label so that series
of several workers behind one port stay apart (a scrape reaches one worker; scrape each, or sum what
you collect over time).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

# Seconds; the low end resolves the sub-millisecond checks, the high end whole streamed answers.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
                break
        self.total += seconds
        self.count += 1


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.flagged: Counter[tuple[str, str]] = Counter()
        self.latency: dict[str, _Histogram] = {}
        self.pid = str(os.getpid())

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, status)] += 1
        self.latency.setdefault(endpoint, _Histogram()).observe(seconds)

    def flag(self, endpoint: str, action: str) -> None:
        self.flagged[(endpoint, action)] += 1

    def render(self, *, generation: int, documents: int, reloads: int) -> str:
        pid = f'pid="{self.pid}"'
        lines = [
            "# HELP nearcopy_requests_total Requests answered, by endpoint and HTTP status.",
            "# TYPE nearcopy_requests_total counter",
        ]
        for (endpoint, status), n in sorted(self.requests.items()):
            lines.append(f'nearcopy_requests_total{{{pid},endpoint="{endpoint}",status="{status}"}} {n}')
        lines += [
            "# HELP nearcopy_flagged_total Outputs (or output fields) flagged, by endpoint and action.",
            "# TYPE nearcopy_flagged_total counter",
        ]
        for (endpoint, action), n in sorted(self.flagged.items()):
            lines.append(f'nearcopy_flagged_total{{{pid},endpoint="{endpoint}",action="{action}"}} {n}')
        lines += [
            "# HELP nearcopy_request_seconds Time to answer a request (a streamed one: to its end).",
            "# TYPE nearcopy_request_seconds histogram",
        ]
        for endpoint, histogram in sorted(self.latency.items()):
            labels = f'{pid},endpoint="{endpoint}"'
            cumulative = 0
            for bound, n in zip(BUCKETS, histogram.counts):
                cumulative += n
                lines.append(f'nearcopy_request_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
            lines.append(f'nearcopy_request_seconds_bucket{{{labels},le="+Inf"}} {histogram.count}')
            lines.append(f"nearcopy_request_seconds_sum{{{labels}}} {histogram.total:.6f}")
            lines.append(f"nearcopy_request_seconds_count{{{labels}}} {histogram.count}")
        lines += [
            "# HELP nearcopy_index_generation Generation of the protected index answering new requests.",
            "# TYPE nearcopy_index_generation gauge",
            f"nearcopy_index_generation{{{pid}}} {generation}",
            "# HELP nearcopy_index_documents Documents in that index.",
            "# TYPE nearcopy_index_documents gauge",
            f"nearcopy_index_documents{{{pid}}} {documents}",
            "# HELP nearcopy_index_reloads_total Times the index was reopened at a new version.",
            "# TYPE nearcopy_index_reloads_total counter",
            f"nearcopy_index_reloads_total{{{pid}}} {reloads}",
        ]
        return "\n".join(lines) + "\n"

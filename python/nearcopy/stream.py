"""Streaming filter: check an output as it is generated, and release only text that is safe to show.

Guarantee (tested over random chunkings): the text released by ``feed`` and ``close`` never contains
a protected passage at or above the filter's threshold (``min_tokens``). To keep that promise while
showing text as early as possible, the stream holds back the last ``holdback_tokens`` normalized
words (``min_tokens`` plus the longer k-gram and window): a copy is flagged by the time its
threshold-th token arrives, which is before any of it has left the hold-back. Each ``feed`` checks
only a bounded window (the hold-back, a margin, the new delta), opened at a line boundary with the
fence state of that line (or at a word boundary of a line too long to hold a window), so the work
per call is proportional to the delta, not to the text so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nearcopy.answer import language_hint
from nearcopy.filter import Action, Match, OutputFilter, Verdict

_WORD = re.compile(r"\w+")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^\s`]*)")


@dataclass
class _Line:
    start: int  # char offset of the line in the full text
    words: int
    fence_before: tuple[str, str] | None  # (fence marker, info) open before this line, if any


class FilterStream:
    """Created by :meth:`OutputFilter.stream`; ``feed`` deltas, then ``close``."""

    def __init__(self, output_filter: OutputFilter, *, language: str | None = None) -> None:
        self._filter = output_filter
        self._language = language_hint(language)
        info = output_filter.index.info()
        reach = max(int(info["k"]), int(info["code_k"])) + max(int(info["w"]), int(info["code_w"]))
        self.holdback_tokens = max(output_filter.min_tokens, output_filter.min_code_tokens) + reach
        self._window_words = 2 * self.holdback_tokens
        self._chunks: list[str] = []
        self._length = 0
        self._released = 0  # chars of the full text released (or redacted) so far
        self._lines: list[_Line] = [_Line(0, 0, None)]
        self._fence: tuple[str, str] | None = None
        self._line_tail = ""  # the current, unfinished line
        self._matches: list[Match] = []
        self._redacted: list[tuple[int, int, str]] = []  # char intervals of the full text
        self._masked: set[int] = set()  # starts of intervals whose mask has been released
        self._stopped: Action | None = None
        self.verdict = Verdict(False, "allow", 0.0, [])
        self.last_window_chars = 0

    # -- bookkeeping of lines and fences ------------------------------------------------------------
    def _absorb(self, delta: str) -> None:
        pieces = (self._line_tail + delta).split("\n")
        self._line_tail = pieces.pop()
        for line in pieces:
            current = self._lines[-1]
            current.words = len(_WORD.findall(line))
            fence = _FENCE.match(line)
            if fence and self._fence is None:
                self._fence = (fence.group(1)[0] * 3, fence.group(2))
            elif fence and self._fence is not None and fence.group(1).startswith(self._fence[0]):
                # A closing fence is the marker alone on its line.
                self._fence = self._fence if line.strip().strip(fence.group(1)[0]) else None
            self._lines.append(_Line(current.start + len(line) + 1, 0, self._fence))
        self._split_long_tail()
        # Forget lines far behind the window: keep enough words for the next window.
        words, keep = 0, len(self._lines) - 1
        while keep > 0 and words < self._window_words:
            keep -= 1
            words += self._lines[keep].words
        del self._lines[:keep]

    def _split_long_tail(self) -> None:
        """Lets a word boundary of a long unfinished line count as a line start. The window opens
        at a line start, so a paragraph without a newline (or an answer that is one long line)
        would otherwise be checked whole at every delta: quadratic in its length."""
        if len(self._line_tail) < 16 * self._window_words or _FENCE.match(self._line_tail):
            return  # short (checked cheaply by length first), or a fence line, which must stay whole
        words = [m.start() for m in _WORD.finditer(self._line_tail)]
        if len(words) <= 2 * self._window_words:
            return
        cut = words[-self._window_words]
        self._lines[-1].words = len(words) - self._window_words
        self._lines.append(_Line(self._length - len(self._line_tail) + cut, 0, self._fence))
        self._line_tail = self._line_tail[cut:]

    def _text(self, start: int) -> str:
        joined = "".join(self._chunks)
        self._chunks = [joined]
        return joined[start:]

    # -- the public interface -----------------------------------------------------------------------
    def feed(self, delta: str) -> str:
        """Adds generated text; returns the text that may now be shown (possibly empty)."""
        if not isinstance(delta, str):
            raise TypeError(f"delta must be a str, got {type(delta).__name__}")
        self._chunks.append(delta)
        self._length += len(delta)
        self._absorb(delta)
        return self._release(final=False)

    def close(self) -> str:
        """Ends the stream; returns whatever remains to be shown (a notice, for replace)."""
        released = self._release(final=True)
        if self._stopped == "replace" and self._matches:
            top = self._matches[0]
            return released + self._filter.policy.template.format(
                source=top.metadata.get("url") or top.doc_id, license=top.metadata.get("license", "unknown")
            )
        if self.verdict.action == "annotate":
            return released + f"\n\n[sources: {', '.join(sorted({m.doc_id for m in self._matches}))}]"
        return released

    def _release(self, final: bool) -> str:
        if self._stopped in ("suppress", "replace"):
            return ""
        first = self._lines[0]
        prefix = f"{first.fence_before[0]}{first.fence_before[1]}\n" if first.fence_before else ""
        window = self._text(first.start)
        self.last_window_chars = len(window)
        checked = prefix + window
        encoded = checked.encode("utf-8", "surrogatepass")

        def char_at(byte: int) -> int:
            """Char offset in the full text of a byte offset in the checked text."""
            in_checked = len(encoded[:byte].decode("utf-8", "replace"))
            return first.start + max(0, in_checked - len(prefix))

        found = [
            (m, char_at(m.start), char_at(m.end))
            for m in self._filter.check(checked, language=self._language).matches
        ]
        fresh = [(m, start, end) for m, start, end in found if end > self._released]
        if fresh:
            self._record(fresh)
        if self._stopped in ("suppress", "replace"):
            return ""
        end = self._length if final else self._safe_end(window, first.start)
        return self._emit(end)

    def _safe_end(self, window: str, base: int) -> int:
        """The end of the text that is more than `holdback_tokens` words from the end."""
        words = [m.start() for m in _WORD.finditer(window)]
        if len(words) <= self.holdback_tokens:
            return self._released
        return max(self._released, base + words[-self.holdback_tokens])

    def _emit(self, end: int) -> str:
        """Releases text up to char `end`, with redacted intervals replaced by one mask each."""
        text = self._text(0)
        out, position = [], self._released
        for start, stop, source in self._redacted:
            if stop <= position or start >= end:
                continue
            out.append(text[position : max(position, start)])
            if start not in self._masked:
                self._masked.add(start)
                out.append(self._filter.policy.mask.format(source=source))
            position = max(position, min(stop, end))
        out.append(text[position:end] if end > position else "")
        self._released = max(self._released, end)
        return "".join(out)

    def _record(self, found: list[tuple[Match, int, int]]) -> None:
        self._matches.extend(m for m, _, _ in found)
        action = max((self._filter.policy.action_for(m) for m in self._matches), key=_SEVERITY.__getitem__)
        self.verdict = Verdict(True, action, self.verdict.score, list(self._matches))
        if action in ("suppress", "replace"):
            self._stopped = action
        elif action == "redact":
            for match, start, end in found:
                self._redact(max(start, self._released), end, match.metadata.get("url") or match.doc_id)

    def _redact(self, start: int, end: int, source: str) -> None:
        """Adds a char interval to redact, merged with one it overlaps or touches."""
        for i, (s, e, name) in enumerate(self._redacted):
            if start <= e and end >= s:
                self._redacted[i] = (min(s, start), max(e, end), name)
                if s in self._masked and min(s, start) != s:
                    self._masked.add(min(s, start))
                return
        self._redacted.append((start, end, source))
        self._redacted.sort()


_SEVERITY = {"allow": 0, "annotate": 1, "redact": 2, "replace": 3, "suppress": 4}

"""The pre-display output filter: does this model output reproduce protected content?

``check(text)`` finds the passages of the output that copy indexed documents (prose normalized for
case, spacing and punctuation; code for names, literals, comments and layout) and returns a
:class:`Verdict`; ``apply(text)`` returns what may be shown under a :class:`Policy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nearcopy.answer import language_hint
from nearcopy.index import ProtectedIndex, RawMatch

if TYPE_CHECKING:
    from nearcopy.stream import FilterStream

Action = Literal["allow", "annotate", "redact", "replace", "suppress"]
ACTIONS: tuple[Action, ...] = ("allow", "annotate", "redact", "replace", "suppress")
_SEVERITY = {action: rank for rank, action in enumerate(ACTIONS)}
# Chosen on nearcopy/benchsuite/bench_filter.py: see the README's "Output filter quality" for the curves.
DEFAULT_MIN_TOKENS = 25
DEFAULT_MIN_CODE_TOKENS = 50
DEFAULT_MAX_DOC_FREQUENCY = 20
# Common fingerprints (in more than max_doc_frequency documents) are looked at up to this many
# documents, and a passage of them alone counts from popular_factor times the threshold (chosen on
# nearcopy/benchsuite/bench_filter_popular.py: docs/filter.md, "Popular passages").
DEFAULT_POPULAR_DOC_FREQUENCY: int | None = 200
DEFAULT_POPULAR_FACTOR = 1.5
# The longest output checked at once, in characters (16 Mi; an answer of a 1M-token context is about
# 4 Mi). Checking costs about 12 bytes of memory per character, so this bounds a check to ~200 MB;
# a longer text is refused with OutputTooLarge instead of being checked.
MAX_OUTPUT_CHARS = 16 << 20


class OutputTooLarge(ValueError):
    """An output given to the filter is longer than ``MAX_OUTPUT_CHARS``."""


def _checkable(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    if len(text) > MAX_OUTPUT_CHARS:
        raise OutputTooLarge(
            f"{what} has {len(text)} characters; the filter checks at most {MAX_OUTPUT_CHARS}"
        )


@dataclass(frozen=True)
class Match:
    """A passage of the output found in a protected document.

    ``start:end`` are byte offsets into the output's UTF-8; ``tokens`` is how many normalized tokens
    of the output the copy covers, ``coverage`` that as a share of all the output's tokens.
    """

    doc_id: str
    metadata: dict[str, Any]
    start: int
    end: int
    text: str
    tokens: int
    coverage: float
    kind: Literal["text", "code"]
    language: str | None


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    action: Action
    score: float
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """What to do with a flagged output, per match: ``by_source`` (the document's ``source``
    metadata, else its id → action) first, then ``by_license`` (licence value → action), then
    ``default``. The strictest action over all matches wins. ``template`` is what ``replace`` shows;
    it may name ``{source}`` and ``{license}`` of the longest match."""

    default: Action = "redact"
    by_license: Mapping[str, Action] = field(default_factory=dict)
    by_source: Mapping[str, Action] = field(default_factory=dict)
    template: str = "[output withheld: it reproduces {source} ({license})]"
    mask: str = "[redacted: {source}]"

    def __post_init__(self) -> None:
        for action in (self.default, *self.by_license.values(), *self.by_source.values()):
            if action not in ACTIONS:
                raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")

    def action_for(self, match: Match) -> Action:
        source = match.metadata.get("source", match.doc_id)
        if isinstance(source, str) and source in self.by_source:
            return self.by_source[source]
        license_ = match.metadata.get("license")
        if isinstance(license_, str) and license_ in self.by_license:
            return self.by_license[license_]
        return self.default


class OutputFilter:
    """Checks outputs against a :class:`ProtectedIndex`.

    ``min_tokens``: a copied passage of prose must cover at least this many normalized words to
    count; ``min_code_tokens``: a copied passage of code this many normalized code tokens (the
    winnowing guarantee ``k + w - 1`` of the index is the smallest meaningful value of either). A
    match's coverage is compared after adding ``w - 1`` tokens: winnowing finds a shared passage from
    its first selected fingerprint to its last, about that much inside its ends.
    ``max_doc_frequency``: fingerprints in more protected documents than this are common: a
    passage made of common fingerprints alone is boilerplate (an idiom), unless it is long, at least
    ``popular_factor`` times the threshold (a popular function copied whole into many files is still
    a copy); fingerprints in more than ``popular_doc_frequency`` documents are not looked at at all.
    ``popular_doc_frequency=None`` (or one at most ``max_doc_frequency``) ignores every common
    fingerprint, as nearcopy did before. The defaults are measured in
    nearcopy/benchsuite/bench_filter.py and bench_filter_real.py (docs/filter.md).
    """

    def __init__(
        self,
        index: ProtectedIndex,
        *,
        min_tokens: int = DEFAULT_MIN_TOKENS,
        min_code_tokens: int = DEFAULT_MIN_CODE_TOKENS,
        max_doc_frequency: int = DEFAULT_MAX_DOC_FREQUENCY,
        popular_doc_frequency: int | None = DEFAULT_POPULAR_DOC_FREQUENCY,
        popular_factor: float = DEFAULT_POPULAR_FACTOR,
        policy: Policy | None = None,
    ) -> None:
        if min(min_tokens, min_code_tokens, max_doc_frequency) < 1:
            raise ValueError("min_tokens, min_code_tokens and max_doc_frequency must be positive")
        if not 1 <= popular_factor <= 1000:
            raise ValueError(f"popular_factor must be between 1 and 1000, got {popular_factor}")
        if popular_doc_frequency is not None and popular_doc_frequency < 1:
            raise ValueError(f"popular_doc_frequency must be positive or None, got {popular_doc_frequency}")
        self.index = index
        self.min_tokens = min_tokens
        self.min_code_tokens = min_code_tokens
        self.max_doc_frequency = max_doc_frequency
        self.popular_doc_frequency = popular_doc_frequency
        self.popular_factor = popular_factor
        self.policy = policy or Policy()

    @property
    def _popular(self) -> tuple[int, int] | None:
        if self.popular_doc_frequency is None:
            return None
        return (self.popular_doc_frequency, round(100 * self.popular_factor))

    def check(self, text: str, *, language: str | None = None) -> Verdict:
        """Whether ``text`` reproduces protected content, and where.

        ``language`` is what the caller knows (the completions endpoint of a code model, a code
        assistant): None or ``"auto"`` to detect, ``"text"`` for prose only, or the language of the
        output's code (a name or alias from :func:`nearcopy.languages`), which skips detection and
        takes an output without fences as code in that language (it is checked as prose too, so a
        hint never loses a copy of prose)."""
        _checkable(text, "text")
        found, answer_tokens = self.index.match_answer(
            text, max_doc_frequency=self.max_doc_frequency, min_tokens=self.min_tokens,
            min_code_tokens=self.min_code_tokens, language=language_hint(language), popular=self._popular,
        )  # fmt: skip
        return self._verdict(text, found, answer_tokens)

    def check_batch(
        self, texts: Sequence[str], *, num_threads: int | None = None,
        language: str | Sequence[str | None] | None = None,
    ) -> list[Verdict]:  # fmt: skip
        """:meth:`check` of every text, matched in parallel (``num_threads``, default all cores)
        without the GIL; verdicts in the texts' order. ``language``: one hint for all texts, or a
        sequence of one per text (see :meth:`check`)."""
        texts = list(texts)
        for i, text in enumerate(texts):
            _checkable(text, f"texts[{i}]")
        if language is None or isinstance(language, str):
            hints = None if language_hint(language) is None else [language_hint(language)] * len(texts)
        else:
            hints = [language_hint(h) for h in language]
            if len(hints) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(hints)} language hints")
        results = self.index.match_answers(
            texts, max_doc_frequency=self.max_doc_frequency, min_tokens=self.min_tokens,
            min_code_tokens=self.min_code_tokens, num_threads=num_threads, languages=hints,
            popular=self._popular,
        )  # fmt: skip
        return [self._verdict(text, found, tokens) for text, (found, tokens) in zip(texts, results)]

    def _verdict(self, text: str, found: list[RawMatch], answer_tokens: int) -> Verdict:
        located = [(self.index.metadata(segment, doc), start, end, covered, language)
                   for segment, doc, start, end, covered, _span, language, _words in found]  # fmt: skip
        return verdict_of(text, located, answer_tokens, self.policy)

    def stream(self, *, language: str | None = None) -> FilterStream:
        """A streaming check: ``feed(delta)`` returns what may be shown now, ``close()`` the rest.
        ``language`` is a hint, as for :meth:`check`."""
        from nearcopy.stream import FilterStream

        return FilterStream(self, language=language)

    def apply(self, text: str) -> str:
        """The output as it may be shown under the policy."""
        return self.render(text, self.check(text))

    def render(self, text: str, verdict: Verdict) -> str:
        """``text`` as it may be shown, given its ``verdict`` (from :meth:`check` or
        :meth:`check_batch`)."""
        return render_verdict(self.policy, text, verdict)


# A match as the matcher located it: (document metadata, start byte, end byte, covered tokens,
# language or None for prose), in the matcher's order (longest first).
Located = tuple[dict[str, Any], int, int, int, "str | None"]


def verdict_of(text: str, found: Sequence[Located], answer_tokens: int, policy: Policy) -> Verdict:
    """The verdict on ``text`` of the matches ``found`` (in that order), under ``policy``; what
    :meth:`OutputFilter.check` returns, and what a router merging shard servers' matches builds."""
    raw = text.encode("utf-8", "surrogatepass")
    matches = []
    for metadata, start, end, covered, language in found:
        matches.append(Match(
            str(metadata.get("id")), metadata, start, end, raw[start:end].decode("utf-8", "replace"),
            covered, covered / max(answer_tokens, 1), "code" if language else "text", language,
        ))  # fmt: skip
    if not matches:
        return Verdict(False, "allow", 0.0, [])
    action = max((policy.action_for(m) for m in matches), key=_SEVERITY.__getitem__)
    # fsum: exactly rounded, so the score does not depend on the matches' order (a sharded index
    # lists equally long matches of different documents in another order than one index).
    score = min(1.0, math.fsum(m.coverage for m in matches))
    return Verdict(True, action, score, matches)


def render_verdict(policy: Policy, text: str, verdict: Verdict) -> str:
    """``text`` as it may be shown under ``policy``, given its ``verdict``."""
    if verdict.action == "allow":
        return text
    top = verdict.matches[0]
    names = {
        "source": top.metadata.get("url") or top.doc_id,
        "license": top.metadata.get("license", "unknown"),
    }
    if verdict.action == "suppress":
        return ""
    if verdict.action == "replace":
        return policy.template.format(**names)
    if verdict.action == "annotate":
        sources = ", ".join(sorted({m.doc_id for m in verdict.matches}))
        return f"{text}\n\n[sources: {sources}]"
    raw = text.encode("utf-8", "surrogatepass")
    out, position = [], 0
    for match in sorted(verdict.matches, key=lambda m: m.start):
        if match.start < position:
            continue
        out.append(raw[position : match.start].decode("utf-8", "replace"))
        out.append(policy.mask.format(source=match.metadata.get("url") or match.doc_id))
        position = match.end
    out.append(raw[position:].decode("utf-8", "replace"))
    return "".join(out)

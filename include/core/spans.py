"""The span: one labelled character range of a record's text, with text == record_text[start:end]."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Span(BaseModel):
    """A labelled range of a record's text. Offsets are Python string indexes (code points)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=1)
    label: str = Field(min_length=1)
    text: str
    score: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _start_before_end(self) -> Span:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be < end ({self.end})")
        return self

    def matches(self, record_text: str) -> bool:
        """True when the span lies inside the text and its text is exactly that slice."""
        return self.end <= len(record_text) and record_text[self.start : self.end] == self.text


def span_problems(spans: list[Span], record_text: str) -> list[str]:
    """Human-readable reasons why spans do not fit the record text; empty when all fit."""
    problems = []
    for i, span in enumerate(spans):
        if span.end > len(record_text):
            problems.append(f"spans[{i}]: end {span.end} > text length {len(record_text)}")
        elif record_text[span.start : span.end] != span.text:
            problems.append(
                f"spans[{i}]: text {span.text!r} != record text {record_text[span.start : span.end]!r}"
            )
    return problems


def task_score(spans: Sequence[Span]) -> float:
    """A record's confidence for uncertainty-first ordering (lowest first): its least confident span.

    A record with no spans scores 1.0: nothing proposed means nothing for an SME to doubt, so records with
    shaky predictions come before empty ones.
    """
    return min((s.score for s in spans if s.score is not None), default=1.0)

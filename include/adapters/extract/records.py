"""The extracted record and the one error every extractor raises."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExtractedRecord(BaseModel):
    """One unit an SME labels: its record key, its text, and where it came from.

    `meta` carries `kind` (paragraph, row, ocr, preamble) and, where they apply, `page`, `sheet`,
    `row`, `table`, `para`, `part`; row records carry `columns`: {column: [start, end]} with
    `text[start:end]` equal to the column's rendered value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_key: str = Field(min_length=1)
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)


class ExtractionError(Exception):
    """A document could not be turned into records; the message names the file and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str]]:
        return type(self), (self.filename, self.reason)

"""Per-document extraction limits: each one a setting, each breach a clear ExtractionError.

The limits an extractor checks come from `active_limits()`: those a caller applied with
`limits_applied()` (the sandboxed worker applies the ones the parent sent), else the settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from include.adapters.extract.records import ExtractionError

if TYPE_CHECKING:
    from include.core.settings import Settings


@dataclass(frozen=True)
class ExtractLimits:
    """What one document may cost; the README's configuration table names each setting."""

    max_file_bytes: int
    max_pdf_pages: int
    max_page_pixels: int
    max_image_frames: int
    max_sheet_cells: int
    max_records: int
    timeout_s: float
    max_memory_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ExtractLimits:
        """The limits the settings (environment) give."""
        if settings is None:
            from include.core.settings import get_settings

            settings = get_settings()
        return cls(
            max_file_bytes=settings.extract.extract_max_file_bytes,
            max_pdf_pages=settings.extract.extract_max_pdf_pages,
            max_page_pixels=settings.extract.extract_max_page_pixels,
            max_image_frames=settings.extract.extract_max_image_frames,
            max_sheet_cells=settings.extract.extract_max_sheet_cells,
            max_records=settings.extract.extract_max_records,
            timeout_s=settings.extract.extract_timeout_s,
            max_memory_bytes=settings.extract.extract_max_memory_bytes,
        )


_ACTIVE: ContextVar[ExtractLimits | None] = ContextVar("extract_limits", default=None)


def active_limits() -> ExtractLimits:
    """The limits in force: those applied by the caller, else the settings'."""
    return _ACTIVE.get() or ExtractLimits.from_settings()


@contextmanager
def limits_applied(limits: ExtractLimits) -> Iterator[ExtractLimits]:
    """Apply `limits` to every extractor called inside the block."""
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def check_file_bytes(filename: str, size: int, limits: ExtractLimits) -> None:
    """A file larger than EXTRACT_MAX_FILE_BYTES is not read."""
    if size > limits.max_file_bytes:
        raise ExtractionError(
            filename,
            f"file is {_mb(size)}, over the limit of {_mb(limits.max_file_bytes)} (EXTRACT_MAX_FILE_BYTES)",
        )


def check_records(filename: str, count: int, limits: ExtractLimits) -> None:
    """A document of more than EXTRACT_MAX_RECORDS records fails (none of them is stored)."""
    if count > limits.max_records:
        raise ExtractionError(
            filename,
            f"{count:,} records, over the limit of {limits.max_records:,} per document (EXTRACT_MAX_RECORDS)",
        )


def check_pixels(
    filename: str, what: str, width: float, height: float, limits: ExtractLimits, unit: str = "px"
) -> None:
    """A page (`unit` pt: one pixel per point at 72 dpi) or image frame (px) larger than
    EXTRACT_MAX_PAGE_PIXELS fails."""
    pixels = width * height
    if pixels > limits.max_page_pixels:
        at = " at 72 dpi" if unit == "pt" else ""
        raise ExtractionError(
            filename,
            f"{what} is {width:,.0f} × {height:,.0f} {unit} = {pixels / 1e6:,.1f} Mpx{at}, over the limit of "
            f"{limits.max_page_pixels / 1e6:,.1f} Mpx (EXTRACT_MAX_PAGE_PIXELS)",
        )


_OUT_OF_MEMORY = ("bad_alloc", "failed to map segment", "cannot allocate memory", "out of memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a MemoryError, and for what native code raises when an allocation fails under RLIMIT_AS
    (std::bad_alloc through ONNX Runtime, a shared library that cannot be mapped on import)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or any(m in str(seen).lower() for m in _OUT_OF_MEMORY):
            return True
        seen = seen.__cause__
    return False


def render_scale(width: float, height: float, wanted: float, max_pixels: int, max_side: float = 0) -> float:
    """The scale to render a `width` × `height` page at: `wanted`, lowered so the bitmap has at most
    `max_pixels` pixels (and, when given, no side over `max_side`). Chosen before rendering."""
    scale = wanted
    if width > 0 and height > 0:
        scale = min(scale, math.sqrt(max_pixels / (width * height)))
        if max_side > 0:
            scale = min(scale, max_side / max(width, height))
    return max(scale, 1e-3)


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"

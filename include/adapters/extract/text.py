"""Plain text: decode bytes, split into paragraph records bounded in size."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from typing import Any

from charset_normalizer import from_bytes

from include.adapters.extract.records import ExtractedRecord, ExtractionError

DEFAULT_MAX_CHARS = 2000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# DOS, EBCDIC and classic Mac code pages: charset-normalizer often prefers one of them for short
# Windows-1252 text (é as ķ, € as Ć); documents reaching this project practically never use them.
_UNLIKELY_ENCODINGS = (
    *(f"cp{n}" for n in (37, 273, 424, 437, 500, 720, 737, 775, 850, 852, 855, 856, 857, 858)),
    *(f"cp{n}" for n in (860, 861, 862, 863, 864, 865, 866, 869, 875, 1006, 1026, 1125, 1140)),
    *(f"mac_{n}" for n in ("arabic", "croatian", "cyrillic", "farsi", "greek", "iceland", "latin2")),
    *(f"mac_{n}" for n in ("roman", "romanian", "turkish")),
    "kz1048",
    "ptcp154",
    "hp_roman8",
)
WESTERN_RUN = 2
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n\s*")


def decode_text(data: bytes, filename: str) -> str:
    """Bytes to str: a BOM decides; else strict UTF-8; else UTF-16 without BOM; else the best guess
    of charset-normalizer. Raises ExtractionError when nothing decodes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ExtractionError(filename, f"invalid {encoding} after its BOM: {exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text
    if (utf16 := _utf16_without_bom(data)) is not None:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass
    matches = from_bytes(data, cp_exclusion=list(_UNLIKELY_ENCODINGS))
    best = matches.best()
    if best is None or "\x00" in str(best):
        raise ExtractionError(filename, "cannot decode: not text in any known encoding")
    return _western_on_a_tie(data, best, matches) or str(best)


def _western_on_a_tie(data: bytes, best: Any, matches: Iterable[Any]) -> str | None:
    """The Windows-1252 reading of the bytes when charset-normalizer cannot tell and the bytes read
    like Western text: another match scores as well as its best (same chaos and coherence), and no
    more than WESTERN_RUN non-ASCII bytes stand together (accented letters and symbols among ASCII
    letters, as in "Größe" or "©"; Greek, Cyrillic or CJK words are runs of them). A lone "©" gives
    many code pages the same score, and the first pick among equals may be Japanese ("ｩ")."""
    if max((len(run) for run in _NON_ASCII_RUN.findall(data)), default=0) > WESTERN_RUN:
        return None
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    score = (best.chaos, best.coherence)
    tied = sum(1 for m in matches if (m.chaos, m.coherence) == score)
    return western if tied > 1 else None


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    even_zeros = sample[0::2].count(0) / half
    odd_zeros = sample[1::2].count(0) / half
    if odd_zeros > 0.3 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.3 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def normalize_newlines(text: str) -> str:
    """CRLF and CR to LF; other line and paragraph separators too."""
    return re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", text)


def paragraphs(text: str) -> list[str]:
    """Paragraphs of normalized text: blocks separated by blank lines, stripped, empty ones dropped."""
    return [block.strip() for block in _BLANK_LINES.split(text) if block.strip()]


def split_at_whitespace(text: str, max_chars: int) -> list[str]:
    """Consecutive parts of at most `max_chars` characters, cut at the last whitespace that fits
    (a run with no whitespace is cut hard); the whitespace at each cut is dropped."""
    if max_chars < 1:
        raise ValueError("max_chars must be >= 1")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        cut = max((window.rfind(ws) for ws in (" ", "\n", "\t")), default=-1)
        if cut <= 0:
            cut = max_chars
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def paragraph_parts(
    n: int, paragraph: str, key_prefix: str = "", max_chars: int = DEFAULT_MAX_CHARS, **meta: Any
) -> list[ExtractedRecord]:
    """The records of paragraph N: `<key_prefix>para=N`, or `<key_prefix>para=N/part=M` when it is
    longer than `max_chars`. meta `kind` defaults to paragraph."""
    parts = split_at_whitespace(paragraph, max_chars)
    records = []
    for m, part in enumerate(parts, start=1):
        key, part_meta = f"{key_prefix}para={n}", {"kind": "paragraph", **meta, "para": n}
        if len(parts) > 1:
            key, part_meta["part"] = f"{key}/part={m}", m
        records.append(ExtractedRecord(record_key=key, text=part, meta=part_meta))
    return records


def paragraph_records(
    texts: Iterable[str], key_prefix: str = "", max_chars: int = DEFAULT_MAX_CHARS, **meta: Any
) -> list[ExtractedRecord]:
    """Records of consecutive paragraphs, numbered from 1 over the non-blank ones."""
    non_blank = [t.strip() for t in texts if t.strip()]
    return [
        record
        for n, paragraph in enumerate(non_blank, start=1)
        for record in paragraph_parts(n, paragraph, key_prefix, max_chars, **meta)
    ]


def text_records(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Paragraph records of decoded text (any newline convention)."""
    return paragraph_records(paragraphs(normalize_newlines(text)), max_chars=max_chars)


def extract_text(data: bytes, filename: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[ExtractedRecord]:
    """Records of a plain-text document, one per paragraph (or paragraph part)."""
    return text_records(decode_text(data, filename), max_chars=max_chars)

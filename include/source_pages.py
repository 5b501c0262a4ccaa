"""Rendered source pages, stored once beside their document: `<folder>/.nerloop/pages/<sha256>/page-<n>.png`.

Beside the document, so the Label Studio storage that serves the document serves its pages too (local
files under the same folder; the same S3 bucket). The scan of that storage and the ingest both skip the
hidden `.nerloop` folder, so a page never becomes a document or a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from include.label_studio.storage import local_path

log = logging.getLogger(__name__)

PAGES_FOLDER = ".nerloop/pages"

Render = Callable[[bytes, str, set[int]], dict[int, bytes]]


def page_uri(document_uri: str, sha256: str, page: int) -> str:
    """Where page `page` of the document with these bytes is stored (same storage as the document)."""
    name = f"{PAGES_FOLDER}/{sha256}/page-{int(page)}.png"
    if document_uri.startswith("s3://"):
        return f"{document_uri.rsplit('/', 1)[0]}/{name}"
    return (local_path(document_uri).resolve().parent / name).as_uri()


def _exists(uri: str, s3_client: Any) -> bool:
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        try:
            s3_client.head_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            return True
        except Exception:  # botocore's ClientError 404 (and 403 without ListBucket)
            return False
    return local_path(uri).is_file()


def _write(uri: str, data: bytes, s3_client: Any) -> None:
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        s3_client.put_object(
            Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=data, ContentType="image/png"
        )
        return
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".png.partial")
    partial.write_bytes(data)
    partial.replace(path)


def store_pages(
    document_uri: str,
    sha256: str,
    doc_type: str,
    data: bytes,
    pages: set[int],
    s3_client: Any = None,
    render: Render | None = None,
) -> dict[int, str]:
    """Render and store the pages not stored yet; the URI of every page that is stored.

    `render` (data, doc_type, pages) → PNG bytes by page is `render_pages` unless given (the prelabel
    step renders in the extraction sandbox). A storage that refuses the write (a read-only inbox), or a
    render that fails or runs out of time, costs the pages, not the extraction: logged.
    """
    from include.extract.pages import render_pages

    draw: Render = render or render_pages
    uris = {p: page_uri(document_uri, sha256, p) for p in sorted(pages)}
    if document_uri.startswith("s3://") and s3_client is None:
        from include.ingest import default_s3_client

        s3_client = default_s3_client()
    try:
        missing = {p for p, uri in uris.items() if not _exists(uri, s3_client)}
        for page, png in draw(data, doc_type, missing).items():
            _write(uris[page], png, s3_client)
        return {p: uri for p, uri in uris.items() if p not in missing or _exists(uri, s3_client)}
    except Exception as error:  # an unwritable folder/bucket, a page pdfium cannot render, a time-out
        log.warning("pages of %s not stored: %s: %s", document_uri, type(error).__name__, error)
        return {}


__all__ = ["PAGES_FOLDER", "page_uri", "store_pages"]

"""Rendered source pages, stored once beside their document: `<folder>/.nerloop/pages/<sha256>/page-<n>.png`.

Beside the document, so the Label Studio storage that serves the document serves its pages too (local
files under the same folder; the same S3 bucket). The scan of that storage and the ingest both skip the
hidden `.nerloop` folder, so a page never becomes a document or a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from include.adapters.objectstore import ObjectStore, default_store
from include.core.locations import Location

log = logging.getLogger(__name__)

PAGES_FOLDER = ".nerloop/pages"

Render = Callable[[bytes, str, set[int]], dict[int, bytes]]


def page_uri(document_uri: str, sha256: str, page: int) -> str:
    """Where page `page` of the document with these bytes is stored (same storage as the document)."""
    folder = Location.parse(document_uri).resolved().parent
    return folder.child(f"{PAGES_FOLDER}/{sha256}/page-{int(page)}.png").uri


def store_pages(
    document_uri: str,
    sha256: str,
    doc_type: str,
    data: bytes,
    pages: set[int],
    store: ObjectStore | None = None,
    render: Render | None = None,
) -> dict[int, str]:
    """Render and store the pages not stored yet; the URI of every page that is stored.

    `render` (data, doc_type, pages) → PNG bytes by page is `render_pages` unless given (the prelabel
    step renders in the extraction sandbox). A storage that refuses the write (a read-only inbox), or a
    render that fails or runs out of time, costs the pages, not the extraction: logged.
    """
    from include.adapters.extract.pages import render_pages

    draw: Render = render or render_pages
    uris = {p: page_uri(document_uri, sha256, p) for p in sorted(pages)}
    store = store or default_store()
    try:
        missing = {p for p, uri in uris.items() if not store.exists(uri)}
        for page, png in draw(data, doc_type, missing).items():
            store.write(uris[page], png, content_type="image/png")
        return {p: uri for p, uri in uris.items() if p not in missing or store.exists(uri)}
    except Exception as error:  # an unwritable folder/bucket, a page pdfium cannot render, a time-out
        log.warning("pages of %s not stored: %s: %s", document_uri, type(error).__name__, error)
        return {}


__all__ = ["PAGES_FOLDER", "page_uri", "store_pages"]

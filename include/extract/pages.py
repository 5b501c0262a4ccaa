"""Page images: a PDF page or an image frame rendered once as PNG, for an SME to see beside the text."""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image, ImageSequence

# 1.5 × 72 dpi: a letter page is 918 × 1188 px, legible beside the text and ~100-200 KB as PNG.
PDF_SCALE = 1.5
MAX_SIDE = 2000


def _png(image: Image.Image) -> bytes:
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_pages(data: bytes, doc_type: str, pages: Iterable[int]) -> dict[int, bytes]:
    """PNG bytes of each asked page (1-based) of a PDF or image document; pages it lacks are left out."""
    wanted = sorted({int(p) for p in pages if int(p) >= 1})
    if not wanted:
        return {}
    if doc_type == "pdf":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        try:
            out = {}
            for number in wanted:
                if number > len(document):
                    continue
                page = document[number - 1]
                bitmap = page.render(scale=PDF_SCALE)
                out[number] = _png(bitmap.to_pil())
                page.close()
            return out
        finally:
            document.close()
    if doc_type == "image":
        with Image.open(io.BytesIO(data)) as image:
            frames = {
                n: _png(frame.copy())
                for n, frame in enumerate(ImageSequence.Iterator(image), 1)
                if n in wanted
            }
        return frames
    return {}

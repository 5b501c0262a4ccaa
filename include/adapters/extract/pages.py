"""Page images: a PDF page or an image frame rendered once as PNG, for an SME to see beside the text."""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image, ImageSequence

from include.adapters.extract.limits import active_limits, render_scale

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
    """PNG bytes of each asked page (1-based) of a PDF or image document; pages it lacks are left out.

    A PDF page renders at the scale that keeps it within MAX_SIDE and EXTRACT_MAX_PAGE_PIXELS, chosen
    before rendering; an image frame over the pixel budget (that no JPEG reduction fits) is left out."""
    wanted = sorted({int(p) for p in pages if int(p) >= 1})
    if not wanted:
        return {}
    max_pixels = active_limits().max_page_pixels
    if doc_type == "pdf":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        try:
            out = {}
            for number in wanted:
                if number > len(document):
                    continue
                page = document[number - 1]
                width, height = page.get_size()
                scale = render_scale(width, height, PDF_SCALE, max_pixels, MAX_SIDE)
                bitmap = page.render(scale=scale)
                out[number] = _png(bitmap.to_pil())
                page.close()
            return out
        finally:
            document.close()
    if doc_type == "image":
        from include.adapters.extract.image import fit_pixels

        out = {}
        with Image.open(io.BytesIO(data)) as image:
            for n, frame in enumerate(ImageSequence.Iterator(image), 1):
                if n > wanted[-1]:
                    break
                if n in wanted:
                    fit_pixels(frame, max_pixels)
                    if frame.size[0] * frame.size[1] <= max_pixels:
                        out[n] = _png(frame.copy())
        return out
    return {}

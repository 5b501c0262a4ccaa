"""Extraction: a document's bytes to records (paragraphs, row texts, OCR lines) with stable record keys."""

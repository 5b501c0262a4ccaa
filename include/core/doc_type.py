"""The kinds of document the pipeline takes in: what detection answers, extraction routes on and the
documents table stores (`documents.doc_type`)."""

from __future__ import annotations

from typing import Literal

DocType = Literal["text", "csv", "xlsx", "pdf", "image", "docx", "html", "unknown"]

__all__ = ["DocType"]

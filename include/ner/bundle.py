"""Moved to `include.bundle`; this name stays only while include/ner/client.py still imports it from here."""

from include.bundle import Bundle, BundleError, read_bundle

__all__ = ["Bundle", "BundleError", "read_bundle"]

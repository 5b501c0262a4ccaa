"""Core: the values, formats and settings every layer shares (spans, labels, document types,
locations, the model bundle, settings, hashing, logging). Imports nothing above it (checked by
import-linter: `make lint`)."""

"""Logging of the entry points (the operator CLI, the bootstrap builder): our INFO, libraries' at WARNING.

ONNX Runtime's quantizer writes ~100 INFO lines per model ("Quantization parameters for tensor ... not
specified", "Ignore MatMul ...") through the root logger (`logging.info(...)`), so no logger level of its
own quiets it: a filter on the root logger drops its records below WARNING, told apart by the file that
wrote them.
"""

from __future__ import annotations

import logging
import os

# Libraries with loggers of their own whose INFO lines are chatter to an operator.
QUIET_LOGGERS = ("httpx", "onnxruntime", "onnxruntime.quantization")
# Libraries that log through the root logger: their source folders.
QUIET_ROOT_SOURCES = (os.sep + os.path.join("onnxruntime", "quantization") + os.sep,)


class LibraryChatter(logging.Filter):
    """Drops root-logger records below WARNING written by the libraries in QUIET_ROOT_SOURCES."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(source in record.pathname for source in QUIET_ROOT_SOURCES)


def setup_logging(fmt: str = "%(levelname)s %(name)s: %(message)s", level: int = logging.INFO) -> None:
    """`logging.basicConfig(level, fmt)`, with the libraries' chatter at WARNING."""
    logging.basicConfig(level=level, format=fmt)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if not any(isinstance(f, LibraryChatter) for f in root.filters):
        root.addFilter(LibraryChatter())

"""Extraction in a child process, under a time limit and an address-space limit (RLIMIT_AS).

A document that makes a parser hang, eat memory or crash costs its child process, never the Airflow
task: a timed-out child is killed, a child that runs out of memory raises MemoryError or dies, and
either way the caller gets an ExtractionError naming the file and the reason (a per-document
failure). One worker process serves a whole batch (WORKER_TASKS calls, then a fresh one), so
Docling, pdfium and the OCR models are imported once per worker, not once per document.

The worker is `python -m include.adapters.extract.sandbox`, started with subprocess (not multiprocessing's
spawn or forkserver, which would import the parent's `__main__`, the Airflow CLI, into it); calls
and answers travel pickled over a socket pair. Each answer carries the worker's peak resident set
during that call (VmHWM, reset before the call through /proc/self/clear_refs).
"""

from __future__ import annotations

import atexit
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from include.adapters.extract.limits import ExtractLimits, is_out_of_memory, limits_applied
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.core.settings import child_environment

if TYPE_CHECKING:
    from include.core.doc_type import DocType

T = TypeVar("T")

# Calls one worker serves before a fresh one takes over: bounds leaks, while a fresh worker imports
# Docling again (~5 s), so a batch of 50 documents (two calls each for a PDF) stays on one worker.
WORKER_TASKS = 1000
START_TIMEOUT_S = 60.0
_READY = "ready"


@dataclass(frozen=True)
class Isolated(Generic[T]):
    """What a call in the worker returned, its peak resident set and its wall time."""

    value: T
    peak_rss_bytes: int | None
    seconds: float


class SandboxError(Exception):
    """The call did not come back: it ran out of time or its process died (the reason says which)."""


class SandboxUnavailable(RuntimeError):
    """The worker process cannot start: an environment problem, not the document's."""


class Worker:
    """One child Python process that runs calls one at a time under RLIMIT_AS."""

    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.calls = 0
        ours, theirs = socket.socketpair()
        env = child_environment({"PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)})
        env.setdefault("MALLOC_ARENA_MAX", "2")  # fewer 64 MB malloc arenas: less address space per thread
        argv = [
            sys.executable,
            "-m",
            "include.adapters.extract.sandbox",
            str(theirs.fileno()),
            str(memory_bytes),
        ]
        self.process = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())
        if not self.conn.poll(START_TIMEOUT_S):
            self.close()
            raise SandboxUnavailable(f"the extraction worker did not start within {START_TIMEOUT_S:g} s")
        try:
            ready = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise SandboxUnavailable(f"the extraction worker exited at start ({self._exit()})") from exc
        if ready != _READY:
            self.close()
            raise SandboxUnavailable(f"the extraction worker answered {ready!r} at start")

    def call(self, fn: Callable[..., T], args: tuple[Any, ...], timeout_s: float) -> tuple[T, int | None]:
        """fn(*args) in the worker; SandboxError when it takes longer than timeout_s or the worker dies
        (it is gone then); fn's own exception is raised here, with the call's `peak_rss_bytes` on it."""
        self.calls += 1
        try:
            self.conn.send((fn, args))
            if not self.conn.poll(timeout_s):
                self.close()
                raise SandboxError(
                    f"took longer than {timeout_s:g} s (EXTRACT_TIMEOUT_S); its process was killed"
                )
            status, value, peak, retire = self.conn.recv()
        except (EOFError, OSError) as exc:
            how = self._exit()
            self.close()
            raise SandboxError(
                f"process died ({how}) under the memory limit of "
                f"{self.memory_bytes / 2**30:.1f} GiB (EXTRACT_MAX_MEMORY_BYTES): a failed allocation in "
                "native code, a crash in a parser, or the system's OOM killer"
            ) from exc
        if retire:  # it ran out of memory: not trusted with the next document
            self.close()
        if status == "error":
            value.peak_rss_bytes = peak  # what the failed call cost, for the caller's record
            raise value
        return value, peak

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self.conn.closed

    def close(self) -> None:
        """End the worker now (kill: a hung parser does not read its socket)."""
        if not self.conn.closed:
            self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _exit(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}"


class Sandbox:
    """Calls run in one reused worker process; a worker that timed out, died or served WORKER_TASKS
    calls is replaced on the next call."""

    def __init__(self, memory_bytes: int, tasks_per_worker: int = WORKER_TASKS) -> None:
        self.memory_bytes = memory_bytes
        self.tasks_per_worker = tasks_per_worker
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float) -> Isolated[T]:
        with self._lock:
            worker = self._worker
            if worker is None or not worker.alive or worker.calls >= self.tasks_per_worker:
                if worker is not None:
                    worker.close()
                worker = self._worker = Worker(self.memory_bytes)
            started = time.perf_counter()
            value, peak = worker.call(fn, args, timeout_s)
            return Isolated(value, peak, time.perf_counter() - started)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None


_SANDBOXES: dict[int, Sandbox] = {}
_SANDBOXES_LOCK = threading.Lock()


def sandbox_for(memory_bytes: int) -> Sandbox:
    """This process's sandbox for that memory limit (one worker each, reused across documents)."""
    with _SANDBOXES_LOCK:
        if memory_bytes not in _SANDBOXES:
            _SANDBOXES[memory_bytes] = Sandbox(memory_bytes)
        return _SANDBOXES[memory_bytes]


@atexit.register
def close_all() -> None:
    """End every worker of this process."""
    with _SANDBOXES_LOCK:
        for sandbox in _SANDBOXES.values():
            sandbox.close()
        _SANDBOXES.clear()


def extract_isolated(
    data: bytes, filename: str, doc_type: DocType | None, limits: ExtractLimits
) -> Isolated[list[ExtractedRecord]]:
    """`extract_document` in the worker under `limits`; ExtractionError for a time-out or a dead worker
    as for any other per-document failure."""
    try:
        return sandbox_for(limits.max_memory_bytes).call(
            _extract, data, filename, doc_type, limits, timeout_s=limits.timeout_s
        )
    except SandboxError as exc:
        raise ExtractionError(filename, f"extraction {exc}") from exc


def render_isolated(
    data: bytes, doc_type: str, pages: Iterable[int], limits: ExtractLimits
) -> Isolated[dict[int, bytes]]:
    """`render_pages` in the worker under `limits`; SandboxError when it does not come back."""
    return sandbox_for(limits.max_memory_bytes).call(
        _render, data, doc_type, sorted(set(pages)), limits, timeout_s=limits.timeout_s
    )


# -- in the worker ------------------------------------------------------------------------------


def _extract(
    data: bytes, filename: str, doc_type: DocType | None, limits: ExtractLimits
) -> list[ExtractedRecord]:
    from include.adapters.extract.router import extract_document

    with limits_applied(limits):
        return extract_document(data, filename, doc_type)


def _render(data: bytes, doc_type: str, pages: list[int], limits: ExtractLimits) -> dict[int, bytes]:
    from include.adapters.extract.pages import render_pages

    with limits_applied(limits):
        return render_pages(data, doc_type, pages)


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set (Linux 4.0+)
    except OSError:
        pass


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles, else a RuntimeError carrying its type and message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def serve(fd: int, memory_bytes: int) -> None:
    """The worker's loop: limit the address space, then answer (fn, args) calls until the socket closes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    conn = Connection(fd)
    conn.send(_READY)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        _reset_peak()
        retire = False
        try:
            status, value = "ok", fn(*args)
        except BaseException as exc:  # everything goes back to the caller
            status, value = "error", _portable(exc)
            retire = is_out_of_memory(exc)
        conn.send((status, value, _peak_rss(), retire))
        if retire:
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))

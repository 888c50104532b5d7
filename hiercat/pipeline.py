"""Overlapping I/O with compute on one machine: work prepared ahead on threads, writes done behind.

The encoders are the only part of an ingest or a classify run that has to be fast; everything else
(reading image files, decoding them, hashing, looking up stored hashes, upserting) should happen
while they run. `prefetch` prepares the next batches on worker threads while the caller encodes the
current one, and `BackgroundWriter` upserts a batch while the next one is encoded. Threads suffice:
PIL's decoders, hashlib, the Qdrant engines and torch all release the GIL during their work.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """CPU cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_torch_threads(threads: int | None = None) -> int:
    """Give torch's intra-op pool `threads` threads (default: every usable core) and return the number.

    Set deliberately because torch's own default counts the machine's physical cores, which in a
    container or next to other jobs is more than this process gets: oversubscribed threads made the
    encoders slower, not faster.
    """
    import torch

    n = max(1, int(threads or cpu_count()))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def prefetch(items: Iterable[T], fn: Callable[[T], R], depth: int = 2,
             workers: int = 1) -> Generator[R, None, None]:  # a generator: closing() it cancels the prefetch
    """fn(item) for each item, in order, computed up to `depth` items ahead on `workers` threads.

    The caller consumes result i while results i+1 .. i+depth are prepared. An exception raised by
    fn is raised here, at the item it belongs to; leaving the loop early cancels what was not started.
    """
    if depth < 1:
        yield from (fn(x) for x in items)
        return
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="hiercat-prefetch")
    pending: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
    it = iter(items)
    ahead = 0
    try:
        for x in it:
            pending.put(pool.submit(fn, x))
            ahead += 1
            if ahead > depth:
                yield pending.get().result()
                ahead -= 1
        while ahead:
            yield pending.get().result()
            ahead -= 1
    finally:
        while not pending.empty():
            pending.get().cancel()
        pool.shutdown(wait=True)


class BackgroundWriter:
    """Runs write(batch) on one thread, in submission order, at most `depth` batches behind the caller.

    One thread keeps the writes in order (a later batch never lands before an earlier one). A failed
    write is raised by the next `submit` or by `close`, so the caller never runs far past an error.
    Use as a context manager: leaving it waits for every submitted write.
    """

    def __init__(self, write: Callable[[Any], None], depth: int = 1) -> None:
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hiercat-writer", daemon=True)
        self._thread.start()

    _STOP = object()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is self._STOP:
                    return
                if self._error is None:  # after a failure, drain without writing
                    self._write(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def submit(self, batch: Any) -> None:
        """Queue a batch for writing (blocks while `depth` batches are already waiting)."""
        if self._closed:
            raise RuntimeError("BackgroundWriter is closed")
        self._raise()
        self._queue.put(batch)

    def flush(self) -> None:
        """Wait until every submitted batch is written; raise the first write error."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """Write what is queued, stop the thread, raise the first write error."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(self._STOP)
        self._thread.join()
        self._raise()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # already failing: still wait for the thread, but keep the original exception
            self.close()
        except BaseException:  # noqa: BLE001
            pass


__all__ = ["BackgroundWriter", "cpu_count", "prefetch", "set_torch_threads"]

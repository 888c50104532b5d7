"""hiercat.pipeline: work prepared ahead in order, writes behind in order, errors surface where they belong."""

from __future__ import annotations

import threading
import time

import pytest

from hiercat.pipeline import BackgroundWriter, cpu_count, prefetch, set_torch_threads


def test_prefetch_keeps_order_and_runs_ahead() -> None:
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        time.sleep(0.01 * (5 - i % 5))  # later items finish first: the order must still hold
        return i * i

    out = []
    for i, r in enumerate(prefetch(range(12), work, depth=3, workers=2)):
        out.append(r)
        if i == 0:
            assert len(started) >= 2  # item 1.. were started before item 0 was consumed
    assert out == [i * i for i in range(12)]
    assert list(prefetch(range(5), lambda i: -i, depth=0)) == [0, -1, -2, -3, -4]


def test_prefetch_raises_at_the_failing_item_and_stops_early() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("bad item 3")
        return i

    got = []
    with pytest.raises(ValueError, match="bad item 3"):
        for r in prefetch(range(100), work, depth=2):
            got.append(r)
    assert got == [0, 1, 2]


def test_background_writer_writes_in_order_and_reports_a_failure() -> None:
    written: list[int] = []
    threads: set[str] = set()

    def write(batch: int) -> None:
        threads.add(threading.current_thread().name)
        time.sleep(0.002)
        written.append(batch)

    with BackgroundWriter(write, depth=2) as w:
        for b in range(20):
            w.submit(b)
    assert written == list(range(20)) and threads == {"hiercat-writer"}

    def failing(batch: int) -> None:
        if batch == 2:
            raise OSError("disk full")
        written.append(batch)

    w = BackgroundWriter(failing)
    with pytest.raises(OSError, match="disk full"):
        for b in range(50):
            w.submit(b)  # the failure surfaces at a later submit, not 47 batches later
        w.close()
    assert written[-1] < 10


def test_torch_threads_are_set_deliberately() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1 == torch.get_num_threads()
        assert set_torch_threads() == cpu_count() == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)

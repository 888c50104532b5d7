"""encoders.device: device choice, autocast only on CUDA, batching."""

from __future__ import annotations

import contextlib

import pytest
import torch

from hiercat.encoders.device import autocast, batched, pick_device


def test_pick_device_honours_a_request_else_the_best_available() -> None:
    assert pick_device("cpu") == torch.device("cpu") and pick_device(torch.device("cpu")).type == "cpu"
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_autocast_is_a_no_op_on_cpu() -> None:
    ctx = autocast(torch.device("cpu"))
    assert isinstance(ctx, contextlib.nullcontext)
    with ctx:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_batched_slices_keep_order_and_refuse_a_bad_size() -> None:
    assert list(batched([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(batched("abc", 5)) == ["abc"] and list(batched([], 3)) == []
    with pytest.raises(ValueError, match="batch size must be >= 1, got 0"):
        list(batched([1], 0))

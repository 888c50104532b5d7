"""Where models run: device choice, mixed-precision context and batching."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

import torch

T = TypeVar("T")


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The requested device, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device: torch.device) -> AbstractContextManager:
    """fp16 autocast on CUDA; on CPU a no-op so inference stays fp32 (CPU fp16 is slow and lossy)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


# Encoder batch sizes: 256 keeps a CPU's caches warm; a GPU needs far larger batches to be busy (MiniLM
# and a 64 px ResNet-18 at 1024 use a few GiB in fp16, well inside any data-centre GPU).
CPU_BATCH = 256
GPU_BATCH = 1024


def default_batch_size(device: torch.device) -> int:
    """Encoder batch size for the device when none is given: larger on a GPU, so it is kept busy."""
    return GPU_BATCH if device.type == "cuda" else CPU_BATCH


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU batch to the device; on CUDA through pinned memory, so the copy overlaps the GPU's work."""
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    for lo in range(0, len(items), size):
        yield items[lo: lo + size]

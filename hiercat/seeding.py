"""Seeded runs that leave the caller's random state alone.

Training seeds torch's, numpy's and Python's generators so a fit is reproducible (model weights are
initialized from torch's global generator, and torchvision's augmentations draw from it), but a
library must not reseed its caller's process: `seeded` puts every generator back when it ends.
"""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Run a block with the global generators seeded by `seed`; yields a torch.Generator of the same seed."""
    py_state, np_state = random.getstate(), np.random.get_state()
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def seeded_by(parameter: str = "seed") -> Callable[[F], F]:
    """Decorate a function to run `seeded` by its own `parameter` argument (its default when not given)."""
    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind_partial(*args, **kwargs).arguments
            with seeded(int(bound.get(parameter, sig.parameters[parameter].default))):
                return fn(*args, **kwargs)
        return run  # type: ignore[return-value]
    return wrap

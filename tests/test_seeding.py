"""seeding: reproducible runs that leave the caller's generators as they were."""

from __future__ import annotations

import random

import numpy as np
import torch

from hiercat.seeding import seeded, seeded_by


def test_seeded_reproduces_and_restores_every_generator() -> None:
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), float(torch.rand(1)))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded(5) as gen:
        inside = (random.random(), np.random.rand(), float(torch.rand(1)), float(torch.rand(1, generator=gen)))
    with seeded(5) as gen:
        again = (random.random(), np.random.rand(), float(torch.rand(1)), float(torch.rand(1, generator=gen)))
    assert inside == again
    assert (random.random(), np.random.rand(), float(torch.rand(1))) == expected  # as if nothing had run


def test_seeded_by_reads_the_functions_own_seed_argument() -> None:
    @seeded_by("seed")
    def draw(n: int, seed: int = 3) -> float:
        return float(torch.rand(1))

    assert draw(1) == draw(2, seed=3) != draw(1, seed=4)

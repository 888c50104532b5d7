"""Shared model-test data: a ragged taxonomy, random inputs, a real Myntra sample and a model trained on it once."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch

from hiercat.model import (
    CSRArrays,
    ModalityInputs,
    stratified_split,
    train_classifier,
)
from hiercat.model.decode import level_masks
from hiercat.taxonomy import Taxonomy, split_path

# Measured on this sample (15 epochs, late fusion, lexical + random dense, default settings): test hF1 0.94-0.95.
HF1_FLOOR = 0.90
TRAIN_SECONDS = 60


# One branch stops at depth 1, one at depth 2, one at depth 3.
RAGGED = [("Shoes",), ("Clothing", "Pants"), ("Clothing", "Tops", "Shirts"), ("Clothing", "Tops", "Tees")]


def _random_bags(rng: np.random.Generator, n: int, nnz: int = 20) -> CSRArrays:
    """n rows of nnz random hashed buckets (sp.random over 2**18 columns is needlessly slow)."""
    return CSRArrays(np.arange(n + 1) * nnz, rng.integers(0, 2**18, n * nnz), rng.random(n * nnz))


def _masks(tax: Taxonomy) -> list[torch.Tensor]:
    return [torch.from_numpy(m) for m in level_masks(tax)]


@pytest.fixture(scope="session")
def myntra_sample(shared_data):
    """~3,000 Myntra rows with hashed lexical title vectors and a tiny random dense modality."""
    from hiercat.encoders.lexical import LexicalEncoder

    df = pd.read_csv(shared_data / "myntra" / "products.csv", dtype=str, keep_default_na=False)
    df = df.sample(3000, random_state=0).reset_index(drop=True)
    paths = [split_path(c) for c in df["category"]]
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"rand_dense": rng.normal(size=(len(df), 16)).astype(np.float32)},
                            {"lex_title": LexicalEncoder().transform(df["title"].tolist())})
    return inputs, paths, Taxonomy.from_paths(paths)


@pytest.fixture(scope="session")
def one_thread():
    """One torch thread: on a shared 2-core machine, two threads contending with other work were 5x slower per step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def trained(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    tr, va, te = stratified_split(paths, seed=0)
    t0 = time.perf_counter()
    model, history = train_classifier(
        inputs.take(tr), [paths[i] for i in tr], tax, fusion="late", epochs=15, patience=3,
        val=(inputs.take(va), [paths[i] for i in va]), device="cpu", progress=False)
    return model, history, time.perf_counter() - t0, inputs.take(te), [paths[i] for i in te], tax

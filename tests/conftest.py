"""Shared fixtures: paths to the real data and to the bundled demo sample."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
SHARED = Path(os.environ.get("HIERCAT_SHARED_DATA", ROOT.parent / "shared" / "data"))
GOOGLE = ROOT / "hiercat" / "assets" / "google-product-taxonomy-2021-09-21.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The bundled demo sample (Myntra rows with images and the Google mapping)."""
    return DEMO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, skipping tests that need it where it is absent."""
    if not (SHARED / "myntra" / "products.csv").exists():
        pytest.skip("../shared/data is not available")
    return SHARED

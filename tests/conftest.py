"""Shared fixtures: paths to the real data and to the bundled demo sample."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
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


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, demo_dir: Path) -> Path:
    """An embedded store holding the first 1,000 demo products (Google-taxonomy labels), ingested once."""
    import shutil

    import pandas as pd

    from hiercat.catalog import CatalogOptions
    from hiercat.encoders import load_preset
    from hiercat.ingest import ingest
    from hiercat.mapping import CategoryMapping
    from hiercat.store import EdgeStore

    root = tmp_path_factory.mktemp("demo")
    df = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(1000)
    (root / "myntra" / "images").mkdir(parents=True)
    for p in df["image"]:
        shutil.copy(demo_dir / "myntra" / p, root / "myntra" / p)
    df.to_csv(root / "myntra" / "products.csv", index=False)
    mapping = CategoryMapping.load(demo_dir / "mappings" / "myntra_to_gpt.csv")
    with EdgeStore(root / "store") as store:
        report = ingest(root / "myntra" / "products.csv", store, load_preset("minilm"), CatalogOptions(mapping=mapping))
    assert report.ingested == 1000
    return root / "store"


@pytest.fixture(scope="session")
def demo_model(demo_store: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(store, model folder): a copy of the demo store with `hiercat train`'s default model trained on it."""
    import shutil

    from hiercat.experiment import train_on_store
    from hiercat.store import EdgeStore

    store = tmp_path_factory.mktemp("model") / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    with EdgeStore(store) as vs:
        train_on_store(vs, store / "models" / "classifier", epochs=12, progress=False)
    return store, store / "models" / "classifier"


def unseen_demo_rows(demo_dir: Path, start: int = 1000) -> pd.DataFrame:
    """Demo products the demo store does not hold (rows from `start` on), with absolute image paths."""
    rows = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).iloc[start:]
    rows["image"] = [str((demo_dir / "myntra" / p).resolve()) for p in rows["image"]]
    return rows.reset_index(drop=True)


def pytest_configure(config) -> None:
    # The fault corpus (tests/faults.py): KIND is how a case fails when hiercat gets it wrong.
    config.addinivalue_line("markers", "fault(kind): a bad-input / fault corpus case (loss, wrong or traceback)")

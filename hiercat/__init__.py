"""hiercat: put every product of many shops into one product taxonomy from its title, brand, description and image.

The Python API (each name is imported on first use, so `import hiercat` stays fast):

- `open_store(location)`: the embedded store in a folder, or a Qdrant server at a URL (`Store`).
- `ingest_catalogs(catalogs, store, mapping=...)`: validate, map, embed and upsert catalogs; one report per file.
- `Categorizer`: the scikit-learn-style estimator: `fit(store)`, `predict`, `predict_proba`,
  `explain`, `save`, `Categorizer.load`.
- `Categorizer.propose_mapping(catalog)`: a new shop's native categories mapped onto the taxonomy.
- `TrainConfig`, `ClassifyConfig`: the options of training and classification, validated once.
- `read_schema(store)`: what a store records (encoders, vector roles, taxonomy).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Categorizer": "hiercat.categorizer",
    "ClassifyConfig": "hiercat.config",
    "TrainConfig": "hiercat.config",
    "CatalogOptions": "hiercat.catalog",
    "CategoryMapping": "hiercat.mapping",
    "IngestReport": "hiercat.ingest",
    "ingest_catalogs": "hiercat.ingest",
    "Store": "hiercat.store",
    "StoreSchema": "hiercat.store.schema",
    "Taxonomy": "hiercat.taxonomy",
    "open_store": "hiercat.store",
    "read_schema": "hiercat.store.schema",
    "leave_one_shop_out": "hiercat.evaluate",
}

__all__ = [
    "CatalogOptions",
    "Categorizer",
    "CategoryMapping",
    "ClassifyConfig",
    "IngestReport",
    "Store",
    "StoreSchema",
    "Taxonomy",
    "TrainConfig",
    "__version__",
    "ingest_catalogs",
    "leave_one_shop_out",
    "open_store",
    "read_schema",
]

if TYPE_CHECKING:
    from .catalog import CatalogOptions
    from .categorizer import Categorizer
    from .config import ClassifyConfig, TrainConfig
    from .evaluate import leave_one_shop_out
    from .ingest import IngestReport, ingest_catalogs
    from .mapping import CategoryMapping
    from .store import Store, open_store
    from .store.schema import StoreSchema, read_schema
    from .taxonomy import Taxonomy


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hiercat' has no attribute {name!r}")

"""What the REST API does, as plain library calls: classify request products, search, similar products, feedback.

The model and the store's encoders are loaded once (`ClassificationService`); every call reuses them.
The engine work is serialized by one lock: a Qdrant Edge shard and the torch model are shared by
the server's worker threads, and on a few CPU cores running two classifications at once only
makes both slower.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..backoff import back_off, cumulative_confidence
from ..catalog import COLUMNS, CatalogOptions, validate
from ..knn import Neighbour, vote
from ..store.base import VectorStore, point_id
from ..store.schema import read_schema
from ..taxonomy import join_path, split_path
from .models import (
    ImageIn,
    KnnOut,
    Level,
    NeighbourOut,
    Prediction,
    ProductIn,
    Rejected,
    SearchHit,
)

DEFAULT_MAX_PRODUCTS = 256
DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024


class RequestError(ValueError):
    """A request the API refuses: its HTTP status (4xx), the field at fault and why."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


@dataclass
class ServeSettings:
    """Limits and defaults of a server; `image_roots`: the folders an image `path` may point into."""

    max_products: int = DEFAULT_MAX_PRODUCTS
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    image_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd(),))
    min_confidence: float | None = None
    knn_threshold: float = 0.5
    api_key: str | None = None

    def __post_init__(self) -> None:
        self.image_roots = tuple(Path(r).resolve() for r in self.image_roots)


def _file_digest(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _image_bytes(image: ImageIn, where: str, settings: ServeSettings) -> tuple[str, bytes | None]:
    """(a readable path, or '' with the decoded bytes) for one request image; RequestError when unusable."""
    from PIL import Image

    if (image.path is None) == (image.base64 is None):
        raise RequestError(422, where, "give exactly one of image.path and image.base64")
    if image.path is not None:
        file = Path(image.path).resolve()
        if not any(file.is_relative_to(root) for root in settings.image_roots):
            raise RequestError(403, f"{where}.path", "image path is outside the server's image roots "
                                                     "(hiercat serve --image-root)")
        if not file.is_file():
            raise RequestError(422, f"{where}.path", f"no image file at {image.path}")
        if file.stat().st_size > settings.max_image_bytes:
            raise RequestError(413, f"{where}.path", f"image is larger than {settings.max_image_bytes} bytes")
        data, path = file.read_bytes(), str(file)
    else:
        text = image.base64 or ""
        if len(text) > 4 * (settings.max_image_bytes // 3 + 2):  # refuse before decoding a huge string
            raise RequestError(413, f"{where}.base64", f"image is larger than {settings.max_image_bytes} bytes")
        try:
            data = base64.b64decode(text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(422, f"{where}.base64", "not valid base64") from None
        if len(data) > settings.max_image_bytes:
            raise RequestError(413, f"{where}.base64", f"image is larger than {settings.max_image_bytes} bytes")
        path = ""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except Exception:  # noqa: BLE001 - whatever the decoder says, the client sent no usable image
        raise RequestError(422, f"{where}.{'path' if path else 'base64'}", "not a readable image") from None
    return path, None if path else data


@dataclass
class ModelIdentity:
    """Which model answers: its folder, a digest of its weights, what it learned and how it scored."""

    path: str
    weights_sha256: str
    labels: str
    decode: str
    trained_on: dict[str, int]
    test_hF1: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for /version)."""
        return dict(self.__dict__)


class ClassificationService:
    """A loaded classifier bound to an open store: the REST API's engine, usable without HTTP."""

    def __init__(self, store: VectorStore, model_dir: str | Path, settings: ServeSettings | None = None,
                 store_label: str = "") -> None:
        from ..classify import load_classifier

        self.store = store
        self.settings = settings or ServeSettings()
        self.model_dir = Path(model_dir)
        self.classifier, self.preset = load_classifier(store, model_dir)
        self.lock = threading.Lock()
        side = self.classifier.sidecar
        self.identity = ModelIdentity(str(self.model_dir.resolve()), _file_digest(self.model_dir / "model.safetensors"),
                                      str(side.get("labels") or "path"), self.classifier.decode,
                                      dict(side.get("split_sizes") or {}),
                                      (side.get("metrics") or {}).get("hF1"))
        self.store_label = store_label or repr(store)
        record = read_schema(store).preset
        titles = record.names(field="title", role="text") if record else []
        self.title_vector = titles[0] if titles else None
        self.preset_name = record.name if record else ""

    # -- classify -----------------------------------------------------------------------------------------

    def _rows(self, products: Sequence[ProductIn], folder: Path) -> pd.DataFrame:
        """Catalog rows of the request, validated as `hiercat classify` validates a file; images checked first."""
        if len(products) > self.settings.max_products:
            raise RequestError(413, "products", f"{len(products)} products; at most {self.settings.max_products} "
                                                "per request")
        records = []
        for i, p in enumerate(products):
            image = ""
            if p.image is not None:
                path, data = _image_bytes(p.image, f"products[{i}].image", self.settings)
                if data is not None:  # the embedding pipeline reads files: give the bytes one for this request
                    image = str(folder / f"{i}.img")
                    Path(image).write_bytes(data)
                else:
                    image = path
            rec: dict[str, Any] = dict.fromkeys(COLUMNS, "")
            rec.update(row=i + 1, product_id=p.product_id or f"request-{i}", platform=p.platform or "api",
                       title=p.title, brand=p.brand, description=p.description, image=image,
                       category=p.native_category or "")
            records.append(rec)
        checked = validate(pd.DataFrame.from_records(records), folder / "request.csv",
                           CatalogOptions(require_category=False, check_images=False))
        if len(checked.rejects):
            r = checked.rejects.iloc[0]
            i = int(r["row"]) - 1
            what = "product_id" if "product_id" in str(r["reason"]) else "title"
            raise RequestError(422, f"products[{i}].{what}", str(r["reason"]))
        return checked.rows

    def classify(self, products: Sequence[ProductIn], min_confidence: float | None = None,
                 k: int = 10) -> list[Prediction]:
        """Predictions for request products, in order; `min_confidence` None means the server's default."""
        from ..classify import classify_rows, embed_for

        c = self.settings.min_confidence if min_confidence is None else min_confidence
        with tempfile.TemporaryDirectory(prefix="hiercat-serve-") as tmp:
            rows = self._rows(products, Path(tmp))
            crumbs = rows["native_path"].tolist()
            with self.lock:
                emb = embed_for(rows, self.preset, self.classifier)
                table = classify_rows(rows, emb.inputs, self.classifier, self.store, explain=True, knn_k=k,
                                      knn_threshold=self.settings.knn_threshold, stage1=emb.stage1,
                                      breadcrumbs=crumbs if any(crumbs) else None)
        table["note"] = emb.notes
        return [self._prediction(r, c) for _, r in table.iterrows()]

    @staticmethod
    def _prediction(r: pd.Series, min_confidence: float | None) -> Prediction:
        full = split_path(str(r["predicted_path"]))
        conf = [float(r.get(f"level_{k + 1}_confidence", 1.0)) for k in range(len(full))]
        cum = cumulative_confidence(conf, len(full))
        cut = back_off(full, conf, min_confidence)
        neighbours = [Neighbour(**n) for n in json.loads(r["neighbours"])] if "neighbours" in r else []
        knn_path, knn_conf = vote(neighbours)
        return Prediction(
            product_id=str(r["product_id"]), platform=str(r["platform"]), path=join_path(cut.path),
            confidence=round(cut.confidence, 6), stopped_early=cut.stopped_early, full_path=join_path(full),
            levels=[Level(category=join_path(full[: k + 1]), confidence=round(conf[k], 6),
                          cumulative=round(float(cum[k]), 6)) for k in range(len(full))],
            source=str(r["source"]), knn=KnnOut(path=join_path(knn_path), confidence=round(knn_conf, 6)),
            neighbours=[NeighbourOut(**n.__dict__) for n in neighbours], note=str(r.get("note") or ""))

    # -- search -------------------------------------------------------------------------------------------

    def _hits(self, hits: Sequence[Any]) -> list[SearchHit]:
        return [SearchHit(product_id=str(h.payload.get("product_id", "")), platform=str(h.payload.get("platform", "")),
                          title=str(h.payload.get("title", "")), path=str(h.payload.get("path", "")),
                          score=round(float(h.score), 6), image=str(h.payload.get("image", ""))) for h in hits]

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        """Stored products whose title is nearest the text query (the store's text encoder)."""
        if not query.strip():
            raise RequestError(422, "q", "the query is blank")
        if self.title_vector is None:
            raise RequestError(409, "q", "the store has no title vector to search")
        with self.lock:
            vec = self.preset.encode_text([query])[0]
            return self._hits(self.store.search(self.title_vector, vec, k=k))

    def similar(self, platform: str, product_id: str, k: int = 10) -> list[SearchHit]:
        """Stored products nearest a stored one by its title vector (itself left out)."""
        if self.title_vector is None:
            raise RequestError(409, "product_id", "the store has no title vector to search")
        pid = point_id(platform, product_id)
        with self.lock:
            found = self.store.retrieve([pid], with_vectors=[self.title_vector])
            if not found or self.title_vector not in found[0].vectors:
                raise RequestError(404, "product_id", f"no stored product {platform}/{product_id}")
            hits = self.store.search(self.title_vector, found[0].vectors[self.title_vector], k=k + 1)
        return self._hits([h for h in hits if h.id != pid][:k])

    # -- feedback -----------------------------------------------------------------------------------------

    def feedback(self, corrections: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], list[Rejected], str]:
        """Write corrections into the store at once: (applied with their previous label, rejected, timestamp)."""
        from ..feedback import apply_corrections

        table = pd.DataFrame(list(corrections), columns=["product_id", "platform", "path"])
        with self.lock:
            result = apply_corrections(self.store, table)
        applied = [{k: str(v) for k, v in rec.items()} for rec in result.applied.to_dict("records")]
        rejected = [Rejected(index=int(r["row"]) - 1, field=f"corrections[{int(r['row']) - 1}]."
                             + ("path" if "path" in str(r["reason"]) else "product_id"), error=str(r["reason"]))
                    for _, r in result.rejects.iterrows()]
        stamp = applied[0]["reviewed_at"] if applied else ""
        return applied, rejected, stamp

    def health(self) -> int:
        """Points in the store (raises if the store does not answer)."""
        with self.lock:
            return self.store.count()

    def version(self) -> dict[str, Any]:
        """hiercat's version, the model's identity and the store's."""
        from .. import __version__

        return {"hiercat": __version__, "model": self.identity.to_dict(),
                "store": {"store": self.store_label, "preset": self.preset_name, "points": self.health()}}


def open_serving_store(path: str | Path | None, url: str | None = None, api_key: str | None = None,
                       collection: str = "products") -> tuple[VectorStore, str, str]:
    """(the store, its identity, what serving from it means for a concurrent ingest).

    A Qdrant server takes readers and writers at once, so the server reads next to a running ingest.
    A Qdrant Edge folder cannot: qdrant-edge 0.9 has no read-only open and allows one instance per
    folder, so a store an ingest holds is refused here with a message saying so, and while this
    server holds it an ingest into it is refused in turn.
    """
    from ..store import DEFAULT_STORE_PATH, StoreLockedError, open_store

    if url:
        return (open_store(url=url, api_key=api_key, collection=collection), f"{url} (collection {collection})",
                "Qdrant server: ingest may run beside this server; new points are searched as soon as they land")
    folder = Path(path or DEFAULT_STORE_PATH)
    try:
        store = open_store(path=folder)
    except StoreLockedError as exc:
        raise StoreLockedError(
            f"the embedded store {folder} is open in another process (an ingest?): Qdrant Edge has no read-only "
            "mode and allows one open instance per folder, so hiercat serve cannot read it beside that process; "
            "wait for it to finish, serve a copy of the folder, or keep the vectors on a Qdrant server "
            "(--qdrant-url) to serve and ingest at once") from exc
    return (store, str(folder.resolve()),
            "embedded store held by this server (Qdrant Edge has no read-only mode): `hiercat ingest` into it is "
            "refused until the server stops; use a Qdrant server to ingest while serving")


def timed(fn, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """fn's result and the seconds it took."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0

"""hiercat serve: the REST API on a real uvicorn over a loopback port, against the demo store and model."""

from __future__ import annotations

import base64
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from hiercat.serve import ClassificationService, ServeSettings, create_app
from hiercat.store import EdgeStore
from hiercat.store.base import point_id
from hiercat.taxonomy import split_path

from .conftest import unseen_demo_rows

KEY = "s3cret-key"
MAX_PRODUCTS = 8
MAX_IMAGE = 1500  # bytes: the demo's JPEGs are 1-2.3 KB, so some fit and some do not
DRESSES = "Apparel & Accessories > Clothing > Dresses"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn serving one app in a thread on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def service(demo_model, demo_dir: Path, tmp_path_factory) -> Iterator[ClassificationService]:
    """The service on a copy of the demo model's store (feedback writes into it)."""
    src, _ = demo_model
    store_dir = tmp_path_factory.mktemp("serve") / "store"
    shutil.copytree(src, store_dir, ignore=shutil.ignore_patterns("hiercat.lock"))
    settings = ServeSettings(max_products=MAX_PRODUCTS, max_image_bytes=MAX_IMAGE, image_roots=(demo_dir,))
    with EdgeStore(store_dir) as vs:
        yield ClassificationService(vs, store_dir / "models" / "classifier", settings, "demo store copy")


@pytest.fixture(scope="module")
def api(service) -> Iterator[httpx.Client]:
    with Server(create_app(service)) as client:
        yield client


@pytest.fixture(scope="module")
def keyed(service) -> Iterator[httpx.Client]:
    with Server(create_app(service, api_key=KEY)) as client:
        yield client


def _small_image(demo_dir: Path) -> Path:
    return next(p for p in sorted((demo_dir / "myntra" / "images").glob("*.jpg")) if p.stat().st_size < MAX_IMAGE)


def _big_image(demo_dir: Path) -> Path:
    return next(p for p in sorted((demo_dir / "myntra" / "images").glob("*.jpg")) if p.stat().st_size > MAX_IMAGE)


def test_classify_answers_path_levels_source_knn_and_neighbours(api: httpx.Client, demo_dir: Path) -> None:
    rows = unseen_demo_rows(demo_dir).head(3)
    small = _small_image(demo_dir)
    products = [
        {"product_id": rows.loc[0, "product_id"], "platform": "myntra", "title": rows.loc[0, "title"]},
        {"title": rows.loc[1, "title"], "image": {"path": str(small)}},
        {"title": rows.loc[2, "title"], "image": {"base64": base64.b64encode(small.read_bytes()).decode()},
         "native_category": rows.loc[2, "category"]},
    ]
    res = api.post("/classify", json={"products": products, "k": 5})
    assert res.status_code == 200, res.text
    body = res.json()
    assert len(body["predictions"]) == 3 and body["min_confidence"] is None
    first = body["predictions"][0]
    assert first["product_id"] == rows.loc[0, "product_id"] and first["platform"] == "myntra"
    for p in body["predictions"]:
        assert p["path"] == p["full_path"] and p["path"] and not p["stopped_early"]
        assert [lv["category"] for lv in p["levels"]][-1] == p["full_path"]
        cums = [lv["cumulative"] for lv in p["levels"]]
        assert all(0 <= c <= 1 for c in cums) and cums == sorted(cums, reverse=True)
        assert p["source"] in ("model", "knn", "breadcrumb", "zero-shot")
        assert len(p["neighbours"]) == 5 and p["knn"]["path"] and 0 < p["knn"]["confidence"] <= 1
        assert p["note"] == ""  # both images were read


def test_min_confidence_backs_off_to_a_prefix(api: httpx.Client, demo_dir: Path) -> None:
    titles = unseen_demo_rows(demo_dir)["title"].head(MAX_PRODUCTS).tolist()
    full = api.post("/classify", json={"products": [{"title": t} for t in titles]}).json()["predictions"]
    cut = api.post("/classify", json={"products": [{"title": t} for t in titles], "min_confidence": 0.999}).json()
    assert cut["min_confidence"] == 0.999
    for a, b in zip(full, cut["predictions"]):
        assert b["full_path"] == a["full_path"]
        parts, whole = split_path(b["path"]), split_path(b["full_path"])
        assert whole[: len(parts)] == parts  # always a prefix of the prediction, so a node of the taxonomy
        assert b["stopped_early"] == (len(parts) < len(whole))
        deepest_sure = sum(lv["cumulative"] >= 0.999 for lv in b["levels"])
        assert len(parts) == deepest_sure
    assert any(b["stopped_early"] for b in cut["predictions"]), "no demo product below 0.999: the test shows nothing"


def test_search_similar_health_version_and_docs(api: httpx.Client, service: ClassificationService) -> None:
    hits = api.get("/search", params={"q": "blue denim jeans", "k": 4}).json()["hits"]
    assert len(hits) == 4 and all(h["path"] for h in hits)
    assert any("jean" in h["title"].lower() for h in hits)
    one = hits[0]
    sim = api.get(f"/products/{one['platform']}/{one['product_id']}/similar", params={"k": 3})
    assert sim.status_code == 200 and len(sim.json()["hits"]) == 3
    assert one["product_id"] not in [h["product_id"] for h in sim.json()["hits"]]
    missing = api.get("/products/myntra/no-such-id/similar")
    assert missing.status_code == 404 and missing.json()["field"] == "product_id"
    assert api.get("/health").json() == {"status": "ok", "points": 1000}
    version = api.get("/version").json()
    assert version["model"]["weights_sha256"] == service.identity.weights_sha256 and version["hiercat"]
    assert version["store"]["points"] == 1000 and version["store"]["preset"] == "minilm"
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/classify", "/search", "/products/{platform}/{product_id}/similar", "/feedback", "/health",
            "/version"} <= set(paths)


def test_api_key_with_without_and_wrong(keyed: httpx.Client) -> None:
    body = {"products": [{"title": "Nike Men Black Running Shoes"}]}
    without = keyed.post("/classify", json=body)
    assert without.status_code == 401 and without.json() == {
        "error": "missing API key", "field": "X-API-Key", "errors": [{"field": "X-API-Key", "error": "missing API key"}]}
    wrong = keyed.post("/classify", json=body, headers={"X-API-Key": KEY + "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong API key"
    assert keyed.get("/version", headers={"X-API-Key": "nope"}).status_code == 401
    assert keyed.get("/search", params={"q": "shoes"}).status_code == 401
    assert keyed.post("/classify", json=body, headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/version", headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/health").status_code == 200  # liveness stays open for load balancers


@pytest.mark.parametrize("case", ["missing title", "blank title", "bad base64", "not an image", "image too big",
                                  "too many products", "path outside roots", "no products", "not json",
                                  "bad min_confidence", "both image kinds"])
def test_bad_requests_get_a_4xx_naming_the_field(api: httpx.Client, demo_dir: Path, tmp_path: Path,
                                                 case: str) -> None:
    big = _big_image(demo_dir)
    outside = tmp_path / "x.jpg"
    shutil.copy(_small_image(demo_dir), outside)
    ok = {"title": "Nike Men Black Running Shoes"}
    cases = {
        "missing title": ({"products": [ok, {"brand": "Nike"}]}, 422, "products[1].title", "required"),
        "blank title": ({"products": [{"title": "   "}]}, 422, "products[0].title", "blank"),
        "bad base64": ({"products": [{**ok, "image": {"base64": "not base64!"}}]}, 422, "products[0].image.base64",
                       "not valid base64"),
        "not an image": ({"products": [{**ok, "image": {"base64": base64.b64encode(b"hello").decode()}}]}, 422,
                         "products[0].image.base64", "not a readable image"),
        "image too big": ({"products": [ok, {**ok, "image": {"path": str(big)}}]}, 413, "products[1].image.path",
                          f"larger than {MAX_IMAGE} bytes"),
        "too many products": ({"products": [ok] * (MAX_PRODUCTS + 1)}, 413, "products", f"at most {MAX_PRODUCTS}"),
        "path outside roots": ({"products": [{**ok, "image": {"path": str(outside)}}]}, 403,
                               "products[0].image.path", "outside the server's image roots"),
        "no products": ({"products": []}, 422, "products", "at least 1"),
        "not json": (None, 422, "body", "JSON"),
        "bad min_confidence": ({"products": [ok], "min_confidence": 2}, 422, "min_confidence", "less than or equal"),
        "both image kinds": ({"products": [{**ok, "image": {"path": str(big), "base64": "aGk="}}]}, 422,
                             "products[0].image", "exactly one"),
    }
    body, status, field, words = cases[case]
    res = (api.post("/classify", content=b"{not json", headers={"content-type": "application/json"})
           if body is None else api.post("/classify", json=body))
    assert res.status_code == status, res.text
    err = res.json()
    assert err["field"] == field and words.lower() in err["error"].lower(), err


def test_a_correction_changes_the_knn_answer_without_retraining(api: httpx.Client, service: ClassificationService,
                                                                demo_dir: Path) -> None:
    # A near-duplicate of a stored product: its title, sent again by a shop.
    stored = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(1000)
    tee = stored[stored["category"] == "Apparel > Topwear > Tshirts"].iloc[0]
    query = {"products": [{"title": tee["title"]}], "k": 3}
    before = api.post("/classify", json=query).json()["predictions"][0]
    assert before["knn"]["path"] != DRESSES
    near = before["neighbours"]
    corrections = [{"product_id": n["product_id"], "platform": n["platform"], "path": DRESSES} for n in near]
    bad = {"product_id": near[0]["product_id"], "platform": "myntra", "path": "Apparel & Accessories > Clothing > Frocks"}
    res = api.post("/feedback", json={"corrections": [*corrections, bad]})
    assert res.status_code == 200, res.text
    fb = res.json()
    assert len(fb["applied"]) == 3 and {a["previous_path"] for a in fb["applied"]} == {n["path"] for n in near}
    assert fb["rejected"] == [{"index": 3, "field": "corrections[3].path", "error": fb["rejected"][0]["error"]}]
    assert "not a category" in fb["rejected"][0]["error"]
    after = api.post("/classify", json=query).json()["predictions"][0]
    assert after["knn"]["path"] == DRESSES and after["knn"]["confidence"] == pytest.approx(1.0)
    assert {n["path"] for n in after["neighbours"]} == {DRESSES}
    for point in service.store.retrieve([point_id(n["platform"], n["product_id"]) for n in near]):
        p = point.payload
        assert p["label_source"] == "review" and p["reviewed_path"] == p["path"] == DRESSES and p["reviewed_at"]
    # every row bad: nothing written, a 422 naming the first bad field
    none = api.post("/feedback", json={"corrections": [bad]})
    assert none.status_code == 422 and none.json()["field"] == "corrections[0].path"
    unknown = api.post("/feedback", json={"corrections": [{**bad, "product_id": "nope", "path": DRESSES}]})
    assert unknown.status_code == 422 and "no stored product" in unknown.json()["error"]


def test_serving_an_embedded_store_an_ingest_holds_is_refused_with_the_reason(demo_store: Path,
                                                                              tmp_path: Path) -> None:
    from hiercat.serve.service import open_serving_store
    from hiercat.store import StoreLockedError

    store_dir = tmp_path / "store"
    shutil.copytree(demo_store, store_dir, ignore=shutil.ignore_patterns("hiercat.lock"))
    with EdgeStore(store_dir):  # as a running ingest holds it
        with pytest.raises(StoreLockedError, match="no read-only mode"):
            open_serving_store(store_dir)
    vs, label, note = open_serving_store(store_dir)
    try:
        assert label == str(store_dir.resolve()) and "ingest" in note and "refused" in note
        with pytest.raises(StoreLockedError):  # and while it serves, an ingest cannot open the folder
            EdgeStore(store_dir)
    finally:
        vs.close()

"""Fault corpus, a model bound to its files and encoders (issue #16 classes 6-7).

Damaged weights and sidecars are one-line errors; a model is refused on a store whose encoders
differ from the ones it was trained with; non-finite vectors are refused at ingest and classify.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.faults import HEADER, cached_preset, fast_models, hiercat, no_traceback, one_line_error, rows, write_csv

__all__ = ["fast_models"]


def tiny_model(store: Path) -> Path:
    """An untrained classifier over the store's title vector and taxonomy, saved as `hiercat train` saves one."""
    from hiercat.model import save_model
    from hiercat.model.hierarchy import HierarchicalClassifier
    from hiercat.model.inputs import ModalitySpec
    from hiercat.store import EdgeStore
    from hiercat.taxonomy import Taxonomy

    with EdgeStore(store) as s:
        meta = s.get_meta()
    model = HierarchicalClassifier([ModalitySpec("minilm_title", "dense", 384)], Taxonomy.from_dict(meta["taxonomy"]),
                                   shared_dim=16, level_dim=8)
    out = store / "models" / "classifier"
    # the keys `hiercat train` writes about the store (hiercat.experiment.train_on_store)
    save_model(model, out, {"preset": meta.get("preset"), "encoder_fingerprint": meta.get("encoder_fingerprint"),
                            "decode": "greedy"})
    return out


@pytest.fixture
def store_and_model(tmp_path, fast_models) -> tuple[Path, Path, Path]:
    """(store, model folder, a catalog to classify): three stored products and an untrained model."""
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(3))
    run = hiercat("ingest", f, "--store", tmp_path / "store")
    assert run.code == 0, run.output
    new = write_csv(tmp_path / "new" / "products.csv", HEADER, rows(2, start=50))
    model = tiny_model(tmp_path / "store")
    fast_models.clear()
    return tmp_path / "store", model, new


def classify(store: Path, catalog: Path, *extra: str):
    return hiercat("classify", catalog, "--store", store, "-o", store.parent / "pred.csv", *extra)


@pytest.mark.fault("wrong")
def test_the_untampered_model_classifies(store_and_model) -> None:
    store, _, new = store_and_model
    run = classify(store, new)
    no_traceback(run)
    assert run.code == 0, run.output
    assert len(pd.read_csv(store.parent / "pred.csv")) == 2


@pytest.mark.fault("traceback")
def test_truncated_weights_are_one_line(store_and_model) -> None:
    store, model, new = store_and_model
    w = model / "model.safetensors"
    w.write_bytes(w.read_bytes()[:200])
    one_line_error(classify(store, new), "model.safetensors")


@pytest.mark.fault("wrong")
def test_bit_flipped_weights_fail_their_checksum(store_and_model) -> None:
    store, model, new = store_and_model
    w = model / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x01  # a weight's low bit: still a valid safetensors file
    w.write_bytes(bytes(data))
    one_line_error(classify(store, new), "model.safetensors", "checksum")


@pytest.mark.fault("traceback")
@pytest.mark.parametrize("edit", ["missing", "ill-typed"])
def test_sidecar_missing_or_ill_typed_field_is_one_line(store_and_model, edit) -> None:
    store, model, new = store_and_model
    side = model / "model.json"
    meta = json.loads(side.read_text())
    if edit == "missing":
        del meta["taxonomy"]
    else:
        meta["modalities"] = "minilm_title"
    side.write_text(json.dumps(meta))
    one_line_error(classify(store, new), "model.json", "taxonomy" if edit == "missing" else "modalities")


@pytest.mark.fault("traceback")
def test_classify_mapping_to_a_missing_file_is_one_line(store_and_model) -> None:
    store, _, new = store_and_model
    one_line_error(classify(store, new, "--mapping", str(store.parent / "nomap.csv")), "nomap.csv", "not found")


@pytest.mark.fault("wrong")
def test_model_is_refused_on_a_store_built_with_other_image_weights(store_and_model, tmp_path) -> None:
    from hiercat.encoders.simclr import SimCLRNet, save_weights
    from hiercat.store import EdgeStore

    store, model, new = store_and_model
    other = tmp_path / "other-store"
    shutil.copytree(store, other, ignore=shutil.ignore_patterns("hiercat.lock"))
    weights = tmp_path / "other-simclr.safetensors"
    save_weights(SimCLRNet(), weights, {"output": "pooled"})
    with EdgeStore(other) as s:
        meta = s.get_meta()
        meta["preset"]["options"]["simclr_weights"] = str(weights)
        try:
            from hiercat.encoders.fingerprint import encoder_fingerprint
        except ImportError:
            pass
        else:
            meta["encoder_fingerprint"] = encoder_fingerprint(meta["preset"])
        s.set_meta(meta)
    run = hiercat("classify", new, "--store", other, "--model", model, "-o", tmp_path / "p.csv")
    one_line_error(run, "encoder")


@pytest.mark.fault("wrong")
def test_store_whose_weight_file_changed_on_disk_is_refused(tmp_path, fast_models) -> None:
    """The store records the hash of its image weights; a different file under the same path is refused."""
    from hiercat.encoders.simclr import SimCLRNet, default_weights_path, save_weights

    weights = tmp_path / "simclr.safetensors"
    shutil.copy(default_weights_path(), weights)
    preset = cached_preset("minilm")
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(2))
    from hiercat.catalog import CatalogOptions
    from hiercat.ingest import ingest
    from hiercat.store import EdgeStore

    with EdgeStore(tmp_path / "store") as s:
        ingest(f, s, preset, CatalogOptions())
        meta = s.get_meta()
        meta["preset"]["options"]["simclr_weights"] = str(weights)
        try:
            from hiercat.encoders.fingerprint import encoder_fingerprint
        except ImportError:
            pass
        else:
            meta["encoder_fingerprint"] = encoder_fingerprint(meta["preset"])
        s.set_meta(meta)
    save_weights(SimCLRNet(), weights, {"output": "pooled"})  # replaced after the store was built
    run = hiercat("search", "blue shirt", "--store", tmp_path / "store")
    one_line_error(run, str(weights), "changed")


def _nan_images(monkeypatch) -> None:
    preset = cached_preset("minilm")
    dim = preset.image.dim
    monkeypatch.setattr(preset.image, "encode", lambda ims: np.full((len(ims), dim), np.nan, np.float32))


def _with_images(folder: Path, body: list[list[str]], which: set[str]) -> None:
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    for r in body:
        if r[0] in which:
            Image.new("RGB", (16, 16), (0, 90, 200)).save(folder / "images" / f"{r[0]}.png")
            r[5] = f"images/{r[0]}.png"


@pytest.mark.fault("loss")
def test_nan_image_vectors_are_rejects_at_ingest(tmp_path, fast_models, monkeypatch) -> None:
    from tests.faults import stored

    body = rows(4)
    _with_images(tmp_path / "shop", body, {"2", "3"})
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    _nan_images(monkeypatch)
    run = hiercat("ingest", f, "--store", tmp_path / "store")
    no_traceback(run)
    assert sorted(stored(tmp_path / "store")) == ["1", "4"]
    rej = pd.read_csv(next((tmp_path / "store").glob("rejects-*.csv")), dtype=str)
    assert sorted(rej["product_id"]) == ["2", "3"] and all("finite" in r for r in rej["reason"])


@pytest.mark.fault("wrong")
def test_nan_vectors_are_never_classified_as_model(store_and_model, monkeypatch) -> None:
    """The model reads the title vector; a text encoder giving NaN for product 51's title must not classify it."""
    from hiercat.encoders.presets import Preset

    store, _, new = store_and_model
    real = Preset.encode_text

    def nan_for_51(self, texts):
        out = np.array(real(self, texts), dtype=np.float32)
        out[[i for i, t in enumerate(texts) if "number 51" in t]] = np.nan
        return out

    monkeypatch.setattr(Preset, "encode_text", nan_for_51)  # every preset instance, whatever its options
    run = classify(store, new)
    no_traceback(run)
    pred = pd.read_csv(store.parent / "pred.csv", dtype=str, keep_default_na=False)
    bad = pred[(pred["source"] == "model") & ((pred["predicted_path"] == "") | (pred["confidence"].isin(["", "nan"])))]
    assert bad.empty, bad
    assert "51" not in set(pred.loc[pred["source"] == "model", "product_id"])
    assert "finite" in run.output

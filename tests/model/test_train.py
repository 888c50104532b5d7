"""Hierarchical classifier: inputs, fusion, masked decoding, training on real Myntra rows, save/load."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from hiercat.metrics import evaluate_paths, path_validity
from hiercat.model import (
    CSRArrays,
    EnsembleClassifier,
    HierarchicalClassifier,
    ModalityInputs,
    ModelMismatchError,
    build_fusion,
    greedy_decode,
    load_model,
    path_decode,
    path_index_matrix,
    predict,
    save_model,
    stratified_split,
    train_classifier,
)
from hiercat.model.decode import level_masks
from hiercat.store.base import SparseVector
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


# ---- inputs ------------------------------------------------------------------------------

def test_csr_take_and_embedding_bag_batch_match_dense_math():
    rng = np.random.default_rng(0)
    m = sp.random(50, 1000, density=0.02, format="csr", random_state=0, dtype=np.float32)
    csr = CSRArrays.from_scipy(m, dim=1000)
    rows = np.array([3, 0, 49, 3, 17])
    taken = csr.take(rows)
    assert np.allclose(sp.csr_matrix((taken.values, taken.indices, taken.indptr), shape=(5, 1000)).toarray(),
                       m[rows].toarray())
    vectors = csr.to_vectors()
    assert isinstance(vectors[0], SparseVector)
    again = CSRArrays.from_vectors(vectors, dim=1000)
    assert np.array_equal(again.indptr, csr.indptr) and np.array_equal(again.indices, csr.indices)

    inputs = ModalityInputs({"d": rng.normal(size=(50, 4)).astype(np.float32)}, {"lex": vectors})
    batch = inputs.to_tensors().batch(torch.as_tensor(rows))
    bag = torch.nn.EmbeddingBag(1000, 8, mode="sum")
    got = bag(batch["lex"].indices, batch["lex"].offsets, per_sample_weights=batch["lex"].weights)
    want = torch.from_numpy(m[rows].toarray()) @ bag.weight
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.equal(batch["d"], torch.from_numpy(inputs.dense["d"][rows]))


def test_inputs_refuse_out_of_range_indices_and_unknown_modalities():
    with pytest.raises(ValueError, match="sparse indices"):
        CSRArrays(np.array([0, 1]), np.array([2**18]), np.array([1.0]))
    inputs = ModalityInputs({"a": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="no modality b"):
        inputs.select(["b"])


# ---- fusion ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["early", "late", "attention"])
def test_fusion_shapes_and_unimodal_subsets(kind):
    dims = {"minilm_title": 12, "minilm_brand": 6, "simclr_image": 10}
    feats = {n: torch.randn(5, d) for n, d in dims.items()}
    fusion = build_fusion(kind, dims)
    assert fusion(feats).shape == (5, fusion.out_dim)
    only_image = build_fusion(kind, {"simclr_image": 10})
    assert only_image({"simclr_image": feats["simclr_image"]}).shape == (5, only_image.out_dim)
    if kind == "attention":
        assert fusion.pairs == [("minilm_title", "simclr_image"), ("minilm_brand", "simclr_image")]


# ---- decoding ----------------------------------------------------------------------------

def test_greedy_masking_forces_stop_after_a_leaf():
    tax = Taxonomy.from_paths(RAGGED)
    # Level 1 favours Shoes; levels 2 and 3 favour Clothing's children, which masking must refuse.
    logits = [torch.log(torch.tensor([[1e-6, 0.3, 0.7]])),
              torch.log(torch.tensor([[1e-6, 0.1, 0.9]])),
              torch.log(torch.tensor([[1e-6, 0.6, 0.4]]))]
    out = greedy_decode(logits, _masks(tax))
    assert tax.decode(out.indices[0].tolist()) == ("Shoes",)
    assert torch.allclose(out.level_conf[0], torch.tensor([0.7, 1.0, 1.0]), atol=1e-5)


def test_path_decoding_beats_greedy_on_a_hand_computed_case():
    tax = Taxonomy.from_paths(RAGGED)
    # Classes: L1 [STOP, Clothing, Shoes]; L2 [STOP, Clothing>Pants, Clothing>Tops]; L3 [STOP, Shirts, Tees].
    logits = [torch.log(torch.tensor([[1e-9, 0.6, 0.4]])),
              torch.log(torch.tensor([[0.5, 0.45, 0.55]])),
              torch.log(torch.tensor([[0.5, 0.6, 0.4]]))]
    greedy = greedy_decode(logits, _masks(tax))
    # Greedy: Clothing (.6) > Tops (.55) > Shirts (.6) = .198. Best path: Shoes = .4 * 1 * 1 (vs Pants .27).
    assert tax.decode(greedy.indices[0].tolist()) == ("Clothing", "Tops", "Shirts")
    assert float(greedy.path_conf[0]) == pytest.approx(0.6 * 0.55 * 0.6, rel=1e-4)
    best = path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    assert tax.decode(best.indices[0].tolist()) == ("Shoes",)
    assert float(best.path_conf[0]) == pytest.approx(0.4, rel=1e-4)
    assert torch.allclose(best.level_conf[0], torch.tensor([0.4, 1.0, 1.0]), atol=1e-5)


def test_path_decoding_matches_brute_force_over_paths():
    tax = Taxonomy.from_paths(RAGGED + [("Clothing",), ("Bags", "Totes")])  # Clothing is also a label itself
    masks = [m.numpy() for m in _masks(tax)]
    gen = torch.Generator().manual_seed(0)
    logits = [torch.randn(64, m.shape[1], generator=gen) * 3 for m in masks]
    out = path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    for b in range(64):
        scores = {}
        for p in tax.valid_label_paths():
            idx, parent, s = tax.encode(p), 0, 1.0
            for k, c in enumerate(idx):
                probs = torch.softmax(logits[k][b].double(), 0).numpy()
                s *= probs[c] / probs[masks[k][parent]].sum()
                parent = c
            scores[p] = s
        best = max(scores, key=scores.get)
        assert tax.decode(out.indices[b].tolist()) == best
        assert float(out.path_conf[b]) == pytest.approx(scores[best], rel=1e-4)


@pytest.mark.parametrize("parent_input", ["soft", "teacher", "none"])
def test_untrained_model_only_predicts_valid_paths_including_early_stops(parent_input):
    tax = Taxonomy.from_paths(RAGGED)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"x": rng.normal(size=(400, 8)).astype(np.float32)}, {"lex": _random_bags(rng, 400)})
    model = HierarchicalClassifier(inputs.specs(), tax, fusion="late", parent_input=parent_input)
    for decode in ("greedy", "path"):
        preds = predict(model, inputs, decode=decode, batch_size=128)
        assert path_validity(preds.paths, tax) == 1.0
        assert np.all((preds.level_conf > 0) & (preds.level_conf <= 1 + 1e-6))
    # Random logits of any scale decode to valid paths of every depth.
    gen = torch.Generator().manual_seed(1)
    logits = [torch.randn(2000, m.shape[1], generator=gen) * 4 for m in _masks(tax)]
    for out in (greedy_decode(logits, _masks(tax)),
                path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))):
        paths = [tax.decode(r) for r in out.indices.tolist()]
        assert path_validity(paths, tax) == 1.0
        assert {len(p) for p in paths} == {1, 2, 3}


# ---- splitting ---------------------------------------------------------------------------

def test_stratified_split_fractions_disjoint_and_rare_classes():
    paths = [("A", "x")] * 100 + [("B", "y")] * 50 + [("C",)] * 2 + [("D",)]
    tr, va, te = stratified_split(paths, (0.64, 0.16, 0.20), seed=0)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(len(paths)))
    assert (len(tr), len(va), len(te)) == (64 + 32 + 1 + 1, 16 + 8, 20 + 10 + 1)
    assert 152 in tr  # a single-member class goes to training
    again = stratified_split(paths, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


# ---- training on real rows ---------------------------------------------------------------

@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine, two threads contending with other work were 5x slower per step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    tr, va, te = stratified_split(paths, seed=0)
    t0 = time.perf_counter()
    model, history = train_classifier(
        inputs.take(tr), [paths[i] for i in tr], tax, fusion="late", epochs=15, patience=3,
        val=(inputs.take(va), [paths[i] for i in va]), device="cpu", progress=False)
    return model, history, time.perf_counter() - t0, inputs.take(te), [paths[i] for i in te], tax


def test_trains_quickly_with_valid_paths_above_floor(trained):
    model, history, seconds, test_inputs, test_paths, tax = trained
    assert seconds < TRAIN_SECONDS
    assert 1 <= history.best_epoch <= len(history.epochs) <= 15
    for decode in ("greedy", "path"):
        preds = predict(model, test_inputs, decode=decode)
        metrics = evaluate_paths(test_paths, preds.paths, tax)
        assert metrics["validity"] == 1.0
        assert metrics["hF1"] >= HF1_FLOOR, (decode, metrics["hF1"])
        assert preds.level_conf.shape == (len(test_paths), 3) and preds.path_conf.shape == (len(test_paths),)
        assert np.allclose(preds.path_conf, preds.level_conf.prod(axis=1), rtol=1e-4)


def test_save_load_round_trip_gives_identical_predictions(trained, tmp_path):
    model, history, _, test_inputs, _, _ = trained
    save_model(model, tmp_path / "clf", {"preset": "test", "history": history.to_dict()})
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["model.json", "model.safetensors"]
    sidecar = json.loads((tmp_path / "clf" / "model.json").read_text())
    assert sidecar["fusion"] == "late" and sidecar["preset"] == "test"
    assert {m["name"]: m["dim"] for m in sidecar["modalities"]} == {"rand_dense": 16, "lex_title": 2**18}
    loaded, meta = load_model(tmp_path / "clf", expected_vectors={"rand_dense": 16}, device="cpu")
    assert meta["taxonomy"] == model.taxonomy.to_dict()
    for decode in ("greedy", "path"):
        a, b = predict(model, test_inputs, decode=decode), predict(loaded, test_inputs, decode=decode)
        assert a.paths == b.paths
        assert np.array_equal(a.indices, b.indices)
        assert np.allclose(a.level_conf, b.level_conf, atol=1e-6)


def test_ensemble_averages_member_probabilities_and_round_trips(trained, tmp_path):
    model, _, _, test_inputs, test_paths, tax = trained
    torch.manual_seed(1)
    other = HierarchicalClassifier(model.specs, model.taxonomy, fusion="early", token_dropout=0.1).eval()
    ens = EnsembleClassifier([model, other]).eval()
    batch = test_inputs.select([s.name for s in model.specs]).to_tensors("cpu").batch(torch.arange(50))
    with torch.no_grad():
        mean = [(torch.softmax(a, 1) + torch.softmax(b, 1)) / 2 for a, b in zip(model(batch), other(batch))]
        assert all(torch.allclose(torch.exp(z), m, atol=1e-6) for z, m in zip(ens(batch), mean))
    preds = predict(ens, test_inputs, decode="path")
    assert evaluate_paths(test_paths, preds.paths, tax)["validity"] == 1.0
    save_model(ens, tmp_path / "ens")
    sidecar = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert sidecar["version"] == 2 and sidecar["fusion"] == "late+early"
    assert [(m["fusion"], m["hparams"]["token_dropout"]) for m in sidecar["members"]] == [("late", 0.4), ("early", 0.1)]
    loaded, _ = load_model(tmp_path / "ens", expected_vectors={"rand_dense": 16}, device="cpu")
    assert isinstance(loaded, EnsembleClassifier)
    again = predict(loaded, test_inputs, decode="path")
    assert again.paths == preds.paths and np.allclose(again.path_conf, preds.path_conf, atol=1e-6)


def test_ensemble_refuses_members_of_another_taxonomy():
    inputs = ModalityInputs({"a": np.zeros((4, 3), np.float32)})
    one = HierarchicalClassifier(inputs.specs(), Taxonomy.from_paths(RAGGED))
    two = HierarchicalClassifier(inputs.specs(), Taxonomy.from_paths(RAGGED[1:]))
    with pytest.raises(ValueError, match="ensemble member 1 has another taxonomy than member 0"):
        EnsembleClassifier([one, two])
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleClassifier([one])


def test_load_refuses_vector_mismatch_by_name(tmp_path):
    tax = Taxonomy.from_paths(RAGGED)
    inputs = ModalityInputs({"minilm_title": np.zeros((4, 384), np.float32)})
    save_model(HierarchicalClassifier(inputs.specs(), tax), tmp_path / "m.safetensors")
    with pytest.raises(ModelMismatchError, match=r"model expects minilm_title \(384\) but the store has clip_title \(512\)"):
        load_model(tmp_path / "m.safetensors", expected_vectors={"clip_title": 512})
    with pytest.raises(ModelMismatchError, match=r"minilm_title \(384\) but the store has minilm_title \(768\)"):
        load_model(tmp_path / "m.safetensors", expected_vectors={"minilm_title": 768})
    model, _ = load_model(tmp_path / "m.json", expected_vectors={"minilm_title": 384, "simclr_image": 512})
    with pytest.raises(ValueError, match="model expects minilm_title"):
        predict(model, ModalityInputs({"clip_title": np.zeros((2, 512), np.float32)}))


def test_sidecar_is_json_and_weights_are_not_pickled(tmp_path):
    tax = Taxonomy.from_paths(RAGGED)
    inputs = ModalityInputs({"a": np.zeros((4, 3), np.float32)})
    file = save_model(HierarchicalClassifier(inputs.specs(), tax, fusion="attention"), tmp_path)
    assert file.read_bytes()[8:9] == b"{"  # safetensors: 8-byte header length, then a JSON header
    with pytest.raises(ValueError, match="written by save_model"):
        save_model(HierarchicalClassifier(inputs.specs(), tax), tmp_path / "x", {"taxonomy": {}})


def test_every_fusion_trains_one_epoch(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    small = inputs.take(np.arange(600))
    for fusion in ("early", "attention"):
        model, history = train_classifier(small, paths[:600], tax, fusion=fusion, epochs=1, val_fraction=0.2,
                                          device="cpu", progress=False, parent_input="teacher")
        preds = predict(model, small, decode="path")
        assert path_validity(preds.paths, model.taxonomy) == 1.0
        assert len(history.epochs) == 1



def test_refit_without_validation_trains_fixed_epochs(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    model, history = train_classifier(inputs.take(np.arange(300)), paths[:300], tax, epochs=3, val_fraction=0,
                                      device="cpu", progress=False, lr_scales=[1.0, 0.2])
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3] and history.best_epoch == 3
    assert [e["lr_scale"] for e in history.epochs] == pytest.approx([1.0, 0.2, 0.2])
    assert "val_hF1" not in history.epochs[0]
    assert path_validity(predict(model, inputs.take(np.arange(300, 400))).paths, model.taxonomy) == 1.0


def test_early_stopping_on_macro_f1_keeps_the_best_macro_epoch(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    tr, va, _ = stratified_split(paths, seed=0)
    model, history = train_classifier(
        inputs.take(tr), [paths[i] for i in tr], tax, fusion="early", epochs=6, patience=2, monitor="macro_f1",
        val=(inputs.take(va), [paths[i] for i in va]), device="cpu", progress=False)
    macro = [e["val_macro_f1"] for e in history.epochs]
    assert history.monitor == "macro_f1" and all(0.0 < m <= 1.0 for m in macro)
    assert history.best_epoch == 1 + int(np.argmax(macro))
    # The restored weights are the best epoch's: recomputing the validation macro-F1 gives its value.
    from hiercat.metrics import level_metrics

    pred = predict(model, inputs.take(va)).paths
    val_paths = [paths[i] for i in va]
    again = np.mean([level_metrics(val_paths, pred, k)["macro_f1"] for k in range(1, 4)])
    assert again == pytest.approx(max(macro), abs=1e-9)
    with pytest.raises(ValueError, match="monitor must be one of"):
        train_classifier(inputs.take(tr), [paths[i] for i in tr], tax, monitor="accuracy", epochs=1, progress=False)

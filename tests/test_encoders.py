"""Encoders: MiniLM for real, CLIP and the paper's RoBERTa/ViT through tiny random models built here,
the shipped SimCLR weights on real product images, lexical vectors, presets and load errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hiercat.encoders import LexicalEncoder, ModelLoadError, load_preset, preset_from_meta
from hiercat.encoders.cache import CachedTextEncoder

from .conftest import DEMO

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _unit_rows(x: np.ndarray) -> None:
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """Eight real Myntra product photos (60x80) from the demo sample."""
    df = pd.read_csv(DEMO / "myntra" / "products.csv", dtype=str, keep_default_na=False)
    paths = [DEMO / "myntra" / p for p in df["image"] if p][:8]
    return [Image.open(p).convert("RGB") for p in paths]


@pytest.fixture(scope="module")
def minilm():
    from hiercat.encoders.minilm import MiniLMEncoder

    return MiniLMEncoder()


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny open_clip architecture (config JSON) and a random checkpoint of it saved as safetensors."""
    from safetensors.torch import save_file

    from hiercat.encoders.clip import ClipEncoders

    d = tmp_path_factory.mktemp("clip")
    config = d / "hiercat-tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    random_model = ClipEncoders(str(config), pretrained=None)
    ckpt = d / "tiny_clip.safetensors"
    save_file(random_model.model.state_dict(), str(ckpt))
    return config, ckpt


@pytest.fixture(scope="module")
def tiny_paper(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Tiny RoBERTa (own BPE tokenizer) and ViT (+ image processor) folders written by save_pretrained."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast, ViTConfig, ViTImageProcessor, ViTModel

    d = tmp_path_factory.mktemp("paper")
    bpe = ByteLevelBPETokenizer()
    corpus = ["Nike Men Black Running Shoes", "Fabindia Women Blue Cotton Kurta", "Puma Unisex Red Cap",
              "Titan Men Silver Watch", "H&M Ladies Denim Jeans"] * 5
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(corpus, vocab_size=300, min_frequency=1, special_tokens=specials)
    tok = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                               sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
    roberta = d / "roberta"
    tok.save_pretrained(roberta)
    RobertaModel(RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=80,
                               pad_token_id=tok.pad_token_id)).save_pretrained(roberta)
    vit = d / "vit"
    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64), add_pooling_layer=False).save_pretrained(vit)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(vit)
    return roberta, vit


# --- MiniLM ---------------------------------------------------------------------------------


def test_minilm_dim_normalized_and_semantic(minilm) -> None:
    titles = ["Nike Men Black Running Shoes", "Adidas Men Sports Shoes", "Fabindia Women Cotton Kurta", ""]
    v = minilm.encode(titles)
    assert v.shape == (4, 384) and minilm.dim == 384 and minilm.name == "minilm"
    _unit_rows(v[:3])
    assert not v[3].any(), "an empty title is a missing field: zero row"
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_cache_encodes_each_distinct_string_once(minilm) -> None:
    cached = CachedTextEncoder(minilm, maxsize=3)
    a = cached.encode(["Puma", "Nike", "Puma", "Nike"])
    assert cached.misses == 2 and cached.hits == 0
    np.testing.assert_array_equal(a[0], a[2])
    b = cached.encode(["Nike", "Roadster", "Titan", "HRX"])
    assert cached.hits == 1 and len(cached._rows) == 3  # LRU bound holds
    np.testing.assert_allclose(b[0], minilm.encode(["Nike"])[0], atol=1e-6)


# --- CLIP (tiny random model) ----------------------------------------------------------------


def test_clip_from_config_json_and_checkpoint(tiny_clip, images) -> None:
    from hiercat.encoders.clip import ClipEncoders

    config, ckpt = tiny_clip
    a = ClipEncoders(str(config), pretrained=str(ckpt))
    b = ClipEncoders(str(config), pretrained=str(ckpt))
    t = a.text.encode(["red running shoes", "blue kurta", ""])
    assert t.shape == (3, 32) and a.text.name == a.image.name == "clip" and a.dim == 32
    _unit_rows(t[:2])
    assert not t[2].any()
    np.testing.assert_allclose(t, b.text.encode(["red running shoes", "blue kurta", ""]), atol=1e-5)
    im = a.image.encode(images[:4])
    assert im.shape == (4, 32)
    _unit_rows(im)
    np.testing.assert_allclose(im, b.image.encode(images[:4]), atol=1e-5)


def test_clip_preset_vector_names(tiny_clip, images) -> None:
    config, ckpt = tiny_clip
    p = load_preset("clip", clip_model=str(config), clip_pretrained=str(ckpt))
    assert p.vector_specs() == {"clip_title": 32, "clip_brand": 32, "clip_words": 32, "clip_description": 32,
                                "clip_image": 32}
    assert p.sparse_names() == ["lex_title", "lex_description"]
    dense, sparse = p.encode(["Nike shoes", "Kurta"], ["Nike", ""], [images[0], None])
    assert set(dense) == set(p.vector_specs()) and not dense["clip_image"][1].any()
    assert not dense["clip_brand"][1].any() and len(sparse["lex_title"]) == 2
    again = preset_from_meta({"preset": {"name": p.name, "vectors": p.vector_specs(), "options": p.options}})
    np.testing.assert_allclose(again.encode_text(["Nike shoes"]), dense["clip_title"][:1], atol=1e-5)


# --- the paper's encoders (tiny random models) ------------------------------------------------


def test_roberta_mean_pooling_ignores_padding(tiny_paper) -> None:
    from hiercat.encoders.paper import RobertaTextEncoder

    enc = RobertaTextEncoder(str(tiny_paper[0]))
    assert enc.name == "roberta" and enc.dim == 32
    batch = enc.encode(["Nike shoes", "Fabindia Women Blue Cotton Kurta with long sleeves", ""])
    _unit_rows(batch[:2])
    assert not batch[2].any()
    # Alone (no padding) and padded inside a batch must give the same mean: the mask weights the pool.
    np.testing.assert_allclose(enc.encode(["Nike shoes"])[0], batch[0], atol=1e-5)


def test_vit_pca_fits_once_saves_and_reloads(tiny_paper, images, tmp_path: Path) -> None:
    from hiercat.encoders.paper import VitImageEncoder

    pca = tmp_path / "store" / "vit_pca.safetensors"
    enc = VitImageEncoder(str(tiny_paper[1]), pca_path=pca)
    with pytest.raises(ModelLoadError, match="vit_pca_fit"):
        _ = enc.dim
    first = enc.encode(images)  # the first data seen fits the PCA
    assert pca.is_file() and enc.fitted and first.shape == (8, enc.dim) and 1 <= enc.dim <= 32
    _unit_rows(first)
    assert enc.pca.explained_variance_ratio.sum() >= 0.9 - 1e-6
    reloaded = VitImageEncoder(str(tiny_paper[1]), pca_path=pca)
    assert reloaded.fitted and reloaded.dim == enc.dim
    np.testing.assert_allclose(reloaded.encode(images[:3]), first[:3], atol=1e-4)
    # An explicit fit replaces it.
    other = VitImageEncoder(str(tiny_paper[1]), pca_path=tmp_path / "explicit.safetensors")
    assert other.fit_pca(images) == other.dim and (tmp_path / "explicit.safetensors").is_file()


def test_paper_preset(tiny_paper, images, tmp_path: Path) -> None:
    roberta, vit = tiny_paper
    p = load_preset("paper", roberta=str(roberta), vit=str(vit), store_path=str(tmp_path / "store"),
                    vit_pca_fit=sorted(str(p) for p in (DEMO / "myntra" / "images").glob("*.jpg"))[:16])
    assert (tmp_path / "store" / "vit_pca.safetensors").is_file()
    specs = p.vector_specs()
    assert list(specs) == ["roberta_title", "roberta_brand", "roberta_words", "roberta_description", "vit_image"]
    assert specs["roberta_title"] == 32
    dense, _ = p.encode(["Nike shoes"], ["Nike"], [images[0]])
    assert dense["vit_image"].shape == (1, specs["vit_image"])
    assert preset_from_meta({"name": "paper", "vectors": specs, "options": p.options}).vector_specs() == specs


# --- SimCLR ------------------------------------------------------------------------------------


def test_simclr_shipped_weights_on_real_images(images) -> None:
    from hiercat.encoders.simclr import SimCLRImageEncoder, default_weights_path

    path = default_weights_path()
    assert path.is_file() and path.stat().st_size < 25e6
    enc = SimCLRImageEncoder()
    assert enc.meta["dtype"] == "float16" and enc.input_size == 64 and enc.output == "backbone"
    v = enc.encode(images)
    assert v.shape == (8, 512) and enc.dim == 512 and enc.name == "simclr"
    _unit_rows(v)
    np.testing.assert_allclose(enc.encode(images[:2]), v[:2], atol=1e-5)
    # A slightly rescaled copy of a photo stays its own nearest neighbour.
    w, h = images[0].size
    resized = enc.encode([images[0].resize((w + 6, h + 8))])[0]
    sims = v @ resized
    assert sims.argmax() == 0
    proj = SimCLRImageEncoder(output="projection").encode(images[:2])
    assert proj.shape == (2, 128)


def test_simclr_one_epoch_training(tmp_path: Path) -> None:
    from hiercat.encoders.simclr import SimCLRImageEncoder, find_images, train_image_encoder_cli

    src = find_images([DEMO / "myntra" / "images"])[:32]
    out = tmp_path / "simclr.safetensors"
    meta = train_image_encoder_cli(src, out, epochs=1, strength="low", batch_size=16, input_size=32, seed=1)
    assert out.is_file() and meta["step"] == 2 and len(meta["epoch_loss"]) == 1 and meta["images"] == 32
    assert (tmp_path / "simclr.log.jsonl").read_text().count("\n") == 2
    enc = SimCLRImageEncoder(out)
    assert enc.meta["strength"] == "low" and enc.meta["epochs"] == 1 and enc.input_size == 32
    with Image.open(src[0]) as im:
        _unit_rows(enc.encode([im.convert("RGB")]))
    with pytest.raises(ValueError, match="strength"):
        train_image_encoder_cli(src, out, epochs=1, strength="extreme")


# --- lexical -------------------------------------------------------------------------------------


def _dot(a, b) -> float:
    from hiercat.encoders.lexical import sparse_dot

    return sparse_dot(a, b)


def test_lexical_vectors() -> None:
    enc = LexicalEncoder()
    a, b, c, empty = enc.encode(["Nike Men Black Running Shoes", "nike men running shoe", "Fabindia Kurta", ""])
    for v in (a, b, c):
        assert v.indices.dtype == np.uint32 and v.values.dtype == np.float32
        assert np.all(np.diff(v.indices.astype(np.int64)) > 0) and v.indices.max() < 2**18
        assert abs(float(v.values @ v.values) - 1.0) < 1e-5
    assert len(empty.indices) == 0
    assert _dot(a, b) > 0.5 > 0.1 > _dot(a, c)
    # No fitting: a fresh encoder gives identical vectors (stable across processes and shops).
    again = LexicalEncoder().encode(["Nike Men Black Running Shoes"])[0]
    np.testing.assert_array_equal(again.indices, a.indices)
    np.testing.assert_allclose(again.values, a.values)
    # Char n-grams match near-spellings that share no word.
    kurta, kurti = enc.encode(["kurta", "kurti"])
    assert _dot(kurta, kurti) > 0.2  # 10 of 18 char n-grams shared; the word half differs


# --- presets -----------------------------------------------------------------------------------


def test_offline_presets_vector_names(images) -> None:
    p = load_preset("minilm")
    assert p.vector_specs() == {"minilm_title": 384, "minilm_brand": 384, "minilm_words": 384,
                                "minilm_description": 384, "simclr_image": 512}
    assert p.sparse_names() == ["lex_title", "lex_description"]
    dense, sparse = p.encode(["Nike Men Black Running Shoes", "Fabindia Women Kurta"], ["Nike", "Fabindia"],
                             [images[0], None], ["Lightweight running shoes with a cushioned sole.", ""])
    assert {k: v.shape for k, v in dense.items()} == {"minilm_title": (2, 384), "minilm_brand": (2, 384),
                                                      "minilm_words": (2, 384), "minilm_description": (2, 384),
                                                      "simclr_image": (2, 512)}
    assert not dense["simclr_image"][1].any() and len(sparse["lex_title"]) == 2
    # The product words are the title without brand, colour and audience: "Running Shoes", "Kurta".
    np.testing.assert_allclose(dense["minilm_words"], p.encode_text(["Running Shoes", "Kurta"]), atol=1e-5)
    assert dense["minilm_description"][0].any() and not dense["minilm_description"][1].any()
    assert len(sparse["lex_description"][0].indices) and not len(sparse["lex_description"][1].indices)
    s = load_preset("simclr")
    assert s.vector_specs() == {"simclr_image": 512} and s.sparse_names() == ["lex_title", "lex_description"]
    assert s.text is None
    dense, sparse = s.encode(["a"], [""], None)
    assert list(dense) == ["simclr_image"] and not dense["simclr_image"].any()
    meta = {"preset": {"name": "minilm", "vectors": p.vector_specs(), "sparse": p.sparse_names(), "options": p.options}}
    assert preset_from_meta(meta).vector_specs() == p.vector_specs()
    with pytest.raises(ValueError, match="unknown preset"):
        load_preset("bert")
    with pytest.raises(ValueError, match="no option"):
        load_preset("minilm", clip_model="ViT-B-32")


# --- load errors ---------------------------------------------------------------------------------


def test_missing_models_raise_helpful_errors(tmp_path: Path) -> None:
    from hiercat.encoders.clip import ClipEncoders
    from hiercat.encoders.minilm import MiniLMEncoder
    from hiercat.encoders.paper import RobertaTextEncoder, VitImageEncoder
    from hiercat.encoders.simclr import SimCLRImageEncoder

    missing = tmp_path / "nowhere"
    cases = [
        (lambda: RobertaTextEncoder(str(missing)), "HIERCAT_ROBERTA"),
        (lambda: VitImageEncoder(str(missing)), "HIERCAT_VIT"),
        (lambda: ClipEncoders("ViT-B-32", pretrained=str(missing / "open_clip.safetensors")), "HIERCAT_CLIP_PRETRAINED"),
        (lambda: ClipEncoders(str(missing / "tiny.json")), "HIERCAT_CLIP_MODEL"),
        (lambda: SimCLRImageEncoder(missing / "w.safetensors"), "HIERCAT_SIMCLR_WEIGHTS"),
        (lambda: MiniLMEncoder(missing), "HIERCAT_MINILM"),
        (lambda: load_preset("paper", roberta=str(missing)), "HIERCAT_ROBERTA"),
    ]
    for build, hint in cases:
        with pytest.raises(ModelLoadError) as err:
            build()
        assert hint in str(err.value) and str(missing) in str(err.value)

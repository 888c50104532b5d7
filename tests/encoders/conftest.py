"""Shared encoder-test data: real demo photos, MiniLM, and tiny CLIP / RoBERTa / ViT models built here (no hub access)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ..conftest import DEMO

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _unit_rows(x: np.ndarray) -> None:
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="session")
def images() -> list[Image.Image]:
    """Eight real Myntra product photos (60x80) from the demo sample."""
    df = pd.read_csv(DEMO / "myntra" / "products.csv", dtype=str, keep_default_na=False)
    paths = [DEMO / "myntra" / p for p in df["image"] if p][:8]
    return [Image.open(p).convert("RGB") for p in paths]


@pytest.fixture(scope="session")
def minilm():
    from hiercat.encoders.minilm import MiniLMEncoder

    return MiniLMEncoder()


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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

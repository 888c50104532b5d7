"""encoders.presets: the offline presets' vectors, and helpful errors for missing models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hiercat.encoders import ModelLoadError, load_preset, preset_from_meta


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


def test_preset_encoding_zeroes_missing_fields_and_checks_lengths(images) -> None:
    from hiercat.encoders.presets import Preset

    from ..recluster.conftest import TinyImage, TinyText

    p = Preset(name="tiny", text=TinyText(), image=TinyImage(), lexical=None)
    text = p.encode_text(["Nike Shoes", "", "   "])
    assert text.shape == (3, 256) and text[0].any() and not text[1:].any()  # blank strings are missing fields
    ims = p.encode_images([None, images[0], None])
    assert ims.shape == (3, 192) and not ims[0].any() and not ims[2].any() and ims[1].any()
    assert not p.encode_images([None, None]).any()
    with pytest.raises(ValueError, match="titles, brands, descriptions and images differ in length: 2, 1, 2, -"):
        p.encode(["a", "b"], ["x"], None)
    no_text = Preset(name="img", text=None, image=TinyImage(), lexical=None)
    with pytest.raises(ValueError, match="preset 'img' has no text encoder"):
        no_text.encode_text(["a"])
    with pytest.raises(ValueError, match="preset 'tiny' has no image encoder"):
        Preset(name="tiny", text=TinyText(), image=None, lexical=None).encode_images([images[0]])

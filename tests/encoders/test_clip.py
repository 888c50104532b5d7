"""encoders.clip: open_clip through a tiny random model built here."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.encoders import load_preset, preset_from_meta

from .conftest import _unit_rows


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


def test_resolve_model_name_for_builtin_config_and_folder(tiny_clip, tmp_path) -> None:
    from hiercat.encoders import ModelLoadError
    from hiercat.encoders.clip import resolve_model_name

    config, _ = tiny_clip
    assert resolve_model_name("ViT-B-32") == "ViT-B-32" and resolve_model_name("hf-hub:org/m") == "hf-hub:org/m"
    assert resolve_model_name(str(config)) == config.stem  # registered with open_clip under its file stem
    assert resolve_model_name(str(tmp_path)) == f"local-dir:{tmp_path}"
    with pytest.raises(ModelLoadError, match="model config .*missing.json not found"):
        resolve_model_name(str(tmp_path / "missing.json"))

"""encoders.simclr: the shipped weights on real product photos, and training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..conftest import DEMO
from .conftest import _unit_rows


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

"""encoders.simclr: the shipped weights on real product photos, and training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hiercat.encoders import ModelLoadError

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


def test_square_image_pads_white_and_keeps_the_shape(images) -> None:
    from hiercat.encoders.simclr import square_image

    sq = square_image(images[0], 64)  # a 60x80 portrait photo
    assert sq.size == (64, 64) and sq.mode == "RGB"
    assert sq.getpixel((0, 32)) == (255, 255, 255) and sq.getpixel((63, 32)) == (255, 255, 255)  # side bands


def test_weights_round_trip_in_fp16_with_metadata(tmp_path: Path) -> None:
    import torch

    from hiercat.encoders.simclr import SimCLRNet, load_weights, save_weights

    torch.manual_seed(0)
    net = SimCLRNet()
    save_weights(net, tmp_path / "w" / "net.safetensors", {"epochs": 3, "strength": "low", "loss": [1.5, 1.2]})
    again, meta = load_weights(tmp_path / "w" / "net.safetensors")
    assert meta == {"epochs": 3, "strength": "low", "loss": [1.5, 1.2]}
    assert [p.name for p in (tmp_path / "w").iterdir()] == ["net.safetensors"]  # no .tmp left behind
    for (k, a), b in zip(net.state_dict().items(), again.state_dict().values()):
        if a.is_floating_point():
            assert b.dtype == torch.float32 and torch.allclose(a.half().float(), b), k
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="cannot read weights .*bad.safetensors"):
        load_weights(tmp_path / "bad.safetensors")


def test_find_images_and_load_pixels(tmp_path: Path) -> None:
    from hiercat.encoders.simclr import find_images, load_pixels

    photos = find_images([DEMO / "myntra" / "images"])
    assert len(photos) == 2173 and photos == sorted(photos) and all(p.suffix == ".jpg" for p in photos)
    (tmp_path / "broken.jpg").write_bytes(b"no")
    assert find_images([photos[0], photos[0], tmp_path]) == sorted([photos[0], tmp_path / "broken.jpg"])
    with pytest.raises(FileNotFoundError, match="no such image file or folder"):
        find_images([tmp_path / "nowhere"])
    pixels, bad = load_pixels([photos[0], tmp_path / "broken.jpg", photos[1]], 16, progress=False)
    assert pixels.shape == (2, 16, 16, 3) and pixels.dtype == np.uint8 and bad == [str(tmp_path / "broken.jpg")]


def test_simclr_transform_makes_two_views_and_checks_the_strength(images) -> None:
    from hiercat.encoders.simclr import simclr_transform

    views = simclr_transform("low", 32)(images[0])
    assert len(views) == 2 and all(tuple(v.shape) == (3, 32, 32) for v in views)
    with pytest.raises(ValueError, match="strength must be one of .*got 'extreme'"):
        simclr_transform("extreme", 32)

"""encoders.base: row normalization and opening product images (missing or broken ones become notes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hiercat.encoders.base import l2_normalize, open_images

from ..conftest import DEMO


def test_l2_normalize_rows_and_keep_zero_rows_zero() -> None:
    x = l2_normalize(np.array([[3, 4], [0, 0], [1e-20, 0]], dtype=np.float64))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x[0], [0.6, 0.8])
    assert not x[1].any() and not np.isnan(x).any()  # a missing field stays "no signal", not NaN


def test_open_images_reads_real_photos_and_notes_the_unusable(tmp_path: Path) -> None:
    photo = sorted((DEMO / "myntra" / "images").glob("*.jpg"))[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    gray = tmp_path / "gray.png"
    from PIL import Image

    Image.new("L", (5, 7), 128).save(gray)
    images, notes = open_images([str(photo), "", str(tmp_path / "gone.jpg"), str(broken), str(gray)])
    assert images[0].mode == "RGB" and images[0].size == (60, 80)  # the demo's Myntra photos are 60x80
    assert images[1] is None and images[2] is None and images[3] is None
    assert images[4].mode == "RGB" and images[4].getpixel((0, 0)) == (128, 128, 128)
    assert notes[0] == notes[1] == notes[4] == ""  # an empty path is no image, not a problem
    assert notes[2] == f"image not found ({tmp_path / 'gone.jpg'}); classified without it"
    assert notes[3] == "image unusable (UnidentifiedImageError); classified without it"

"""recluster.figures: image montages of real demo photos, the cluster scatter, sample positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from hiercat.recluster.figures import montage, sample_indices, scatter

from ..conftest import DEMO


def test_montage_tiles_readable_images_and_skips_the_rest(tmp_path: Path) -> None:
    photos = [str(p) for p in sorted((DEMO / "myntra" / "images").glob("*.jpg"))[:9]]
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    out = montage(photos + ["", str(tmp_path / "gone.jpg"), str(tmp_path / "broken.jpg")], tmp_path / "m" / "a.png",
                  cols=4)
    assert out == tmp_path / "m" / "a.png"
    with Image.open(out) as sheet:
        # 9 tiles of 60x80 in 4 columns (3 rows), 2-pixel padding around every tile.
        assert sheet.size == (4 * 62 + 2, 3 * 82 + 2)
        assert sheet.getpixel((0, 0)) == (235, 235, 235)  # padding
        assert sheet.getpixel((4 * 62 + 1, 3 * 82 + 1)) == (235, 235, 235)  # the empty 12th slot
    with Image.open(montage(photos[:2], tmp_path / "two.png")) as two:
        assert two.size == (2 * 62 + 2, 82 + 2)  # fewer images than columns: as many columns as images
    assert montage(["", str(tmp_path / "gone.jpg")], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_scatter_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(40, 2))
    labels = np.repeat([0, 1, 2, 3], 10)
    out = scatter(xy, labels, {0: "Sneakers", 1: "Boots", 2: "Sandals", 3: "Heels"}, tmp_path / "img" / "s.png",
                  title="Shoes", aside=rng.normal(size=(5, 2)))  # set-aside points by their coordinates
    with Image.open(out) as im:
        assert out.is_file() and im.format == "PNG" and im.size == (990, 770)  # 9 x 7 inches at 110 dpi


def test_sample_indices_are_seeded_sorted_and_distinct() -> None:
    assert sample_indices(5, 8).tolist() == [0, 1, 2, 3, 4]
    got = sample_indices(100, 10, seed=3)
    assert len(set(got.tolist())) == 10 and got.tolist() == sorted(got.tolist()) and got.max() < 100
    assert np.array_equal(got, sample_indices(100, 10, seed=3)) and not np.array_equal(got, sample_indices(100, 10))

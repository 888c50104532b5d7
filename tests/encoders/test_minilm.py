"""encoders.minilm: the installed all-MiniLM-L6-v2."""

from __future__ import annotations

from .conftest import _unit_rows


def test_minilm_dim_normalized_and_semantic(minilm) -> None:
    titles = ["Nike Men Black Running Shoes", "Adidas Men Sports Shoes", "Fabindia Women Cotton Kurta", ""]
    v = minilm.encode(titles)
    assert v.shape == (4, 384) and minilm.dim == 384 and minilm.name == "minilm"
    _unit_rows(v[:3])
    assert not v[3].any(), "an empty title is a missing field: zero row"
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_the_packaged_model_folder_is_found() -> None:
    from hiercat.encoders.minilm import packaged_model_dir

    folder = packaged_model_dir()
    assert folder.is_dir() and (folder / "config.json").is_file()

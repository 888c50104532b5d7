"""Pictures for the recluster report: image montages of cluster samples and the 2-D scatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def montage(image_paths: Sequence[str], out: str | Path, tile: tuple[int, int] = (60, 80), cols: int = 8,
            pad: int = 2) -> Path | None:
    """Grid of product images (white-padded to `tile`, width x height) saved as PNG; None if none is readable."""
    tiles: list[Image.Image] = []
    for p in image_paths:
        if not p:
            continue
        try:
            with Image.open(p) as im:
                tiles.append(ImageOps.pad(im.convert("RGB"), tile, color=(255, 255, 255)))
        except (OSError, ValueError, SyntaxError):
            continue  # a missing or broken image only costs its tile
    if not tiles:
        return None
    cols = max(1, min(cols, len(tiles)))
    rows = (len(tiles) + cols - 1) // cols
    w, h = tile
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), (235, 235, 235))
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet.paste(t, (pad + c * (w + pad), pad + r * (h + pad)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out


def scatter(xy: np.ndarray, labels: np.ndarray, names: Mapping[int, str], out: str | Path, title: str = "",
            aside: np.ndarray | None = None) -> Path:
    """2-D scatter of products coloured by cluster, a legend of names, set-aside points in grey."""
    from matplotlib import colormaps

    from ..plotting import new_figure

    fig = new_figure((9, 7))
    ax = fig.subplots()
    uniq = [int(u) for u in np.unique(labels)]
    cmap = colormaps["tab20" if len(uniq) > 10 else "tab10"]
    for i, c in enumerate(uniq):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=3, alpha=0.6, color=cmap(i % cmap.N), label=f"{names.get(c, c)} ({int(m.sum())})",
                   rasterized=True)
    if aside is not None and len(aside):
        ax.scatter(aside[:, 0], aside[:, 1], s=4, marker="x", color="0.55", label=f"set aside ({len(aside)})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(markerscale=4, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def sample_indices(n: int, k: int, seed: int = 0) -> np.ndarray:
    """k positions out of n, seeded, sorted (all of them when n <= k)."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))

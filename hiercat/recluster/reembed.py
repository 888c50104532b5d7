"""Re-embedding a selection's images with another image encoder, e.g. SimCLR fine-tuned on that category's images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..encoders.base import open_images
from .select import Selection


def reembed_images(sel: Selection, weights: str | Path, device: str | None = None, batch_size: int = 256,
                   progress: bool = True) -> list[str]:
    """Replace the selection's image vectors (in place) by those of the SimCLR weights file; returns notes.

    The stored vectors come from the encoder of the whole catalog; one fine-tuned on a single
    category's images separates that category's shapes better (bench/RESULTS.md). Products whose
    image file cannot be opened get a zero row and count as without image.
    """
    from ..encoders.simclr import SimCLRImageEncoder

    encoder = SimCLRImageEncoder(weights, device=device, batch_size=batch_size)
    name = sel.roles.setdefault("image", "image")  # a store without image vectors gets them for this run
    out = np.zeros((len(sel), encoder.dim), dtype=np.float32)
    has = np.zeros(len(sel), dtype=bool)
    paths = sel.column("image")
    for lo in tqdm(range(0, len(sel), batch_size), desc="re-embed images", unit="batch", disable=not progress,
                   leave=False):
        images, _ = open_images(paths[lo: lo + batch_size].tolist())
        rows = [lo + j for j, im in enumerate(images) if im is not None]
        if rows:
            out[rows] = encoder.encode([images[r - lo] for r in rows])
            has[rows] = True
    missing = len(sel) - int(has.sum())
    sel.vectors[name], sel.present[name] = out, has
    notes = [f"image vectors re-embedded with {Path(weights).name} ({int(has.sum())} of {len(sel)} images)"]
    if missing:
        notes.append(f"{missing} products have no readable image file and are compared on their titles only")
    return notes

"""Opening product images safely: every way a file can fail to decode is one reason, never an exception that stops a run."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image


class ImageRejected(ValueError):
    """An image that cannot be used; the message is the reject reason (file, and why), `kind` the decoder's error type."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind or "ImageRejected"


def open_rgb(path: str | Path) -> Image.Image:
    """The image decoded as RGB, or `ImageRejected` for a missing, truncated, corrupt or oversized file.

    Oversized means more pixels than Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`,
    89 megapixels by default): a 48 kB PNG may claim 20000 x 20000 pixels and take gigabytes to decode.
    """
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Between the limit and twice it Pillow only warns; hiercat refuses those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if limit and w * h > limit:
                    raise ImageRejected(f"image too large: {path} is {w} x {h} pixels, over the {limit:,} pixel limit",
                                        "DecompressionBombError")
                return im.convert("RGB")
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"image too large: {path} ({exc})", type(exc).__name__) from None
    except FileNotFoundError:
        raise ImageRejected(f"image not found: {path}", "FileNotFoundError") from None
    except MemoryError:
        raise ImageRejected(f"image too large to decode in memory: {path}", "MemoryError") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, ValueError, SyntaxError, struct.error, ...
        raise ImageRejected(f"corrupt image: {path} ({type(exc).__name__}: {exc})", type(exc).__name__) from None

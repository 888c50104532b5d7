"""Files hiercat writes: readable as any file the user creates (safetensors writes its files with mode 0600)."""

from __future__ import annotations

import os
from pathlib import Path


def user_mode(path: str | Path) -> Path:
    """Give a written file the mode the user's umask gives new files (0644 under the usual 022); returns the path.

    safetensors creates its files 0600, so a model or image encoder trained by one user could not be
    read by a service running as another, unlike every other file hiercat writes.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
    return Path(path)

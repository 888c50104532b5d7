"""A preset that loads its models on first use, once: commands check everything cheap before paying for them."""

from __future__ import annotations

from typing import Any


class LazyPreset:
    """Stands for `load_preset(name, **overrides)`; the encoders load when an attribute is first read.

    The text encoder takes 15-25 s to load; a command given a wrong path or a locked store must say
    so at once, and an ingest whose every row is skipped never needs the models at all.
    """

    def __init__(self, name: str, **overrides: Any) -> None:
        self._name = name
        self._overrides = overrides
        self._preset: Any = None

    @property
    def loaded(self) -> bool:
        """Whether the models are loaded yet."""
        return self._preset is not None

    def get(self) -> Any:
        """The loaded preset (loading it now if needed)."""
        if self._preset is None:
            from . import load_preset

            self._preset = load_preset(self._name, **self._overrides)
        return self._preset

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.get(), attr)

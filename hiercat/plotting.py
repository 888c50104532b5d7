"""Figures for reports, drawn without pyplot: no global backend switch, no figure left open in the caller's process."""

from __future__ import annotations

from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float], dpi: int = 110) -> Figure:
    """A figure bound to no backend; `fig.savefig(path)` renders it with Agg, whatever backend the caller uses."""
    return Figure(figsize=figsize, dpi=dpi)

"""recluster.command: the command's options and --apply."""

from __future__ import annotations

import pytest

from hiercat.recluster import (
    ProposalError,
)
from hiercat.recluster.command import parse_n_clusters, recluster_command


def test_command_apply_and_options(built, fresh, capsys) -> None:
    from rich.console import Console

    _, _, root = built
    assert parse_n_clusters("8,3") == [8, 3] and parse_n_clusters("auto") is None
    assert parse_n_clusters("6") == [6]
    with pytest.raises(ValueError):
        parse_n_clusters("eight")
    console = Console(width=200, record=True)
    with pytest.raises(ProposalError, match="not of"):
        recluster_command(fresh, "Apparel & Accessories", apply=root / "out" / "proposal.json", console=console)
    result = recluster_command(fresh, "Shoes", apply=root / "out" / "proposal.json", console=console)
    assert result.updated > 0 and "Labels now" in console.export_text()

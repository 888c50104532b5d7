"""recluster.proposal: edits are validated."""

from __future__ import annotations

import json

import pytest

from hiercat.recluster import (
    Proposal,
    ProposalError,
)

from .conftest import _edited


def test_proposal_edits_are_validated(built) -> None:
    data, by = _edited(built)
    sub = next(c for c in data["clusters"] if c["level"] == 2)
    bad = json.loads(json.dumps(data))
    next(c for c in bad["clusters"] if c["id"] == sub["id"])["merge_into"] = "1"
    with pytest.raises(ProposalError, match="same level"):
        Proposal.from_dict(bad)
    bad = json.loads(json.dumps(data))
    next(c for c in bad["clusters"] if c["id"] == "3")["merge_into"] = "2"
    with pytest.raises(ProposalError, match="cycle"):
        Proposal.from_dict(bad)
    bad = json.loads(json.dumps(data))
    next(c for c in bad["clusters"] if c["id"] == "1")["name"] = "Shoes > Sneakers"
    with pytest.raises(ProposalError, match="without '>'"):
        Proposal.from_dict(bad)

"""recluster.reference: reference labels from a payload column, optionally cut to its first levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hiercat.recluster.reference import parse_reference, reference_labels


def test_parse_reference_column_and_depth() -> None:
    assert parse_reference("native_category") == ("native_category", None)
    assert parse_reference("native_category:2") == ("native_category", 2)
    with pytest.raises(ValueError, match="reference must name a payload column, got ':2'"):
        parse_reference(":2")
    for bad in ("path:0", "path:x", "path:-1"):
        with pytest.raises(ValueError, match="reference depth must be a positive integer"):
            parse_reference(bad)


def test_reference_labels_join_lists_cut_paths_and_blank_missing_values() -> None:
    payload = pd.DataFrame({"native_category": ["Footwear > Shoes > Casual Shoes", None, np.nan,
                                                ["Footwear", "Sandal", "Sandals"], "Footwear"]})
    assert reference_labels(payload, "native_category").tolist() == [
        "Footwear > Shoes > Casual Shoes", "", "", "Footwear > Sandal > Sandals", "Footwear"]
    assert reference_labels(payload, "native_category:2").tolist() == [
        "Footwear > Shoes", "", "", "Footwear > Sandal", "Footwear"]
    with pytest.raises(ValueError, match="no payload column 'brand' for the reference; have native_category"):
        reference_labels(payload, "brand")

"""store.errors: one base class callers can catch for every store failure."""

from __future__ import annotations

import pytest

from hiercat.store.errors import SchemaError, StoreClosedError, StoreError, StoreLockedError


@pytest.mark.parametrize("error", [StoreLockedError, SchemaError, StoreClosedError])
def test_every_store_error_is_a_store_error_and_a_runtime_error(error) -> None:
    assert issubclass(error, StoreError) and issubclass(error, RuntimeError)
    with pytest.raises(StoreError, match="why"):
        raise error("why")
